"""Cox model diagnostics that the libraries lack or compute differently from R.

- concordance as R ``coxph`` counts it: lifelines' ``concordance_index`` up to 5,000 rows,
  above that an O(n log n) Fenwick-tree kernel compiled by numba (imported lazily);
- the R >= 3 ``cox.zph`` score test of proportional hazards (``transform = "km"``) and its
  scaled Schoenfeld residuals (:class:`PHTestResult`); lifelines' ``proportional_hazard_test``
  is the older approximation;
- score residuals with the Efron terms and R's robust (sandwich) variance — lifelines'
  ``robust=True`` leaves the Efron terms out.

Used by :mod:`hcc.coxph` (``CoxResult.concordance``, ``.ph_test()``, ``cox(robust=True)``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hcc._results import Result

if TYPE_CHECKING:  # the fitted data of hcc.coxph (which imports this module)
    from hcc.coxph import _CoxData, _Design, _Fit


# --------------------------------------------------------------------------- concordance
def _harrell_c(time, event, lp, order=None) -> float:
    """Harrell's C of the linear predictor *lp* as R ``coxph``: (concordant + tied-in-lp / 2)
    / comparable pairs; NaN without a comparable pair.

    A pair is comparable when the shorter time is an event; a censored time equal to an
    event time counts as longer; pairs of tied event times are not comparable (R's
    ``tied.y``).  lifelines' ``concordance_index(time, -lp, event)`` counts the same way (equal
    on 340 random data sets with many tied times and tied lp) but takes 10.7 s at 1M rows,
    against 0.5 s for the numba kernel (``benchmarks/bench_cox.py`` times fit + C), so above
    5,000 rows the count is ours.  *order*: the rows by time descending (numba path).
    """
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    lp = np.asarray(lp, float)
    if time.size <= 5000:
        from lifelines.utils import concordance_index

        try:
            return float(concordance_index(time, -lp, event))
        except ZeroDivisionError:  # lifelines: "No admissable pairs in the dataset."
            return float("nan")
    conc, disc, tied = _concordance_numba(time, event, lp, order)
    total = conc + disc + tied
    return (conc + tied / 2) / total if total else float("nan")


def _conc_kernel(order, event, time, rank, nrank):  # pragma: no cover - compiled by numba
    tree = np.zeros(nrank + 1, np.int64)
    total = 0
    conc = 0
    disc = 0
    tied = 0
    n = order.size
    i = 0
    while i < n:
        # one distinct time (rows sorted by time descending): censored rows join first
        j = i
        t = time[order[i]]
        while j < n and time[order[j]] == t:
            j += 1
        for k in range(i, j):
            r = order[k]
            if not event[r]:
                x = rank[r] + 1
                while x <= nrank:
                    tree[x] += 1
                    x += x & (-x)
                total += 1
        for k in range(i, j):
            r = order[k]
            if event[r]:
                # number with rank < rank[r] and <= rank[r]
                x = rank[r]
                below = 0
                while x > 0:
                    below += tree[x]
                    x -= x & (-x)
                x = rank[r] + 1
                upto = 0
                while x > 0:
                    upto += tree[x]
                    x -= x & (-x)
                conc += below
                tied += upto - below
                disc += total - upto
        for k in range(i, j):
            r = order[k]
            if event[r]:
                x = rank[r] + 1
                while x <= nrank:
                    tree[x] += 1
                    x += x & (-x)
                total += 1
        i = j
    return conc, disc, tied


_CONC_JIT = None


def _concordance_numba(time, event, lp, order=None):
    """*order*: the rows by time descending (computed when not given)."""
    global _CONC_JIT
    if _CONC_JIT is None:
        import numba

        _CONC_JIT = numba.njit(cache=True)(_conc_kernel)
    uniq, rank = np.unique(lp, return_inverse=True)
    if order is None:
        order = np.argsort(-time, kind="stable")
    c, d, t = _CONC_JIT(order.astype(np.int64), event, time, rank.astype(np.int64), uniq.size)
    return int(c), int(d), int(t)


# --------------------------------------------------------------------------- PH score test
def _km_left(data: _CoxData) -> np.ndarray:
    """1 - S(t-) of the pooled Kaplan–Meier at each death group (R ``cox.zph`` "km")."""
    at_risk = data.n - data.starts
    surv = np.cumprod(1.0 - data.d_t / at_risk)
    s_left = np.r_[1.0, surv[:-1]]
    return 1.0 - s_left[data.gidx]


def _zph(data: _CoxData, fit: _Fit, assign: dict[str, list[int]]) -> pd.DataFrame:
    g = _km_left(data)
    g = g - (g * data.dg).sum() / data.D  # centred over the deaths
    st = fit.state
    p = data.p
    I11 = st.I
    I12 = data.information(st, g)
    I22 = data.information(st, g * g)
    imat = np.block([[I11, I12], [I12.T, I22]])
    u2 = data.score_time(st, g)
    rows = []
    for name, cols in assign.items():
        kk = list(range(p)) + [p + c for c in cols]
        u = np.r_[np.zeros(p), u2[cols]]
        stat = float(u @ np.linalg.solve(imat[np.ix_(kk, kk)], u))
        rows.append((name, stat, len(cols)))
    u = np.r_[np.zeros(p), u2]
    rows.append(("GLOBAL", float(u @ np.linalg.solve(imat, u)), p))
    from scipy.stats import chi2

    out = pd.DataFrame(rows, columns=["term", "chisq", "df"]).set_index("term")
    out["p"] = chi2.sf(out["chisq"].to_numpy(), out["df"].to_numpy())
    out.index.name = None
    return out


def _zph_residuals(data: _CoxData, fit: _Fit, terms: list[str]) -> pd.DataFrame:
    """Scaled Schoenfeld residuals, as R ``cox.zph(fit, transform = "km")``'s ``y`` (no strata,
    one column per coefficient; returned with a frame of each death's ``time`` and ``x``):
    y = D · r · V + beta, r the Schoenfeld residual of a death
    (x minus the risk-set mean; with Efron ties the mean of the d Efron-downweighted means),
    D the number of deaths, V = I⁻¹ at the fit.  ``x`` is R's km time scale, 1 − S(t−).

    The mean of a death group's d means is (S1 Σ_k 1/den_k − D1 Σ_k f_k/den_k) / d, sums the
    evaluator already holds at the fit (``c``, ``e``; Breslow: every f_k = 0)."""
    st = fit.state
    xbar = (st.S1 * st.c[:, None] - st.D1 * st.e[:, None]) / data.dg[:, None]
    y = data.D * (data.X[data.dead] - xbar[data.rep]) @ fit.var + fit.beta
    where = pd.DataFrame({"time": data.time[data.dead],
                          "x": np.repeat(_km_left(data), data.d_t[data.gidx])})
    return pd.DataFrame(y, columns=terms), where


def _score_residuals(time, event, X, beta, weights=None, efron: bool = True):
    """Per-patient score residuals (R ``residuals(coxph, type = "score")``), the weighted log
    partial likelihood and score.  Returns ``(resid n x p, loglik, U)``.

    R's ``coxscore2`` with Efron ties: at a death time with d tied deaths, of mean case weight
    w̄, the k-th (k = 0..d-1) term has denominator S0 − (k/d) D0, mean x̄_k and hazard
    increment h_k = w̄ / (S0 − (k/d) D0).  A patient at risk collects
    −r_i Σ_k h_k (x_i − x̄_k), a dying one (x_i − mean_k x̄_k) and only (1 − k/d) of each risk
    term.  Written here because lifelines' ``robust=True`` builds the residuals without the
    Efron terms: on R's ``lung`` (age, sex, ph.ecog; random weights) its robust SE of age is
    0.0106158 against R's 0.0106225.  Breslow: every k = 0.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    X = np.asarray(X, float)
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    eta = X @ beta
    shift = float(eta.max()) if n else 0.0
    r = np.exp(eta - shift)
    wr = w * r
    resid = np.zeros((n, p))
    ll, U = 0.0, np.zeros(p)
    for t in np.unique(time[event]):
        risk = time >= t
        dead = event & (time == t)
        d = int(dead.sum())
        S0 = wr[risk].sum()
        S1 = wr[risk] @ X[risk]
        D0 = wr[dead].sum()
        D1 = wr[dead] @ X[dead]
        wbar = w[dead].sum() / d
        ks = np.arange(d) / d if efron else np.zeros(d)
        den = S0 - ks * D0
        xbar = (S1[None, :] - ks[:, None] * D1[None, :]) / den[:, None]
        h = wbar / den
        resid[dead] += X[dead] - xbar.mean(axis=0)
        resid[risk] -= r[risk, None] * (h.sum() * X[risk] - h @ xbar)
        hk = h * ks
        resid[dead] += r[dead, None] * (hk.sum() * X[dead] - hk @ xbar)
        ll += float(w[dead] @ eta[dead] - wbar * (np.log(den) + shift).sum())
        U += w[dead] @ X[dead] - wbar * xbar.sum(axis=0)
    return resid, ll, U


