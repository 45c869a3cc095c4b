"""Loaders: the shipped synthetic cohort, a user's own file, or a cohort reconstructed
with another seed — always validated against the data dictionary (:mod:`hcc.schema`).

Loading the shipped cohort never imports the reconstruction (:mod:`hcc.reconstruct`,
numba): only a request for a non-default seed does, lazily.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hcc import paths
from hcc._results import Result
from hcc.errors import DataError, ValidationError
from hcc.schema import (AE_COLUMNS, ANALYSIS_COLUMNS, BASELINE_COLUMNS, DATE_COLUMNS,
                        check_file)

#: ``DataFrame.attrs`` key recording where a cohort came from.
SOURCE_ATTR = "hcc_source"
#: Value of ``attrs[SOURCE_ATTR]["synthetic"]``: True for cohorts made by our generator.
_BINARY = ("ecog", "surgery", "tace", "ablation", "tumor_number_gt3", "tumor_size_gt5",
           "pvtt", "metastases", "afp_gt400", "os_event", "pfs_event")

_cache: dict[tuple, pd.DataFrame] = {}


# ----------------------------------------------------------------------------- helpers
from hcc.paths import sha256_file as _sha256  # noqa: E402


def _hashes_in(obj: Any) -> set[str]:
    """Every sha256-looking hex string anywhere in a parsed manifest."""
    out: set[str] = set()
    if isinstance(obj, dict):
        for v in obj.values():
            out |= _hashes_in(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= _hashes_in(v)
    elif isinstance(obj, str):
        s = obj.lower().removeprefix("sha256:")
        if len(s) == 64 and all(c in "0123456789abcdef" for c in s):
            out.add(s)
    return out


#: ``manifest.json["generator"]`` of files written by our reconstruction.
GENERATOR_NAME = "hcc.reconstruct"


def _manifest_hashes(folder: Path) -> set[str]:
    """sha256 of the files listed by a manifest of our generator in *folder* (else empty)."""
    mf = folder / "manifest.json"
    try:
        man = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(man, dict) or man.get("generator") != GENERATOR_NAME:
        return set()
    return _hashes_in(man.get("files", {}))


def _is_synthetic_file(path: Path) -> bool:
    """True when *path* is listed (by sha256) in our generator's manifest beside it, or is
    byte-identical to a file of the shipped cohort."""
    try:
        digest = _sha256(path)
    except OSError:
        return False
    return digest in _manifest_hashes(path.parent) or digest in _manifest_hashes(paths.DATA_DIR)


def _typed(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Checked frame → analysis dtypes: 0/1 columns int when complete (float with NaN
    otherwise), labels as text (missing = NaN), numbers float (age int when whole)."""
    out = {}
    for c in columns:
        if c not in frame:
            continue
        s = frame[c]
        if c in _BINARY or c in ("immune_related", "led_to_discontinuation", "grade"):
            v = s.to_numpy(dtype="float64")
            out[c] = v.astype("int64") if not np.isnan(v).any() else v
        elif c == "age":
            v = s.to_numpy(dtype="float64")
            whole = not np.isnan(v).any() and bool((v == np.round(v)).all())
            out[c] = v.astype("int64") if whole else v
        elif c in ("os_months", "pfs_months"):
            out[c] = s.to_numpy(dtype="float64")
        elif c in DATE_COLUMNS:
            out[c] = pd.to_datetime(s).to_numpy()
        else:
            out[c] = s.to_numpy(dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _load_checked(path: Path, mapping, kind: str) -> tuple[pd.DataFrame, str]:
    checked = check_file(path, mapping, kind)
    if checked.problems:
        raise ValidationError(checked.problems)
    return checked.frame, checked.layout


# ----------------------------------------------------------------------------- derivation
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
        The analysis columns (:data:`hcc.schema.ANALYSIS_COLUMNS`) present in *raw* plus the
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


# ----------------------------------------------------------------------------- loaders
def _shipped_missing(path: Path) -> DataError:
    return DataError(f"the shipped cohort {path.name} is not there yet; build it with "
                     "`hcc reconstruct`")


def load_cohort(path: str | Path | None = None, mapping=None) -> pd.DataFrame:
    """The validated analysis DataFrame of a cohort file.

    Parameters
    ----------
    path : str or Path, optional
        CSV, .xlsx or Parquet with the analysis columns, or the raw export columns with dates
        (then :func:`derive_analysis` computes the times). Default: the shipped synthetic
        cohort (:data:`hcc.paths.COHORT_CSV`).
    mapping : path to a YAML mapping, dict, optional
        Other column names, labels and date formats (see :mod:`hcc.schema`).

    Returns
    -------
    DataFrame
        One row per patient, the analysis columns in dictionary order. ``attrs["hcc_source"]``
        records the file and whether it is a synthetic reconstruction. A fresh copy each call.

    Raises
    ------
    ValidationError
        Listing every problem of the file (``unreadable=True`` when it cannot be read).
    DataError
        The shipped cohort has not been built yet.
    """
    p = Path(path) if path is not None else paths.COHORT_CSV
    if path is None and not p.exists():
        raise _shipped_missing(p)
    try:
        st = p.stat()
        key = ("cohort", str(p.resolve()), st.st_mtime_ns, st.st_size, _mapping_key(mapping))
    except OSError:
        key = None
    if key is not None and key in _cache:
        return _copy(_cache[key])
    frame, layout = _load_checked(p, mapping, "cohort")
    df = _typed(frame, ANALYSIS_COLUMNS + DATE_COLUMNS)
    if layout == "raw":
        df = derive_analysis(df)
    else:
        df = df[[c for c in ANALYSIS_COLUMNS]]
    df.attrs[SOURCE_ATTR] = {"file": str(p), "layout": layout,
                             "synthetic": _is_synthetic_file(p)}
    if key is not None:
        _cache[key] = df
    return _copy(df)


def _copy(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.attrs = {k: (dict(v) if isinstance(v, dict) else v) for k, v in df.attrs.items()}
    return out


def _mapping_key(mapping) -> Any:
    if mapping is None:
        return None
    if isinstance(mapping, (str, Path)):
        try:
            return (str(mapping), Path(mapping).stat().st_mtime_ns)
        except OSError:
            return str(mapping)
    try:
        return json.dumps(mapping if isinstance(mapping, dict) else vars(mapping),
                          sort_keys=True, default=str)
    except TypeError:
        return repr(mapping)


def load_adverse_events(path: str | Path | None = None, mapping=None) -> pd.DataFrame:
    """The validated adverse-event table (one row per event).

    Parameters
    ----------
    path : str or Path, optional
        Default: the shipped table (:data:`hcc.paths.ADVERSE_EVENTS_CSV`).
    mapping : optional
        As for :func:`load_cohort`.

    Returns
    -------
    DataFrame
        Columns ``patient_id, term, grade, immune_related, led_to_discontinuation``.

    Raises
    ------
    ValidationError
        Listing every problem of the file.
    """
    p = Path(path) if path is not None else paths.ADVERSE_EVENTS_CSV
    if path is None and not p.exists():
        raise _shipped_missing(p)
    frame, _ = _load_checked(p, mapping, "adverse_events")
    df = _typed(frame, AE_COLUMNS)
    for c in AE_COLUMNS:
        if c not in df:
            df[c] = pd.Series(dtype="int64" if c not in ("patient_id", "term") else object)
    df = df[list(AE_COLUMNS)]
    df.attrs[SOURCE_ATTR] = {"file": str(p), "layout": "adverse_events",
                             "synthetic": _is_synthetic_file(p)}
    return df


def _seed_dir(seed: int) -> Path:
    return paths.CACHE_DIR / "cohorts" / f"seed-{int(seed)}"


def _reconstructed(seed: int, progress: bool = False) -> Path:
    """Folder holding the cohort reconstructed with *seed* (built on first use, with the
    reconstruction's progress line on stderr when *progress*)."""
    out = _seed_dir(seed)
    done = (out / "cohort.csv").exists() and (out / "manifest.json").exists()
    if not done or _sha256(out / "cohort.csv") not in _manifest_hashes(out):
        from hcc.reconstruct import reconstruct  # lazy: imports the calibrator (numba)

        reconstruct(seed=int(seed), out=out, progress=progress, cache=True)
    return out


def _is_default_seed(seed) -> bool:
    return seed is None or int(seed) == paths.DEFAULT_SEED


def get_cohort(data: str | Path | None = None, seed: int | None = None, mapping=None,
               progress: bool = False) -> pd.DataFrame:
    """The cohort the book runs on.

    Parameters
    ----------
    data : str or Path, optional
        A user's cohort file; when given, *seed* is ignored.
    seed : int, optional
        ``None`` or :data:`hcc.paths.DEFAULT_SEED`: the shipped cohort. Another seed: the
        cohort reconstructed with that seed (built on first use by
        :func:`hcc.reconstruct.reconstruct`, cached under ``.cache/cohorts/``).
    mapping : optional
        Mapping for a user's file (see :mod:`hcc.schema`).
    progress : bool
        Show the reconstruction's progress line on stderr when a seed is built.

    Returns
    -------
    DataFrame
        The validated analysis frame (see :func:`load_cohort`).
    """
    if data is not None and str(data).strip() != "":
        return load_cohort(data, mapping=mapping)
    if _is_default_seed(seed):
        return load_cohort()
    return load_cohort(_reconstructed(int(seed), progress) / "cohort.csv")


def get_adverse_events(data: str | Path | None = None, seed: int | None = None,
                       path: str | Path | None = None, mapping=None) -> pd.DataFrame | None:
    """The adverse-event table matching :func:`get_cohort` (same *data*/*seed*).

    *path* names an adverse-event file explicitly. For a user's cohort file without *path*,
    an ``adverse_events.csv`` beside it is used if present, else ``None`` (no safety data).
    """
    if (path is not None and str(path).strip() != "") or (data is not None and str(data).strip() != ""):
        chosen = adverse_events_path(data, seed, path)
        return None if chosen is None else load_adverse_events(chosen, mapping=mapping if path else None)
    if _is_default_seed(seed):
        return load_adverse_events()
    return load_adverse_events(_reconstructed(int(seed)) / "adverse_events.csv")


def adverse_events_path(data: str | Path | None = None, seed: int | None = None,
                        path: str | Path | None = None) -> Path | None:
    """The adverse-event file :func:`get_adverse_events` reads for these arguments (the rule
    in one place; :func:`hcc.privacy.decide` judges the same file). Never reconstructs.

    *path* when given; else, for a user's *data* file, an ``adverse_events.csv`` beside it if
    present (None otherwise); else the shipped table, or the seed's cached one.
    """
    if path is not None and str(path).strip() != "":
        return Path(path)
    if data is not None and str(data).strip() != "":
        beside = Path(data).parent / "adverse_events.csv"
        return beside if beside.exists() else None
    if _is_default_seed(seed):
        return paths.ADVERSE_EVENTS_CSV
    return _seed_dir(int(seed)) / "adverse_events.csv"


def is_shipped_cohort(df_or_path: pd.DataFrame | str | Path) -> bool:
    """True when the data is a synthetic reconstruction made by our generator.

    A path is synthetic when its sha256 is listed in the generator's ``manifest.json``
    beside it (or in the shipped cohort's manifest). A DataFrame is synthetic when it came
    from such a file through :func:`load_cohort` (``attrs``) and still holds its rows
    unchanged (added columns are fine), or equals the shipped cohort. Anything else — a
    user's real cohort, or a subset or edit of ours — is not, and the book then hides
    row-level data.
    """
    if isinstance(df_or_path, (str, Path)):
        p = Path(df_or_path)
        return p.is_file() and _is_synthetic_file(p)
    if not isinstance(df_or_path, pd.DataFrame):
        return False
    src = df_or_path.attrs.get(SOURCE_ATTR)
    if isinstance(src, dict) and src.get("synthetic"):
        # attrs survive copies and some operations: make sure the rows were not altered
        try:
            ref = load_cohort(src["file"]) if src.get("layout") != "adverse_events" else \
                load_adverse_events(src["file"])
            return _same(df_or_path, ref)
        except Exception:  # noqa: BLE001 - the file may have gone: then not provably synthetic
            return False
    if paths.COHORT_CSV.exists():
        try:
            return _same(df_or_path, load_cohort())
        except Exception:  # noqa: BLE001
            return False
    return False


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Do *a*'s rows hold *b* unchanged (same rows, same order; extra derived columns in *a*
    are allowed)?"""
    if not set(b.columns) <= set(a.columns) or len(a) != len(b):
        return False
    a2, b2 = a.reset_index(drop=True), b.reset_index(drop=True)
    for c in b2.columns:
        x, y = a2[c], b2[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            if not np.allclose(x.astype(float), y.astype(float), equal_nan=True, rtol=0,
                               atol=1e-9):
                return False
        elif not x.astype(str).equals(y.astype(str)):
            return False
    return True


# ----------------------------------------------------------------------------- missing values
class MissingResult(Result):
    """Missing values per column (:func:`missing_report`)."""

    title = "Missing values per column"

    def __init__(self, table: pd.DataFrame, n: int, complete: int):
        self._table = table
        #: number of rows
        self.n = n
        #: rows with no missing value in any column
        self.complete = complete

    @property
    def summary(self) -> pd.DataFrame:
        return self._table

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        return (f"{self.complete} of {self.n} rows are complete.",)

    def plot(self, ax=None, **kw):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.25 * len(self._table) + 1))
        t = self._table
        ax.barh(t["column"], t["percent"], **kw)
        ax.set_xlabel("Missing (%)")
        ax.set_xlim(0, 100)
        ax.invert_yaxis()
        return ax


def missing_report(df: pd.DataFrame, columns: list[str] | None = None) -> MissingResult:
    """Missing values per column: ``column, n, missing, percent``.

    Parameters
    ----------
    df : DataFrame
    columns : list of str, optional
        Default: every column.
    """
    cols = list(df.columns) if columns is None else list(columns)
    unknown = [c for c in cols if c not in df]
    if unknown:
        raise DataError(f"no column {', '.join(map(repr, unknown))} in the data")
    n = len(df)
    rows = []
    for c in cols:
        miss = int(df[c].isna().sum())
        rows.append({"column": c, "n": n, "missing": miss,
                     "percent": round(100.0 * miss / n, 1) if n else 0.0})
    complete = int(df[cols].notna().all(axis=1).sum()) if cols else n
    return MissingResult(pd.DataFrame(rows), n, complete)
