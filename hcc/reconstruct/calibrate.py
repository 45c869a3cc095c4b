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
(:func:`pair_swaps`) and short cold kicks (``generator.repair``).

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

from hcc import paper
from hcc.reconstruct.realism import smoothness, strat_binary_cox
from hcc.reconstruct.fastnum import (
    Z975,
    cox_multi,
    cox_multi_newton,
    cox_uni_binary,
    cox_uni_counts,
    cox_uni_newton,
    risk_counts,
    risk_counts_all,
    km_median,
    km_median_ci,
    logrank_chisq,
)

#: Cox terms in the order of the paper's tables; column j of the design matrix.
TERMS = tuple(paper.COX_TERMS)
TERM_INDEX = {t: i for i, t in enumerate(TERMS)}
K_AGE, K_ECOG, K_ARM, K_PVTT, K_METS, K_BCLC = (TERM_INDEX[t] for t in (
    "age_gt60", "ecog", "second_line", "pvtt", "metastases", "bclc"))
ENDPOINTS = ("os", "pfs")
N_UNI = 2 * len(TERMS)
MULTI_TERMS = np.full((2, 4), -1, dtype=np.int64)
MULTI_P = np.zeros(2, dtype=np.int64)
for _e, _ep in enumerate(ENDPOINTS):
    _ts = [TERM_INDEX[t] for t in paper.COX_MULTIVARIATE[_ep]]
    MULTI_TERMS[_e, :len(_ts)] = _ts
    MULTI_P[_e] = len(_ts)
MULTI_SLOT0 = np.array([N_UNI, N_UNI + MULTI_P[0]], dtype=np.int64)
SUB_SLOT = N_UNI + int(MULTI_P.sum())
N_SLOTS = SUB_SLOT + 1


def workspace(n):
    """Fresh work arrays for :func:`full_eval` on *n* patients, in its argument order:
    ``cb, cse, kmv, lr, fu, ordr, ts, es`` (coefficients, SEs, curve statistics, log-rank,
    follow-up, per-endpoint sort order, times and events). ``kmv`` rows 0–3 are the curves
    (endpoint × arm: KM median, lower, upper, smallest upper band, then the two realism
    statistics of :func:`realism.smoothness` and the fitted Weibull shape); row 4 holds the cohort's realism statistics
    (:data:`COHORT_STATS`)."""
    return (np.zeros(N_SLOTS), np.ones(N_SLOTS), np.zeros((5, 7)), np.zeros(2), np.zeros(1),
            np.zeros((2, n), np.int64), np.zeros((2, n)), np.zeros((2, n), np.int64))
def patients(st: dict) -> tuple:
    """The patients bundle of :func:`full_eval` from a state dict."""
    return (st["X"], st["arm"], st["otype"], st["osd"], st["pfsd"], st["resp"])


def model_terms() -> tuple:
    """The model bundle of :func:`full_eval`: the multivariable models' terms and their
    number, their first coefficient slot, the BCLC-B subgroup's slot, BCLC's column."""
    return (MULTI_TERMS, MULTI_P, MULTI_SLOT0, SUB_SLOT, K_BCLC)


def item_arrays(items: dict) -> tuple:
    """The items bundle of :func:`score` from :func:`build_items`."""
    return (items["kind"], items["slot"], items["blo"], items["bhi"], items["alo"],
            items["ahi"], items["scale"], items["weight"])


#: covariates that moves may swap (age, and every binary Table 1 term but arm and BCLC).
SWAPPABLE = np.array([TERM_INDEX[t] for t in TERMS if t not in ("second_line", "bclc")],
                     dtype=np.int64)

#: Weight of the extra penalty outside the acceptance tolerance (relative to the item's).
W_ACC = 6.0
#: Acceptance weight of the refinement (a short cold annealing run from the best state
#: found) and of the final greedy polish: the acceptance tolerance comes first there.
W_ACC_POLISH = 60.0
#: Patients alive and lost to follow-up before the data cut-off allowed without penalty.
LTFU_FREE = 9.0

