"""Targets and the compiled simulated-annealing search.

The search state is one patient per row: age, the binary covariates of the Cox models,
an outcome *type* (0 death without progression, 1 progression then death, 2 progression
and alive, 3 alive without progression), OS days, PFS days and best response. Every move
keeps every marginal count of the paper exact (swaps within an arm, type swaps that keep
the numbers of deaths and progressions, time shifts) and is rejected when it breaks a
coherence rule (METHODS.md §4). The score is a sum of penalties, one per published number,
that are zero inside the printed rounding ("dead band") and grow with the distance outside.

Each item's penalty has two parts: ``r + r²`` with ``r`` the distance outside the printed
rounding divided by a scale (3% for a hazard ratio, 5% for a confidence limit, 0.15 for a
Wald z, 3 days for a median), plus ``W_ACC`` times the same form outside the acceptance
tolerance of issue 2. A chain (see :mod:`hcc.reconstruct.generator`) anneals with
``W_ACC``, then runs a short cold refinement from its best state with the steeper
``W_ACC_POLISH``, then a deterministic repair: :func:`polish` with lexicographic
acceptance (items in tolerance first, then the score), compound moves
(``compound.pair_swaps``) and short cold kicks (``generator.repair``).

Notes
-----
P-values are scored through the signed Wald z (``b / se``), not through P, so a term whose
hazard ratio has to cross 1 is not stuck where P rises towards 1. Hazard ratios and
confidence limits are scored on the log scale. KM curves that end exactly at 0.5 are
penalised: there R's ``quantile.survfit`` and ``print.survfit`` give different medians.
The data cut-off is part of the state (a move shifts it); alive patients with a follow-up
shorter than cut-off − last enrolment date are lost to follow-up (free up to
``LTFU_FREE`` patients).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# The scored items, constants and compiled evaluation live in scoring; they are named here
# too because the search uses them and its callers (generator, tests) reach them as
# ``calibrate.<name>``.
from hcc.reconstruct.scoring import (  # noqa: F401
    TERMS, TERM_INDEX, K_AGE, K_ECOG, K_ARM, K_PVTT, K_METS, K_BCLC, ENDPOINTS, N_UNI,
    MULTI_TERMS, MULTI_P, MULTI_SLOT0, SUB_SLOT, N_SLOTS, workspace, patients, model_terms,
    item_arrays, SWAPPABLE, W_ACC, W_ACC_POLISH, LTFU_FREE, K_LOGHR, K_LOGLO, K_LOGHI, K_Z,
    K_ABSZ, K_MED, K_LO, K_HI, K_NR, K_LR, K_FU, K_LTFU, K_CURVE, K_COHORT, KIND_NAMES,
    REALISM_KINDS, FIRST_SCAN, CLINICAL_PD_MIN, NON_PD_MIN, MIN_PPS, LAST_VISIT_GAP,
    CURVE_T0, COHORT_STATS, CURVE_P, HR_PD, HR_OR, EARLY_PD_SHARE, ENROL_START, ENROL_END,
    CUTOFF_MIN, CUTOFF_MAX, CUTOFF_START, _zq, _day_band, _hr_band, _realism_rows,
    _acc_band, build_items, prepare, SEARCH_TOL_MIN, SEARCH_TOL, _uni, fit_uni, fit_multi,
    fit_sub, fit_km, count_ltfu, eval_endpoint, cohort_stats, full_eval, item_values,
    _outside, score, COX_KINDS, exact_items, printed_items, SUB_COLS, NO_GUARD, interaction_p, guard_ok,
    eval_endpoint_memo, order_memo,
)


# ----------------------------------------------------------------------------- RNG
@njit(cache=True)
def _next(rs):
    rs[0] += np.uint64(0x9E3779B97F4A7C15)
    z = rs[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return z


@njit(cache=True)
def _unif(rs):
    return float(_next(rs) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _randint(rs, n):
    k = int(_unif(rs) * n)
    return k if k < n else n - 1


# ----------------------------------------------------------------------------- moves
@njit(cache=True)
def valid(i, otype, osd, pfsd, resp, maxfu, avail):
    """Whether patient *i* keeps the timing rules of the generating model: progression
    and death in the order and windows of the scan schedule (:data:`FIRST_SCAN`,
    :data:`NON_PD_MIN`, :data:`MIN_PPS`), follow-up no longer than the time from the
    regimen's availability (``avail[i]`` days after the first enrolment date) to the data
    cut-off (``maxfu`` days after the first enrolment date)."""
    o = osd[i]
    p = pfsd[i]
    ty = otype[i]
    if o < CLINICAL_PD_MIN or o > maxfu - avail[i]:
        return False
    prog = ty == 1 or ty == 2
    if prog:
        if p < CLINICAL_PD_MIN or p > o - 1:
            return False
        if ty == 1 and o - p < MIN_PPS:
            return False
    elif p != o:
        return False
    if resp[i] == 3:
        if not prog or p > FIRST_SCAN[1]:
            return False
    elif p < NON_PD_MIN:
        return False
    return True


@njit(cache=True)
def _sample_pfs(rs, i, osd, resp):
    if resp[i] == 3:
        lo = CLINICAL_PD_MIN
        hi = min(FIRST_SCAN[1], osd[i] - MIN_PPS)
    else:
        lo = NON_PD_MIN
        hi = osd[i] - MIN_PPS
    if hi < lo:
        return -1
    return lo + _randint(rs, hi - lo + 1)


@njit(cache=True)
def _bclc(X, i, kecog, kpvtt, kmets):
    return 0.0 if (X[i, kecog] < 0.5 and X[i, kpvtt] < 0.5 and X[i, kmets] < 0.5) else 1.0


@njit(cache=True)
def _pair_buffer(state):
    """Room for what a move of two patients changes (:func:`_take_pair`): their covariate
    rows and, for each per-patient array of *state*, their two values."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    nt = X.shape[1]
    return (np.empty(nt), np.empty(nt), age[:2].copy(), otype[:2].copy(), osd[:2].copy(),
            pfsd[:2].copy(), resp[:2].copy())


