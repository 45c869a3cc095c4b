"""Compiled numerics for the calibration loop (numba).

Kaplan–Meier with R's median rule and ``conf.type="log"`` limits, the log-rank
chi-square, the reverse-KM median follow-up and Efron Cox fits (Newton–Raphson with
step halving), all for small cohorts and written for speed: a univariate fit on a binary
covariate works on the counts at risk at each death time and needs no exponential per
patient.

Notes
-----
R parity (checked live against R ``survival`` in ``tests/test_reconstruct.py``):

* ``km_quantile`` follows ``survival:::findq`` (survival 3.5): the curve is read as
  ``1 - S`` with ``(0, 0)`` prepended, duplicated values are dropped (first kept), the
  quantile is the midpoint of the first indices at which ``1 - S ± tol`` reaches 0.5
  (``tol = sqrt(.Machine$double.eps)``), so a flat stretch exactly at 0.5 gives its midpoint,
  and a curve ending exactly at 0.5 gives the midpoint with the last time.
* Confidence curves: ``S exp(∓ z se)`` with ``se`` the Greenwood standard error of
  ``log S``; the upper curve is capped at 1; undefined where ``S = 0``.
* Cox: Efron ties, Wald standard errors from the information at the final estimate;
  convergence when the relative change in log-likelihood is below 1e-12 (R: 1e-9).

The compiled cache lives next to this file in ``__pycache__`` (numba ``cache=True``).
"""
from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
from numba import njit

#: the modules whose compiled functions call each other (calibrate.py calls this one)
COMPILED_SOURCES = ("fastnum.py", "realism.py", "scoring.py", "calibrate.py", "compound.py")