def _robust_var(des: _Design, beta, var, weights, ties: str) -> np.ndarray:
    """R ``coxph(robust = TRUE)``: the sandwich D'D of the weighted dfbeta residuals
    D = w · (score residuals) · V (V the model-based variance), no clusters."""
    resid, _, _ = _score_residuals(des.time, des.event, des.X, beta, weights, efron=(ties == "efron"))
    D = resid @ var
    if weights is not None:
        D = D * np.asarray(weights, float)[:, None]
    return D.T @ D


class PHTestResult(Result):
    """R ``cox.zph(fit, transform = "km", terms = TRUE)``: the score test of proportional
    hazards per covariate and GLOBAL.  ``summary`` columns ``chisq, df, p``."""

    title = "Proportional-hazards test (score test, Kaplan–Meier time scale)"

    def __init__(self, table: pd.DataFrame, notes=(), residuals: pd.DataFrame | None = None,
                 coef: pd.Series | None = None, zph_var: pd.DataFrame | None = None,
                 residual_times: pd.DataFrame | None = None):
        self._table = table
        #: R ``cox.zph``'s ``var`` (= D · V): scales the band of the residual plot
        self.zph_var = zph_var
        self.notes = tuple(notes)
        #: scaled Schoenfeld residuals (R ``cox.zph``'s ``y``), one row per death, one column per term
        self.residuals = residuals
        #: each death's ``time`` and ``x`` (R ``cox.zph``'s ``time`` and ``x``: 1 − KM(t−)), same rows
        self.residual_times = residual_times
        self.coef = coef

    def plot(self, term: str | None = None, ax=None, **kwargs):
        """Scaled Schoenfeld residuals of one term against time (R ``plot(cox.zph(fit))``),
        with a smooth; see :func:`hcc.plots.schoenfeld_plot`.  Returns the Axes."""
        from hcc.plots import schoenfeld_plot

        return schoenfeld_plot(self, term=term, ax=ax, **kwargs)

    @property
    def p(self) -> pd.Series:
        return self._table["p"].copy()
