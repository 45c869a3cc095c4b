"""What every section of the plausibility report shares: adding a row (a check that cannot
be computed becomes ``ok = None``), and small helpers on the cohort."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from hcc import drugs
from hcc.errors import HCCError


# --------------------------------------------------------------------------- small helpers
def _row(rows, check, section, criterion, ours, ok, reference, p=np.nan):
    rows.append({"check": check, "section": section, "criterion": criterion, "ours": ours,
                 "p_value": p, "ok": ok, "reference": reference})


#: What a check may raise on data it cannot use (reported as "not applicable", not raised).
_NOT_COMPUTABLE = (HCCError, ValueError, ArithmeticError, np.linalg.LinAlgError, KeyError,
                   IndexError)


def _guarded(rows, check, section, criterion, reference, fn):
    """Run *fn* → (ours, ok[, p]) and add its row; what it cannot compute becomes ok=None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
    except _NOT_COMPUTABLE as exc:
        out = (f"not computable: {_reason(exc)}", None)
    ours, ok, p = (tuple(out) + (np.nan,))[:3]
    _row(rows, check, section, criterion, ours, ok, reference, p)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def _na(reason: str):
    return (f"not applicable: {reason}", None)


def _days(months) -> np.ndarray:
    """Whole days from months (the cohort stores whole days / 30)."""
    return np.rint(np.asarray(months, dtype=float) * 30.0).astype(int)


def _median(df: pd.DataFrame, time: str, event: str) -> float:
    """KM median (R's rule, hcc.km) as a number to compare: inf when not reached."""
    from hcc.survival import km

    m = float(km(df, time, event).summary["median"].iloc[0])
    return np.inf if np.isnan(m) else m


def _regimen_drugs(regimen) -> tuple[str, ...]:
    if not isinstance(regimen, str):
        return ()
    return drugs.REGIMEN_DRUGS.get(regimen, tuple(regimen.split("+")))


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")