@njit(cache=True)
def _take_pair(state, i, j, pair):
    """Save patients *i* and *j* of *state* into *pair* (:func:`_pair_buffer`)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    xi, xj, ages, otypes, osds, pfsds, resps = pair
    for k in range(X.shape[1]):
        xi[k] = X[i, k]
        xj[k] = X[j, k]
    ages[0], ages[1] = age[i], age[j]
    otypes[0], otypes[1] = otype[i], otype[j]
    osds[0], osds[1] = osd[i], osd[j]
    pfsds[0], pfsds[1] = pfsd[i], pfsd[j]
    resps[0], resps[1] = resp[i], resp[j]


@njit(cache=True)
def _put_back(state, i, j, pair):
    """Restore patients *i* and *j* to the values saved by :func:`_take_pair`."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    xi, xj, ages, otypes, osds, pfsds, resps = pair
    for k in range(X.shape[1]):
        X[i, k] = xi[k]
        X[j, k] = xj[k]
    age[i], age[j] = ages[0], ages[1]
    otype[i], otype[j] = otypes[0], otypes[1]
    osd[i], osd[j] = osds[0], osds[1]
    pfsd[i], pfsd[j] = pfsds[0], pfsds[1]
    resp[i], resp[j] = resps[0], resps[1]


@njit(cache=True)
def _save_fits(fits, saved, outcome):
    """Copy the fitted values *fits* into *saved* (the orders and sorted times too when
    *outcome*: a move of an outcome re-sorts them)."""
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    cb0, cse0, kmv0, lr0, fu0, ord0, ts0, es0 = saved
    cb0[:] = cb
    cse0[:] = cse
    kmv0[:, :] = kmv
    lr0[:] = lr
    fu0[:] = fu
    if outcome:
        ord0[:, :] = ordr
        ts0[:, :] = ts
        es0[:, :] = es