def _guard_compiled_cache(here: Path | None = None) -> bool:
    """Drop numba's on-disk cache of this package when any compiled source changed.

    numba keys the cache of a compiled function by that function's own source file only,
    so a function of ``calibrate.py`` compiled against an older ``fastnum.py`` would be
    loaded again after ``fastnum.py`` changed — and a seed would no longer give the same
    cohort from a clean checkout as from a working copy. A fingerprint of both sources,
    kept beside the cache, detects that. (Not applied when ``NUMBA_CACHE_DIR`` points the
    cache elsewhere.) *here* is the package folder (default: this file's). Returns True when
    the cache was dropped.
    """
    if here is None:
        if os.environ.get("NUMBA_CACHE_DIR"):
            return False
        here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in COMPILED_SOURCES:
        h.update((here / name).read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "numba-sources.sha256"
    try:
        if stamp.read_text(encoding="ascii") == h.hexdigest():
            return False
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            f.unlink(missing_ok=True)
        stamp.write_text(h.hexdigest(), encoding="ascii")
    except OSError:  # read-only installation: numba falls back to its own cache folder
        return False
    return True


_guard_compiled_cache()

TOL = math.sqrt(2.220446049250313e-16)
Z975 = 1.959963984540054


@njit(cache=True)
def km_curve(t, e):
    """KM on times sorted ascending. Returns distinct times, S, se(log S), n_distinct."""
    n = t.shape[0]
    times = np.empty(n)
    surv = np.empty(n)
    se = np.empty(n)
    m = 0
    s = 1.0
    v = 0.0
    i = 0
    while i < n:
        ti = t[i]
        nr = n - i
        d = 0
        j = i
        while j < n and t[j] == ti:
            d += e[j]
            j += 1
        if d > 0:
            s = s * (1.0 - d / nr)
            if nr > d:
                v += d / (nr * (nr - d))
            else:
                v = np.inf
        times[m] = ti
        surv[m] = s
        se[m] = math.sqrt(v)
        m += 1
        i = j
    return times, surv, se, m


@njit(cache=True)
def findq(x, y, m, p):
    """R ``survival:::findq`` for one probability; ``x``,``y`` include the prepended 0.

    ``y`` is the cumulative curve (1 - S), NaN where undefined; only the first ``m``
    entries are used. Returns ``inf`` when not reached.
    """
    ymax = -1.0
    for i in range(m):
        if not np.isnan(y[i]) and y[i] > ymax:
            ymax = y[i]
    if ymax < p:
        return np.inf
    xmax = x[m - 1]
    # drop duplicated y (first kept; NaN equal to NaN). The curves handled here are
    # monotone except where the upper limit is capped at 1 (y = 0, a duplicate of the
    # prepended 0), so comparing with the previous kept value and with 0 is exact.
    xs = np.empty(m)
    ys = np.empty(m)
    k = 0
    seen_nan = False
    for i in range(m):
        yi = y[i]
        if np.isnan(yi):
            if seen_nan:
                continue
            seen_nan = True
        elif k > 0 and (yi == 0.0 or yi == ys[k - 1]):
            continue
        xs[k] = x[i]
        ys[k] = yi
        k += 1
    # approx(y + tol, 1:n, p, "constant", f = 1): index of the smallest knot >= p
    i1 = -1
    i2 = -1
    b1 = np.inf
    b2 = np.inf
    for i in range(k):
        if np.isnan(ys[i]):
            continue
        v1 = ys[i] + TOL
        if v1 >= p and v1 < b1:
            b1 = v1
            i1 = i
        v2 = ys[i] - TOL
        if v2 >= p and v2 < b2:
            b2 = v2
            i2 = i
    if i1 < 0 or i2 < 0:
        q = np.inf
    else:
        q = (xs[i1] + xs[i2]) / 2.0
    last = ys[k - 1]
    if not np.isnan(last) and abs(p - last) < TOL:
        if i1 >= 0:
            q = (xs[i1] + xmax) / 2.0
    return q


@njit(cache=True)
def km_median_ci(t, e):
    """Median and log-type 95% CI of a KM curve (times sorted ascending); inf = NR.

    Also returns the minimum of the upper confidence curve (used to steer "NR").
    """
    times, surv, se, m = km_curve(t, e)
    x = np.empty(m + 1)
    y = np.empty(m + 1)
    yl = np.empty(m + 1)
    yu = np.empty(m + 1)
    x[0] = 0.0
    y[0] = 0.0
    yl[0] = 0.0
    yu[0] = 0.0
    umin = 1.0
    for i in range(m):
        x[i + 1] = times[i]
        y[i + 1] = 1.0 - surv[i]
        if surv[i] > 0.0 and np.isfinite(se[i]):
            lo = surv[i] * math.exp(-Z975 * se[i])
            up = surv[i] * math.exp(Z975 * se[i])
            if up > 1.0:
                up = 1.0
            yl[i + 1] = 1.0 - lo
            yu[i + 1] = 1.0 - up
            if up < umin:
                umin = up
        else:
            yl[i + 1] = np.nan
            yu[i + 1] = np.nan
    med = findq(x, y, m + 1, 0.5)
    lower = findq(x, yl, m + 1, 0.5)
    upper = findq(x, yu, m + 1, 0.5)
    return med, lower, upper, umin, ends_at_half(surv, m)


@njit(cache=True)
def ends_at_half(surv, m):
    """True when the curve ends exactly at 0.5: there R's ``quantile.survfit`` (midpoint
    with the last time) and ``print.survfit`` (first time at 0.5) disagree."""
    return m > 0 and abs(surv[m - 1] - 0.5) < TOL


@njit(cache=True)
def km_median(t, e):
    """Median (R ``quantile.survfit``); NaN when the curve ends exactly at 0.5."""
    times, surv, se, m = km_curve(t, e)
    x = np.empty(m + 1)
    y = np.empty(m + 1)
    x[0] = 0.0
    y[0] = 0.0
    for i in range(m):
        x[i + 1] = times[i]
        y[i + 1] = 1.0 - surv[i]
    if ends_at_half(surv, m):
        return np.nan
    return findq(x, y, m + 1, 0.5)


@njit(cache=True)
def logrank_chisq(t, e, g):
    """Two-group log-rank chi-square (R survdiff, rho = 0); times sorted ascending."""
    n = t.shape[0]
    n1 = 0
    for i in range(n):
        n1 += g[i]
    o1 = 0.0
    e1 = 0.0
    var = 0.0
    i = 0
    nr = n
    nr1 = n1
    while i < n:
        ti = t[i]
        d = 0
        d1 = 0
        c = 0
        c1 = 0
        j = i
        while j < n and t[j] == ti:
            c += 1
            c1 += g[j]
            if e[j]:
                d += 1
                d1 += g[j]
            j += 1
        if d > 0:
            o1 += d1
            e1 += d * nr1 / nr
            if nr > 1:
                var += d * (nr1 / nr) * (1.0 - nr1 / nr) * (nr - d) / (nr - 1.0)
        nr -= c
        nr1 -= c1
        i = j
    if var <= 0.0:
        return 0.0
    return (o1 - e1) ** 2 / var


# ----------------------------------------------------------------------------- Cox
@njit(cache=True)
def risk_counts(t, e, x):
    """Counts at risk and deaths by covariate level at each distinct death time.

    ``t`` sorted ascending, ``x`` binary (0/1). Returns arrays R0, R1, D0, D1, count.
    """
    n = t.shape[0]
    R0 = np.empty(n)
    R1 = np.empty(n)
    D0 = np.empty(n)
    D1 = np.empty(n)
    tot1 = 0.0
    for i in range(n):
        tot1 += x[i]
    r1 = tot1
    r0 = n - tot1
    m = 0
    i = 0
    while i < n:
        ti = t[i]
        d0 = 0.0
        d1 = 0.0
        c0 = 0.0
        c1 = 0.0
        j = i
        while j < n and t[j] == ti:
            if x[j] > 0.5:
                c1 += 1.0
                if e[j]:
                    d1 += 1.0
            else:
                c0 += 1.0
                if e[j]:
                    d0 += 1.0
            j += 1
        if d0 + d1 > 0:
            R0[m] = r0
            R1[m] = r1
            D0[m] = d0
            D1[m] = d1
            m += 1
        r0 -= c0
        r1 -= c1
        i = j
    return R0, R1, D0, D1, m


@njit(cache=True)
def risk_counts_all(t, e, X, R, D, R1, D1):
    """Counts at risk and deaths at each distinct death time, for every column of ``X``.

    ``t`` sorted ascending, ``X[i, k]`` binary; fills ``R[m]``, ``D[m]`` (totals) and
    ``R1[k, m]``, ``D1[k, m]`` (level 1 of column k). Returns the number of death times.
    """
    n = t.shape[0]
    nt = X.shape[1]
    r1 = np.zeros(nt)
    d1 = np.zeros(nt)
    rtot = 0.0
    m = 0
    i = n - 1
    # walk from the longest time down, so counts at risk only grow
    while i >= 0:
        ti = t[i]
        d = 0.0
        for k in range(nt):
            d1[k] = 0.0
        j = i
        while j >= 0 and t[j] == ti:
            rtot += 1.0
            for k in range(nt):
                xk = X[j, k]
                r1[k] += xk
                if e[j]:
                    d1[k] += xk
            if e[j]:
                d += 1.0
            j -= 1
        if d > 0:
            R[m] = rtot
            D[m] = d
            for k in range(nt):
                R1[k, m] = r1[k]
                D1[k, m] = d1[k]
            m += 1
        i = j
    return m


@njit(cache=True)
def cox_uni_counts(R, D, R1k, D1k, m, b0, tol, maxit):
    """Efron fit of one binary covariate from the counts of :func:`risk_counts_all`."""
    R0 = R[:m] - R1k[:m]
    D0 = D[:m] - D1k[:m]
    R1 = R1k[:m]
    D1 = D1k[:m]
    b = b0
    if not np.isfinite(b) or abs(b) > 15.0:
        b = 0.0
    ll, u, inf = _uni_lui(b, R0, R1, D0, D1, m)
    it = 0
    while it < maxit:
        if inf <= 1e-300:
            break
        step = u / inf
        if abs(step) < 1e-12:
            break
        it += 1
        nb = b + step
        nll, nu, ninf = _uni_lui(nb, R0, R1, D0, D1, m)
        h = 0
        while (not np.isfinite(nll) or nll < ll - 1e-9 * (1.0 + abs(ll))) and h < 30:
            step *= 0.5
            nb = b + step
            nll, nu, ninf = _uni_lui(nb, R0, R1, D0, D1, m)
            h += 1
        done = abs(nll - ll) <= tol * abs(nll)
        b = nb
        ll = nll
        u = nu
        inf = ninf
        if done or abs(b) > 25.0:
            break
    se = 1.0 / math.sqrt(inf) if inf > 0 else np.inf
    return b, se, it


@njit(cache=True)
def _uni_lui(b, R0, R1, D0, D1, m):
    eb = math.exp(b)
    ll = 0.0
    u = 0.0
    inf = 0.0
    for k in range(m):
        d = D0[k] + D1[k]
        ll += b * D1[k]
        u += D1[k]
        di = int(d)
        for r in range(di):
            f = r / d
            a0 = R0[k] - f * D0[k]
            a1 = (R1[k] - f * D1[k]) * eb
            s0 = a0 + a1
            ll -= math.log(s0)
            q = a1 / s0
            u -= q
            inf += q * (1.0 - q)
    return ll, u, inf


@njit(cache=True)
def cox_uni_binary(t, e, x, b0, tol, maxit):
    """Efron Cox fit of one binary covariate. Returns beta, se, iterations.

    Newton–Raphson from ``b0`` with step halving; stops when the step is below 1e-12,
    the relative change in log-likelihood is below ``tol`` or after ``maxit`` steps.
    """
    R0, R1, D0, D1, m = risk_counts(t, e, x)
    # counts are whole numbers, so R0 + R1 - R1 is R0 exactly: the same fit as from counts
    return cox_uni_counts(R0[:m] + R1[:m], D0[:m] + D1[:m], R1, D1, m, b0, tol, maxit)


@njit(cache=True)
def _multi_lui(beta, t, e, X):
    n = t.shape[0]
    p = X.shape[1]
    ll = 0.0
    u = np.zeros(p)
    inf = np.zeros((p, p))
    S1 = np.zeros(p)
    S2 = np.zeros((p, p))
    D1 = np.zeros(p)
    D2 = np.zeros((p, p))
    xsum = np.zeros(p)
    S0 = 0.0
    i = n - 1
    while i >= 0:
        ti = t[i]
        D0 = 0.0
        for a in range(p):
            D1[a] = 0.0
            xsum[a] = 0.0
            for c in range(p):
                D2[a, c] = 0.0
        d = 0
        j = i
        while j >= 0 and t[j] == ti:
            eta = 0.0
            for a in range(p):
                eta += beta[a] * X[j, a]
            w = math.exp(eta)
            S0 += w
            for a in range(p):
                S1[a] += w * X[j, a]
                for c in range(p):
                    S2[a, c] += w * X[j, a] * X[j, c]
            if e[j]:
                d += 1
                D0 += w
                ll += eta
                for a in range(p):
                    D1[a] += w * X[j, a]
                    xsum[a] += X[j, a]
                    for c in range(p):
                        D2[a, c] += w * X[j, a] * X[j, c]
            j -= 1
        if d > 0:
            for a in range(p):
                u[a] += xsum[a]
            for r in range(d):
                f = r / d
                s0 = S0 - f * D0
                ll -= math.log(s0)
                for a in range(p):
                    ma = (S1[a] - f * D1[a]) / s0
                    u[a] -= ma
                    for c in range(p):
                        mc = (S1[c] - f * D1[c]) / s0
                        inf[a, c] += (S2[a, c] - f * D2[a, c]) / s0 - ma * mc
        i = j
    return ll, u, inf


@njit(cache=True)
def _solve_spd(A, b):
    """Solve A x = b and return (x, inverse of A) by Gauss–Jordan (small p)."""
    p = A.shape[0]
    M = np.zeros((p, 2 * p))
    for i in range(p):
        for j in range(p):
            M[i, j] = A[i, j]
        M[i, p + i] = 1.0
    for c in range(p):
        piv = c
        for r in range(c + 1, p):
            if abs(M[r, c]) > abs(M[piv, c]):
                piv = r
        if abs(M[piv, c]) < 1e-300:
            return np.zeros(p), np.full((p, p), np.inf)
        if piv != c:
            for j in range(2 * p):
                tmp = M[c, j]
                M[c, j] = M[piv, j]
                M[piv, j] = tmp
        pv = M[c, c]
        for j in range(2 * p):
            M[c, j] /= pv
        for r in range(p):
            if r != c:
                fac = M[r, c]
                if fac != 0.0:
                    for j in range(2 * p):
                        M[r, j] -= fac * M[c, j]
    inv = M[:, p:].copy()
    x = np.zeros(p)
    for i in range(p):
        for j in range(p):
            x[i] += inv[i, j] * b[j]
    return x, inv


@njit(cache=True)
def cox_multi(t, e, X, b0, tol, maxit):
    """Efron Cox fit, several covariates; ``t`` sorted ascending. Returns beta, se, iters."""
    p = X.shape[1]
    b = b0.copy()
    for a in range(p):
        if not np.isfinite(b[a]) or abs(b[a]) > 15.0:
            b[:] = 0.0
            break
    ll, u, inf = _multi_lui(b, t, e, X)
    it = 0
    while it < maxit:
        step, inv = _solve_spd(inf, u)
        if np.max(np.abs(step)) < 1e-12:
            break
        it += 1
        nb = b + step
        nll, nu, ninf = _multi_lui(nb, t, e, X)
        h = 0
        while (not np.isfinite(nll) or nll < ll - 1e-9 * (1.0 + abs(ll))) and h < 30:
            step *= 0.5
            nb = b + step
            nll, nu, ninf = _multi_lui(nb, t, e, X)
            h += 1
        done = abs(nll - ll) <= tol * abs(nll)
        b = nb
        ll = nll
        u = nu
        inf = ninf
        if done or np.max(np.abs(b)) > 25.0:
            break
    step, inv = _solve_spd(inf, u)
    se = np.empty(p)
    for a in range(p):
        se[a] = math.sqrt(inv[a, a]) if inv[a, a] > 0 else np.inf
    return b, se, it


@njit(cache=True)
def cox_loglik(t, e, X):
    """The maximised Efron log partial likelihood of covariates *X* (``t`` sorted
    ascending), fitted from zero on R's path (:func:`cox_multi`, relative change 1e-12):
    the likelihood-ratio tests of the treatment × subgroup guard
    (:func:`hcc.reconstruct.scoring.interaction_p`)."""
    b, se, it = cox_multi(t, e, X, np.zeros(X.shape[1]), 1e-12, 30)
    ll, u, inf = _multi_lui(b, t, e, X)
    return ll


# ----------------------------------------------------------------------------- search path
# The annealing loop refits the same models hundreds of thousands of times, each from the
# previous estimate after a small change of the data. There, plain Newton steps from that
# warm start (no log-likelihood, so no logarithms and no step halving; steps capped at ±1
# on the log-HR scale, the Efron log-likelihood being concave) converge in two or three
# steps. The final figures are always refitted on R's path above (and by hcc.cox).
@njit(cache=True)
def _uni_ui(eb, R, D, R1k, D1k, m):
    """Score and information of a binary-covariate Efron fit at exp(beta) = eb."""
    u = 0.0
    inf = 0.0
    for k in range(m):
        d1 = D1k[k]
        d = D[k]
        r1 = R1k[k]
        r0 = R[k] - r1
        u += d1
        if d == 1.0:
            a1 = r1 * eb
            q = a1 / (r0 + a1)
            u -= q
            inf += q * (1.0 - q)
        else:
            d0 = d - d1
            for r in range(int(d)):
                f = r / d
                a1 = (r1 - f * d1) * eb
                q = a1 / (r0 - f * d0 + a1)
                u -= q
                inf += q * (1.0 - q)
    return u, inf


@njit(cache=True)
def cox_uni_newton(R, D, R1k, D1k, m, b0, eps, maxit):
    """Search-path Efron fit of one binary covariate from risk-set counts.

    ``R``/``D`` are the numbers at risk and of deaths at each distinct death time,
    ``R1k``/``D1k`` those with the covariate at 1. Newton steps from ``b0`` until a step is
    below ``eps`` (or ``maxit`` steps); the standard error is the one at the start of the
    last step (the two differ by a term of the order of that step). Returns beta, se, steps.
    """
    b = b0
    if not np.isfinite(b) or abs(b) > 15.0:
        b = 0.0
    it = 0
    inf = 0.0
    while True:
        u, inf = _uni_ui(math.exp(b), R, D, R1k, D1k, m)
        if inf <= 1e-300:
            break
        step = u / inf
        if step > 1.0:
            step = 1.0
        elif step < -1.0:
            step = -1.0
        b += step
        it += 1
        if abs(step) < eps or it >= maxit or abs(b) > 25.0:
            break
    se = 1.0 / math.sqrt(inf) if inf > 0 else np.inf
    return b, se, it


@njit(cache=True)
def _multi_ui(beta, t, e, X, u, inf, S1, S2, D1, D2, mu):
    """Score and information of an Efron fit (several covariates) into ``u``, ``inf``.

    ``t`` sorted ascending; the other arguments are work arrays. Only the lower triangle
    is accumulated, then mirrored; one division per death.
    """
    n = t.shape[0]
    p = X.shape[1]
    for a in range(p):
        u[a] = 0.0
        S1[a] = 0.0
        for c in range(p):
            inf[a, c] = 0.0
            S2[a, c] = 0.0
    S0 = 0.0
    i = n - 1
    while i >= 0:
        ti = t[i]
        D0 = 0.0
        for a in range(p):
            D1[a] = 0.0
            for c in range(a + 1):
                D2[a, c] = 0.0
        d = 0
        j = i
        while j >= 0 and t[j] == ti:
            eta = 0.0
            for a in range(p):
                eta += beta[a] * X[j, a]
            w = math.exp(eta)
            S0 += w
            for a in range(p):
                wx = w * X[j, a]
                S1[a] += wx
                for c in range(a + 1):
                    S2[a, c] += wx * X[j, c]
            if e[j]:
                d += 1
                D0 += w
                for a in range(p):
                    wx = w * X[j, a]
                    D1[a] += wx
                    u[a] += X[j, a]
                    for c in range(a + 1):
                        D2[a, c] += wx * X[j, c]
            j -= 1
        for r in range(d):
            f = r / d
            is0 = 1.0 / (S0 - f * D0)
            for a in range(p):
                mu[a] = (S1[a] - f * D1[a]) * is0
                u[a] -= mu[a]
            for a in range(p):
                for c in range(a + 1):
                    inf[a, c] += (S2[a, c] - f * D2[a, c]) * is0 - mu[a] * mu[c]
        i = j
    for a in range(p):
        for c in range(a + 1, p):
            inf[a, c] = inf[c, a]


@njit(cache=True)
def cox_multi_newton(t, e, X, b0, eps, maxit):
    """Search-path Efron fit with several covariates (see :func:`cox_uni_newton`)."""
    p = X.shape[1]
    b = b0.copy()
    for a in range(p):
        if not np.isfinite(b[a]) or abs(b[a]) > 15.0:
            b[:] = 0.0
            break
    u = np.empty(p)
    inf = np.empty((p, p))
    S1 = np.empty(p)
    S2 = np.empty((p, p))
    D1 = np.empty(p)
    D2 = np.empty((p, p))
    mu = np.empty(p)
    it = 0
    while True:
        _multi_ui(b, t, e, X, u, inf, S1, S2, D1, D2, mu)
        step, inv = _solve_spd(inf, u)
        big = 0.0
        for a in range(p):
            if step[a] > 1.0:
                step[a] = 1.0
            elif step[a] < -1.0:
                step[a] = -1.0
            b[a] += step[a]
            if abs(step[a]) > big:
                big = abs(step[a])
        it += 1
        if big < eps or it >= maxit or np.max(np.abs(b)) > 25.0:
            break
    se = np.empty(p)
    for a in range(p):
        se[a] = math.sqrt(inv[a, a]) if inv[a, a] > 0 else np.inf
    return b, se, it
