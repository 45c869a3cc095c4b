"""Cox proportional-hazards regression on lifelines (Efron) and statsmodels (Breslow), matching
R's ``survival::coxph``; R's ``cox.zph`` score test and concordance are hcc's.

Public functions
----------------
cox(df, time, event, covariates, ties="efron", alpha=0.05, reference=None) -> CoxResult
(the paper's tables, ``cox_screen`` and ``subgroup_hr``, are in :mod:`hcc.cox_tables`.)

What runs where
---------------
* ``ties="efron"`` (R's default): lifelines :class:`~lifelines.CoxPHFitter`, with its
  Newton–Raphson tightened (``fit_options = LIFELINES_FIT_OPTIONS``: full steps; stop when
  the Newton decrement is below 1e-20 or the previous step changed the log-likelihood by less
  than 1e-12 relative). Its default (step 0.95, precision 1e-7) leaves about 1e-5 in the
  coefficients, and a precision of 1e-12 still stops with ~1e-7 left (lifelines stops
  *before* taking the step whose Newton decrement is below ``precision``); tightened, they
  equal R ``coxph`` to 1e-8 or better. ``CoxResult.fitter`` is the fitted ``CoxPHFitter``.
* ``ties="breslow"``: statsmodels :class:`~statsmodels.duration.hazard_regression.PHReg`
  (``ties="breslow"``, Newton, ``tol = 1e-10``; lifelines has only Efron ties).
  ``CoxResult.fitter`` is its ``PHRegResults``.
  Coefficients, their covariance, the fitted log partial likelihood are the library's.

What hcc adds (the libraries lack it or differ from R)
-----------------------------------------------------
* The design: treatment coding with a named reference level, R's ``na.omit`` with a note,
  refusing constant and collinear covariates with a plain message.
* R's infinite-coefficient check (``coxph`` warns "Loglik converged before variable ...";
  here :class:`~hcc.errors.ConvergenceError` naming the covariate), the null log-likelihood
  and the score (log-rank) test at beta = 0 — from a small numpy evaluator of the partial
  likelihood (:class:`_CoxData`: score and information in one pass over the time-sorted rows).
* ``ph_test()``: R >= 3.0 ``cox.zph`` is a score test; lifelines'
  ``proportional_hazard_test`` is the older approximation and differs a lot (veteran
  celltype: P 0.019 in R vs 0.87; ``../shared/METHODS.md`` §2).
* ``concordance``: R's Harrell C (a censored time equal to an event time counts as longer,
  ties in the linear predictor as 1/2) of the linear predictor computed column by column (so
  patients with equal covariates tie exactly): lifelines' ``concordance_index`` up to 5,000
  rows; above, a Fenwick-tree kernel compiled by numba (lifelines': 10.7 s at 1M rows).

The user-facing decisions (missing values, infinite coefficients, reference levels) are in
:func:`cox`'s docstring.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hcc._checks import codes_levels, outcome, require_frame
from hcc._results import Result
from hcc.errors import ConvergenceError, DataError
from hcc.cox_diagnostics import (PHTestResult, _harrell_c, _robust_var,  # noqa: F401
                                 _score_residuals, _zph, _zph_residuals)

__all__ = ["cox", "CoxResult", "PHTestResult"]

#: lifelines ``CoxPHFitter.fit(fit_options=...)`` tightened (module docstring): ``precision``
#: bounds the Newton decrement of the step not taken, so it must be far below (1e-8)^2.
LIFELINES_FIT_OPTIONS = {"step_size": 1.0, "precision": 1e-20, "r_precision": 1e-12}
#: statsmodels ``PHReg.fit(method="newton", tol=...)``: change in the coefficients at which
#: Newton–Raphson stops (statsmodels' default 1e-8).
STATSMODELS_TOL = 1e-10
STATSMODELS_MAXITER = 100
#: R's test for an infinite coefficient: |U V| > eps and > toler.inf * |beta|.
_R_EPS = 1e-9
_TOLER_INF = math.sqrt(_R_EPS)


# =========================================================================== partial likelihood
class _CoxData:
    """Time-sorted, centred design with the index arrays that every evaluation reuses.

    The rows come sorted by time and, within a time, grouped by event (``_sorted_block``
    sorts them once, in lifelines' own order — censored before deaths — and hands the same
    block to lifelines), so that the deaths of one time form one contiguous segment.  One
    ``np.add.reduceat`` over these segments gives both the risk-set increments per time and
    the sums over the tied deaths.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, efron: bool = True):
        t = np.array(time, dtype=float)  # a copy: *time* may be a view of the caller's block
        e = np.asarray(event, dtype=bool)
        # a column-major (Fortran) copy: the per-column reductions below are contiguous
        Xs = np.array(X, dtype=float, order="F")
        n, p = Xs.shape
        self.means = Xs.mean(axis=0) if n else np.zeros(p)
        Xs -= self.means
        self.X = Xs
        self.time, self.event, self.efron = t, e, efron
        self.n, self.p = n, p
        # distinct times
        new = np.empty(n, dtype=bool)
        new[:1] = True
        np.not_equal(t[1:], t[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        T = starts.size
        sizes = np.diff(np.r_[starts, n])
        d = np.add.reduceat(e.astype(np.int64), starts)
        self.starts, self.T, self.d_t = starts, T, d
        self.tix_sizes = sizes
        # segments: the rows of time k with the event status of its first row, then the others
        split = (d > 0) & (d < sizes)
        first = np.where(e[starts], d, sizes - d)
        seg = np.sort(np.r_[starts, (starts + first)[split]])
        self.seg = seg
        self.seg_time = np.repeat(np.arange(T), 1 + split.astype(int))
        self.time_first_seg = np.flatnonzero(np.r_[True, self.seg_time[1:] != self.seg_time[:-1]])
        seg_dead = e[seg]
        self.gidx = np.flatnonzero(d > 0)  # distinct-time index of each death group
        self.dead_seg = np.flatnonzero(seg_dead)  # segment of each death group
        dg = d[self.gidx]
        self.dg = dg.astype(float)
        G = self.gidx.size
        self.G = G
        self.dead = np.flatnonzero(e)  # dead rows (grouped by time)
        self.D = self.dead.size
        self.rep = np.repeat(np.arange(G), dg)  # death -> its group
        if efron:
            self.frac = (np.arange(self.D) - np.repeat(np.cumsum(dg) - dg, dg)) / np.repeat(self.dg, dg)
        else:  # Breslow: every tied death sees the full risk set
            self.frac = np.zeros(self.D)
        self.frac2 = self.frac ** 2
        self.xdead_g = self._dead_sums(self.X)
        self.sum_x_dead = self.xdead_g.sum(axis=0)
        self._buf = np.empty_like(self.X)  # keeps the Fortran order

    def _dead_sums(self, A: np.ndarray) -> np.ndarray:
        """Sum of the rows of A over the deaths of each group (G x p)."""
        if self.G == 0:
            return np.zeros((0,) + A.shape[1:])
        return np.add.reduceat(A, self.seg, axis=0)[self.dead_seg]

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, beta: np.ndarray, info: bool = True) -> "_State":
        X = self.X
        eta = X @ beta
        shift = float(eta.max()) if eta.size else 0.0
        w = np.exp(eta - shift)
        wX = np.multiply(X, w[:, None], out=self._buf)
        seg0 = np.add.reduceat(w, self.seg)
        seg1 = np.add.reduceat(wX, self.seg, axis=0)
        W_t = np.add.reduceat(seg0, self.time_first_seg)
        WX_t = np.add.reduceat(seg1, self.time_first_seg, axis=0)
        S0 = np.cumsum(W_t[::-1])[::-1][self.gidx]
        S1 = np.cumsum(WX_t[::-1], axis=0)[::-1][self.gidx]
        D0 = seg0[self.dead_seg]
        D1 = seg1[self.dead_seg]
        rep, frac = self.rep, self.frac
        den = S0[rep] - frac * D0[rep]
        inv = 1.0 / den
        inv2 = inv * inv
        G = self.G
        st = _State(beta=beta, w=w, S1=S1, D1=D1)
        st.c = np.bincount(rep, inv, minlength=G)
        st.e = np.bincount(rep, frac * inv, minlength=G)
        st.a = np.bincount(rep, inv2, minlength=G)
        st.b = np.bincount(rep, frac * inv2, minlength=G)
        st.q = np.bincount(rep, self.frac2 * inv2, minlength=G)
        st.ll = float(self.sum_x_dead @ beta - np.log(den).sum() - self.D * shift)
        st.U = self.sum_x_dead - (S1 * st.c[:, None] - D1 * st.e[:, None]).sum(axis=0)
        if info:
            st.I = self.information(st)
        return st

    def information(self, st: "_State", h: np.ndarray | None = None) -> np.ndarray:
        """Information matrix; with *h* (one weight per death group) the h-weighted sum
        of the per-group contributions (used by the proportional-hazards score test).

        Per death group with terms j (Efron) the contribution is
        sum_j [S2_j / den_j - M_j M_j'], M_j = (S1 - f_j D1) / den_j.  The S2 part is
        X' diag(v) X with v_i = w_i (sum of c over the groups i is at risk for, minus e of
        its own group when i dies); the M part is expanded with group-level sums.
        """
        c, e, a, b, q = st.c, st.e, st.a, st.b, st.q
        if h is not None:
            c, e, a, b, q = c * h, e * h, a * h, b * h, q * h
        v = self._row_weights(st, c, e)
        XV = np.multiply(self.X, v[:, None], out=self._buf)
        A = XV.T @ self.X
        S1, D1 = st.S1, st.D1
        SD = S1.T @ (b[:, None] * D1)
        MM = S1.T @ (a[:, None] * S1) - SD - SD.T + D1.T @ (q[:, None] * D1)
        out = A - MM
        return (out + out.T) / 2

    def information_diag(self, st: "_State") -> np.ndarray:
        """The diagonal of :meth:`information` alone (p sums instead of a p x p product)."""
        v = self._row_weights(st, st.c, st.e)
        A = np.einsum("ij,ij,i->j", self.X, self.X, v, optimize=False)
        S1, D1 = st.S1, st.D1
        MM = st.a @ (S1 * S1) - 2 * (st.b @ (S1 * D1)) + st.q @ (D1 * D1)
        return A - MM

    def _row_weights(self, st: "_State", c: np.ndarray, e: np.ndarray) -> np.ndarray:
        """v_i = w_i (sum of c over the groups row i is at risk for, minus e of its own group
        when i dies): X' diag(v) X is the S2 part of the information."""
        c_t = np.zeros(self.T)
        c_t[self.gidx] = c
        v = np.repeat(np.cumsum(c_t), self.tix_sizes)
        v[self.dead] -= e[self.rep]
        v *= st.w
        return v

    def score_time(self, st: "_State", h: np.ndarray) -> np.ndarray:
        """sum over deaths of h(t) (x_i - mean_j): score of the covariate × h(t) block."""
        first = (self.xdead_g * h[:, None]).sum(axis=0)
        return first - ((st.S1 * st.c[:, None] - st.D1 * st.e[:, None]) * h[:, None]).sum(axis=0)


@dataclass
class _State:
    beta: np.ndarray
    w: np.ndarray
    S1: np.ndarray
    D1: np.ndarray
    ll: float = float("nan")
    U: np.ndarray | None = None
    I: np.ndarray | None = None
    c: np.ndarray | None = None
    e: np.ndarray | None = None
    a: np.ndarray | None = None
    b: np.ndarray | None = None
    q: np.ndarray | None = None


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        L = np.linalg.cholesky(A)
        y = np.linalg.solve(L, b)
        return np.linalg.solve(L.T, y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]


@dataclass
class _Fit:
    beta: np.ndarray
    var: np.ndarray
    ll0: float
    ll: float
    state: _State  # the evaluator at beta (score, information: used by ph_test)
    fitter: object  # lifelines CoxPHFitter or statsmodels PHRegResults


# =========================================================================== data handling
@dataclass
class _Design:
    time: np.ndarray
    event: np.ndarray
    X: np.ndarray
    terms: list[str]  # one per column of X
    assign: dict[str, list[int]]  # covariate -> columns
    levels: dict[str, tuple]  # categorical covariate -> (reference, other levels)
    notes: list[str] = field(default_factory=list)
    n_dropped: int = 0
    keep: np.ndarray | None = None  # boolean mask of the used rows of df
    names: tuple[str, str] = ("time", "event")  # the outcome columns (for the library's frame)


def _check_columns(df, time: str, event: str, covariates=(), role: str = "covariate") -> None:
    require_frame(df, {"follow-up time": time, "event indicator": event})
    require_frame(df, {role: c for c in covariates})


def _is_categorical(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object
            or pd.api.types.is_string_dtype(s.dtype))


def _term_name(col, level, ref) -> str:
    return f"{col}[{level} vs {ref}]"


def _design(df: pd.DataFrame, time: str, event: str, covariates, reference=None) -> _Design:
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise DataError("give at least one covariate")
    if len(set(covariates)) != len(covariates):
        raise DataError("a covariate is listed twice")
    _check_columns(df, time, event, covariates)
    reference = dict(reference or {})
    for col in reference:
        if col not in covariates:
            raise DataError(f"reference given for '{col}', which is not a covariate")
    t, e = outcome(df, time, event)
    miss = {c: df[c].isna().to_numpy() for c in covariates}
    keep = ~np.logical_or.reduce([miss[c] for c in covariates])
    notes = []
    n_drop = int((~keep).sum())
    if n_drop:
        per = ", ".join(f"'{c}' {int(miss[c].sum())}" for c in covariates if miss[c].any())
        notes.append(f"{n_drop} patient(s) with a missing covariate value were left out "
                     f"(as R's na.omit; missing per column: {per}).")
        t, e = t[keep], e[keep]
    if t.size == 0:
        raise DataError("no patient has complete data for these covariates")
    if not e.any():
        raise DataError("there are no events: every patient is censored, so no hazard ratio "
                        "can be estimated")
    cols, terms, assign, levels = [], [], {}, {}
    for c in covariates:
        s = df[c]
        if n_drop:
            s = s[keep]
        if _is_categorical(s):
            lv = codes_levels(s)[1]
            if c in reference:
                ref = reference[c]
                if ref not in lv:
                    raise DataError(f"reference level '{ref}' of '{c}' does not occur in the data "
                                    f"(levels: {', '.join(map(str, lv))})")
            else:
                ref = lv[0]
            others = [x for x in lv if x != ref]
            if not others:
                raise DataError(f"covariate '{c}' has the same value for every patient")
            vals = s.to_numpy()
            assign[c] = []
            for lev in others:
                assign[c].append(len(cols))
                cols.append((vals == lev).astype(float))
                terms.append(_term_name(c, lev, ref))
            levels[c] = (ref, tuple(others))
            notes.append(f"'{c}': reference level '{ref}'.")
        else:
            if c in reference:
                raise DataError(f"'{c}' is numeric: a reference level applies only to text or "
                                "categorical columns")
            try:
                x = s.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise DataError(f"covariate '{c}' must hold numbers or categories") from None
            if not np.isfinite(x).all():
                raise DataError(f"covariate '{c}' has infinite values")
            if np.all(x == x[0]):
                raise DataError(f"covariate '{c}' has the same value for every patient")
            assign[c] = [len(cols)]
            cols.append(x)
            terms.append(c)
    X = np.empty((t.size, len(cols)), order="F")  # column-major n x p
    for k, col in enumerate(cols):
        X[:, k] = col
    return _Design(time=t, event=e, X=X, terms=terms, assign=assign, levels=levels,
                   notes=notes, n_dropped=n_drop, keep=keep, names=(time, event))


def _check_collinear(data: "_CoxData", terms: list[str]):
    """Refuse covariates that are constant or linear combinations of earlier ones."""
    G = data.X.T @ data.X  # X is centred
    sd = np.sqrt(np.diag(G))
    flat = np.flatnonzero(sd <= 1e-12 * max(1.0, float(sd.max(initial=0))))
    if flat.size:
        raise DataError(f"covariate '{terms[flat[0]]}' has the same value for every patient")
    R = G / np.outer(sd, sd)
    for k in range(1, len(terms)):
        ev = np.linalg.eigvalsh(R[: k + 1, : k + 1])
        if ev.min() < 1e-10:
            raise DataError(f"'{terms[k]}' is completely determined by the covariates listed "
                            "before it (collinear); leave one of them out")




# =========================================================================== the library fit
def _lifelines_fit(des: _Design, block: np.ndarray, order: np.ndarray,
                   weights: np.ndarray | None = None):
    """Efron: lifelines ``CoxPHFitter`` (tightened); returns (fitter, beta, var, loglik).

    *block* is the design with time and event as its last two columns, one float64
    column-major array already in lifelines' sort order (*order*: the positions of its rows
    among the rows used, kept as the frame's index), so lifelines' ``sort_values`` finds it
    sorted and gathers nothing; the same sorted block serves hcc's own checks (one sort).
    With *weights* (case
    weights in *des*'s row order, R ``coxph(weights=)``) the library's ``weights_col``; its
    ``robust=True`` is not used (see :func:`_score_residuals`).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError as LifelinesConvergenceError

    tname, ename = _outcome_names(des)
    frame = pd.DataFrame(block, columns=[*des.terms, tname, ename], index=pd.Index(order),
                         copy=False)
    wname = None
    if weights is not None:
        wname = "__case_weight__"
        frame[wname] = np.asarray(weights, float)[order]
    cph = CoxPHFitter()
    with warnings.catch_warnings():
        # lifelines' own convergence hints ("low variance", "norm(delta) still high"); the
        # checks that decide are R's, made below on the fitted coefficients
        warnings.simplefilter("ignore")
        try:
            cph.fit(frame, tname, ename, weights_col=wname, fit_options=dict(LIFELINES_FIT_OPTIONS))
        except LifelinesConvergenceError as exc:
            raise ConvergenceError(f"the Cox model could not be fitted (lifelines: {str(exc).split('.')[0]})") from None
    beta = cph.params_.reindex(des.terms).to_numpy(dtype=float)
    var = cph.variance_matrix_.reindex(index=des.terms, columns=des.terms).to_numpy(dtype=float)
    return cph, beta, var, float(cph.log_likelihood_)


def _statsmodels_fit(des: _Design, block, order):
    """Breslow: statsmodels ``PHReg(ties="breslow")``; returns (results, beta, var, loglik)."""
    from statsmodels.duration.hazard_regression import PHReg

    model = PHReg(pd.Series(des.time, name=_outcome_names(des)[0]),
                  pd.DataFrame(des.X, columns=des.terms), status=des.event.astype(float),
                  ties="breslow")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning / HessianInversionWarning: R's check decides
        res = model.fit(method="newton", tol=STATSMODELS_TOL, maxiter=STATSMODELS_MAXITER)
    beta = np.asarray(res.params, dtype=float)
    var = np.asarray(res.cov_params(), dtype=float)
    return res, beta, var, float(res.llf)


def _outcome_names(des: _Design) -> tuple[str, str]:
    tname, ename = des.names
    if tname in des.terms or tname == ename:
        tname = f"{tname} (time)"
    if ename in des.terms or ename == tname:
        ename = f"{ename} (event)"
    return tname, ename


def _sorted_block(des: _Design) -> tuple[np.ndarray, np.ndarray]:
    """The design sorted once for everything: by time, censored before deaths within a time
    (lifelines' own order); one column-major float64 array ``[X | time | event]`` and the order."""
    n, p = des.X.shape
    idx = np.r_[np.flatnonzero(~des.event), np.flatnonzero(des.event)]
    order = idx[np.argsort(des.time[idx], kind="stable")]
    block = np.empty((n, p + 2), order="F")
    for k in range(p):
        np.take(des.X[:, k], order, out=block[:, k])
    np.take(des.time, order, out=block[:, p])
    block[:, p + 1] = des.event[order]
    return block, order


def _infinite(U: np.ndarray, var: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """R coxfit6: a coefficient is infinite when the Newton step still left, |U V|, is above
    eps and above toler.inf * |beta| (the likelihood keeps rising)."""
    steps = np.abs(U @ var)
    return (steps > _R_EPS) & (steps > _TOLER_INF * np.abs(beta))


def _sorted_data(des: _Design, efron: bool) -> tuple[np.ndarray, np.ndarray, _CoxData]:
    """The sorted block, its order and hcc's evaluator on it; collinear designs refused."""
    block, order = _sorted_block(des)
    p = des.X.shape[1]
    data = _CoxData(block[:, p], block[:, p + 1] != 0, block[:, :p], efron=efron)
    _check_collinear(data, des.terms)
    return block, order, data


def _refuse_infinite(des: _Design, infinite: np.ndarray) -> None:
    """ConvergenceError naming the terms whose coefficient is infinite (R ``coxph``'s warning)."""
    if infinite.any():
        names = [des.terms[k] for k in np.flatnonzero(infinite)]
        raise ConvergenceError(
            "the hazard ratio for " + ", ".join(f"'{n}'" for n in names) + " is infinite "
            "(the likelihood keeps rising, e.g. no events in one group), so it cannot be "
            "estimated")


def _fit_design(des: _Design, ties: str) -> tuple[_CoxData, _Fit]:
    """Fit with the library of *ties*; R's checks before (not identified) and after (infinite)."""
    ties = _check_ties(ties)
    block, order, data = _sorted_data(des, efron=(ties == "efron"))
    p = data.p
    st0 = data.evaluate(np.zeros(p), info=False)
    ss = np.einsum("ij,ij->j", data.X, data.X)
    flat = np.flatnonzero(data.information_diag(st0) <= 1e-10 * np.maximum(ss, 1e-300))
    if flat.size:
        names = [des.terms[k] for k in flat]
        raise ConvergenceError(
            "the hazard ratio for " + ", ".join(f"'{n}'" for n in names) + " cannot be "
            "estimated: at every event time all patients still at risk have the same value "
            "(e.g. one group has left follow-up before the first event)")
    fitter, beta, var, ll = (_lifelines_fit if ties == "efron" else _statsmodels_fit)(des, block, order)
    del block
    if np.all(np.isfinite(beta)) and np.all(np.isfinite(var)):
        st = data.evaluate(beta, info=False)  # the information at beta only for ph_test
        infinite = _infinite(st.U, var, beta)
    else:
        st, infinite = None, ~(np.isfinite(beta) & np.isfinite(np.diag(var)))
        infinite = infinite if infinite.any() else np.ones(p, bool)
    _refuse_infinite(des, infinite)
    return data, _Fit(beta=beta, var=var, ll0=st0.ll, ll=ll, state=st, fitter=fitter)


def _score_test0(data: _CoxData) -> float:
    """The score (log-rank) statistic U' I^-1 U at beta = 0 (R ``coxph``'s ``score``)."""
    if data.p == 0:
        return 0.0
    st0 = data.evaluate(np.zeros(data.p))
    return float(st0.U @ _solve(st0.I, st0.U))


def _fit_weighted(des: _Design, weights: np.ndarray) -> tuple[_CoxData, _Fit]:
    """Efron with case weights: lifelines ``weights_col``; R's checks on the weighted score."""
    block, order, data = _sorted_data(des, efron=True)
    p = data.p
    _, ll0, _ = _score_residuals(des.time, des.event, des.X, np.zeros(p), weights)
    fitter, beta, var, ll = _lifelines_fit(des, block, order, weights)
    if np.all(np.isfinite(beta)) and np.all(np.isfinite(var)):
        infinite = _infinite(_score_residuals(des.time, des.event, des.X, beta, weights)[2], var, beta)
    else:
        infinite = np.ones(p, bool)
    _refuse_infinite(des, infinite)
    return data, _Fit(beta=beta, var=var, ll0=ll0, ll=ll, state=None, fitter=fitter)


def _weights_array(df: pd.DataFrame, col: str) -> np.ndarray:
    require_frame(df, {"case weight": col})
    w = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if np.isnan(w).any():
        raise DataError(f"{int(np.isnan(w).sum())} patient(s) have no weight in '{col}' "
                        "(missing or not a number)")
    if not np.isfinite(w).all() or (w <= 0).any():
        raise DataError(f"weights in '{col}' must be finite and greater than 0")
    return w


def _check_ties(ties: str) -> str:
    if ties not in ("efron", "breslow"):
        raise DataError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    return ties


def _check_alpha(alpha: float) -> float:
    if not (0 < alpha < 1):
        raise DataError(f"alpha must be between 0 and 1, not {alpha!r}")
    return float(alpha)


def _wald_table(beta, var, terms, alpha):
    from scipy.stats import norm

    se = np.sqrt(np.diag(var))
    z = beta / se
    q = norm.isf(alpha / 2)
    return pd.DataFrame({
        "coef": beta, "se": se, "HR": np.exp(beta),
        "lower": np.exp(beta - q * se), "upper": np.exp(beta + q * se),
        "z": z, "p": 2 * norm.sf(np.abs(z)),
    }, index=pd.Index(terms, name=None))


def _chi2_p(stat, df):
    from scipy.stats import chi2

    return float(chi2.sf(stat, df))


# =========================================================================== results
class CoxResult(Result):
    """A fitted Cox model.

    Attributes
    ----------
    summary : DataFrame indexed by term: ``coef, se, HR, lower, upper, z, p`` (Wald, as
        R ``summary(coxph)``).
    n, events : rows used and events among them.
    concordance : Harrell's C as printed by R ``summary(coxph)``.
    loglik : (null, fitted) log partial likelihoods.
    tests : DataFrame of the global likelihood-ratio, Wald and score tests (computed on
        first access, as ``concordance``).
    var : covariance matrix of the coefficients (DataFrame).
    terms : dict covariate → its term names.
    notes : the reference levels, rows left out, and other remarks.
    fitter : the fitted library object — lifelines ``CoxPHFitter`` (Efron) or statsmodels
        ``PHRegResults`` (Breslow); its columns are the term names of ``summary``.
    """

    def __init__(self, des: _Design, data: _CoxData, fit: _Fit, ties: str, alpha: float,
                 time: str, event: str, weights: np.ndarray | None = None,
                 robust: bool = False, weights_col: str | None = None):
        self._des, self._data, self._fit = des, data, fit
        self.ties, self.alpha = ties, alpha
        self.time_col, self.event_col = time, event
        self.weights_col, self.robust = weights_col, bool(robust)
        self._weights = weights
        self.n = int(des.time.size)
        self.events = int(des.event.sum())
        self.n_dropped = des.n_dropped
        self.coef = pd.Series(fit.beta, index=des.terms)
        self.naive_var = pd.DataFrame(fit.var, index=des.terms, columns=des.terms)
        var = _robust_var(des, fit.beta, fit.var, weights, ties) if robust else fit.var
        self.var = pd.DataFrame(var, index=des.terms, columns=des.terms)
        self._summary = _wald_table(fit.beta, var, des.terms, alpha)
        self.loglik = (fit.ll0, fit.ll)
        self.fitter = fit.fitter
        self._var_used = var
        self._tests = None
        self.terms = {c: [des.terms[k] for k in cols] for c, cols in des.assign.items()}
        self.levels = dict(des.levels)
        self.notes = tuple(des.notes) + (
            f"Ties: {ties}; Wald {100 * (1 - alpha):g}% CI and P (as R summary(coxph)).",)
        if weights_col is not None:
            self.notes += (f"Case weights from '{weights_col}' (R coxph(weights = )); "
                           "likelihood-ratio test on the weighted likelihood, no score test.",)
        if robust:
            self.notes += ("Robust (sandwich) standard errors, as R coxph(robust = TRUE); "
                           "the model-based ones are in .naive_var.",)
        self.title = (f"Cox model of {time} ({event}): n = {self.n}, events = {self.events}")
        self._concordance = None

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary.copy()

    @property
    def tests(self) -> pd.DataFrame:
        """Global likelihood-ratio, Wald and score tests (R ``summary(coxph)``); computed on
        first access (the score test needs the information matrix at beta = 0)."""
        if self._tests is None:
            fit, p = self._fit, len(self._des.terms)
            wald = float(fit.beta @ _solve(self._var_used, fit.beta)) if p else 0.0
            lr = 2 * (fit.ll - fit.ll0)
            # no score test with case weights (hcc's evaluator is unweighted)
            score = float("nan") if self._weights is not None else _score_test0(self._data)
            self._tests = pd.DataFrame(
                {"statistic": [lr, wald, score], "df": [p] * 3,
                 "p": [_chi2_p(lr, p), _chi2_p(wald, p), _chi2_p(score, p)]},
                index=["Likelihood ratio", "Wald", "Score (log-rank)"])
        return self._tests.copy()

    @property
    def concordance(self) -> float:
        """Harrell's C of the linear predictor (R ``coxph``'s ``concordance``); computed on
        first access."""
        if self._concordance is None and self._weights is not None:
            self._concordance = float("nan")  # R weights the pairs; not implemented here
        if self._concordance is None:
            d = self._data
            # column by column (not BLAS): patients with the same covariates must get
            # bit-identical linear predictors, or their ties (R's tied.x) would be lost
            lp = np.zeros(d.n)
            for k, b in enumerate(self._fit.beta):
                lp += d.X[:, k] * b
            # the rows are sorted by time: the kernel's descending order needs no sort
            self._concordance = _harrell_c(d.time, d.event, lp, order=np.arange(d.n)[::-1])
        return self._concordance

    def term_test(self, covariate: str) -> tuple[float, int, float]:
        """Wald chi-square, df and P of all terms of one covariate (multi-df for a factor)."""
        if covariate not in self._des.assign:
            raise DataError(f"'{covariate}' is not a covariate of this model")
        cols = self._des.assign[covariate]
        b = self._fit.beta[cols]
        V = self._fit.var[np.ix_(cols, cols)]
        stat = float(b @ _solve(V, b))
        return stat, len(cols), _chi2_p(stat, len(cols))

    def ph_test(self) -> PHTestResult:
        """Test proportional hazards as R ≥ 3.0 ``cox.zph(fit, transform="km", terms=TRUE)``.

        Notes
        -----
        A score test of adding ``x * g(t)`` for each covariate, with ``g`` one minus the
        left-continuous pooled Kaplan–Meier estimate, centred over the deaths; the
        per-covariate test frees that covariate's time-interaction columns (several for a
        factor), GLOBAL frees them all.  Reproduces R's ``zph1`` computation (Efron or
        Breslow as fitted).  lifelines' ``proportional_hazard_test`` uses an older
        approximation and can differ a great deal.
        """
        if self._weights is not None:
            raise DataError("the proportional-hazards test is not available for a weighted Cox "
                            "model here; test the unweighted model")
        st = self._fit.state
        if st.I is None:
            st.I = self._data.information(st)
        table = _zph(self._data, self._fit, self._des.assign)
        resid, where = _zph_residuals(self._data, self._fit, list(self._des.terms))
        return PHTestResult(table, notes=("R cox.zph(fit, transform = 'km', terms = TRUE).",),
                            residuals=resid, residual_times=where, coef=self.coef.copy(),
                            zph_var=pd.DataFrame(self._fit.var * self._data.D, index=self._des.terms,
                                                 columns=self._des.terms))

    def plot(self, ax=None, **kwargs):
        """Forest plot of the hazard ratios of the terms; returns the Axes."""
        from hcc.forest import forest_plot

        s = self.summary
        kwargs.setdefault("title", self.title)
        return forest_plot(s, ax=ax, n=None, **kwargs)


# =========================================================================== public API
def cox(df: pd.DataFrame, time: str, event: str, covariates, ties: str = "efron",
        alpha: float = 0.05, reference: dict | None = None, weights: str | None = None,
        robust: bool = False) -> CoxResult:
    """Fit a Cox proportional-hazards model, as R ``coxph(Surv(time, event) ~ ...)``.

    Parameters
    ----------
    df : DataFrame
    time : str
        Follow-up time column (>= 0).
    event : str
        Event column: 1/True = event, 0/False = censored.
    covariates : str or list of str
        Column names.  Numbers enter as they are (0/1 indicators give the HR of 1 vs 0);
        text or categorical columns are treatment-coded against a reference level.
    ties : {"efron", "breslow"}
        Handling of tied event times (R default "efron").
    alpha : float
        1 - confidence level of the intervals.
    reference : dict, optional
        ``{column: level}`` reference levels of categorical covariates; otherwise the first
        level in sorted order (a pandas Categorical's first category).
    weights : str, optional
        Column of case weights (> 0), e.g. inverse-probability-of-treatment weights from
        :func:`hcc.iptw`; as R ``coxph(..., weights = w)``.  Efron ties only.
    robust : bool
        Robust (sandwich) variance, as R ``coxph(..., robust = TRUE)``: ``summary["se"]``,
        the CI and P use it; ``.naive_var`` keeps the model-based variance.  Use it with
        weights: the model-based SE treats the weights as counts of patients.

    Returns
    -------
    CoxResult

    Raises
    ------
    DataError
        Non-binary or missing events, missing or negative times (an outcome must be known),
        no events, a covariate with one value only, collinear covariates.
    ConvergenceError
        An infinite hazard ratio (monotone likelihood, e.g. no events in one group; named),
        or no convergence.  ``cox_screen`` and ``subgroup_hr`` report NaN with a note instead.

    Notes
    -----
    R parity: Efron ties run on lifelines ``CoxPHFitter`` with ``LIFELINES_FIT_OPTIONS``
    (lifelines' default stopping rule leaves about 1e-5 in the coefficients), Breslow ties on
    statsmodels ``PHReg(ties="breslow")``; coefficients, Wald CIs and P agree with R to about
    1e-8.  The lifelines call a reader would write:
    ``CoxPHFitter().fit(d[[time, event, *covariates]], time, event,
    fit_options={"step_size": 1.0, "precision": 1e-20, "r_precision": 1e-12})`` (0/1-coded
    covariates); ``result.fitter`` is that fitted object.  With weights the fit is lifelines'
    (``weights_col``; = R to 1e-8); the robust variance is hcc's (:func:`_score_residuals`),
    because lifelines' ``robust=True`` leaves out the Efron terms of the score residuals
    and differs from R's in the fourth digit on tied data.  Rows with a missing covariate value are left
    out as R's ``na.omit`` does (counted in ``notes``).  Term names say the contrast,
    e.g. ``"arm[TKI-ICI vs TKI]"``.
    """
    ties = _check_ties(ties)
    alpha = _check_alpha(alpha)
    w = None
    if weights is not None:
        if ties != "efron":
            raise DataError("case weights are available with Efron ties only (lifelines)")
        w_all = _weights_array(df, weights)
    des = _design(df, time, event, covariates, reference)
    if weights is not None:
        w = w_all[des.keep] if des.keep is not None else w_all
        data, fit = _fit_weighted(des, w)
    else:
        data, fit = _fit_design(des, ties)
    return CoxResult(des, data, fit, ties, alpha, time, event, weights=w, robust=robust,
                     weights_col=weights)