@njit(cache=True)
def _restore_fits(fits, saved, outcome):
    _save_fits(saved, fits, outcome)


@njit(cache=True)
def _copy_fits(fits):
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    return (cb.copy(), cse.copy(), kmv.copy(), lr.copy(), fu.copy(), ordr.copy(), ts.copy(),
            es.copy())


@njit(cache=True)
def _propose_covariate(state, terms, rs, i, j, u):
    """A covariate move (u < 0.38 of :func:`_propose`): the whole stage block (ECOG, PVTT,
    metastases, BCLC: always coherent) or one swappable covariate (ages with their age > 60
    column; ECOG, PVTT or metastases only where BCLC stays coherent). Returns (mode,
    covariate, bclc_changed) as :func:`_propose`."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    kc = -1
    bchg = False
    if u < 0.06:
        if (X[i, kecog] == X[j, kecog] and X[i, kpvtt] == X[j, kpvtt]
                and X[i, kmets] == X[j, kmets]):
            return -1, kc, bchg
        bchg = X[i, kbclc] != X[j, kbclc]
        for k in (kecog, kpvtt, kmets, kbclc):
            tmp = X[i, k]
            X[i, k] = X[j, k]
            X[j, k] = tmp
        return 1, -2, bchg
    k = swappable[_randint(rs, swappable.shape[0])]
    if k == kage:
        if age[i] == age[j]:
            return -1, kc, bchg
        tmp = age[i]
        age[i] = age[j]
        age[j] = tmp
        if X[i, kage] == X[j, kage]:
            return 0, kc, bchg  # ages moved, no model changes
        tmp2 = X[i, kage]
        X[i, kage] = X[j, kage]
        X[j, kage] = tmp2
        return 1, k, bchg
    if X[i, k] == X[j, k]:
        return -1, kc, bchg
    bi0 = X[i, kbclc]
    tmp2 = X[i, k]
    X[i, k] = X[j, k]
    X[j, k] = tmp2
    if k == kecog or k == kpvtt or k == kmets:
        bi = _bclc(X, i, kecog, kpvtt, kmets)
        bj = _bclc(X, j, kecog, kpvtt, kmets)
        if bi + bj != X[i, kbclc] + X[j, kbclc]:
            X[j, k] = X[i, k]
            X[i, k] = tmp2
            return -1, kc, bchg
        X[i, kbclc] = bi
        X[j, kbclc] = bj
        bchg = bi != bi0
    return 1, k, bchg


@njit(cache=True)
def _shift_time(state, rs, i, maxfu):
    """Move patient *i*'s OS time (PFS too when it did not progress) or, half the times for
    a progressor, the PFS time by 1-120 days (log-uniform, either sign). Returns (mode, ok,
    days) as :func:`_propose`."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    d = int(math.exp(_unif(rs) * math.log(121.0)))
    if d < 1:
        d = 1
    if _unif(rs) < 0.5:
        d = -d
    prog = otype[i] == 1 or otype[i] == 2
    if prog and _unif(rs) < 0.5:
        pfsd[i] += d
        mode = 4
    else:
        osd[i] += d
        if not prog:
            pfsd[i] = osd[i]
            mode = 2
        else:
            mode = 3
    return mode, valid(i, otype, osd, pfsd, resp, maxfu, avail), d


