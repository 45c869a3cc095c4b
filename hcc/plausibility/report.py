"""The plausibility report: its result and :func:`plausibility_report`, which reads the inputs
and runs the sections in order."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from hcc import paper
from hcc._results import Result
from hcc.cohort.dictionary import AE_COLUMNS
from hcc.errors import DataError
from hcc.plausibility.thresholds import ALPHA, COLUMNS, MC_DRAWS, MC_SEED
from hcc.plausibility.hazard import _hazard_rows
from hcc.plausibility.sections import (_ae_rows, _age_rows, _censoring_rows, _date_rows, _design,
    _pps_rows, _response_rows, _scan_rows, _subgroup_rows, _subgroup_table)
from hcc.plausibility.claims import _ae_claim_rows, _drug_claim_rows, _pfs_subgroup_claims


# --------------------------------------------------------------------------- result
class PlausibilityResult(Result):
    """The plausibility checks of a cohort.

    Attributes
    ----------
    summary : DataFrame, one row per check: ``check, section, criterion, ours, p_value, ok,
        reference``; ``ok`` is True/False, or None when the check does not apply (the reason
        is in ``ours``); ``p_value`` is NaN for checks that are not tests.
    passed : True when no check is False.
    failed : names of the checks that are False.
    """

    title = "Plausibility: does the cohort look like a real study?"

    def __init__(self, rows: list[dict], notes: tuple[str, ...] = ()):
        table = pd.DataFrame(rows, columns=COLUMNS)
        table["ok"] = [None if v is None else bool(v) for v in table["ok"]]
        table["ok"] = table["ok"].astype(object)
        table["p_value"] = pd.to_numeric(table["p_value"], errors="coerce").astype(float)
        self._table = table
        self.notes = tuple(notes)

    @property
    def failed(self) -> list[str]:
        return [c for c, ok in zip(self._table["check"], self._table["ok"]) if ok is False]

    @property
    def passed(self) -> bool:
        return not self.failed

    def row(self, check: str) -> pd.Series:
        """The summary row of one check."""
        t = self._table
        hit = t[t["check"] == check]
        if hit.empty:
            raise KeyError(f"no check named {check!r}")
        return hit.iloc[0]

    def section(self, name: str) -> pd.DataFrame:
        """The rows of one section."""
        return self._table[self._table["section"] == name].copy()


# =========================================================================== loading
def _raw_from_file(path: Path) -> pd.DataFrame | None:
    """The typed raw frame (with dates) of a cohort file, or None when it has no dates."""
    from hcc.cohort.load import _typed  # the loader's own typing of a checked frame
    from hcc.errors import ValidationError
    from hcc.cohort.dictionary import ANALYSIS_COLUMNS, DATE_COLUMNS
    from hcc.cohort.validate import check_file

    checked = check_file(path)
    if checked.problems:
        raise ValidationError(checked.problems)
    if not set(DATE_COLUMNS) & set(checked.frame.columns):
        return None
    return _typed(checked.frame, ANALYSIS_COLUMNS + DATE_COLUMNS)


def _as_dates(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.copy()
    for c in ("start_date", "progression_date", "death_date", "last_contact_date"):
        if c in raw:
            s = raw[c]
            if not pd.api.types.is_datetime64_any_dtype(s):
                s = pd.to_datetime(s.where(s.astype(str).str.strip() != ""), errors="coerce")
            raw[c] = s.dt.normalize()
    return raw


def _inputs(cohort, ae, raw):
    """(analysis frame, raw frame or None, AE frame or None) from what the caller gave."""
    import hcc as _data  # load_cohort, load_adverse_events, get_adverse_events, derive_analysis
    from hcc import paths

    if cohort is None:
        cohort = _data.load_cohort()
        ae = _data.load_adverse_events() if ae is None else ae
        if raw is None and paths.COHORT_RAW_CSV.exists():
            raw = _raw_from_file(paths.COHORT_RAW_CSV)
    elif isinstance(cohort, (str, Path)):
        path = Path(cohort)
        cohort = _data.load_cohort(path)
        if raw is None:
            raw = _raw_from_file(path)
        if ae is None:
            ae = _data.get_adverse_events(data=path)
    elif not isinstance(cohort, pd.DataFrame):
        raise DataError("cohort must be a DataFrame or a file path")
    elif "start_date" in cohort.columns and "os_months" not in cohort.columns:
        raw = cohort if raw is None else raw
        cohort = _data.derive_analysis(_as_dates(cohort))
    if isinstance(raw, (str, Path)):
        raw = _raw_from_file(Path(raw))
    if isinstance(ae, (str, Path)):
        ae = _data.load_adverse_events(ae)
    if isinstance(cohort, pd.DataFrame) and raw is None and "start_date" in cohort.columns:
        raw = cohort  # an analysis frame that also carries the dates
    return cohort, _usable_raw(raw), ae


_RAW_NEEDED = ("patient_id", "arm", "regimen", "start_date", "last_contact_date")


def _usable_raw(raw: pd.DataFrame | None) -> pd.DataFrame | None:
    """The raw frame with typed dates (missing progression/death columns as blank), or None
    when it lacks what the date checks need (then they are not applicable)."""
    if raw is None or any(c not in raw.columns for c in _RAW_NEEDED):
        return None
    raw = _as_dates(raw)
    for c in ("progression_date", "death_date"):
        if c not in raw:
            raw[c] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    return raw


_REQUIRED = ("patient_id", "arm", "regimen", "age", "best_response", "os_months", "os_event",
             "pfs_months", "pfs_event") + tuple(
    c for c in paper.SUBGROUP_VARIABLES if c != "age_gt60")


def _check_columns(cohort, ae):
    missing = [c for c in _REQUIRED if c not in cohort.columns]
    if missing:
        raise DataError(f"the cohort lacks the column(s) {', '.join(missing)} of the data "
                        "dictionary")
    if ae is not None:
        miss = [c for c in AE_COLUMNS if c not in ae.columns]
        if miss:
            raise DataError(f"the adverse-event table lacks the column(s) {', '.join(miss)}")


# =========================================================================== public
def plausibility_report(cohort: pd.DataFrame | str | Path | None = None,
                        ae: pd.DataFrame | str | Path | None = None,
                        raw: pd.DataFrame | str | Path | None = None,
                        alpha: float = ALPHA, cutoff=None) -> PlausibilityResult:
    """Check that a cohort looks like data from a real study (see the module docstring).

    Parameters
    ----------
    cohort : DataFrame or path, optional
        Analysis columns, or a raw export with dates (then the times are derived and the date
        checks run). Default: the shipped synthetic cohort with its raw export and adverse
        events.
    ae : DataFrame or path, optional
        Adverse events. Default: the shipped table for the default cohort; for a cohort file,
        an ``adverse_events.csv`` beside it. Without one the AE checks are not applicable.
    raw : DataFrame or path, optional
        Raw export with dates for the date and censoring checks, when *cohort* is an
        analysis frame.
    alpha : float
        Level of the checks that are tests against a statistical null (default 0.01).
    cutoff : date-like, optional
        Data cut-off; default the latest date in the raw export.

    Returns
    -------
    PlausibilityResult
    """
    if not (0 < float(alpha) < 1):
        raise DataError(f"alpha must be between 0 and 1, not {alpha!r}")
    cohort, raw, ae = _inputs(cohort, ae, raw)
    _check_columns(cohort, ae)
    if len(cohort) == 0:
        raise DataError("the cohort has no patients")
    rows: list[dict] = []
    _hazard_rows(rows, cohort, alpha)
    _response_rows(rows, cohort)
    _pps_rows(rows, cohort, raw)
    _scan_rows(rows, cohort)
    tables = _subgroup_cache(cohort)
    _subgroup_rows(rows, cohort, tables, alpha)
    _ae_rows(rows, cohort, ae)
    _date_rows(rows, raw, cutoff)
    _censoring_rows(rows, cohort, raw, cutoff)
    _age_rows(rows, cohort, alpha)
    _drug_claim_rows(rows, cohort)
    _pfs_subgroup_claims(rows, tables)
    _ae_claim_rows(rows, cohort, ae)
    notes = [f"Tests against a statistical null at level {alpha:g}; Monte Carlo with "
             f"{MC_DRAWS} draws, seed {MC_SEED} (deterministic)."]
    if raw is None:
        notes.append("No dates: the date and censoring checks do not apply.")
    if ae is None:
        notes.append("No adverse-event table: the AE checks do not apply.")
    return PlausibilityResult(rows, tuple(notes))


def _subgroup_cache(cohort):
    """tables(ep) → (subgroup table, interaction P per variable, skipped), computed once."""
    cache: dict[str, tuple] = {}

    def tables(ep):
        if ep not in cache:
            cache[ep] = _subgroup_table(_design(cohort), ep)
        return cache[ep]
    return tables
