"""Loaders: the validated analysis frame of a cohort file, or the adverse-event table.

Always validated against the data dictionary (:mod:`hcc.cohort.validate`). A raw export
(dates) goes through :func:`hcc.cohort.derive.derive_analysis`. This module never imports
:mod:`hcc.reconstruct`: a cohort reconstructed with another seed is asked of the
reconstruction by :mod:`hcc.pipeline.inputs` (``get_cohort(seed=)``), and then loaded here
like any file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hcc import paths
from hcc.cohort.derive import derive_analysis
from hcc.cohort.dictionary import AE_COLUMNS, ANALYSIS_COLUMNS, DATE_COLUMNS
from hcc.cohort.shipped import is_synthetic_file as _is_synthetic_file
from hcc.cohort.validate import check_file
from hcc.errors import DataError, ValidationError

#: ``DataFrame.attrs`` key recording where a cohort came from.
SOURCE_ATTR = "hcc_source"
#: The 0/1 columns (int when complete, float with NaN otherwise).
_BINARY = ("ecog", "surgery", "tace", "ablation", "tumor_number_gt3", "tumor_size_gt5",
           "pvtt", "metastases", "afp_gt400", "os_event", "pfs_event")

_cache: dict[tuple, pd.DataFrame] = {}


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
        Other column names, labels and date formats (see :mod:`hcc.cohort.read`).

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