@njit(cache=True)
def _swap_status(state, rs, i, j, maxfu):
    """Exchange the outcome types of *i* and *j* (different types); a patient who becomes a
    progressor draws a PFS time (:func:`_sample_pfs`), one who no longer is gets PFS = OS.
    Returns whether both keep the timing rules."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    ok = True
    oti = otype[i]
    otype[i] = otype[j]
    otype[j] = oti
    for (p, old) in ((i, otype[j]), (j, otype[i])):
        newprog = otype[p] == 1 or otype[p] == 2
        oldprog = old == 1 or old == 2
        if newprog and not oldprog:
            v = _sample_pfs(rs, p, osd, resp)
            if v < 0:
                ok = False
            else:
                pfsd[p] = v
        elif not newprog:
            pfsd[p] = osd[p]
    if ok:
        ok = valid(i, otype, osd, pfsd, resp, maxfu, avail) and valid(j, otype, osd, pfsd, resp, maxfu, avail)
    return ok


@njit(cache=True)
def _move_cutoff(state, rs, maxfu, cut):
    """Move the data cut-off by 1-60 days within [cutlo, cuthi], never before a patient's
    last follow-up. Returns (mode 5, or -1 when refused, days, cut-off)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    cutv, window, cutlo, cuthi = cut
    d = 1 + _randint(rs, 60)
    if _unif(rs) < 0.5:
        d = -d
    nm = maxfu + d
    if nm < cutlo or nm > cuthi:
        return -1, d, maxfu
    mx = 0
    for q in range(X.shape[0]):
        if osd[q] + avail[q] > mx:
            mx = osd[q] + avail[q]
    if mx > nm:
        return -1, d, maxfu
    cutv[0] = nm
    return 5, d, nm