# item kinds (K_CURVE and K_COHORT are realism items, not printed numbers)
(K_LOGHR, K_LOGLO, K_LOGHI, K_Z, K_ABSZ, K_MED, K_LO, K_HI, K_NR, K_LR, K_FU, K_LTFU,
 K_CURVE, K_COHORT) = range(14)
KIND_NAMES = ("HR", "lower", "upper", "P", "screen", "median", "median lower",
              "median upper", "median upper NR", "log-rank", "follow-up", "lost to follow-up",
              "curve realism", "cohort realism")
#: Kinds that score the plausibility of the cohort rather than a printed number.
REALISM_KINDS = (K_CURVE, K_COHORT)

#: Timing rules (days) of the generating model (``model.py``) that every move keeps.
#: mRECIST scans every 2–3 months (paper, Methods), the first at 6–13 weeks: a primary
#: progressor (best response PD) is found at that first scan.
FIRST_SCAN = (42, 91)
#: ... or earlier on clinical grounds, but not in the first three weeks.
CLINICAL_PD_MIN = 21
#: A CR/PR/SD patient had a scan without progression, so was alive and progression-free
#: for at least eight weeks (mRECIST: stable disease needs a scan at six weeks or later).
NON_PD_MIN = 56
#: Shortest time from documented progression to death.
MIN_PPS = 7
#: Days an alive patient's last visit may lie before the data cut-off (visits every
#: 2–3 months); alive patients seen earlier than that are lost to follow-up.
LAST_VISIT_GAP = 90

#: Realism statistics of one curve (columns 4, 5 of ``kmv``'s rows 0–3): log10 P of the
#: largest event-free stretch and of the densest pile-up (``realism.smoothness``, fitted
#: Weibull hazard), from the start of the compensator per endpoint (OS from day 0; PFS
#: after the first scan window, where the scan schedule no longer shapes the events).
CURVE_T0 = (0.0, float(FIRST_SCAN[1]))
#: Cohort realism statistics, ``kmv[4, c]``: 0 log HR of death, best response PD vs
#: disease control (stratified by arm); 1 log HR of death, CR/PR vs SD; 2 primary
#: progressors progressing before the first scan window.
COHORT_STATS = ("OS HR PD vs disease control", "OS HR CR/PR vs SD",
                "primary progressors before the first scan")
#: Bounds the search keeps (band: where the penalty is zero; acceptance: what
#: ``hcc.plausibility`` requires): log10 P of each curve statistic ≥ log10 0.05 (report 0.01);
#: HR PD vs DC ≥ 1.6 (report 1.5); HR CR/PR vs SD ≤ 1.0 (report 1.2); early primary
#: progressors ≤ 15% of them (report 25%).
CURVE_P = (0.05, 0.01)
HR_PD = (1.6, 1.5)
HR_OR = (1.0, 1.2)
EARLY_PD_SHARE = (0.15, 0.25)

ENROL_START = "2018-05-01"
ENROL_END = "2021-05-31"
#: The data cut-off is a free parameter of the search, in days after ENROL_START, within
#: [CUTOFF_MIN, CUTOFF_MAX]: from the day the last patient enrolled could have reached the
#: first scan window's end (FIRST_SCAN[1] + 1 days: every patient has a best response) to
#: the paper's submission.
CUTOFF_MIN = "2021-08-31"
CUTOFF_MAX = "2022-08-31"
CUTOFF_START = "2021-09-30"


def _zq(p: float) -> float:
    """|z| with two-sided normal P = p."""
    from scipy.stats import norm

    if p <= 0:
        return np.inf
    if p >= 1:
        return 0.0
    return float(norm.isf(p / 2))


def _day_band(pr: paper.Printed) -> tuple[float, float]:
    """Range of half-day values whose months (days / 30) print as *pr* at 2 decimals."""
    ok = [h / 2 for h in range(0, 2 * 2000) if pr.matches(h / 2 / 30, paper.MEDIAN_DECIMALS)]
    return min(ok), max(ok)


def _hr_band(pr: paper.Printed, decimals: int = 2) -> tuple[float, float]:
    d = max(decimals, pr.decimals)
    h = 0.5 * 10.0 ** (-d)
    v = pr.value
    return math.log(max(v - h, 1e-9)), math.log(v + h)


