"""Compound covariate moves: two swaps of one covariate made together.

A single swap of a binary covariate between two patients moves its Cox coefficient by a
step of about 0.05-0.1 on the log scale, which is coarser than the printed rounding of a
hazard ratio (±0.005) and than the acceptance tolerance of a large P (±0.01 on P is about
±0.015 on the Wald z). Two swaps made together can cancel most of each other's step and
reach a state that no single move reaches without leaving the tolerance on the way. The
repair phase of a chain (``generator.repair``) uses them to bring items into tolerance;
the last stage on the winning state (:mod:`hcc.reconstruct.printed`) uses them to bring
Cox numbers to their printed rounding without losing any item in tolerance.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from hcc.reconstruct.calibrate import _refit_cov, _swap_cov
from hcc.reconstruct.scoring import SEARCH_TOL, guard_ok, score


@njit(cache=True)
def _differs(X, i, j, k, kecog, kpvtt, kmets):
    """Whether swapping covariate k (the stage block when k == -2) changes anything."""
    if k == -2:
        return not (X[i, kecog] == X[j, kecog] and X[i, kpvtt] == X[j, kpvtt]
                    and X[i, kmets] == X[j, kmets])
    return X[i, k] != X[j, k]


@njit(cache=True)
def _gains(a1, n_cur, fits, ltfu, printed, p_cur):
    """The acceptance rule of :func:`pair_swaps`: more items in tolerance, or as many and
    more *printed* items (counted only then: most pairs lose an item, and counting the
    printed bundle is about a sixth of an evaluation's cost)."""
    if a1 != n_cur:
        return a1 > n_cur
    return score(fits, ltfu, printed, 0.0)[1] > p_cur


@njit(cache=True)
def pair_swaps(state, fits, items, terms, covs, ltfu, wacc, maxeval, printed, guard):
    """Two swaps of the same covariate (each between two patients of the same arm) made
    together, for each covariate in *covs* (-2: the stage block ECOG, PVTT, metastases and
    BCLC together), in a deterministic order; the first pair that raises the number of
    *items* inside their acceptance tolerance, or keeps it and raises the number of
    *printed* items inside theirs, and passes *guard*
    (:func:`~hcc.reconstruct.scoring.guard_ok`), is kept. The repair phase passes an empty
    *printed* bundle and ``NO_GUARD`` (so: the first pair with more items in tolerance).
    Bundles as ``calibrate.anneal``'s; *printed* is an item bundle like *items*. Returns
    the number of evaluations made, negative when a pair was kept (the state and *fits*
    are then the pair's; otherwise they are as on entry)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    n = X.shape[0]
    tol = SEARCH_TOL
    maxit = 3
    s_cur, n_cur, nex = score(fits, ltfu, items, wacc)
    p_cur = score(fits, ltfu, printed, 0.0)[1]
    cb0 = cb.copy()
    cse0 = cse.copy()
    nev = 0
    for kq in range(covs.shape[0]):
        k = covs[kq]
        for i in range(n):
            for j in range(i + 1, n):
                if arm[i] != arm[j] or not _differs(X, i, j, k, kecog, kpvtt, kmets):
                    continue
                cb0[:] = cb
                cse0[:] = cse
                r1 = _swap_cov(X, i, j, k, kecog, kpvtt, kmets, kbclc)
                if r1 == 0:
                    continue
                for i2 in range(i, n):
                    for j2 in range(i2 + 1, n):
                        if arm[i2] != arm[j2] or not _differs(X, i2, j2, k, kecog, kpvtt,
                                                               kmets):
                            continue
                        if i2 == i and j2 <= j:
                            continue
                        r2 = _swap_cov(X, i2, j2, k, kecog, kpvtt, kmets, kbclc)
                        if r2 == 0:
                            continue
                        _refit_cov(k, r1 == 2 or r2 == 2, X, arm, fits, terms, tol, maxit)
                        s_new, a1, a2 = score(fits, ltfu, items, wacc)
                        nev += 1
                        if _gains(a1, n_cur, fits, ltfu, printed, p_cur) \
                                and guard_ok(X, fits, guard):
                            return -nev
                        _swap_cov(X, i2, j2, k, kecog, kpvtt, kmets, kbclc)
                        cb[:] = cb0
                        cse[:] = cse0
                        if nev >= maxeval:
                            _swap_cov(X, i, j, k, kecog, kpvtt, kmets, kbclc)
                            return nev
                _swap_cov(X, i, j, k, kecog, kpvtt, kmets, kbclc)
                cb[:] = cb0
                cse[:] = cse0
    return nev


def no_items() -> tuple:
    """An empty item bundle (the *printed* argument of the repair's :func:`pair_swaps`)."""
    i = np.zeros(0, dtype=np.int64)
    f = np.zeros(0, dtype=np.float64)
    return (i, i.copy(), f, f.copy(), f.copy(), f.copy(), f.copy(), f.copy())