@njit(cache=True)
def _propose(state, terms, rs, i, j, maxfu, cut):
    """Draw the kind of move for patients *i* and *j* (same arm) and make it on *state*.

    Returns (mode, covariate, bclc_changed, ok, days, maxfu): mode -1 nothing moved (no
    change was made), 0 ages only (no model changes), 1 a covariate (or the stage block,
    covariate -2; :func:`_propose_covariate`), 2 an outcome of both endpoints, 3 OS only,
    4 PFS only, 5 the data cut-off (by *days*); *ok* False when the move breaks a timing
    rule (the caller puts the patients back)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    u = _unif(rs)
    mode = -1
    kc = -1
    bchg = False
    ok = True
    d = 0
    if u < 0.38:
        mode, kc, bchg = _propose_covariate(state, terms, rs, i, j, u)
        return mode, kc, bchg, ok, d, maxfu
    if u < 0.48:
        for arr in (otype, osd, pfsd, resp):
            tmp = arr[i]
            arr[i] = arr[j]
            arr[j] = tmp
        ok = valid(i, otype, osd, pfsd, resp, maxfu, avail) and valid(j, otype, osd, pfsd, resp, maxfu, avail)
        mode = 2
    elif u < 0.78:
        mode, ok, d = _shift_time(state, rs, i, maxfu)
    elif u < 0.88:
        if otype[i] == otype[j]:
            return -1, kc, bchg, ok, d, maxfu
        ok = _swap_status(state, rs, i, j, maxfu)
        mode = 2
    elif u < 0.92:
        if otype[i] == 0:
            v = _sample_pfs(rs, i, osd, resp)
            if v < 0:
                return -1, kc, bchg, ok, d, maxfu
            otype[i] = 1
            pfsd[i] = v
        elif otype[i] == 1:
            otype[i] = 0
            pfsd[i] = osd[i]
        else:
            return -1, kc, bchg, ok, d, maxfu
        ok = valid(i, otype, osd, pfsd, resp, maxfu, avail)
        mode = 2
    elif u < 0.93:
        mode, d, maxfu = _move_cutoff(state, rs, maxfu, cut)
        if mode < 0:
            return -1, kc, bchg, ok, d, maxfu
    elif u < 0.95:
        if resp[i] == resp[j]:
            return -1, kc, bchg, ok, d, maxfu
        tmp = resp[i]
        resp[i] = resp[j]
        resp[j] = tmp
        ok = valid(i, otype, osd, pfsd, resp, maxfu, avail) and valid(j, otype, osd, pfsd, resp, maxfu, avail)
        mode = 2
    else:
        for arr in (osd, pfsd):
            tmp = arr[i]
            arr[i] = arr[j]
            arr[j] = tmp
        ok = valid(i, otype, osd, pfsd, resp, maxfu, avail) and valid(j, otype, osd, pfsd, resp, maxfu, avail)
        mode = 2
    return mode, kc, bchg, ok, d, maxfu


@njit(cache=True)
def anneal(state, fits, best, items, terms, cut, sched):
    """Run moves ``step0 .. step0 + nsteps`` of a ``budget``-move annealing schedule.

    Bundles (tuples): *state* = (X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp,
    avail); *fits* = (cb, cse, kmv, lr, fu, ordr, ts, es), fitted for *state*; *best* =
    (X, age, otype, osd, pfsd, resp, info) receives the best state, info = [score, n_acc,
    n_exact, step, cut-off]; *items* = (kind, slot, blo, bhi, alo, ahi, scale, weight)
    (:func:`build_items`); *terms* = (MULTI_TERMS, MULTI_P, MULTI_SLOT0, SUB_SLOT,
    SWAPPABLE, K_AGE, K_ECOG, K_ARM, K_PVTT, K_METS, K_BCLC); *cut* = (cutv, window,
    cutlo, cuthi): ``cutv[0]`` is the data cut-off in days after the first possible start
    (the longest possible follow-up), patients alive with a shorter time than
    ``cutv[0] - window`` are lost to follow-up; *sched* = (rs, step0, nsteps, budget, t0,
    t1, cur, wacc), ``cur`` holds [score, n_acc, n_exact]. Moves: :func:`_propose`.
    """
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    best_X, best_age, best_otype, best_osd, best_pfsd, best_resp, best_info = best
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    pat = (X, arm, otype, osd, pfsd, resp)
    model = (mterms, mp, mslot0, subslot, kbclc)
    cutv, window, cutlo, cuthi = cut
    rs, step0, nsteps, budget, t0, t1, cur, wacc = sched
    maxfu = cutv[0]
    minadmin = maxfu - window
    n = X.shape[0]
    nt = X.shape[1]
    tol = SEARCH_TOL
    maxit = 3
    ltfu = count_ltfu(otype, osd, minadmin)
    s_cur = cur[0]
    saved = _copy_fits(fits)
    pair = _pair_buffer(state)
    for step in range(step0, step0 + nsteps):
        temp = t0 * (t1 / t0) ** (step / budget)
        i = _randint(rs, n)
        a = arm[i]
        j = arm_lo[a] + _randint(rs, arm_n[a])
        if j == i:
            continue
        _take_pair(state, i, j, pair)
        mode, kc, bchg, ok, d, maxfu = _propose(state, terms, rs, i, j, maxfu, cut)
        if mode < 0:
            continue
        minadmin = maxfu - window
        if not ok:
            _put_back(state, i, j, pair)
            continue
        if mode == 0:
            continue
        # The sort orders change only with an outcome move (2-4): saved and restored for
        # those only (until calibration 13 a rejected cut-off move, mode 5, restored the
        # orders saved at the last outcome move, so later covariate refits could use stale
        # orders).
        outcome = mode >= 2 and mode != 5
        _save_fits(fits, saved, outcome)
        ltfu_new = ltfu
        if mode == 5:
            ltfu_new = count_ltfu(otype, osd, minadmin)
        elif mode == 1:
            _refit_cov(kc, bchg, X, arm, fits, terms, tol, maxit)
        else:
            for e in range(2):
                if (mode == 3 and e == 1) or (mode == 4 and e == 0):
                    continue
                eval_endpoint(e, pat, fits, model, tol, maxit)
            ltfu_new = count_ltfu(otype, osd, minadmin)
        s_new, nacc, nex = score(fits, ltfu_new, items, wacc)
        dlt = s_new - s_cur
        if dlt <= 0.0 or _unif(rs) < math.exp(-dlt / temp):
            s_cur = s_new
            ltfu = ltfu_new
            cur[0] = s_new
            cur[1] = nacc
            cur[2] = nex
            if s_new < best_info[0]:
                best_info[0] = s_new
                best_info[1] = nacc
                best_info[2] = nex
                best_info[3] = step
                best_X[:, :] = X
                best_age[:] = age
                best_otype[:] = otype
                best_osd[:] = osd
                best_pfsd[:] = pfsd
                best_resp[:] = resp
                best_info[4] = maxfu
        else:
            if mode == 5:
                maxfu -= d
                minadmin = maxfu - window
                cutv[0] = maxfu
            _put_back(state, i, j, pair)
            _restore_fits(fits, saved, outcome)
    return s_cur


@njit(cache=True)
def _swap_cov(X, i, j, k, kecog, kpvtt, kmets, kbclc):
    """Swap covariate k (or the stage block when k == -2) between i and j.

    Returns 0 when nothing changed or the swap would break the BCLC rule (state left
    unchanged), 1 when swapped without a BCLC change, 2 when BCLC changed too.
    """
    if k == -2:
        if X[i, kecog] == X[j, kecog] and X[i, kpvtt] == X[j, kpvtt] and X[i, kmets] == X[j, kmets]:
            return 0
        ch = X[i, kbclc] != X[j, kbclc]
        for kk in (kecog, kpvtt, kmets, kbclc):
            tmp = X[i, kk]
            X[i, kk] = X[j, kk]
            X[j, kk] = tmp
        return 2 if ch else 1
    if X[i, k] == X[j, k]:
        return 0
    tmp = X[i, k]
    X[i, k] = X[j, k]
    X[j, k] = tmp
    if k == kecog or k == kpvtt or k == kmets:
        bi = _bclc(X, i, kecog, kpvtt, kmets)
        bj = _bclc(X, j, kecog, kpvtt, kmets)
        if bi + bj != X[i, kbclc] + X[j, kbclc]:
            tmp = X[i, k]
            X[i, k] = X[j, k]
            X[j, k] = tmp
            return 0
        ch = bi != X[i, kbclc]
        X[i, kbclc] = bi
        X[j, kbclc] = bj
        return 2 if ch else 1
    return 1


@njit(cache=True)
def _refit_cov(k, bch, X, arm, fits, terms, tol, maxit):
    """Refit the models a swap of covariate *k* (the stage block when ``k == -2``) changes:
    its univariate fits, the multivariable fit of an endpoint that includes it, and, when
    *bch* (the swap changed BCLC too), BCLC's univariate fits and the BCLC-B subgroup fit."""
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    for e in range(2):
        inm = False
        if k == -2:
            for kk in (kecog, kpvtt, kmets):
                fit_uni(e, kk, X, ordr, ts, es, cb, cse, tol, maxit)
                for q in range(mp[e]):
                    if mterms[e, q] == kk:
                        inm = True
        else:
            fit_uni(e, k, X, ordr, ts, es, cb, cse, tol, maxit)
            for q in range(mp[e]):
                if mterms[e, q] == k:
                    inm = True
        if inm:
            fit_multi(e, X, ordr, ts, es, cb, cse, mterms, mp, mslot0, tol, maxit)
        if bch:
            fit_uni(e, kbclc, X, ordr, ts, es, cb, cse, tol, maxit)
    if bch:
        fit_sub(X, arm, ordr, ts, es, cb, cse, subslot, kbclc, tol, maxit)


