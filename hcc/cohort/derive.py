"""The one rule from a raw export (dates) to the analysis columns (times in months).

Used by the loader (:func:`hcc.cohort.load.load_cohort` on a raw export) and by the
reconstruction (the shipped ``cohort.csv`` is derived from ``cohort_raw.csv`` by this rule).
"""
from __future__ import annotations

import pandas as pd

from hcc.cohort.dictionary import ANALYSIS_COLUMNS, BASELINE_COLUMNS, DATE_COLUMNS
from hcc.errors import DataError


def derive_analysis(raw: pd.DataFrame) -> pd.DataFrame:
    """Analysis columns from the raw export columns (dates).

    Rules (ARCHITECTURE.md, data dictionary):

    * ``os_days`` = (``death_date`` if given, else ``last_contact_date``) − ``start_date``;
      ``os_event`` = 1 when ``death_date`` is given.
    * PFS, standard definition: progression → event at ``progression_date``; else death →
      event at ``death_date``; else censored at ``last_contact_date``.
    * Months = whole days / 30 (the paper's printed times are whole days / 30; METHODS.md §3).

    Parameters
    ----------
    raw : DataFrame
        Baseline columns plus ``start_date``, ``progression_date`` (blank if none),
        ``death_date`` (blank if alive), ``last_contact_date``; dates as datetimes or ISO text.

    Returns
    -------
    DataFrame
        The analysis columns (:data:`hcc.cohort.dictionary.ANALYSIS_COLUMNS`) present in *raw* plus the
        four derived outcome columns, in dictionary order.

    Raises
    ------
    DataError
        A date column is missing, a start date or both end dates are blank, or a date is
        before the start.
    """
    missing = [c for c in ("start_date",) if c not in raw]
    if missing or not ({"death_date", "last_contact_date"} & set(raw.columns)):
        raise DataError("the raw export needs start_date and death_date or last_contact_date")

    def col(name: str) -> pd.Series:
        if name not in raw:
            return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        s = raw[name]
        if not pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s.where(s.astype(str).str.strip() != ""), format="%Y-%m-%d",
                               errors="raise")
        return s.dt.normalize()

    start, prog, death, last = (col(c) for c in DATE_COLUMNS)
    if start.isna().any():
        raise DataError("start_date is blank for some patients")
    os_end = death.where(death.notna(), last)
    if os_end.isna().any():
        raise DataError("neither death_date nor last_contact_date is given for some patients")
    os_days = (os_end - start).dt.days
    pfs_end = prog.where(prog.notna(), os_end)
    pfs_days = (pfs_end - start).dt.days
    if (os_days < 0).any() or (pfs_days < 0).any():
        raise DataError("a date is before start_date (negative time)")
    out = raw[[c for c in BASELINE_COLUMNS if c in raw]].copy()
    out["os_months"] = os_days.astype("float64") / 30.0
    out["os_event"] = death.notna().astype("int64")
    out["pfs_months"] = pfs_days.astype("float64") / 30.0
    out["pfs_event"] = (prog.notna() | death.notna()).astype("int64")
    return out[[c for c in ANALYSIS_COLUMNS if c in out]].reset_index(drop=True)

