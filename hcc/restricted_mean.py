"""Restricted mean survival time (RMST): the area under the Kaplan–Meier curve up to τ.

Public function
---------------
rmst(df, time, event, group=None, tau=None, alpha=0.05) -> RMSTResult

Why it is written here
----------------------
lifelines has ``restricted_mean_survival_time(kmf, t, return_variance=True)``, but the
variance it returns is that of the truncated variable min(T, τ) — the spread of the
patients' restricted times, not the sampling variance of the estimated mean (lifelines
issue #1682) — so its "SE" is about √n times too large.  The estimate and its standard
error here follow R ``survival:::survmean`` (what ``print(survfit(...), rmean = tau)``
prints) line by line:

* RMST(τ) = Σ_j (t_{j+1} − t_j) Ŝ(t_j), over the distinct times t_0 = 0 < t_1 < … ≤ τ
  with t_{m+1} = τ;
* Var = Σ_j A_j² d_j / (n_j (n_j − d_j)), with A_j the area under Ŝ from t_j to τ and the
  term 0 when n_j = d_j.

The difference between two groups is RMST₁ − RMST₀ with SE √(SE₁² + SE₀²); the ratio is
estimated on the log scale with SE √((SE₁/RMST₁)² + (SE₀/RMST₀)²) (the delta method; R
``survRM2::rmst2`` prints both the same way).

τ (``DEFAULT_TAU_RULE``): by default the smallest of the groups' largest follow-up times,
so every curve is observed up to τ — except that a group whose curve reaches 0 (its last
patients all had the event) does not limit τ, since its curve is known to stay at 0.  A τ
beyond the last follow-up time of a group whose curve has not reached 0 is refused: R would
silently extend the last value of the curve, which invents follow-up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc._checks import group_codes, outcome
from hcc._results import Result
from hcc.errors import DataError

__all__ = ["rmst", "RMSTResult", "DEFAULT_TAU_RULE"]

DEFAULT_TAU_RULE = ("the smallest of the groups' largest follow-up times (a group whose curve "
                    "ends at 0 does not limit τ: its area stops growing there)")


def _rmst_one(t: np.ndarray, e: np.ndarray, tau: float) -> tuple[float, float, tuple]:
    """(RMST, SE, (times, S)) of one Kaplan–Meier curve, as R ``survmean`` with ``end.time = tau``."""
    times = np.unique(t)
    n_risk = np.array([(t >= u).sum() for u in times], float)
    n_event = np.array([(e & (t == u)).sum() for u in times], float)
    surv = np.cumprod(1 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n_risk - n_event == 0, 0.0, n_event / (n_risk * (n_risk - n_event)))
    keep = times <= tau
    if not keep.any():
        return float(tau), 0.0, (times, surv)
    tt = np.r_[times[keep], tau]
    ss = np.r_[surv[keep], surv[keep][-1]]
    hh = np.r_[hh[keep], 0.0]
    rect = np.diff(np.r_[0.0, tt]) * np.r_[1.0, ss[:-1]]
    after = np.cumsum(rect[1:][::-1])  # area from t_j to tau, last time first
    var = float(np.sum(after ** 2 * hh[::-1][1:]))
    return float(rect.sum()), float(np.sqrt(var)), (times, surv)


class RMSTResult(Result):
    """Restricted mean survival time per group.

    Attributes
    ----------
    summary : DataFrame indexed by group: ``n, events, tau, rmst, se, lower, upper``.
    difference : DataFrame, one row per group after the first: ``difference, se, lower,
        upper, p`` (RMST of the group minus the first group's) and ``ratio, ratio_lower,
        ratio_upper, ratio_p``.  Empty without groups.
    tau : the truncation time used.
    """

    def __init__(self, table, difference, tau, tau_rule, time, group):
        self._table, self.difference, self.tau = table, difference, tau
        self.time_col, self.group_col = time, group
        self.title = f"Restricted mean survival time up to τ = {tau:g} ({time})"
        self.notes = (f"τ: {tau_rule}.",
                      "RMST and SE as R print(survfit(...), rmean = τ); normal (Wald) CI.")

    def plot(self, ax=None, xlabel="Months", colors=None):
        """Kaplan–Meier curves with the area up to τ shaded; returns the Axes."""
        import matplotlib.pyplot as plt

        from hcc.plots import group_colors

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        groups = list(self._curves)
        cols = group_colors(groups, colors)
        for g in groups:
            t, s = self._curves[g]
            keep = t <= self.tau
            tt = np.r_[0.0, t[keep], self.tau]
            ss = np.r_[1.0, s[keep], s[keep][-1] if keep.any() else 1.0]
            ax.step(tt, ss, where="post", color=cols[g], lw=1.8,
                    label=f"{g}: RMST {self._table.loc[g, 'rmst']:.2f}")
            ax.fill_between(tt, ss, step="post", color=cols[g], alpha=0.15)
        ax.axvline(self.tau, color="0.4", ls="--", lw=1)
        ax.set_xlim(0, self.tau * 1.05)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Survival probability")
        ax.legend(frameon=False)
        ax.set_title(f"Area under the curve up to τ = {self.tau:g}")
        return ax


def rmst(df: pd.DataFrame, time: str, event: str, group: str | None = None, tau: float | None = None,
         alpha: float = 0.05, clip: bool = False) -> RMSTResult:
    """Restricted mean survival time up to *tau*, per group, with differences and ratios.

    Parameters
    ----------
    df : DataFrame
    time, event : str
        Follow-up time and event indicator (1/0).
    group : str, optional
        Group column; the first level (sorted) is the reference of ``difference``.
    tau : float, optional
        Truncation time; default ``DEFAULT_TAU_RULE``.  Must be > 0 and not beyond any
        group's largest follow-up time.
    alpha : float
        1 − confidence level.
    clip : bool
        When *tau* is beyond the data, use the largest admissible τ instead of raising, and
        say so in ``notes`` (for a chapter whose reader-chosen τ must survive another
        cohort); default False: an error.

    Returns
    -------
    RMSTResult

    Raises
    ------
    DataError
        Bad columns, no events at all, τ ≤ 0 or beyond the data.

    Notes
    -----
    Equal to R ``print(survfit(Surv(time, event) ~ group), rmean = tau)`` (``rmean``,
    ``se(rmean)``); lifelines' ``restricted_mean_survival_time`` gives the same area but
    not a usable SE (see the module docstring).
    """
    from scipy.stats import norm

    if not (0 < alpha < 1):
        raise DataError(f"alpha must be between 0 and 1, not {alpha!r}")
    t, e = outcome(df, time, event)
    if not e.any():
        raise DataError(f"there are no events in '{event}': every patient is censored")
    if group is None:
        codes, levels = np.zeros(t.size, np.int64), ["All"]
    else:
        codes, levels = group_codes(df, group)
    tau, rule = _tau(t, e, codes, levels, tau, clip, time, group)
    q = norm.isf(alpha / 2)
    rows, curves = [], {}
    for k, g in enumerate(levels):
        sel = codes == k
        m, se, curves[g] = _rmst_one(t[sel], e[sel], tau)
        rows.append({"group": g, "n": int(sel.sum()), "events": int(e[sel].sum()), "tau": tau,
                     "rmst": m, "se": se, "lower": m - q * se, "upper": m + q * se})
    table = pd.DataFrame(rows).set_index("group")
    table.index.name = None
    difference = _differences(table, levels, q)
    res = RMSTResult(table, difference, tau, rule, time, group)
    res._curves = curves
    return res


def _tau(t, e, codes, levels, tau, clip: bool, time: str, group) -> tuple[float, str]:
    """τ and the rule that gave it: the default (``DEFAULT_TAU_RULE``), or the user's, checked
    against the last follow-up of each group whose curve has not reached 0."""
    last, ends_at_zero = {}, {}
    for k, g in enumerate(levels):
        tg, eg = t[codes == k], e[codes == k]
        last[g] = float(tg.max())
        ends_at_zero[g] = bool(eg[tg == tg.max()].all())  # every last patient has the event: S = 0
    open_ = {g: v for g, v in last.items() if not ends_at_zero[g]}
    limit = min(open_.values()) if open_ else max(last.values())
    if tau is None:
        return limit, DEFAULT_TAU_RULE + f" = {limit:g}"
    try:
        tau = float(tau)
    except (TypeError, ValueError):
        raise DataError(f"tau must be a number, not {tau!r}") from None
    if not np.isfinite(tau) or tau <= 0:
        raise DataError(f"tau must be a positive number of {time} units, not {tau!r}")
    if tau <= limit:
        return tau, "chosen by the user"
    short = min(open_, key=open_.get) if open_ else max(last, key=last.get)
    why = (f"tau = {tau:g} is beyond the data: the last follow-up time "
           + (f"of group '{short}' " if group is not None else "") + f"is {limit:g}")
    if not clip:
        raise DataError(why + f"; choose tau <= {limit:g}")
    return limit, why + f", so τ = {limit:g} was used instead"


def _differences(table: pd.DataFrame, levels, q: float) -> pd.DataFrame:
    """Each group vs the first: difference and ratio of RMST with CI and P (delta method)."""
    from scipy.stats import norm

    diffs = []
    ref = levels[0]
    for g in levels[1:]:
        a, b = table.loc[g], table.loc[ref]
        d = a["rmst"] - b["rmst"]
        sd = np.hypot(a["se"], b["se"])
        lr = np.log(a["rmst"] / b["rmst"])
        slr = np.hypot(a["se"] / a["rmst"], b["se"] / b["rmst"])
        diffs.append({"comparison": f"{g} vs {ref}", "difference": d, "se": sd,
                      "lower": d - q * sd, "upper": d + q * sd,
                      "p": 2 * norm.sf(abs(d / sd)) if sd > 0 else float("nan"),
                      "ratio": np.exp(lr), "ratio_lower": np.exp(lr - q * slr),
                      "ratio_upper": np.exp(lr + q * slr),
                      "ratio_p": 2 * norm.sf(abs(lr / slr)) if slr > 0 else float("nan")})
    difference = pd.DataFrame(diffs).set_index("comparison") if diffs else pd.DataFrame()
    if len(difference):
        difference.index.name = None
    return difference
