"""Propensity score and inverse probability of treatment weighting (IPTW).

Public functions
----------------
iptw(df, treatment, covariates, stabilized=True) -> IPTWResult
weighted_km(df, time, event, group, weights) -> WeightedKMResult

What runs where
---------------
* The propensity model is a main-effects logistic regression fitted by statsmodels
  (``GLM(family=Binomial())``, IRLS to a relative deviance change of 1e-12); its fitted
  values equal R ``glm(treated ~ ..., family = binomial)$fitted.values`` to 1e-8.  Text
  covariates are treatment-coded against their first level in sorted order, as R does for a
  character column.  ``IPTWResult.fitter`` is the statsmodels ``GLMResults``.
* The weighted Kaplan–Meier curves are lifelines' ``KaplanMeierFitter(weights=)`` (= R
  ``survfit(..., weights = w)`` point estimates); the weighted Cox model is
  :func:`hcc.cox` with ``weights=`` and ``robust=True`` (R ``coxph(weights =, robust = TRUE)``).

What hcc adds
-------------
The weights (stabilised or not), the balance table (standardised mean differences before
and after weighting, with the weighted variance of Austin & Stuart 2015), the effective
sample size per arm (Kish), the love and overlap plots, and a plain refusal of a propensity
model that separates the arms perfectly (R's glm only warns "fitted probabilities
numerically 0 or 1 occurred", and the weights are then meaningless).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from hcc._checks import codes_levels, group_codes, outcome, require_frame
from hcc._results import Result
from hcc.errors import DataError

__all__ = ["iptw", "IPTWResult", "weighted_km", "WeightedKMResult", "smd"]

#: statsmodels GLM IRLS stopping rule (relative change in deviance); R glm uses 1e-8.
GLM_TOL = 1e-12
#: A fitted propensity this close to 0 or 1 means the covariates (nearly) separate the arms.
SEPARATION_EPS = 1e-8


def smd(x, treated, w=None) -> float:
    """Standardised mean difference (treated − control) / sqrt((s²₁ + s²₀) / 2).

    With weights *w*, the weighted means and weighted variances
    s² = Σw / ((Σw)² − Σw²) · Σ w (x − x̄_w)² (Austin & Stuart 2015) are used.
    """
    x = np.asarray(x, float)
    treated = np.asarray(treated, bool)
    w = np.ones_like(x) if w is None else np.asarray(w, float)

    def mv(sel):
        ww, xx = w[sel], x[sel]
        m = np.sum(ww * xx) / np.sum(ww)
        v = np.sum(ww) / (np.sum(ww) ** 2 - np.sum(ww ** 2)) * np.sum(ww * (xx - m) ** 2)
        return m, v

    m1, v1 = mv(treated)
    m0, v0 = mv(~treated)
    pooled = np.sqrt((v1 + v0) / 2)
    return float((m1 - m0) / pooled) if pooled > 0 else 0.0


def _design_matrix(df: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    from hcc.coxph import _is_categorical

    cols = {}
    for c in covariates:
        s = df[c]
        if s.isna().any():
            raise DataError(f"{int(s.isna().sum())} patient(s) have no value in '{c}'; a propensity "
                            "score needs every covariate of every patient")
        if _is_categorical(s):  # treatment-coded as in hcc.cox (the same level order)
            levels = codes_levels(s)[1]
            if len(levels) < 2:
                raise DataError(f"covariate '{c}' has the same value for every patient")
            for lv in levels[1:]:
                cols[f"{c}[{lv} vs {levels[0]}]"] = (s == lv).astype(float).to_numpy()
        else:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            if np.isnan(x).any():
                raise DataError(f"covariate '{c}' must hold numbers or categories")
            if np.all(x == x[0]):
                raise DataError(f"covariate '{c}' has the same value for every patient")
            cols[c] = x
    return pd.DataFrame(cols, index=df.index)


def _separating_term(X: pd.DataFrame, z: np.ndarray) -> str | None:
    """A binary term one of whose levels holds one arm only (the usual cause of separation)."""
    for name in X.columns:
        x = X[name].to_numpy()
        vals = np.unique(x)
        if vals.size == 2:
            for v in vals:
                arms = np.unique(z[x == v])
                if arms.size == 1:
                    return f"{name} = {v:g}"
    return None


class IPTWResult(Result):
    """Propensity scores and inverse-probability-of-treatment weights.

    Attributes
    ----------
    propensity : Series (index of df) — P(treated | covariates), the fitted logistic model.
    weights : Series — stabilised P(T = t) / P(T = t | X) (or 1 / P(T = t | X)).
    treated : Series of bool — the second level of the treatment column.
    balance : DataFrame indexed by term: means per arm and SMD before and after weighting.
    model : DataFrame of the propensity model: ``coef, se, OR, lower, upper, p``.
    ess : Series — effective sample size per arm, (Σw)² / Σw².
    summary : the balance table.
    fitter : statsmodels ``GLMResults``.
    """

    def __init__(self, treatment, levels, X, z, ps, w, fitter, stabilized):
        self.treatment_col, self.levels = treatment, tuple(levels)
        self.control_level, self.treated_level = levels
        self.stabilized = stabilized
        self.fitter = fitter
        idx = X.index
        self.propensity = pd.Series(ps, index=idx, name="propensity")
        self.weights = pd.Series(w, index=idx, name="iptw")
        self.treated = pd.Series(z.astype(bool), index=idx, name="treated")
        rows = []
        for name in X.columns:
            x = X[name].to_numpy()
            t = z.astype(bool)
            rows.append({"term": name,
                         f"{self.treated_level} mean": x[t].mean(), f"{self.control_level} mean": x[~t].mean(),
                         "SMD before": smd(x, t),
                         f"{self.treated_level} weighted mean": np.average(x[t], weights=w[t]),
                         f"{self.control_level} weighted mean": np.average(x[~t], weights=w[~t]),
                         "SMD after": smd(x, t, w)})
        self.balance = pd.DataFrame(rows).set_index("term")
        self.balance.index.name = None
        from scipy.stats import norm

        params, bse = np.asarray(fitter.params), np.asarray(fitter.bse)
        q = norm.isf(0.025)
        self.model = pd.DataFrame({"coef": params, "se": bse, "OR": np.exp(params),
                                   "lower": np.exp(params - q * bse), "upper": np.exp(params + q * bse),
                                   "p": np.asarray(fitter.pvalues)},
                                  index=["(Intercept)"] + list(X.columns))
        self.ess = pd.Series({lv: float(w[z == k].sum() ** 2 / (w[z == k] ** 2).sum())
                              for k, lv in enumerate(levels)}, name="effective n")
        kind = "stabilised" if stabilized else "unstabilised"
        self.title = (f"Balance before and after {kind} IPTW ({self.treated_level} = treated; "
                      f"n = {int(z.size)})")
        self.notes = (f"Propensity: logistic regression of {treatment} on "
                      f"{', '.join(X.columns)} (main effects; R glm(binomial)).",
                      "SMD: standardised mean difference; |SMD| < 0.1 is the usual mark of balance.",
                      "Effective sample size: " + ", ".join(f"{k} {v:.1f}" for k, v in self.ess.items()) + ".")

    @property
    def summary(self) -> pd.DataFrame:
        return self.balance.copy()

    def plot(self, ax=None, threshold: float = 0.1, **kwargs):
        """Love plot: |SMD| of each term before and after weighting; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 0.35 * len(self.balance) + 1.5))
        b = self.balance
        y = np.arange(len(b))[::-1]
        ax.scatter(b["SMD before"].abs(), y, marker="o", facecolors="none", edgecolors="0.35",
                   label="before weighting")
        ax.scatter(b["SMD after"].abs(), y, marker="o", color="C3", label="after weighting")
        for yy, a0, a1 in zip(y, b["SMD before"].abs(), b["SMD after"].abs()):
            ax.plot([a0, a1], [yy, yy], color="0.8", lw=1, zorder=0)
        ax.axvline(threshold, color="0.5", ls="--", lw=1)
        ax.set_yticks(y, list(b.index))
        ax.set_xlabel("|standardised mean difference|")
        ax.set_xlim(left=0)
        ax.legend(loc="lower right", frameon=False, fontsize="small")
        ax.set_title(kwargs.get("title", "Covariate balance (love plot)"))
        return ax

    def plot_overlap(self, ax=None, bins: int = 20):
        """Histogram of the propensity score per arm (positivity check); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 3.8))
        edges = np.linspace(0, 1, bins + 1)
        for k, (lv, color) in enumerate(zip(self.levels, ("C0", "C1"))):
            ps = self.propensity[self.treated == bool(k)]
            ax.hist(ps, bins=edges, alpha=0.55, color=color, label=f"{lv} (n = {ps.size})")
        ax.set_xlabel(f"propensity score, P({self.treated_level} | covariates)")
        ax.set_ylabel("patients")
        ax.legend(frameon=False, fontsize="small")
        ax.set_title("Overlap of the propensity scores")
        return ax


def iptw(df: pd.DataFrame, treatment: str, covariates, stabilized: bool = True) -> IPTWResult:
    """Propensity scores and inverse-probability-of-treatment weights.

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    treatment : str
        Column with exactly two levels; the second in sorted order (a Categorical's second
        category) is "treated" (here TKI-ICI), the first the control.
    covariates : str or list of str
        Confounders entering the logistic model as main effects (numbers as they are, text
        treatment-coded).
    stabilized : bool
        Stabilised weights P(T = t) / P(T = t | X) (default), else 1 / P(T = t | X).  Both
        give the same point estimates in a weighted model; stabilised weights average about 1
        in each arm, so the weighted arms keep about their real sizes.

    Returns
    -------
    IPTWResult

    Raises
    ------
    DataError
        One arm only, a missing covariate value, a constant covariate, or a propensity model
        that separates the arms (a fitted probability of 0 or 1).

    Notes
    -----
    R: ``ps <- glm(I(arm == "TKI-ICI") ~ ..., family = binomial, data = d)$fitted.values``;
    weights ``ifelse(treated, mean(treated) / ps, (1 - mean(treated)) / (1 - ps))``.
    The statsmodels call a reader would write:
    ``sm.GLM(z, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)``.
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise DataError("give at least one covariate for the propensity model")
    require_frame(df, {"treatment": treatment})
    require_frame(df, {"covariate": c for c in covariates})
    if treatment in covariates:
        raise DataError(f"'{treatment}' is the treatment; it cannot also be a covariate")
    codes, levels = group_codes(df, treatment)
    if len(levels) != 2:
        raise DataError(f"the treatment column '{treatment}' must have exactly two groups; found "
                        f"{len(levels)} ({', '.join(map(str, levels))})")
    z = codes.astype(float)
    X = _design_matrix(df, covariates)
    import statsmodels.api as sm

    exog = sm.add_constant(X.to_numpy(), has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PerfectSeparationWarning etc.: checked below
        try:
            fit = sm.GLM(z, exog, family=sm.families.Binomial()).fit(tol=GLM_TOL, maxiter=100)
        except Exception as exc:  # statsmodels < 0.14 raised PerfectSeparationError
            raise DataError(_separation_message(X, z)) from exc
    ps = np.asarray(fit.fittedvalues, float)
    if not np.all(np.isfinite(ps)) or ps.min() < SEPARATION_EPS or ps.max() > 1 - SEPARATION_EPS:
        raise DataError(_separation_message(X, z))
    if stabilized:
        p1 = z.mean()
        w = np.where(z == 1, p1 / ps, (1 - p1) / (1 - ps))
    else:
        w = np.where(z == 1, 1 / ps, 1 / (1 - ps))
    return IPTWResult(treatment, levels, X, z.astype(int), ps, w, fit, stabilized)


def _separation_message(X, z) -> str:
    where = _separating_term(X, z)
    hint = f" (e.g. every patient with {where} is in one arm)" if where else ""
    return ("the covariates separate the two arms perfectly" + hint + ": some patients have a "
            "propensity of 0 or 1, so no weight can be formed; leave that covariate out or merge "
            "its levels")


# --------------------------------------------------------------------------- weighted KM
def _product_limit(fitter) -> pd.DataFrame:
    """The weighted product-limit curve from a fitted lifelines ``KaplanMeierFitter``'s
    ``event_table``: S(t) = prod(1 - d/n).

    R-parity note: lifelines gets the weighted number at risk by subtracting the weights
    already removed from the total, so where everyone left at risk dies (the last death of
    a curve) n can come out a rounding error below d, and lifelines' ``survival_function_``
    then stays at the previous step instead of dropping to 0. R's ``survfit(weights =)``
    gives 0 there; so does this, by treating d/n within 1e-12 of 1 as 1.
    """
    et = fitter.event_table
    n = et["at_risk"].to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n > 0, d / n, 0.0)
    q[np.isclose(q, 1.0, rtol=0, atol=1e-12) | (q > 1.0)] = 1.0
    out = pd.DataFrame({"time": et.index.to_numpy(dtype=float), "surv": np.cumprod(1.0 - q)})
    return out.query("time > 0").reset_index(drop=True)