@njit(cache=True)
def _better(s_new, n_new, s_cur, n_cur, lex):
    """Acceptance rule of :func:`polish`: a strictly lower score, or, when *lex*, first
    more items inside the acceptance tolerance, then (as many) a strictly lower score."""
    if lex:
        if n_new != n_cur:
            return n_new > n_cur
    return s_new < s_cur - 1e-9


@njit(cache=True)
def _polish_swaps(state, fits, saved, items, terms, wacc, lex, ltfu, s_cur, n_cur, guard):
    """One sweep of every covariate swap (and stage-block swap, coded -2) between two
    patients of an arm; returns (score, n_acc, improved)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    n = X.shape[0]
    nk = swappable.shape[0]
    improved = False
    for kq in range(nk + 1):
        k = swappable[kq] if kq < nk else -2
        for i in range(n):
            for j in range(i + 1, n):
                if arm[i] != arm[j]:
                    continue
                if k == kage:
                    if X[i, kage] == X[j, kage]:
                        continue
                saved[0][:] = cb
                saved[1][:] = cse
                r = _swap_cov(X, i, j, k, kecog, kpvtt, kmets, kbclc)
                if r == 0:
                    continue
                _refit_cov(k, r == 2, X, arm, fits, terms, SEARCH_TOL, 3)
                s_new, a1, a2 = score(fits, ltfu, items, wacc)
                if _better(s_new, a1, s_cur, n_cur, lex) and guard_ok(X, fits, guard):
                    s_cur = s_new
                    n_cur = a1
                    improved = True
                    if k == kage:
                        tmp = age[i]
                        age[i] = age[j]
                        age[j] = tmp
                else:
                    _swap_cov(X, i, j, k, kecog, kpvtt, kmets, kbclc)
                    cb[:] = saved[0]
                    cse[:] = saved[1]
    return s_cur, n_cur, improved


@njit(cache=True)
def _polish_shifts(state, fits, saved, items, terms, ctrl, ltfu, s_cur, n_cur, guard):
    """One sweep of every time shift of up to ``maxshift`` days (OS, or PFS of a patient
    who progressed); returns (score, n_acc, lost to follow-up, improved)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    pat = (X, arm, otype, osd, pfsd, resp)
    model = (mterms, mp, mslot0, subslot, kbclc)
    maxfu, minadmin, sweeps, maxshift, wacc, lex = ctrl
    n = X.shape[0]
    improved = False
    memos = (order_memo(n), order_memo(n))
    for i in range(n):
        prog = otype[i] == 1 or otype[i] == 2
        for which in range(2):
            if which == 1 and not prog:
                continue
            for dd in range(1, maxshift + 1):
                for sgn in (-1, 1):
                    d = dd * sgn
                    o_old = osd[i]
                    p_old = pfsd[i]
                    if which == 0:
                        osd[i] += d
                        if not prog:
                            pfsd[i] = osd[i]
                    else:
                        pfsd[i] += d
                    if not valid(i, otype, osd, pfsd, resp, maxfu, avail):
                        osd[i] = o_old
                        pfsd[i] = p_old
                        continue
                    _save_fits(fits, saved, True)
                    for e in range(2):
                        if which == 0 and prog and e == 1:
                            continue
                        if which == 1 and e == 0:
                            continue
                        eval_endpoint_memo(e, pat, fits, model, SEARCH_TOL, 3, memos[e])
                    lt = count_ltfu(otype, osd, minadmin)
                    s_new, a1, a2 = score(fits, lt, items, wacc)
                    if _better(s_new, a1, s_cur, n_cur, lex) and guard_ok(X, fits, guard):
                        s_cur = s_new
                        n_cur = a1
                        ltfu = lt
                        improved = True
                        memos[0][0][0] = 0  # the state shifted from has changed
                        memos[1][0][0] = 0
                    else:
                        osd[i] = o_old
                        pfsd[i] = p_old
                        _restore_fits(fits, saved, True)
    return s_cur, n_cur, ltfu, improved