def _realism_rows(add, weight: float) -> None:
    """The realism items (kinds :data:`REALISM_KINDS`): bounds of :data:`CURVE_P`,
    :data:`HR_PD`, :data:`HR_OR` and :data:`EARLY_PD_SHARE`."""
    lp = (math.log10(CURVE_P[0]), math.log10(CURVE_P[1]))
    for e, ep in enumerate(ENDPOINTS):
        for a, arm in enumerate(paper.ARMS):
            for st, what in enumerate(("event-free stretch", "pile-up")):
                add(K_CURVE, (e * 2 + a) * 2 + st, (lp[0], np.inf), (lp[1], np.inf), 0.3,
                    weight, f"realism {ep} {arm} {what}", f"P >= {CURVE_P[1]:g}")
    add(K_COHORT, 0, (math.log(HR_PD[0]), np.inf), (math.log(HR_PD[1]), np.inf),
        math.log(1.1), weight, "realism " + COHORT_STATS[0], f">= {HR_PD[1]:g}")
    add(K_COHORT, 1, (-np.inf, math.log(HR_OR[0])), (-np.inf, math.log(HR_OR[1])),
        math.log(1.1), weight, "realism " + COHORT_STATS[1], f"<= {HR_OR[1]:g}")
    n_pd = sum(paper.RESPONSE[a]["PD"] for a in paper.ARMS)
    add(K_COHORT, 2, (0.0, math.floor(EARLY_PD_SHARE[0] * n_pd)),
        (0.0, math.floor(EARLY_PD_SHARE[1] * n_pd)), 1.0, weight,
        "realism " + COHORT_STATS[2], f"<= {math.floor(EARLY_PD_SHARE[1] * n_pd)}")


def _acc_band(pr: paper.Printed, rel: float) -> tuple[float, float]:
    """Acceptance interval (log scale) of an HR or CI limit: within *rel* of the printed
    value, or printing as it (as ``hcc.fidelity`` counts it)."""
    lo, hi = _hr_band(pr)
    return min(math.log((1 - rel) * pr.value), lo), max(math.log((1 + rel) * pr.value), hi)


