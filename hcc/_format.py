"""Every number the statistics core prints goes through here: P-values, hazard ratios with
their CI, estimates with their CI, survival times ("NR" when not reached) and plain floats in
HTML tables.

Display only: result objects keep floats in ``.summary``. The rules:

* P (``format_p``): *digits* decimals, as the paper prints the P beside it — 4 in Table 1,
  the response and safety tables (DCR "0.0003") and every HTML "P" column, 3 in the Cox
  tables, forest plots and for the log-rank P (Tables 2/3 and the text: "<0.001"). Below
  the smallest P those decimals can show (10^-digits) the text is "<0.0001" / "<0.001":
  a P never prints as 0. ``prefix=True`` gives "= 0.0849" / "< 0.001" for "P = ...". A
  missing P prints "–" in the Cox tables (``missing="–"``) and nothing elsewhere.
* An estimate and its CI (``format_estimate``, ``format_hr``): one number of decimals for
  the three — "0.45 (0.27–0.75)", follow-up "13.7 (13.2–35.4)"; never "13.2–35.37".
* Times (``format_time``): 2 decimals (months = days / 30), "NR" when not reached.
"""
from __future__ import annotations

import math

import pandas as pd

__all__ = ["format_p", "format_hr", "format_estimate", "format_time", "format_float"]

#: ``format_p``'s default threshold: the smallest P its decimals show, ``10 ** -digits``.
BY_DIGITS = "digits"


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return not math.isfinite(float(v))
    except (TypeError, ValueError):
        return True


def format_p(p, digits: int = 4, threshold: float | str | None = BY_DIGITS, prefix: bool = False,
             missing: str = "") -> str:
    """A P-value for display: ``0.0849``, ``0.0003``, ``<0.0001``; with ``digits=3``: ``<0.001``.

    Parameters
    ----------
    p : float or None
        NaN, infinite or None print as *missing*.
    digits : int
        Decimals shown: 4 in Table 1 / response / safety, 3 in the Cox tables, forest plots
        and the log-rank P (as the paper prints each).
    threshold : float, "digits" or None
        Below it the text is ``"<threshold"``. Default ``"digits"``: ``10 ** -digits``, the
        smallest P the decimals show (0.0003 prints as "0.0003" with 4 decimals, "<0.001"
        with 3). None prints every P with *digits* decimals (also "0.0000").
    prefix : bool
        Start with "= " or "< " (for "P = 0.0849").
    """
    if _missing(p):
        return missing
    if threshold == BY_DIGITS:
        threshold = 10.0 ** -digits
    if threshold is not None and p < threshold:
        return f"< {threshold:g}" if prefix else f"<{threshold:g}"
    text = f"{p:.{digits}f}"
    return f"= {text}" if prefix else text


def format_hr(hr, lower, upper, digits: int = 2, missing: str = "–") -> str:
    """``"0.45 (0.27–0.75)"``; *missing* when the HR is not finite."""
    if _missing(hr):
        return missing
    return f"{hr:.{digits}f} ({lower:.{digits}f}–{upper:.{digits}f})"


def format_estimate(value, lower, upper, digits: int = 2, missing: str = "NR",
                    ci: str | None = None) -> str:
    """An estimate and its CI with one number of decimals: ``"13.7 (13.2–35.4)"``; with
    ``ci="95% CI"``: ``"13.7 (95% CI 13.2–35.4)"``. NaN or None prints as *missing* ("NR":
    not reached)."""
    def one(v):
        return missing if _missing(v) else f"{float(v):.{digits}f}"
    return f"{one(value)} ({ci + ' ' if ci else ''}{one(lower)}–{one(upper)})"


def format_time(v, digits: int = 2) -> str:
    """A median or CI limit: ``"7.63"``, ``"NR"`` (not reached) when NaN, infinite or None."""
    return "NR" if _missing(v) else f"{v:.{digits}f}"


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
