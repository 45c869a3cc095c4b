"""The one input check of the statistics core: a table of patients, a follow-up time, an event
indicator and a group column, with one wording for every function that takes them.

``km``, ``logrank``, ``median_followup`` (hcc/survival.py), ``cox``, ``cox_screen`` and
``subgroup_hr`` (hcc/coxph.py, hcc/cox_tables.py) and ``table_one`` (hcc/tables.py, the frame
and column part) call these on entry, so a bad column gives
the same plain message whichever analysis met it first. Missing outcomes are refused, never
dropped, and the message counts them. (The notebooks' own frame check lives in ``hcc.chapter.rows``.)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc.errors import DataError

__all__ = ["require_frame", "time_array", "event_array", "codes_levels", "group_codes", "outcome"]


def require_frame(df, columns: dict[str, str | None]) -> None:
    """*df* is a non-empty DataFrame holding every column of *columns* (role → name; None skipped)."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a table of patients (a pandas DataFrame), got {type(df).__name__}.")
    if len(df) == 0:
        raise DataError("The table of patients is empty: there is nothing to analyse.")
    for role, col in columns.items():
        if col is not None and col not in df.columns:
            raise DataError(f"The column '{col}' is not in the data (needed as the {role}); "
                            f"available columns: {', '.join(map(str, df.columns))}.")


def time_array(df: pd.DataFrame, col: str) -> np.ndarray:
    """Follow-up times as floats: numbers, none missing, finite, zero or more."""
    raw = df[col]
    t = pd.to_numeric(raw, errors="coerce")
    bad_text = t.isna() & raw.notna()
    if bad_text.any():
        examples = ", ".join(repr(v) for v in raw[bad_text].unique()[:3])
        raise DataError(f"Column '{col}' must hold numbers (follow-up times); "
                        f"{int(bad_text.sum())} value(s) are not numbers (e.g. {examples}).")
    t = t.to_numpy(dtype=float)
    n_missing = int(np.isnan(t).sum())
    if n_missing:
        raise DataError(f"{n_missing} patient(s) have no follow-up time in '{col}' (missing value); "
                        "fill them in or remove those patients before the analysis.")
    if np.isinf(t).any():
        raise DataError(f"Column '{col}' contains infinite times; every time must be a finite number.")
    n_neg = int((t < 0).sum())
    if n_neg:
        raise DataError(f"{n_neg} patient(s) have a negative follow-up time in '{col}'; "
                        "times must be zero or more.")
    return t


def event_array(df: pd.DataFrame, col: str) -> np.ndarray:
    """Event indicator as int64 0/1 (True/False accepted), none missing."""
    raw = df[col]
    n_missing = int(raw.isna().sum())
    if n_missing:
        raise DataError(f"{n_missing} patient(s) have no event status in '{col}' (missing value); "
                        "use 1 for an event (death/progression) and 0 for censored.")
    if raw.dtype == bool:
        return raw.to_numpy(dtype=np.int64)
    e = pd.to_numeric(raw, errors="coerce")
    ok = e.isin([0, 1])
    if not ok.all():
        bad = ", ".join(repr(v) for v in raw[~ok].unique()[:5])
        raise DataError(f"Column '{col}' must be 1 (event) or 0 (censored); found {bad}.")
    return e.to_numpy(dtype=np.int64)


def codes_levels(s: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes (-1 = missing) and the levels present: a Categorical's own order, else
    sorted (by their text when the values cannot be compared) — the one level-order rule of
    ``table_one`` columns, group columns and Cox covariates (reference = first level)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = np.bincount(s.cat.codes[s.cat.codes >= 0], minlength=len(s.cat.categories)) > 0
        keep = [c for c, p in zip(s.cat.categories, present) if p]
        return pd.Categorical(s, categories=keep).codes.astype(np.int64), keep
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:  # mixed types that cannot be compared: sort by their text
        codes, uniques = pd.factorize(s)
        order = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
        remap = np.empty(len(order), dtype=np.int64)
        remap[order] = np.arange(len(order))
        codes = np.where(codes >= 0, remap[np.clip(codes, 0, None)], -1)
        uniques = [uniques[i] for i in order]
    return np.asarray(codes, dtype=np.int64), list(uniques)


def group_codes(df: pd.DataFrame, col: str) -> tuple[np.ndarray, list]:
    """Integer codes 0..k-1 and the levels (:func:`codes_levels`), none missing."""
    codes, cats = codes_levels(df[col])
    n_missing = int((codes < 0).sum())
    if n_missing:
        raise DataError(f"{n_missing} patient(s) have no value in the group column '{col}'; "
                        "fill them in or remove those patients.")
    return codes, cats


def outcome(df: pd.DataFrame, time: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked (time as float, event as bool) of a survival outcome."""
    require_frame(df, {"follow-up time": time, "event indicator": event})
    return time_array(df, time), event_array(df, event).astype(bool)