def build_items(weights: dict | None = None) -> dict:
    """The table of scored items (one row per published number) as numpy arrays."""
    w = {"hr": 1.0, "ci": 1.0, "p": 0.6, "screen": 3.0, "km": 3.0, "nr": 3.0,
         "lr": 1.0, "fu": 3.0, "ltfu": 1.0, "arm": 2.0, "realism": 2.0}
    if weights:
        w.update(weights)
    rows = []

    def add(kind, slot, band, acc, scale, weight, name, target):
        rows.append((kind, slot, band[0], band[1], acc[0], acc[1], scale, weight, name, target))

    def cox_rows(slot, spec, name, flagged, armterm):
        hr = spec["HR"].value
        sign = -1.0 if hr < 1 else 1.0
        wt = 0.0 if flagged else 1.0
        wa = w["arm"] if armterm else 1.0
        add(K_LOGHR, slot, _hr_band(spec["HR"]), _acc_band(spec["HR"], 0.03),
            math.log(1.03), w["hr"] * wt * wa, name + " HR", spec["HR"].text)
        for key, kind in (("lower", K_LOGLO), ("upper", K_LOGHI)):
            add(kind, slot, _hr_band(spec[key]), _acc_band(spec[key], 0.05),
                math.log(1.05), w["ci"] * wt * wa, f"{name} {key}", spec[key].text)
        p = spec["p"]
        if p.bound == "<":
            zb = _zq(p.value)
            band = (-np.inf, -zb) if sign < 0 else (zb, np.inf)
            acc = (zb, np.inf)
        else:
            h = 0.5 * 10.0 ** (-p.decimals)
            lo, hi = _zq(p.value + h), _zq(max(p.value - h, 0.0))
            band = (-hi, -lo) if sign < 0 else (lo, hi)
            acc = (_zq(min(p.value + 0.01, 1.0)), _zq(max(p.value - 0.01, 0.0)))
        add(K_Z, slot, band, acc, 0.15, w["p"] * wt * wa, name + " P", p.text)

    zs = _zq(paper.SCREEN_THRESHOLD)
    for e, ep in enumerate(ENDPOINTS):
        for k, term in enumerate(TERMS):
            slot = e * len(TERMS) + k
            flagged = (ep, "univariate", term) in paper.COX_FLAGGED
            cox_rows(slot, paper.COX_UNIVARIATE[ep][term], f"{ep} uni {term}", flagged,
                     term == "second_line")
            sel = term in paper.SCREEN_SELECTED[ep]
            band = (zs + 0.03, np.inf) if sel else (0.0, zs - 0.03)
            acc = (zs, np.inf) if sel else (0.0, zs)
            add(K_ABSZ, slot, band, acc, 0.1, w["screen"], f"{ep} screen {term}",
                "selected" if sel else "not selected")
        for i, term in enumerate(paper.COX_MULTIVARIATE[ep]):
            cox_rows(MULTI_SLOT0[e] + i, paper.COX_MULTIVARIATE[ep][term],
                     f"{ep} multi {term}", False, term == "second_line")
    cox_rows(SUB_SLOT, paper.SUBGROUP_PFS[("bclc", "B")], "pfs BCLC-B treatment", False, True)
    for e, ep in enumerate(ENDPOINTS):
        for a, arm in enumerate(paper.ARMS):
            med, lo, hi = paper.MEDIANS[ep][arm]
            for pr, kind, nm in ((med, K_MED, "median"), (lo, K_LO, "lower"), (hi, K_HI, "upper")):
                if pr.text == "NR":
                    add(K_NR, e * 2 + a, (0.5 + 1e-6, np.inf), (0.5 + 1e-9, np.inf), 0.01,
                        w["nr"], f"{ep} {arm} median {nm}", "NR")
                else:
                    b = _day_band(pr)
                    add(kind, e * 2 + a, b, b, 3.0, w["km"], f"{ep} {arm} median {nm}", pr.text)
        chi = _zq(paper.LOGRANK_P[ep].value) ** 2
        add(K_LR, e, (chi + 0.5, np.inf), (chi, np.inf), 2.0, w["lr"], f"{ep} log-rank",
            paper.LOGRANK_P[ep].text)
    fb = ((paper.MEDIAN_FOLLOWUP.value - 0.05) * 30, (paper.MEDIAN_FOLLOWUP.value + 0.05) * 30)
    ok = [h / 2 for h in range(int(fb[0] * 2) - 4, int(fb[1] * 2) + 5)
          if paper.MEDIAN_FOLLOWUP.matches(h / 2 / 30)]
    add(K_FU, 0, (min(ok), max(ok)), (min(ok), max(ok)), 3.0, w["fu"], "median follow-up",
        paper.MEDIAN_FOLLOWUP.text)
    add(K_LTFU, 0, (0.0, LTFU_FREE), (0.0, np.inf), 2.0, w["ltfu"], "lost to follow-up",
        f"<= {LTFU_FREE:g}")
    _realism_rows(add, w["realism"])
    cols = list(zip(*rows))
    return {
        "kind": np.array(cols[0], dtype=np.int64),
        "slot": np.array(cols[1], dtype=np.int64),
        "blo": np.array(cols[2], dtype=np.float64),
        "bhi": np.array(cols[3], dtype=np.float64),
        "alo": np.array(cols[4], dtype=np.float64),
        "ahi": np.array(cols[5], dtype=np.float64),
        "scale": np.array(cols[6], dtype=np.float64),
        "weight": np.array(cols[7], dtype=np.float64),
        "name": list(cols[8]),
        "target": list(cols[9]),
    }


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


# ----------------------------------------------------------------------------- evaluation
@njit(cache=True)
def prepare(e, otype, osd, pfsd, ordr, ts, es):
    n = osd.shape[0]
    t = np.empty(n)
    for i in range(n):
        t[i] = osd[i] if e == 0 else pfsd[i]
    o = np.argsort(t, kind="mergesort")
    for r in range(n):
        i = o[r]
        ordr[e, r] = i
        ts[e, r] = t[i]
        es[e, r] = 1 if (otype[i] <= 1 if e == 0 else otype[i] <= 2) else 0


