"""Cox proportional-hazards regression that matches R's ``survival::coxph``.

Public functions
----------------
cox(df, time, event, covariates, ties="efron", alpha=0.05, reference=None) -> CoxResult
cox_screen(df, time, event, candidates, threshold=0.1, ...) -> ScreenResult
subgroup_hr(df, time, event, treatment, subgroups, ...) -> SubgroupResult

The numerical core is plain numpy on arrays sorted by time once: risk-set sums are reversed
cumulative sums over the distinct times, tied deaths get Efron's correction by repeating
group-level sums once per death of the group, and the information matrix is assembled as a
single weighted ``X' diag(v) X`` product plus a small correction, so there is no Python loop
over patients or over distinct times.  Concordance for large data uses a small numba kernel
(imported lazily, only above 5,000 patients).

Decisions (documented for users)
--------------------------------
* Missing covariate values: the rows are left out (as R's default ``na.omit``) and
  ``notes`` says how many.  Missing or negative times and missing events raise
  :class:`~hcc.errors.DataError`: an outcome must be known.
* An infinite coefficient (monotone likelihood, e.g. no events in one group; R warns
  "Loglik converged before variable ...") raises :class:`~hcc.errors.ConvergenceError`
  naming the covariate.  ``cox_screen`` and ``subgroup_hr`` catch it and report NaN with a
  note instead.
* Text or categorical covariates are treatment-coded; the reference is the first level in
  sorted order (for a pandas ``Categorical``, its first category, as an R factor) unless
  ``reference={column: level}`` says otherwise.
"""
from __future__ import annotations

import math
import sys
import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hcc._results import Result
from hcc.errors import ConvergenceError, DataError

__all__ = ["cox", "CoxResult", "PHTestResult", "cox_screen", "ScreenResult",
           "subgroup_hr", "SubgroupResult"]

#: Relative change of the log partial likelihood at which Newton–Raphson stops
#: (R ``coxph.control(eps = 1e-9)``; we are tighter).
EPS = 1e-10
MAX_ITER = 60
#: R's test for an infinite coefficient: |U V| > eps and > toler.inf * |beta|.
_R_EPS = 1e-9
_TOLER_INF = math.sqrt(_R_EPS)


