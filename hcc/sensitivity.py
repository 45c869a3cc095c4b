"""E-values: how strong an unmeasured confounder would have to be to explain an estimate away.

Public function
---------------
evalue(estimate, lower=None, upper=None, measure="HR", rare=False) -> EValueResult

VanderWeele & Ding (2017), Ann Intern Med 167:268–274: for a risk ratio RR > 1,

    E = RR + sqrt(RR × (RR − 1)),

the minimum strength of association, on the risk-ratio scale, that an unmeasured
confounder would need with both the treatment and the outcome (beyond the measured
covariates) to move the estimate to 1.  A protective RR < 1 is inverted first (1 / RR).
Other measures are converted to an approximate RR first (the paper's Table):

* ``"HR"`` — rare outcome (< 15% at the end of follow-up): RR ≈ HR; common outcome:
  RR = (1 − 0.5^√HR) / (1 − 0.5^√(1/HR));
* ``"OR"`` — rare: RR ≈ OR; common: RR ≈ √OR;
* ``"RR"`` — as it is.

The E-value of the confidence interval is that of the limit nearer to 1, and 1 when the
interval contains 1 (no confounding is needed to reach the null).  R: ``EValue::evalues.HR``
(same formulas).  No Python package on PyPI offers this with the common-outcome HR
conversion, so it is written out here.
"""
from __future__ import annotations

import math

import pandas as pd

from hcc._results import Result
from hcc.errors import DataError

__all__ = ["evalue", "EValueResult", "rr_from"]


def rr_from(estimate: float, measure: str = "HR", rare: bool = False) -> float:
    """The approximate risk ratio of *estimate* (VanderWeele & Ding 2017, Table)."""
    x = float(estimate)
    if measure == "RR" or (rare and measure in ("HR", "OR")):
        return x
    if measure == "HR":
        return (1 - 0.5 ** math.sqrt(x)) / (1 - 0.5 ** math.sqrt(1 / x))
    if measure == "OR":
        return math.sqrt(x)
    raise DataError(f"measure must be 'HR', 'RR' or 'OR', not {measure!r}")


def _e(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


class EValueResult(Result):
    """E-values of a point estimate and of its confidence limit nearer to 1.

    Attributes
    ----------
    point : float — E-value of the estimate.
    ci : float or None — E-value of the limit nearer to 1 (1 when the CI contains 1; None
        when no limit was given).
    summary : DataFrame indexed by ``point``, ``CI limit``: ``estimate, RR, evalue``.
    """

    def __init__(self, rows, point, ci, measure, rare):
        self._table = pd.DataFrame(rows, columns=["", "estimate", "RR", "evalue"]).set_index("")
        self._table.index.name = None
        self.point, self.ci = point, ci
        self.measure, self.rare = measure, rare
        outcome = "rare outcome: RR ≈ " + measure if rare or measure == "RR" else \
            ("common outcome: RR = (1 − 0.5^√HR) / (1 − 0.5^√(1/HR))" if measure == "HR" else "common outcome: RR ≈ √OR")
        self.title = f"E-value (VanderWeele & Ding 2017; {measure}, {outcome})"


def evalue(estimate: float, lower: float | None = None, upper: float | None = None,
           measure: str = "HR", rare: bool = False) -> EValueResult:
    """E-value of a ratio estimate and of its confidence interval.

    Parameters
    ----------
    estimate : float
        Hazard ratio, risk ratio or odds ratio (> 0).
    lower, upper : float, optional
        Confidence limits (0 < lower <= estimate <= upper).
    measure : {"HR", "RR", "OR"}
    rare : bool
        Whether the outcome is rare (< 15%) by the end of follow-up.  Deaths in this cohort
        are common (about 60%), so the book uses ``rare=False``.

    Returns
    -------
    EValueResult

    Raises
    ------
    DataError
        A non-positive or non-finite value, limits that do not bracket the estimate, or an
        unknown measure.
    """
    rr_from(1.0, measure)  # an unknown measure: the one message, before the values
    for name, v in {"estimate": estimate, "lower": lower, "upper": upper}.items():
        if v is None:
            continue
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise DataError(f"the {name} must be a number, not {v!r}") from None
        if not math.isfinite(fv) or fv <= 0:
            raise DataError(f"the {name} must be a positive ratio, not {v!r}")
    est = float(estimate)
    if (lower is not None and float(lower) > est) or (upper is not None and float(upper) < est):
        raise DataError(f"the confidence limits ({lower}, {upper}) do not contain the estimate {est:g}")
    rr = rr_from(est, measure, rare)
    rows = [("point", est, rr, _e(rr) if rr != 1 else 1.0)]
    ci = None
    near = lower if est >= 1 else upper  # the limit nearer to the null
    if near is not None:
        near = float(near)
        rr_n = rr_from(near, measure, rare)
        crosses = near <= 1 if est >= 1 else near >= 1
        ci = 1.0 if crosses else _e(rr_n)
        rows.append(("CI limit", near, rr_n, ci))
    return EValueResult(rows, rows[0][3], ci, measure, rare)