#: ``tol`` above this selects the search path of the Cox fits (Newton steps from the warm
#: start, converged when a step is below ``tol``; :func:`fastnum.cox_uni_newton`); at or
#: below it, R's path (log-likelihood, step halving, relative change below ``tol``).
SEARCH_TOL_MIN = 1e-10
#: convergence of the search path: a Newton step below this on the log-HR scale
SEARCH_TOL = 1e-4


@njit(cache=True)
def _uni(t, e, x, b0, tol, maxit):
    if tol > SEARCH_TOL_MIN:
        R0, R1, D0, D1, m = risk_counts(t, e, x)
        b, s, it = cox_uni_newton(R0 + R1, D0 + D1, R1, D1, m, b0, tol, maxit)
    else:
        b, s, it = cox_uni_binary(t, e, x, b0, tol, maxit)
    return b, s


@njit(cache=True)
def fit_uni(e, k, X, ordr, ts, es, cb, cse, tol, maxit):
    n = X.shape[0]
    nt = X.shape[1]
    x = np.empty(n)
    for r in range(n):
        x[r] = X[ordr[e, r], k]
    slot = e * nt + k
    b, s = _uni(ts[e], es[e], x, cb[slot], tol, maxit)
    cb[slot] = b
    cse[slot] = s


@njit(cache=True)
def fit_multi(e, X, ordr, ts, es, cb, cse, mterms, mp, mslot0, tol, maxit):
    n = X.shape[0]
    p = mp[e]
    Xm = np.empty((n, p))
    for r in range(n):
        for a in range(p):
            Xm[r, a] = X[ordr[e, r], mterms[e, a]]
    b0 = np.empty(p)
    for a in range(p):
        b0[a] = cb[mslot0[e] + a]
    if tol > SEARCH_TOL_MIN:
        b, s, it = cox_multi_newton(ts[e], es[e], Xm, b0, tol, maxit)
    else:
        b, s, it = cox_multi(ts[e], es[e], Xm, b0, tol, maxit)
    for a in range(p):
        cb[mslot0[e] + a] = b[a]
        cse[mslot0[e] + a] = s[a]


@njit(cache=True)
def fit_sub(X, arm, ordr, ts, es, cb, cse, subslot, kbclc, tol, maxit):
    n = X.shape[0]
    m = 0
    t = np.empty(n)
    ev = np.empty(n, dtype=np.int64)
    x = np.empty(n)
    for r in range(n):
        i = ordr[1, r]
        if X[i, kbclc] < 0.5:
            t[m] = ts[1, r]
            ev[m] = es[1, r]
            x[m] = arm[i]
            m += 1
    b, s = _uni(t[:m], ev[:m], x[:m], cb[subslot], tol, maxit)
    cb[subslot] = b
    cse[subslot] = s


@njit(cache=True)
def fit_km(e, arm, ordr, ts, es, kmv, lr, fu):
    n = arm.shape[0]
    g = np.empty(n, dtype=np.int64)
    for r in range(n):
        g[r] = arm[ordr[e, r]]
    for a in range(2):
        m = 0
        for r in range(n):
            if g[r] == a:
                m += 1
        t = np.empty(m)
        ev = np.empty(m, dtype=np.int64)
        m = 0
        for r in range(n):
            if g[r] == a:
                t[m] = ts[e, r]
                ev[m] = es[e, r]
                m += 1
        med, lo, hi, umin, half = km_median_ci(t, ev)
        if half:  # R's two median rules disagree there: steer away
            med = np.nan
        kmv[e * 2 + a, 0] = med
        kmv[e * 2 + a, 1] = lo
        kmv[e * 2 + a, 2] = hi
        kmv[e * 2 + a, 3] = umin
        k0 = kmv[e * 2 + a, 6] if kmv[e * 2 + a, 6] > 0 else 1.0
        gap, pile, k = smoothness(t, ev, CURVE_T0[e], k0)
        kmv[e * 2 + a, 4] = gap
        kmv[e * 2 + a, 5] = pile
        kmv[e * 2 + a, 6] = k
    lr[e] = logrank_chisq(ts[e], es[e], g)
    if e == 0:
        rev = np.empty(n, dtype=np.int64)
        for r in range(n):
            rev[r] = 1 - es[0, r]
        fu[0] = km_median(ts[0], rev)


