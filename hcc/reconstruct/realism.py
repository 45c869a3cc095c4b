"""Compiled realism statistics that the search keeps inside plausible bounds.

The printed numbers leave the search free to buy a median or a confidence limit with a
pattern no real study shows (a plateau then a cliff, primary progressors outliving
responders). These statistics are scored beside the printed numbers (``calibrate``'s
"plausibility" items), so a candidate cohort has to look like a draw of the generating
model as well as reproduce the paper.

Event-time smoothness: under a smooth hazard the compensator-transformed event times
``u_j = Λ̃(t_j)`` of one curve, given their number ``d``, are distributed as ``d``
independent uniforms on ``[0, d]`` (Λ̃ is the fitted cumulative hazard summed over the
risk set; with a Weibull hazard of fixed shape ``k`` fitted by maximum likelihood
``Λ̃(t) = d · Σ_i ((min(t_i, t) − t0)+)^k / Σ_i ((t_i − t0)+)^k``). Two tail probabilities:

* event-free stretch: the largest of the ``d`` spacings from 0 to the first event and
  between events (a late plateau of long-term survivors is real), ``g``;
  ``P(max spacing ≥ g) ≈ d (1 − g/d)^d`` (first term of the exact inclusion–exclusion
  sum, accurate where it matters, below 0.1);
* pile-up: the most events ``c`` in a window of width ``d/6``; by the Poisson clumping
  heuristic ``P ≈ (d − c + 1) · P(Gamma(c − 1, 1) ≤ d/6)``.

The Weibull shape is refitted at every evaluation (a few Newton steps from the last
value), as the report fits it.

Both are returned as log10 P (0 = unremarkable); the plausibility report tests the same
null.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Width of the pile-up window, as a share of the transformed axis (as the report's).
SCAN_FRACTION = 1.0 / 6.0
#: Newton steps of the Weibull shape per evaluation (warm-started from the last value).
SHAPE_ITERS = 3


@njit(cache=True)
def _log10_gap_p(g, d):
    if d <= 0:
        return 0.0
    x = 1.0 - g / d
    if x <= 0.0:
        return -30.0
    lp = math.log10(d) + d * math.log10(x)
    return min(lp, 0.0)


@njit(cache=True)
def _gamma_cdf_int(m, x):
    """P(Gamma(m, 1) ≤ x) for integer m (= P(Poisson(x) ≥ m))."""
    if x <= 0.0:
        return 0.0
    term = math.exp(-x)
    s = term
    for i in range(1, m):
        term *= x / i
        s += term
    return max(0.0, 1.0 - s)


@njit(cache=True)
def _log10_scan_p(c, width, d):
    """log10 P that some window of *width* holds *c* of *d* unit-rate events: the
    expected number of c-event runs shorter than *width*, (d − c + 1) P(Gamma(c − 1) ≤
    width) (Poisson clumping heuristic)."""
    if c < 2 or d < c:
        return 0.0
    p = (d - c + 1) * _gamma_cdf_int(c - 1, width)
    if p <= 1e-30:
        return -30.0
    return min(math.log10(p), 0.0)


@njit(cache=True)
def weibull_shape(x, ev, k0, iters):
    """Maximum-likelihood Weibull shape of times *x* (> 0) with events *ev*: Newton steps
    on the profile log-likelihood (the scale has a closed form), from *k0*."""
    d = 0
    slog = 0.0
    for r in range(x.shape[0]):
        if ev[r] == 1:
            d += 1
            slog += math.log(x[r])
    k = k0
    for _ in range(iters):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for r in range(x.shape[0]):
            lx = math.log(x[r])
            w = math.exp(k * lx)
            s0 += w
            s1 += w * lx
            s2 += w * lx * lx
        m1 = s1 / s0
        g = d / k + slog - d * m1
        h = -d / (k * k) - d * (s2 / s0 - m1 * m1)
        k = min(max(k - g / h, 0.3), 5.0)
    return k


@njit(cache=True)
def smoothness(t, ev, t0, k0):
    """(log10 P of the largest event-free stretch, log10 P of the densest window, fitted
    shape) of one curve: times *t* sorted ascending, events *ev* (0/1); only times after
    *t0* count, with a Weibull hazard from *t0* whose shape is refitted from *k0* (see the
    module docstring; the plausibility report tests the same null)."""
    n = t.shape[0]
    m = 0
    for r in range(n):
        if t[r] > t0:
            m += 1
    x = np.empty(m)
    e = np.empty(m, dtype=np.int64)
    q = 0
    for r in range(n):
        if t[r] > t0:
            x[q] = t[r] - t0
            e[q] = ev[r]
            q += 1
    d = 0
    for r in range(m):
        d += e[r]
    if d < 3:
        return 0.0, 0.0, k0
    k = weibull_shape(x, e, k0, SHAPE_ITERS)
    tot = 0.0
    for r in range(m):
        tot += x[r] ** k
    u = np.empty(d)
    cum = 0.0  # Σ over times already passed of x_i^k
    q = 0
    r = 0
    while r < m:
        s = r
        while s < m and x[s] == x[r]:
            s += 1
        w = x[r] ** k
        val = d * (cum + w * (m - r)) / tot
        for z in range(r, s):
            if e[z] == 1:
                u[q] = val
                q += 1
        cum += w * (s - r)
        r = s
    gmax = u[0]
    for j in range(1, d):
        if u[j] - u[j - 1] > gmax:
            gmax = u[j] - u[j - 1]
    width = d * SCAN_FRACTION
    cmax = 1
    lo = 0
    for hi in range(d):
        while u[hi] - u[lo] > width:
            lo += 1
        if hi - lo + 1 > cmax:
            cmax = hi - lo + 1
    return _log10_gap_p(gmax, d), _log10_scan_p(cmax, width, d), k


@njit(cache=True)
def strat_binary_cox(t, ev, g, x, use, b0, maxit):
    """Log hazard ratio and its SE of a binary covariate *x*, stratified by *g* (0/1),
    over the rows with *use* = 1; *t* sorted ascending. Breslow ties, Newton from *b0*
    (steps capped at ±1). A realism statistic only: the reported figures use hcc.cox."""
    n = t.shape[0]
    r0 = np.zeros(n)
    r1 = np.zeros(n)
    c0 = np.zeros(2)
    c1 = np.zeros(2)
    r = n - 1
    while r >= 0:
        s = r
        while s >= 0 and t[s] == t[r]:
            s -= 1
        for z in range(s + 1, r + 1):
            if use[z] == 1:
                if x[z] > 0.5:
                    c1[g[z]] += 1.0
                else:
                    c0[g[z]] += 1.0
        for z in range(s + 1, r + 1):
            r0[z] = c0[g[z]]
            r1[z] = c1[g[z]]
        r = s
    b = b0
    se = np.inf
    for _ in range(maxit):
        u = 0.0
        info = 0.0
        eb = math.exp(b)
        for z in range(n):
            if use[z] == 1 and ev[z] == 1:
                den = r0[z] + r1[z] * eb
                p = r1[z] * eb / den
                u += x[z] - p
                info += p * (1.0 - p)
        if info <= 1e-12:
            return b, np.inf
        step = u / info
        if step > 1.0:
            step = 1.0
        elif step < -1.0:
            step = -1.0
        b += step
        se = 1.0 / math.sqrt(info)
        if abs(step) < 1e-6:
            break
    return b, se