@njit(cache=True)
def _swap_outcomes(otype, osd, pfsd, resp, i, j):
    for arr in (otype, osd, pfsd, resp):
        tmp = arr[i]
        arr[i] = arr[j]
        arr[j] = tmp


@njit(cache=True)
def _polish_exchanges(state, fits, saved, items, terms, ctrl, ltfu, s_cur, n_cur, guard):
    """One sweep of every exchange of whole outcomes (type, times, response) between two
    patients of an arm; returns (score, n_acc, improved)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    pat = (X, arm, otype, osd, pfsd, resp)
    model = (mterms, mp, mslot0, subslot, kbclc)
    maxfu, minadmin, sweeps, maxshift, wacc, lex = ctrl
    n = X.shape[0]
    improved = False
    for i in range(n):
        for j in range(i + 1, n):
            if arm[i] != arm[j]:
                continue
            if otype[i] == otype[j] and osd[i] == osd[j] and pfsd[i] == pfsd[j]:
                continue
            _save_fits(fits, saved, True)
            _swap_outcomes(otype, osd, pfsd, resp, i, j)
            if not (valid(i, otype, osd, pfsd, resp, maxfu, avail)
                    and valid(j, otype, osd, pfsd, resp, maxfu, avail)):
                _swap_outcomes(otype, osd, pfsd, resp, i, j)
                continue
            full_eval(pat, fits, model, SEARCH_TOL, 3)
            s_new, a1, a2 = score(fits, ltfu, items, wacc)
            if _better(s_new, a1, s_cur, n_cur, lex) and guard_ok(X, fits, guard):
                s_cur = s_new
                n_cur = a1
                improved = True
            else:
                _swap_outcomes(otype, osd, pfsd, resp, i, j)
                _restore_fits(fits, saved, True)
    return s_cur, n_cur, improved


@njit(cache=True)
def polish(state, fits, items, terms, ctrl, guard):
    """Deterministic greedy descent after annealing: every covariate swap between two
    patients of the same arm (:func:`_polish_swaps`), then every time shift of up to
    ``maxshift`` days (:func:`_polish_shifts`), then every exchange of whole outcomes
    between two patients of the same arm (:func:`_polish_exchanges`), keeping each strict
    improvement of the score with acceptance weight ``wacc`` (steeper than during
    annealing: the polish puts the acceptance tolerance first); repeated for ``sweeps``
    sweeps or until nothing improves. With ``lex`` a move is kept when it raises the
    number of items inside the acceptance tolerance, or keeps that number and lowers the
    score (sideways moves on the count). Bundles as :func:`anneal`'s; *ctrl* = (maxfu,
    minadmin, sweeps, maxshift, wacc, lex); *guard* (:func:`~hcc.reconstruct.scoring.guard_ok`;
    :data:`NO_GUARD` switches it off)
    keeps a move only if the treatment × subgroup interaction check stays above its limit
    (the printed descent, ``printed.descent``). Returns the final score."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    pat = (X, arm, otype, osd, pfsd, resp)
    model = (mterms, mp, mslot0, subslot, kbclc)
    maxfu, minadmin, sweeps, maxshift, wacc, lex = ctrl
    full_eval(pat, fits, model, SEARCH_TOL, 30)
    ltfu = count_ltfu(otype, osd, minadmin)
    s_cur, n_cur, nex = score(fits, ltfu, items, wacc)
    saved = _copy_fits(fits)
    for sw in range(sweeps):
        s_cur, n_cur, imp1 = _polish_swaps(state, fits, saved, items, terms, wacc, lex, ltfu,
                                           s_cur, n_cur, guard)
        s_cur, n_cur, ltfu, imp2 = _polish_shifts(state, fits, saved, items, terms, ctrl, ltfu,
                                                  s_cur, n_cur, guard)
        s_cur, n_cur, imp3 = _polish_exchanges(state, fits, saved, items, terms, ctrl, ltfu,
                                               s_cur, n_cur, guard)
        if not (imp1 or imp2 or imp3):
            break
    return s_cur