@njit(cache=True)
def count_ltfu(otype, osd, minadmin):
    c = 0
    for i in range(otype.shape[0]):
        if otype[i] >= 2 and osd[i] < minadmin:
            c += 1
    return c


@njit(cache=True)
def eval_endpoint(e, pat, fits, model, tol, maxit):
    """Re-sort endpoint *e* (0 OS, 1 PFS) and refit everything that depends on it.

    Bundles: *pat* = (X, arm, otype, osd, pfsd, resp) (:func:`patients`); *fits* = (cb,
    cse, kmv, lr, fu, ordr, ts, es) (:func:`workspace`), refitted in place; *model* =
    (MULTI_TERMS, MULTI_P, MULTI_SLOT0, SUB_SLOT, K_BCLC) (:func:`model_terms`)."""
    X, arm, otype, osd, pfsd, resp = pat
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    mterms, mp, mslot0, subslot, kbclc = model
    n = X.shape[0]
    nt = X.shape[1]
    prepare(e, otype, osd, pfsd, ordr, ts, es)
    Xs = np.empty((n, nt))
    for r in range(n):
        for k in range(nt):
            Xs[r, k] = X[ordr[e, r], k]
    R = np.empty(n)
    D = np.empty(n)
    R1 = np.empty((nt, n))
    D1 = np.empty((nt, n))
    m = risk_counts_all(ts[e], es[e], Xs, R, D, R1, D1)
    for k in range(nt):
        slot = e * nt + k
        if tol > SEARCH_TOL_MIN:
            b, s, it = cox_uni_newton(R, D, R1[k], D1[k], m, cb[slot], tol, maxit)
        else:
            b, s, it = cox_uni_counts(R, D, R1[k], D1[k], m, cb[slot], tol, maxit)
        cb[slot] = b
        cse[slot] = s
    fit_multi(e, X, ordr, ts, es, cb, cse, mterms, mp, mslot0, tol, maxit)
    fit_km(e, arm, ordr, ts, es, kmv, lr, fu)
    cohort_stats(e, arm, resp, ordr, ts, es, kmv)
    if e == 1:
        fit_sub(X, arm, ordr, ts, es, cb, cse, subslot, kbclc, tol, maxit)


@njit(cache=True)
def cohort_stats(e, arm, resp, ordr, ts, es, kmv):
    """The cohort realism statistics of endpoint *e* into ``kmv[4]`` (:data:`COHORT_STATS`):
    OS by best response (e = 0), primary progressors before the first scan (e = 1)."""
    n = arm.shape[0]
    if e == 1:
        c = 0
        for r in range(n):
            if resp[ordr[1, r]] == 3 and es[1, r] == 1 and ts[1, r] < FIRST_SCAN[0]:
                c += 1
        kmv[4, 2] = c
        return
    g = np.empty(n, dtype=np.int64)
    x = np.empty(n)
    use = np.ones(n, dtype=np.int64)
    xo = np.empty(n)
    useo = np.empty(n, dtype=np.int64)
    for r in range(n):
        i = ordr[0, r]
        g[r] = arm[i]
        x[r] = 1.0 if resp[i] == 3 else 0.0
        xo[r] = 1.0 if resp[i] <= 1 else 0.0
        useo[r] = 0 if resp[i] == 3 else 1
    b, se = strat_binary_cox(ts[0], es[0], g, x, use, kmv[4, 0], 25)
    kmv[4, 0] = b
    b, se = strat_binary_cox(ts[0], es[0], g, xo, useo, kmv[4, 1], 25)
    kmv[4, 1] = b


@njit(cache=True)
def full_eval(pat, fits, model, tol, maxit):
    """Fit everything for both endpoints (bundles as :func:`eval_endpoint`'s)."""
    for e in range(2):
        eval_endpoint(e, pat, fits, model, tol, maxit)