class WeightedKMResult(Result):
    """Weighted Kaplan–Meier curves (lifelines ``KaplanMeierFitter(weights=)`` = R
    ``survfit(..., weights = w)``).  ``summary``: per group the weighted n, events, median.
    ``curves``: group → DataFrame(time, surv).  No confidence limits: with estimated weights
    the Greenwood variance is wrong (R's robust variance needs the weights' own uncertainty
    too; bootstrap the whole procedure instead)."""

    def __init__(self, fitters, groups, group_col):
        self.fitter = fitters
        self.groups = groups
        self.group_col = group_col
        self.curves = {g: _product_limit(f) for g, f in fitters.items()}
        rows = []
        for g, f in fitters.items():
            c = self.curves[g]
            below = c.loc[c["surv"] < 0.5 - 1e-12, "time"]
            rows.append({"group": g, "weighted n": float(f.event_table["entrance"].sum()),
                         "weighted events": float(f.event_table["observed"].sum()),
                         "median": float(below.iloc[0]) if len(below) else float("nan")})
        self._summary = pd.DataFrame(rows).set_index("group")
        self._summary.index.name = None
        self.title = "Weighted Kaplan–Meier estimate (IPTW)"

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary.copy()

    def survival_at(self, times) -> pd.DataFrame:
        """Weighted S(t) per group at *times* (NaN after a group's last time)."""
        times = np.atleast_1d(np.asarray(times, float))
        out = {}
        for g, c in self.curves.items():
            i = np.searchsorted(c["time"].to_numpy(), times, side="right") - 1
            s = np.where(i < 0, 1.0, c["surv"].to_numpy()[np.clip(i, 0, None)])
            out[g] = np.where(times > c["time"].iloc[-1], np.nan, s)
        return pd.DataFrame(out, index=pd.Index(times, name="time"))

    def plot(self, ax=None, xlabel="Months", ylabel="Survival probability", colors=None, title=None):
        import matplotlib.pyplot as plt

        from hcc.plots import group_colors

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        cols = group_colors(self.groups, colors)
        for g in self.groups:
            c = self.curves[g]
            ax.step(np.r_[0.0, c["time"]], np.r_[1.0, c["surv"]], where="post", color=cols[g],
                    lw=1.8, label=str(g))
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
        ax.set_title(title or self.title)
        return ax


def weighted_km(df: pd.DataFrame, time: str, event: str, group: str, weights: str) -> WeightedKMResult:
    """Kaplan–Meier curves per group with case weights (e.g. IPTW), as R
    ``survfit(Surv(time, event) ~ group, data, weights = w)`` (point estimates).

    Raises
    ------
    DataError
        Bad time/event/group columns, or weights that are missing, not finite or not > 0.
    """
    from lifelines import KaplanMeierFitter

    from hcc.coxph import _weights_array

    t, e = outcome(df, time, event)
    codes, levels = group_codes(df, group)
    w = _weights_array(df, weights)
    fitters = {}
    for k, g in enumerate(levels):
        sel = codes == k
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines: "non-integer weights" note
            fitters[g] = KaplanMeierFitter().fit(t[sel], e[sel], weights=w[sel], label=str(g))
    return WeightedKMResult(fitters, levels, group)
