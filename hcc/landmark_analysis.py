"""Landmark analysis (guarantee-time bias) and survival rates at fixed times.

Public functions
----------------
landmark(df, time, event, group, at, ties="efron", alpha=0.05) -> LandmarkResult
survival_rates(df, time, event, group, times, conf_type="log", alpha=0.05) -> SurvivalRatesResult

Both run on :func:`hcc.km` and :func:`hcc.cox` (lifelines underneath, R's conventions).

* ``landmark``: a group defined by something that happens *after* time 0 (best response,
  which needs a scan at 6–12 weeks) cannot be compared from time 0: a patient who dies
  before the first scan can only be a non-responder, so the responders are guaranteed to
  survive until their response ("guarantee-time" or immortal-time bias; Anderson, Cain &
  Gelber 1983).  The landmark analysis keeps the patients still alive and in follow-up at
  the landmark time L (time >= L), restarts the clock there (time − L) and compares the
  groups from L on.  The group must be known by L: with response dates, a response first
  seen after L counts as "no response" in the landmark analysis; ``best_response`` of this
  book's data dictionary has no date, which the chapter states.
* ``survival_rates``: Kaplan–Meier S(t) per group at fixed times with R's CI (``conf_type``)
  and the difference between two groups, S₁ − S₀, with the Greenwood standard errors
  √(SE₁² + SE₀²), SE = S × std.err(−log S), a Wald CI and P (the layout of a time-to-event
  table of the TLG catalogue: event-free rate per arm, difference, CI, P).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc._checks import outcome, require_frame
from hcc._results import Result
from hcc.errors import DataError

__all__ = ["landmark", "LandmarkResult", "survival_rates", "SurvivalRatesResult"]


class LandmarkResult(Result):
    """Naive and landmark comparisons of a group defined after time 0.

    Attributes
    ----------
    summary : DataFrame indexed by (analysis, term): ``n, events, HR, lower, upper, p``;
        analysis "naive (from time 0)" and "landmark at L".
    naive, landmark : CoxResult of each analysis.
    km_naive, km_landmark : KMResult of each analysis (landmark curves on time − L).
    at : the landmark time; excluded : patients left out (event or censored before L).
    """

    def __init__(self, naive, land, km0, km1, at, excluded, time):
        self.naive, self.landmark = naive, land
        self.km_naive, self.km_landmark = km0, km1
        self.at, self.excluded = at, excluded
        frames = []
        for name, res in ((f"naive (from time 0)", naive), (f"landmark at {at:g}", land)):
            s = res.summary[["HR", "lower", "upper", "p"]].copy()
            s.insert(0, "events", res.events)
            s.insert(0, "n", res.n)
            s.index = pd.MultiIndex.from_product([[name], s.index], names=["analysis", "term"])
            frames.append(s)
        self._table = pd.concat(frames)
        self.title = f"Naive versus landmark ({at:g} {time}) comparison"
        self.notes = (f"Landmark: patients alive and in follow-up at {at:g} (n = {land.n}; "
                      f"{excluded} left out: death or censoring before {at:g}); time restarts at {at:g}.",)

    def plot(self, axes=None, **kwargs):
        """Two panels: the naive curves from 0 and the landmark curves from L; returns the axes."""
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(12, 5))
        kwargs.setdefault("at_risk", False)
        self.km_naive.plot(ax=axes[0], **kwargs)
        axes[0].axvline(self.at, color="0.4", ls=":", lw=1)
        axes[0].set_title("Naive: from the start of treatment")
        self.km_landmark.plot(ax=axes[1], **kwargs)
        axes[1].set_xlabel(f"Months after the landmark ({self.at:g})")
        axes[1].set_title(f"Landmark: patients alive at {self.at:g}")
        return axes


def landmark(df: pd.DataFrame, time: str, event: str, group: str, at: float, ties: str = "efron",
             alpha: float = 0.05, reference=None) -> LandmarkResult:
    """Compare groups from time 0 (naive) and from a landmark time *at*.

    Parameters
    ----------
    df : DataFrame
    time, event : str
        Follow-up time and event indicator.
    group : str
        Grouping known by the landmark (e.g. response category).
    at : float
        Landmark time, in the units of *time* (> 0).
    ties, alpha, reference : as :func:`hcc.cox`.

    Returns
    -------
    LandmarkResult

    Raises
    ------
    DataError
        Bad columns, a landmark <= 0, or a landmark at which fewer than two groups, or no
        events, remain.
    """
    from hcc.coxph import cox
    from hcc.survival import km

    require_frame(df, {"group": group})
    t, _ = outcome(df, time, event)
    try:
        at = float(at)
    except (TypeError, ValueError):
        raise DataError(f"the landmark time must be a number, not {at!r}") from None
    if not np.isfinite(at) or at <= 0:
        raise DataError(f"the landmark time must be greater than 0, not {at!r}")
    keep = t >= at
    d = df.loc[keep].copy()
    d[time] = t[keep] - at
    if d[group].nunique() < 2:
        raise DataError(f"at the landmark {at:g} fewer than two groups of '{group}' remain "
                        f"({int(keep.sum())} patients still followed)")
    if not pd.to_numeric(d[event]).astype(bool).any():
        raise DataError(f"no events after the landmark {at:g}: nothing left to compare")
    naive = cox(df, time, event, [group], ties=ties, alpha=alpha, reference=reference)
    km0 = km(df, time, event, group, alpha=alpha)
    land = cox(d, time, event, [group], ties=ties, alpha=alpha, reference=reference)
    km1 = km(d, time, event, group, alpha=alpha)
    return LandmarkResult(naive, land, km0, km1, at, int((~keep).sum()), time)


class SurvivalRatesResult(Result):
    """Kaplan–Meier survival at fixed times per group, and the difference of two groups.

    ``summary`` indexed by time: per group ``<g> n at risk``, ``<g> S``, ``<g> lower``,
    ``<g> upper``; then ``difference, diff_lower, diff_upper, p`` (second group minus the
    first; two groups only).  ``km`` is the underlying KMResult.
    """

    def __init__(self, table, kmres, time, conf_type, alpha):
        self._table, self.km = table, kmres
        self.title = f"Survival rates at fixed times ({time})"
        self.notes = (f"Per group: Kaplan–Meier S(t) with R's '{conf_type}' CI "
                      f"({100 * (1 - alpha):g}%); difference: Greenwood SEs, Wald CI and P.",)


def survival_rates(df: pd.DataFrame, time: str, event: str, group: str, times, conf_type: str = "log",
                   alpha: float = 0.05) -> SurvivalRatesResult:
    """S(t) per group at *times* with CIs, and the difference between two groups.

    A time after a group's last follow-up gives NaN (R ``summary(fit, times)`` drops it).
    Returns :class:`SurvivalRatesResult`.
    """
    from scipy.stats import norm

    from hcc.survival import km

    times = np.atleast_1d(np.asarray(times, float))
    if times.size == 0 or not np.all(np.isfinite(times)) or (times < 0).any():
        raise DataError("times must be one or more numbers >= 0")
    res = km(df, time, event, group, conf_type=conf_type, alpha=alpha)
    at = res.survival_at(times)
    out = pd.DataFrame(index=pd.Index(times, name="time"))
    groups = list(res.curves)
    se = {}
    for g in groups:
        a = at[at["group"] == g].set_index("time")
        out[f"{g} n at risk"] = a["n_risk"].to_numpy()
        out[f"{g} S"] = a["surv"].to_numpy()
        out[f"{g} lower"] = a["lower"].to_numpy()
        out[f"{g} upper"] = a["upper"].to_numpy()
        se[g] = (a["surv"] * a["std_err"]).to_numpy()
    if len(groups) == 2:
        g0, g1 = groups
        q = norm.isf(alpha / 2)
        diff = out[f"{g1} S"].to_numpy() - out[f"{g0} S"].to_numpy()
        sd = np.hypot(se[g0], se[g1])
        with np.errstate(divide="ignore", invalid="ignore"):
            out["difference"] = diff
            out["diff_lower"] = diff - q * sd
            out["diff_upper"] = diff + q * sd
            out["p"] = np.where(sd > 0, 2 * norm.sf(np.abs(diff / sd)), np.nan)
    return SurvivalRatesResult(out, res, time, conf_type, alpha)