@njit(cache=True)
def item_values(cb, cse, kmv, lr, fu, ltfu, kind, slot):
    m = kind.shape[0]
    v = np.empty(m)
    for q in range(m):
        k = kind[q]
        s = slot[q]
        if k <= 4:
            b = cb[s]
            se = cse[s]
            if k == 0:
                v[q] = b
            elif k == 1:
                v[q] = b - Z975 * se
            elif k == 2:
                v[q] = b + Z975 * se
            elif k == 3:
                v[q] = b / se
            else:
                v[q] = abs(b / se)
        elif k == 5:
            v[q] = kmv[s, 0]
        elif k == 6:
            v[q] = kmv[s, 1]
        elif k == 7:
            v[q] = kmv[s, 2]
        elif k == 8:
            v[q] = np.inf if kmv[s, 2] == np.inf else kmv[s, 3]
        elif k == 9:
            v[q] = lr[s]
        elif k == 10:
            v[q] = fu[0]
        elif k == 11:
            v[q] = ltfu
        elif k == K_CURVE:  # slot: curve * 2 + statistic
            v[q] = kmv[s // 2, 4 + s % 2]
        else:
            v[q] = kmv[4, s]
    return v


@njit(cache=True)
def _outside(x, lo, hi):
    """Distance of *x* outside [lo, hi] (0 inside); 1e3 for NaN or an infinite distance."""
    if np.isnan(x):
        d = 1e3
    elif x < lo:
        d = lo - x
    elif x > hi:
        d = x - hi
    else:
        d = 0.0
    if not np.isfinite(d):
        d = 1e3
    return d


@njit(cache=True)
def score(fits, ltfu, items, wacc=W_ACC):
    """Total penalty, number of scored items in acceptance tolerance, number exact.

    *fits* as :func:`workspace` (only the fitted values are read), *ltfu* the number lost
    to follow-up, *items* = (kind, slot, blo, bhi, alo, ahi, scale, weight)
    (:func:`item_arrays`)."""
    cb, cse, kmv, lr, fu = fits[0], fits[1], fits[2], fits[3], fits[4]
    kind, slot, blo, bhi, alo, ahi, scale, weight = items
    v = item_values(cb, cse, kmv, lr, fu, ltfu, kind, slot)
    tot = 0.0
    nacc = 0
    nex = 0
    for q in range(v.shape[0]):
        x = v[q]
        d = _outside(x, blo[q], bhi[q])
        r = d / scale[q]
        tot += weight[q] * (r + r * r)
        # a second, steeper penalty outside the acceptance tolerance
        da = _outside(abs(x) if kind[q] == 3 else x, alo[q], ahi[q])
        ra = da / scale[q]
        tot += wacc * weight[q] * (ra + ra * ra)
        if weight[q] > 0:
            if d == 0.0:
                nex += 1
            if da == 0.0:
                nacc += 1
    return tot, nacc, nex


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
def _propose(state, terms, rs, i, j, maxfu, cut):
    """Draw the kind of move for patients *i* and *j* (same arm) and make it on *state*.

    Returns (mode, covariate, bclc_changed, ok, days, maxfu): mode -1 nothing moved (no
    change was made), 0 ages only (no model changes), 1 a covariate (or the stage block,
    covariate -2; :func:`_propose_covariate`), 2 an outcome of both endpoints, 3 OS only,
    4 PFS only, 5 the data cut-off (by *days*); *ok* False when the move breaks a timing
    rule (the caller puts the patients back)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    cutv, window, cutlo, cuthi = cut
    n = X.shape[0]
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
        ok = valid(i, otype, osd, pfsd, resp, maxfu, avail)
    elif u < 0.88:
        if otype[i] == otype[j]:
            return -1, kc, bchg, ok, d, maxfu
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
        d = 1 + _randint(rs, 60)
        if _unif(rs) < 0.5:
            d = -d
        nm = maxfu + d
        if nm < cutlo or nm > cuthi:
            return -1, kc, bchg, ok, d, maxfu
        mx = 0
        for q in range(n):
            if osd[q] + avail[q] > mx:
                mx = osd[q] + avail[q]
        if mx > nm:
            return -1, kc, bchg, ok, d, maxfu
        maxfu = nm
        cutv[0] = maxfu
        mode = 5
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
def _polish_swaps(state, fits, saved, items, terms, wacc, lex, ltfu, s_cur, n_cur):
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
                if _better(s_new, a1, s_cur, n_cur, lex):
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
def _polish_shifts(state, fits, saved, items, terms, ctrl, ltfu, s_cur, n_cur):
    """One sweep of every time shift of up to ``maxshift`` days (OS, or PFS of a patient
    who progressed); returns (score, n_acc, lost to follow-up, improved)."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    pat = (X, arm, otype, osd, pfsd, resp)
    model = (mterms, mp, mslot0, subslot, kbclc)
    maxfu, minadmin, sweeps, maxshift, wacc, lex = ctrl
    n = X.shape[0]
    improved = False
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
                        eval_endpoint(e, pat, fits, model, SEARCH_TOL, 3)
                    lt = count_ltfu(otype, osd, minadmin)
                    s_new, a1, a2 = score(fits, lt, items, wacc)
                    if _better(s_new, a1, s_cur, n_cur, lex):
                        s_cur = s_new
                        n_cur = a1
                        ltfu = lt
                        improved = True
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
def _polish_exchanges(state, fits, saved, items, terms, ctrl, ltfu, s_cur, n_cur):
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
            if _better(s_new, a1, s_cur, n_cur, lex):
                s_cur = s_new
                n_cur = a1
                improved = True
            else:
                _swap_outcomes(otype, osd, pfsd, resp, i, j)
                _restore_fits(fits, saved, True)
    return s_cur, n_cur, improved


@njit(cache=True)
def polish(state, fits, items, terms, ctrl):
    """Deterministic greedy descent after annealing: every covariate swap between two
    patients of the same arm (:func:`_polish_swaps`), then every time shift of up to
    ``maxshift`` days (:func:`_polish_shifts`), then every exchange of whole outcomes
    between two patients of the same arm (:func:`_polish_exchanges`), keeping each strict
    improvement of the score with acceptance weight ``wacc`` (steeper than during
    annealing: the polish puts the acceptance tolerance first); repeated for ``sweeps``
    sweeps or until nothing improves. With ``lex`` a move is kept when it raises the
    number of items inside the acceptance tolerance, or keeps that number and lowers the
    score (sideways moves on the count). Bundles as :func:`anneal`'s; *ctrl* = (maxfu,
    minadmin, sweeps, maxshift, wacc, lex). Returns the final score."""
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
                                           s_cur, n_cur)
        s_cur, n_cur, ltfu, imp2 = _polish_shifts(state, fits, saved, items, terms, ctrl, ltfu,
                                                  s_cur, n_cur)
        s_cur, n_cur, imp3 = _polish_exchanges(state, fits, saved, items, terms, ctrl, ltfu,
                                               s_cur, n_cur)
        if not (imp1 or imp2 or imp3):
            break
    return s_cur


