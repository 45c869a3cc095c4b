"""Every number the statistics core prints goes through here: P-values, hazard ratios with
their CI, survival times ("NR" when not reached) and plain floats in HTML tables.

Display only: result objects keep floats in ``.summary``. The rules per call site:

* Tables 1, response, safety, the KM plot label and every HTML "P" column:
  ``format_p(p)`` → 4 decimals, "<0.001" below 0.001 (``prefix=True`` gives "= 0.0849" /
  "< 0.001" for "P = ...").
* Cox tables (Tables 2/3 "Univariate P") and forest plots: ``format_p(p, digits=3)``; a
  missing P prints "–" in the Cox tables (``missing="–"``) and nothing in the forest plot.
* Hazard ratios: ``format_hr(hr, lower, upper)`` → "0.45 (0.27–0.75)" (2 decimals, en dash).
"""
from __future__ import annotations

import math

import pandas as pd

__all__ = ["format_p", "format_hr", "format_time", "format_float"]


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return not math.isfinite(float(v))
    except (TypeError, ValueError):
        return True


def format_p(p, digits: int = 4, threshold: float | None = 0.001, prefix: bool = False,
             missing: str = "") -> str:
    """A P-value for display: ``0.0849``, ``<0.001``.

    Parameters
    ----------
    p : float or None
        NaN, infinite or None print as *missing*.
    digits : int
        Decimals shown (4 in Table 1 / response / safety, 3 in the Cox tables and forest plots).
    threshold : float or None
        Below it the text is ``"<threshold"``; None prints every P with *digits* decimals.
    prefix : bool
        Start with "= " or "< " (for "P = 0.0849").
    """
    if _missing(p):
        return missing
    if threshold is not None and p < threshold:
        return f"< {threshold:g}" if prefix else f"<{threshold:g}"
    text = f"{p:.{digits}f}"
    return f"= {text}" if prefix else text


def format_hr(hr, lower, upper, digits: int = 2, missing: str = "–") -> str:
    """``"0.45 (0.27–0.75)"``; *missing* when the HR is not finite."""
    if _missing(hr):
        return missing
    return f"{hr:.{digits}f} ({lower:.{digits}f}–{upper:.{digits}f})"


def format_time(v, digits: int = 2) -> str:
    """A median or CI limit: ``"7.63"``, ``"NR"`` (not reached) when NaN or None."""
    return "NR" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def format_float(v) -> str:
    """Floats in HTML tables: whole numbers without decimals, others to 4 decimals, very
    large or very small magnitudes in 4 significant digits; "" when missing."""
    if v is None or pd.isna(v):
        return ""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.4g}"
    return f"{v:.4f}"