# =========================================================================== numerical core
class _CoxData:
    """Time-sorted, centred design with the index arrays that every evaluation reuses.

    Rows are sorted by time and, within a time, deaths first, so that the deaths of one
    time form one contiguous segment.  One ``np.add.reduceat`` over these segments gives
    both the risk-set increments per time and the sums over the tied deaths.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, efron: bool = True):
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=bool)
        # sort by time, deaths first within a time (stable sort of deaths-then-censored)
        idx = np.r_[np.flatnonzero(event), np.flatnonzero(~event)]
        order = idx[np.argsort(time[idx], kind="stable")]
        self.order = order
        t = time[order]
        e = event[order]
        X = np.asarray(X, dtype=float)
        n, p = X.shape
        # column-major (Fortran) storage: the per-column reductions below are contiguous
        Xs = np.empty((p, n))
        for k in range(p):
            np.take(X[:, k], order, out=Xs[k])
        Xs = Xs.T
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
        # segments: [deaths of time k] [censored of time k]
        split = (d > 0) & (d < sizes)
        seg = np.sort(np.r_[starts, (starts + d)[split]])
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
        c_t = np.zeros(self.T)
        c_t[self.gidx] = c
        v = np.repeat(np.cumsum(c_t), self.tix_sizes)
        v[self.dead] -= e[self.rep]
        v *= st.w
        XV = np.multiply(self.X, v[:, None], out=self._buf)
        A = XV.T @ self.X
        S1, D1 = st.S1, st.D1
        SD = S1.T @ (b[:, None] * D1)
        MM = S1.T @ (a[:, None] * S1) - SD - SD.T + D1.T @ (q[:, None] * D1)
        out = A - MM
        return (out + out.T) / 2

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


def _inverse(A: np.ndarray) -> np.ndarray:
    try:
        Linv = np.linalg.inv(np.linalg.cholesky(A))
        return Linv.T @ Linv
    except np.linalg.LinAlgError:
        return np.linalg.pinv(A)


class _NotIdentified(Exception):
    """Covariates that never vary within a risk set at an event time."""

    def __init__(self, cols):
        self.cols = list(cols)


@dataclass
class _Fit:
    beta: np.ndarray
    var: np.ndarray
    ll0: float
    ll: float
    score0: float
    iterations: int
    state: _State
    infinite: np.ndarray  # bool per coefficient


def _newton(data: _CoxData, eps: float = EPS, max_iter: int = MAX_ITER) -> _Fit:
    """Newton–Raphson from beta = 0 with step halving (R ``coxfit6``), stopping when the
    relative change of the log-likelihood is below *eps* after a full step."""
    p = data.p
    beta = np.zeros(p)
    st = data.evaluate(beta)
    ss = np.einsum("ij,ij->j", data.X, data.X)
    flat = np.flatnonzero(np.diag(st.I) <= 1e-10 * np.maximum(ss, 1e-300))
    if flat.size:
        raise _NotIdentified(flat)
    ll0 = st.ll
    score0 = float(st.U @ _solve(st.I, st.U)) if p else 0.0
    converged = False
    it = 0
    halving = 0
    while it < max_iter:
        it += 1
        step = _solve(st.I, st.U)
        new_beta = beta + step
        nst = data.evaluate(new_beta)
        halving = 0
        while not (np.isfinite(nst.ll) and nst.ll >= st.ll - 1e-12 * abs(st.ll)) and halving < 40:
            halving += 1
            new_beta = (new_beta + beta) / 2
            nst = data.evaluate(new_beta)
            it += 1
        done = halving == 0 and abs(1.0 - st.ll / nst.ll) <= eps if nst.ll != 0 else True
        beta, st = new_beta, nst
        if done:
            converged = True
            break
    var = _inverse(st.I)
    steps = np.abs(st.U @ var)
    infinite = (steps > _R_EPS) & (steps > _TOLER_INF * np.abs(beta))
    polish = 0
    while converged and infinite.any() and polish < 3:
        # R's infinite-coefficient check on a large data set can trip on the remaining
        # Newton step of a finite coefficient: take it; a finite one then shrinks to ~0,
        # an infinite one (monotone likelihood) keeps stepping.
        polish += 1
        nst = data.evaluate(beta + st.U @ var)
        if not (np.isfinite(nst.ll) and nst.ll >= st.ll):
            break
        beta, st = nst.beta, nst
        it += 1
        var = _inverse(st.I)
        steps = np.abs(st.U @ var)
        infinite = (steps > _R_EPS) & (steps > _TOLER_INF * np.abs(beta))
    if not converged and not infinite.any():
        raise ConvergenceError(
            f"the Cox model did not converge in {max_iter} iterations")
    return _Fit(beta=beta, var=var, ll0=ll0, ll=st.ll, score0=score0, iterations=it,
                state=st, infinite=infinite)


# --------------------------------------------------------------------------- concordance
def _concordance_counts(time, event, lp):
    """Concordant, discordant and tied-in-lp pair counts (R ``concordance``, Harrell's C).

    A pair is comparable when the shorter time is an event; a censored time equal to an
    event time counts as longer.  Pairs of tied event times are not comparable (R's
    ``tied.y``).  Higher lp with the shorter time is concordant.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    lp = np.asarray(lp, float)
    n = time.size
    if n > 5000:
        return _concordance_numba(time, event, lp)
    conc = disc = tied = 0
    ev = np.flatnonzero(event)
    for s in range(0, ev.size, 256):
        i = ev[s:s + 256]
        ti, li = time[i][:, None], lp[i][:, None]
        comp = (time[None, :] > ti) | ((time[None, :] == ti) & ~event[None, :])
        conc += int(np.count_nonzero(comp & (li > lp[None, :])))
        disc += int(np.count_nonzero(comp & (li < lp[None, :])))
        tied += int(np.count_nonzero(comp & (li == lp[None, :])))
    return conc, disc, tied


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


def _concordance_numba(time, event, lp):
    global _CONC_JIT
    if _CONC_JIT is None:
        import numba

        _CONC_JIT = numba.njit(cache=True)(_conc_kernel)
    uniq, rank = np.unique(lp, return_inverse=True)
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


def _check_columns(df, cols):
    if not isinstance(df, pd.DataFrame):
        raise DataError("the data must be a table (a pandas DataFrame)")
    for c in cols:
        if c not in df.columns:
            raise DataError(f"column '{c}' is not in the data")


def _outcome(df: pd.DataFrame, time: str, event: str):
    _check_columns(df, [time, event])
    t = pd.to_numeric(df[time], errors="coerce")
    bad = t.isna() & df[time].notna()
    if bad.any():
        raise DataError(f"time column '{time}' must hold numbers; {int(bad.sum())} value(s) are not numbers")
    if t.isna().any():
        raise DataError(f"time column '{time}' has {int(t.isna().sum())} missing value(s); "
                        "every patient needs a follow-up time")
    if not np.isfinite(t.to_numpy(float)).all():
        raise DataError(f"time column '{time}' has infinite values")
    if (t < 0).any():
        raise DataError(f"time column '{time}' has {int((t < 0).sum())} negative value(s); "
                        "times must be 0 or more")
    ev = df[event]
    if ev.isna().any():
        raise DataError(f"event column '{event}' has {int(ev.isna().sum())} missing value(s)")
    if ev.dtype == bool:
        e = ev.to_numpy()
    else:
        num = pd.to_numeric(ev, errors="coerce")
        if num.isna().any() or not num.isin([0, 1]).all():
            raise DataError(f"event column '{event}' must be 0 (censored) or 1 (event); "
                            f"found {sorted(map(str, pd.unique(ev)))[:5]}")
        e = num.to_numpy() == 1
    return t.to_numpy(float), e.astype(bool)


def _is_categorical(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object
            or pd.api.types.is_string_dtype(s.dtype))


def _levels(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return [c for c in s.cat.categories if c in present]
    vals = list(pd.unique(s.dropna()))
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def _term_name(col, level, ref) -> str:
    return f"{col}[{level} vs {ref}]"


def _design(df: pd.DataFrame, time: str, event: str, covariates, reference=None,
            check_variation: bool = True) -> _Design:
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise DataError("give at least one covariate")
    if len(set(covariates)) != len(covariates):
        raise DataError("a covariate is listed twice")
    _check_columns(df, [time, event, *covariates])
    reference = dict(reference or {})
    for col in reference:
        if col not in covariates:
            raise DataError(f"reference given for '{col}', which is not a covariate")
    t, e = _outcome(df, time, event)
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
            lv = _levels(s)
            if c in reference:
                ref = reference[c]
                if ref not in lv:
                    raise DataError(f"reference level '{ref}' of '{c}' does not occur in the data "
                                    f"(levels: {', '.join(map(str, lv))})")
            else:
                ref = lv[0]
            others = [x for x in lv if x != ref]
            if check_variation and not others:
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
            if check_variation and np.all(x == x[0]):
                raise DataError(f"covariate '{c}' has the same value for every patient")
            assign[c] = [len(cols)]
            cols.append(x)
            terms.append(c)
    X = np.vstack(cols).T if cols else np.zeros((t.size, 0))  # column-major n x p
    return _Design(time=t, event=e, X=X, terms=terms, assign=assign, levels=levels,
                   notes=notes, n_dropped=n_drop, keep=keep)


def _check_collinear(data: "_CoxData", terms: list[str]):
    """Refuse covariates that are constant or linear combinations of earlier ones."""
    G = data.X.T @ data.X  # X is centred
    sd = np.sqrt(np.diag(G))
    if np.any(sd <= 1e-12 * max(1.0, float(sd.max(initial=0)))):
        k = int(np.flatnonzero(sd <= 1e-12 * max(1.0, float(sd.max(initial=0))))[0])
        raise DataError(f"covariate '{terms[k]}' has the same value for every patient")
    R = G / np.outer(sd, sd)
    for k in range(1, len(terms)):
        ev = np.linalg.eigvalsh(R[: k + 1, : k + 1])
        if ev.min() < 1e-10:
            raise DataError(f"'{terms[k]}' is completely determined by the covariates listed "
                            "before it (collinear); leave one of them out")


def _fit_design(des: _Design, ties: str) -> tuple[_CoxData, _Fit]:
    ties = _check_ties(ties)
    data = _CoxData(des.time, des.event, des.X, efron=(ties == "efron"))
    _check_collinear(data, des.terms)
    try:
        fit = _newton(data)
    except _NotIdentified as exc:
        names = [des.terms[k] for k in exc.cols]
        raise ConvergenceError(
            "the hazard ratio for " + ", ".join(f"'{n}'" for n in names) + " cannot be "
            "estimated: at every event time all patients still at risk have the same value "
            "(e.g. one group has left follow-up before the first event)") from None
    if fit.infinite.any():
        names = [des.terms[k] for k in np.flatnonzero(fit.infinite)]
        raise ConvergenceError(
            "the hazard ratio for " + ", ".join(f"'{n}'" for n in names) + " is infinite "
            "(the likelihood keeps rising, e.g. no events in one group), so it cannot be "
            "estimated")
    return data, fit


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
class PHTestResult(Result):
    """R ``cox.zph(fit, transform = "km", terms = TRUE)``: the score test of proportional
    hazards per covariate and GLOBAL.  ``summary`` columns ``chisq, df, p``."""

    title = "Proportional-hazards test (score test, Kaplan–Meier time scale)"

    def __init__(self, table: pd.DataFrame, notes=()):
        self._table = table
        self.notes = tuple(notes)

    @property
    def summary(self) -> pd.DataFrame:
        return self._table.copy()

    @property
    def p(self) -> pd.Series:
        return self._table["p"].copy()


class CoxResult(Result):
    """A fitted Cox model.

    Attributes
    ----------
    summary : DataFrame indexed by term: ``coef, se, HR, lower, upper, z, p`` (Wald, as
        R ``summary(coxph)``).
    n, events : rows used and events among them.
    concordance : Harrell's C as printed by R ``summary(coxph)``.
    loglik : (null, fitted) log partial likelihoods.
    tests : DataFrame of the global likelihood-ratio, Wald and score tests.
    var : covariance matrix of the coefficients (DataFrame).
    terms : dict covariate → its term names.
    notes : the reference levels, rows left out, and other remarks.
    """

    def __init__(self, des: _Design, data: _CoxData, fit: _Fit, ties: str, alpha: float,
                 time: str, event: str):
        self._des, self._data, self._fit = des, data, fit
        self.ties, self.alpha = ties, alpha
        self.time_col, self.event_col = time, event
        self.n = int(des.time.size)
        self.events = int(des.event.sum())
        self.n_dropped = des.n_dropped
        self.coef = pd.Series(fit.beta, index=des.terms)
        self.var = pd.DataFrame(fit.var, index=des.terms, columns=des.terms)
        self._summary = _wald_table(fit.beta, fit.var, des.terms, alpha)
        self.loglik = (fit.ll0, fit.ll)
        self.iterations = fit.iterations
        p = len(des.terms)
        wald = float(fit.beta @ _solve(fit.var, fit.beta)) if p else 0.0
        lr = 2 * (fit.ll - fit.ll0)
        self.tests = pd.DataFrame(
            {"statistic": [lr, wald, fit.score0], "df": [p] * 3,
             "p": [_chi2_p(lr, p), _chi2_p(wald, p), _chi2_p(fit.score0, p)]},
            index=["Likelihood ratio", "Wald", "Score (log-rank)"])
        self.terms = {c: [des.terms[k] for k in cols] for c, cols in des.assign.items()}
        self.levels = dict(des.levels)
        self.notes = tuple(des.notes) + (
            f"Ties: {ties}; Wald {100 * (1 - alpha):g}% CI and P (as R summary(coxph)).",)
        self.title = (f"Cox model of {time} ({event}): n = {self.n}, events = {self.events}")
        self._concordance = None

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary.copy()

    @property
    def concordance(self) -> float:
        """Harrell's C of the linear predictor (R ``coxph``'s ``concordance``)."""
        if self._concordance is None:
            d = self._data
            # column by column (not BLAS): patients with the same covariates must get
            # bit-identical linear predictors, or their ties (R's tied.x) would be lost
            lp = np.zeros(d.n)
            for k, b in enumerate(self._fit.beta):
                lp += d.X[:, k] * b
            c, dis, tied = _concordance_counts(d.time, d.event, lp)
            tot = c + dis + tied
            self._concordance = (c + tied / 2) / tot if tot else float("nan")
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
        table = _zph(self._data, self._fit, self._des.assign)
        return PHTestResult(table, notes=("R cox.zph(fit, transform = 'km', terms = TRUE).",))

    def plot(self, ax=None, **kwargs):
        """Forest plot of the hazard ratios of the terms; returns the Axes."""
        from hcc.forest import forest_plot

        s = self.summary
        kwargs.setdefault("title", self.title)
        return forest_plot(s, ax=ax, n=None, **kwargs)


# =========================================================================== public API
def cox(df: pd.DataFrame, time: str, event: str, covariates, ties: str = "efron",
        alpha: float = 0.05, reference: dict | None = None) -> CoxResult:
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

    Returns
    -------
    CoxResult

    Raises
    ------
    DataError
        Non-binary or missing events, missing or negative times, no events, a covariate
        with one value only, collinear covariates.
    ConvergenceError
        An infinite hazard ratio (monotone likelihood), or no convergence.

    Notes
    -----
    R parity: Newton–Raphson from beta = 0 with step halving as R ``coxfit6``, stopped at a
    relative change of the log partial likelihood below 1e-10 (R: 1e-9), so coefficients,
    Wald CIs and P agree with R to about 1e-8.  Rows with a missing covariate value are left
    out as R's ``na.omit`` does (counted in ``notes``).  Term names say the contrast,
    e.g. ``"arm[TKI-ICI vs TKI]"``.
    """
    ties = _check_ties(ties)
    alpha = _check_alpha(alpha)
    des = _design(df, time, event, covariates, reference)
    data, fit = _fit_design(des, ties)
    return CoxResult(des, data, fit, ties, alpha, time, event)


# --------------------------------------------------------------------------- screening
def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _fmt_hr(hr, lo, hi) -> str:
    if not np.isfinite(hr):
        return "–"
    return f"{hr:.2f} ({lo:.2f}–{hi:.2f})"


class ScreenResult(Result):
    """Univariate screen then multivariate Cox model (the paper's Tables 2 and 3).

    Attributes
    ----------
    univariate : DataFrame indexed by term: ``candidate, n, events, HR, lower, upper, p``
        (one univariate model per candidate; ``n`` and ``events`` are the patients and events
        that model used — R's ``na.omit`` drops patients with that candidate missing).
    candidate_p : Series, candidate → the P used for selection.
    selected : list of candidates with univariate P < threshold, in candidate order.
    multivariate : CoxResult on the selected candidates, or None.
    summary : side-by-side table (see ``summary``).
    """

    def __init__(self, univariate, candidate_p, selected, multivariate, labels, threshold,
                 notes, title, alpha=0.05):
        self.alpha = alpha
        self.univariate = univariate
        self.candidate_p = candidate_p
        self.selected = selected
        self.multivariate = multivariate
        self.labels = labels
        self.threshold = threshold
        self.notes = tuple(notes)
        self.title = title

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term, indexed by its label: ``candidate, term`` then numeric
        ``uni_HR, uni_lower, uni_upper, uni_p, multi_HR, multi_lower, multi_upper, multi_p``
        and text ``"Univariate HR (95% CI)", "Univariate P", "Multivariate HR (95% CI)",
        "Multivariate P"`` ("–" / NaN where a term was not selected)."""
        u = self.univariate
        m = self.multivariate.summary if self.multivariate is not None else None
        rows = []
        for term, r in u.iterrows():
            cand = r["candidate"]
            lab = self.labels.get(cand, cand)
            if term != cand:
                lab = f"{lab} {term[len(cand):]}" if term.startswith(cand) else term
            mr = m.loc[term] if (m is not None and term in m.index) else None
            rows.append({
                "label": lab, "candidate": cand, "term": term,
                "uni_HR": r["HR"], "uni_lower": r["lower"], "uni_upper": r["upper"], "uni_p": r["p"],
                "multi_HR": mr["HR"] if mr is not None else np.nan,
                "multi_lower": mr["lower"] if mr is not None else np.nan,
                "multi_upper": mr["upper"] if mr is not None else np.nan,
                "multi_p": mr["p"] if mr is not None else np.nan,
            })
        out = pd.DataFrame(rows).set_index("label")
        out.index.name = None
        ci = f"{100 * (1 - self.alpha):g}% CI"
        out[f"Univariate HR ({ci})"] = [_fmt_hr(a, b, c) for a, b, c in
                                       zip(out.uni_HR, out.uni_lower, out.uni_upper)]
        out["Univariate P"] = [_fmt_p(x) for x in out.uni_p]
        out[f"Multivariate HR ({ci})"] = [_fmt_hr(a, b, c) for a, b, c in
                                         zip(out.multi_HR, out.multi_lower, out.multi_upper)]
        out["Multivariate P"] = [_fmt_p(x) for x in out.multi_p]
        return out

    def plot(self, ax=None, which: str = "multivariate", **kwargs):
        """Forest plot of the univariate or (default) multivariate hazard ratios."""
        from hcc.forest import forest_plot

        s = self.summary
        pre = "multi_" if which == "multivariate" else "uni_"
        s = s[np.isfinite(s[pre + "HR"])]
        return forest_plot(s, ax=ax, hr=pre + "HR", lower=pre + "lower", upper=pre + "upper",
                           p=pre + "p", n=None, **kwargs)


def cox_screen(df: pd.DataFrame, time: str, event: str, candidates, threshold: float = 0.1,
               ties: str = "efron", labels: dict | None = None, alpha: float = 0.05,
               reference: dict | None = None) -> ScreenResult:
    """Univariate Cox screen, then one multivariate model of the candidates with P < threshold.

    Parameters
    ----------
    df, time, event : as :func:`cox`.
    candidates : list of str
        Covariate columns, each fitted alone.
    threshold : float
        Candidates with univariate P strictly below it enter the multivariate model.
    ties, alpha, reference : as :func:`cox`.
    labels : dict, optional
        Column → row label of the summary table.

    Returns
    -------
    ScreenResult

    Notes
    -----
    The selection P of a candidate is its Wald P (for a factor with more than two levels the
    multi-df Wald test of all its terms), as R ``summary(coxph)``.  Each univariate model uses
    the patients with that candidate known; the multivariate model the patients with all
    selected candidates known (R's ``na.omit`` per model).  A candidate whose univariate model
    cannot be fitted (infinite HR) gets NaN and a note, and is not selected.
    """
    ties = _check_ties(ties)
    alpha = _check_alpha(alpha)
    if isinstance(candidates, str):
        candidates = [candidates]
    candidates = list(candidates)
    if not candidates:
        raise DataError("give at least one candidate covariate")
    if not (0 < threshold <= 1):
        raise DataError(f"threshold must be between 0 and 1, not {threshold!r}")
    labels = dict(labels or {})
    reference = dict(reference or {})
    _check_columns(df, [time, event, *candidates])
    _outcome(df, time, event)
    rows, cand_p, notes = [], {}, []
    for c in candidates:
        ref = {c: reference[c]} if c in reference else None
        try:
            r = cox(df, time, event, [c], ties=ties, alpha=alpha, reference=ref)
        except ConvergenceError as exc:
            notes.append(f"'{c}': univariate model not fitted ({exc}).")
            rows.append({"term": c, "candidate": c, "n": np.nan, "events": np.nan,
                         "HR": np.nan, "lower": np.nan, "upper": np.nan, "p": np.nan})
            cand_p[c] = np.nan
            continue
        s = r.summary
        for term, sr in s.iterrows():
            rows.append({"term": term, "candidate": c, "n": r.n, "events": r.events,
                         "HR": sr["HR"], "lower": sr["lower"], "upper": sr["upper"],
                         "p": sr["p"]})
        cand_p[c] = r.term_test(c)[2] if len(s) > 1 else float(s["p"].iloc[0])
        notes.extend(n for n in r.notes if n.startswith("'") or "left out" in n)
    uni = pd.DataFrame(rows).set_index("term")
    uni.index.name = None
    cand_p = pd.Series(cand_p, dtype=float)
    selected = [c for c in candidates if np.isfinite(cand_p[c]) and cand_p[c] < threshold]
    multi = None
    if selected:
        multi = cox(df, time, event, selected, ties=ties, alpha=alpha,
                    reference={k: v for k, v in reference.items() if k in selected} or None)
    else:
        notes.append(f"No candidate had univariate P < {threshold:g}; no multivariate model.")
    notes.append(f"Selection: univariate Wald P < {threshold:g}; ties: {ties}.")
    res = ScreenResult(uni, cand_p, selected, multi, labels, threshold,
                       list(dict.fromkeys(notes)),
                       f"Univariate and multivariate Cox models of {time}", alpha)
    return res


# --------------------------------------------------------------------------- subgroups
class SubgroupResult(Result):
    """Treatment hazard ratio within each level of each subgroup variable.

    ``summary`` is indexed by (subgroup, level) with columns ``n, events, HR, lower, upper,
    p, p_interaction`` (the interaction P is repeated on every level of its variable; the
    first row, ("All patients", ""), is the whole cohort)."""

    def __init__(self, table, treatment, ref, level, notes, title):
        self._table = table
        self.treatment, self.reference, self.level = treatment, ref, level
        self.notes = tuple(notes)
        self.title = title

    @property
    def summary(self) -> pd.DataFrame:
        return self._table.copy()

    @property
    def p_interaction(self) -> pd.Series:
        t = self._table
        t = t[t.index.get_level_values(0) != "All patients"]
        return t.groupby(level=0, sort=False)["p_interaction"].first()

    def plot(self, ax=None, **kwargs):
        """Forest plot (the paper's Fig. 3 style); returns the Axes."""
        from hcc.forest import forest_plot

        kwargs.setdefault("favours", (f"Favours {self.level}", f"Favours {self.reference}"))
        kwargs.setdefault("title", self.title)
        return forest_plot(self._table, ax=ax, **kwargs)


def subgroup_hr(df: pd.DataFrame, time: str, event: str, treatment: str, subgroups,
                ties: str = "efron", alpha: float = 0.05, reference=None,
                labels: dict | None = None, overall: bool = True) -> SubgroupResult:
    """Hazard ratio of *treatment* within subgroups, with interaction P (Fig. 3).

    Parameters
    ----------
    df, time, event : as :func:`cox`.
    treatment : str
        Two-level column; the HR is second level vs *reference* (default: first in sorted
        order).
    subgroups : list of str
        Categorical columns (0/1 indicators count as two levels).
    ties, alpha : as :func:`cox`.
    reference : optional reference level of *treatment*.
    labels : dict, optional
        Subgroup column → label used in the summary index.
    overall : bool
        Add a first row for all patients.

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Within each level: R ``coxph(Surv(time, event) ~ treatment, subset = level)``.
    Interaction P: Wald test of the treatment × subgroup terms of
    ``coxph(Surv(time, event) ~ treatment * subgroup)`` on all patients with the subgroup
    known: ``b' solve(V) b`` over the interaction coefficients and their block of
    ``vcov(fit)``, chi-square with (levels - 1) df.  A level whose model cannot be fitted
    (one arm absent or without events: infinite HR) gets NaN and a note, not an error; so
    does an interaction P that cannot be estimated.
    """
    ties = _check_ties(ties)
    alpha = _check_alpha(alpha)
    if isinstance(subgroups, str):
        subgroups = [subgroups]
    subgroups = list(subgroups)
    labels = dict(labels or {})
    _check_columns(df, [time, event, treatment, *subgroups])
    if treatment in subgroups:
        raise DataError(f"'{treatment}' is the treatment; it cannot also be a subgroup")
    t_all, e_all = _outcome(df, time, event)
    trt = df[treatment]
    if trt.isna().any():
        raise DataError(f"treatment column '{treatment}' has {int(trt.isna().sum())} missing value(s)")
    lv = _levels(trt)
    if len(lv) != 2:
        raise DataError(f"treatment column '{treatment}' must have exactly two groups; found "
                        f"{len(lv)} ({', '.join(map(str, lv))})")
    ref = lv[0] if reference is None else reference
    if ref not in lv:
        raise DataError(f"reference level '{ref}' of '{treatment}' does not occur in the data")
    level = [x for x in lv if x != ref][0]
    z = (trt.to_numpy() == level).astype(float)
    notes = [f"HR of {treatment} {level} vs {ref}; ties: {ties}; Wald CI and P."]
    rows = []

    def one(mask, key):
        n = int(mask.sum())
        ev = int(e_all[mask].sum())
        rec = {"n": n, "events": ev, "HR": np.nan, "lower": np.nan, "upper": np.nan,
               "p": np.nan, "p_interaction": np.nan}
        zz = z[mask]
        if ev == 0 or zz.min() == zz.max():
            notes.append(f"{key}: HR not estimable (" + ("no events" if ev == 0 else
                         "only one treatment group") + ").")
            return rec
        des = _Design(time=t_all[mask], event=e_all[mask], X=zz[:, None],
                      terms=[treatment], assign={treatment: [0]}, levels={})
        try:
            _, fit = _fit_design(des, ties)
        except ConvergenceError:
            notes.append(f"{key}: HR not estimable (no events in one treatment group).")
            return rec
        s = _wald_table(fit.beta, fit.var, [treatment], alpha).iloc[0]
        rec.update(HR=s["HR"], lower=s["lower"], upper=s["upper"], p=s["p"])
        return rec

    if overall:
        rows.append((("All patients", ""), one(np.ones(len(df), bool), "All patients")))
    for sg in subgroups:
        name = labels.get(sg, sg)
        col = df[sg]
        known = col.notna().to_numpy()
        if (~known).any():
            notes.append(f"'{sg}': {int((~known).sum())} patient(s) with a missing value left out.")
        slv = _levels(col)
        if len(slv) < 2:
            raise DataError(f"subgroup '{sg}' has the same value for every patient")
        # interaction model: treatment + dummies + treatment × dummies
        vals = col.to_numpy()
        sref = slv[0]
        dummies = [(vals[known] == l).astype(float) for l in slv[1:]]
        zk = z[known]
        X = np.column_stack([zk, *dummies, *[zk * d for d in dummies]])
        k = len(dummies)
        terms = [treatment] + [f"{sg}[{l} vs {sref}]" for l in slv[1:]] + \
                [f"{treatment}:{sg}[{l} vs {sref}]" for l in slv[1:]]
        des = _Design(time=t_all[known], event=e_all[known], X=X, terms=terms,
                      assign={}, levels={})
        p_int = np.nan
        try:
            _, fit = _fit_design(des, ties)
            idx = list(range(1 + k, 1 + 2 * k))
            b = fit.beta[idx]
            stat = float(b @ _solve(fit.var[np.ix_(idx, idx)], b))
            p_int = _chi2_p(stat, k)
        except (ConvergenceError, DataError) as exc:
            notes.append(f"'{sg}': interaction P not estimable ({exc}).")
        for l in slv:
            mask = np.asarray(known & (vals == l), bool)
            rec = one(mask, f"{name} = {l}")
            rec["p_interaction"] = p_int
            rows.append(((name, l), rec))
    index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["subgroup", "level"])
    table = pd.DataFrame([r[1] for r in rows], index=index,
                         columns=["n", "events", "HR", "lower", "upper", "p", "p_interaction"])
    return SubgroupResult(table, treatment, ref, level, notes,
                          f"{treatment}: {level} vs {ref} by subgroup ({time})")


# --------------------------------------------------------------------------- hcc.cox(...)
# ``hcc.cox`` is both this module and the function ``cox`` re-exported by ``hcc``: once the
# module has been imported (``from hcc.cox import ...``), Python binds the name ``hcc.cox`` to
# the module.  Making the module callable keeps ``hcc.cox(df, ...)`` working either way.
class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return cox(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