@njit(cache=True)
def _differs(X, i, j, k, kecog, kpvtt, kmets):
    """Whether swapping covariate k (the stage block when k == -2) changes anything."""
    if k == -2:
        return not (X[i, kecog] == X[j, kecog] and X[i, kpvtt] == X[j, kpvtt]
                    and X[i, kmets] == X[j, kmets])
    return X[i, k] != X[j, k]


@njit(cache=True)
def pair_swaps(state, fits, items, terms, covs, ltfu, wacc, maxeval):
    """Compound moves of the repair phase: two swaps of the same covariate (each between
    two patients of the same arm) made together, for each covariate in *covs* (-2: the
    stage block ECOG, PVTT, metastases and BCLC together); the first
    pair that raises the number of items in acceptance tolerance is kept (deterministic
    order). Bundles as :func:`anneal`'s. Returns the number of evaluations made, negative
    when a pair was kept."""
    X, age, arm, arm_lo, arm_n, otype, osd, pfsd, resp, avail = state
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    mterms, mp, mslot0, subslot, swappable, kage, kecog, karm, kpvtt, kmets, kbclc = terms
    n = X.shape[0]
    tol = SEARCH_TOL
    maxit = 3
    s_cur, n_cur, nex = score(fits, ltfu, items, wacc)
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
                        if a1 > n_cur:
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
