"""What the search scores, and how a candidate cohort is evaluated.

The scored items (:func:`build_items`: one row per published number, plus the realism
items), the state's constants (Cox terms and their columns, coefficient slots, the scan
schedule, enrolment and cut-off window) and the compiled evaluation: sort an endpoint
(:func:`prepare`), fit the univariate, multivariable and BCLC-B subgroup Cox models, the KM
medians, log-rank and follow-up (:func:`eval_endpoint`, :func:`full_eval`), and the total
penalty (:func:`score`). The moves and the annealing search that use it are in
:mod:`hcc.reconstruct.calibrate`.

Each item's penalty has two parts: ``r + r²`` with ``r`` the distance outside the printed
rounding divided by a scale (3% for a hazard ratio, 5% for a confidence limit, 0.15 for a
Wald z, 3 days for a median), plus ``W_ACC`` times the same form outside the acceptance
tolerance. P-values are scored through the signed Wald z (``b / se``), not through P, so a
term whose hazard ratio has to cross 1 is not stuck where P rises towards 1. Hazard ratios
and confidence limits are scored on the log scale. KM curves that end exactly at 0.5 are
penalised: there R's ``quantile.survfit`` and ``print.survfit`` give different medians.
"""

import math

import numpy as np
from numba import njit

from hcc import paper
from hcc.reconstruct.realism import smoothness, strat_binary_cox
from hcc.reconstruct.fastnum import (
    Z975,
    cox_loglik,
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


#: :func:`build_items`' default table, built once per process (it reads only the paper's
#: printed values; building it takes about 0.3 s, and a chain asked for it four times).
_DEFAULT_ITEMS: dict | None = None


def build_items(weights: dict | None = None) -> dict:
    """The table of scored items (one row per published number) as numpy arrays.

    The default table (no *weights*) is built once per process and handed out as a fresh
    copy each time (callers may change its arrays)."""
    global _DEFAULT_ITEMS
    if weights:
        return _build_items(weights)
    if _DEFAULT_ITEMS is None:
        _DEFAULT_ITEMS = _build_items(None)
    return {k: (v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else v)
            for k, v in _DEFAULT_ITEMS.items()}


def _build_items(weights: dict | None) -> dict:
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


#: Kinds of the Cox numbers (HR, CI limits, P) that the issue asks to print as the paper does.
COX_KINDS = (K_LOGHR, K_LOGLO, K_LOGHI, K_Z)


def printed_items(items: dict) -> tuple:
    """Item arrays of the scored Cox numbers whose acceptance band is their printed
    rounding (the band of :func:`build_items`); a P row's band, on the signed z, is turned
    into ``|z|`` (the acceptance of a P row is on ``|z|``). Returns the tuple of
    :func:`item_arrays`."""
    keys = ("kind", "slot", "blo", "bhi", "alo", "ahi", "scale", "weight")
    cox = np.isin(items["kind"], COX_KINDS) & (np.asarray(items["weight"]) > 0)
    printed = {k: np.asarray(items[k])[cox].copy() for k in keys}
    lo, hi = printed["blo"], printed["bhi"]
    z = printed["kind"] == K_Z
    printed["alo"] = np.where(z & (hi < 0), -hi, lo)
    printed["ahi"] = np.where(z & (hi < 0), -lo, hi)
    return tuple(printed[k] for k in keys)


def exact_items(items: dict, dup: int = 3) -> tuple:
    """Item arrays for the last descent (on the winning state), which counts printed Cox numbers.

    The lexicographic descent (``calibrate.polish`` with ``lex``) maximises the number of
    rows inside their acceptance band. Here every scored Cox number gets *dup* - 1 more
    copies of its row and one row whose acceptance band is its printed rounding
    (:func:`printed_items`): a move that brings a Cox number to the printed rounding
    raises the count by one, a move that drops one out of tolerance lowers it by *dup*
    (with dup = 3 the descent cannot trade one number in tolerance for two printed ones).
    Returns the tuple of :func:`item_arrays`.
    """
    keys = ("kind", "slot", "blo", "bhi", "alo", "ahi", "scale", "weight")
    base = {k: np.asarray(items[k]) for k in keys}
    cox = np.isin(base["kind"], COX_KINDS) & (base["weight"] > 0)
    copy = tuple(base[k][cox] for k in keys)
    parts = [tuple(base[k] for k in keys)] + [copy] * (dup - 1) + [printed_items(items)]
    return tuple(np.concatenate([p[q] for p in parts]) for q in range(len(keys)))


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
def order_memo(n):
    """Work arrays of :func:`eval_endpoint_memo` for one endpoint: whether it holds a fit,
    the sort order, events and ties it was made on, and the fitted coefficients, SEs and
    the two OS-by-response statistics."""
    return (np.zeros(1, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64),
            np.zeros(n, np.int64), np.zeros(N_SLOTS), np.ones(N_SLOTS), np.zeros(2))


@njit(cache=True)
def _same_order(e, ordr, ts, es, memo):
    held, mord, mev, mtie, mcb, mcse, mk = memo
    if held[0] == 0:
        return False
    n = ordr.shape[1]
    for r in range(n):
        if ordr[e, r] != mord[r] or es[e, r] != mev[r]:
            return False
        tie = 1 if r + 1 < n and ts[e, r] == ts[e, r + 1] else 0
        if tie != mtie[r]:
            return False
    return True


@njit(cache=True)
def _endpoint_slots(e, nt, mp, mslot0, subslot):
    """The coefficient slots that endpoint *e*'s fits write."""
    out = np.empty(nt + mp[e] + 1, np.int64)
    m = 0
    for k in range(nt):
        out[m] = e * nt + k
        m += 1
    for a in range(mp[e]):
        out[m] = mslot0[e] + a
        m += 1
    if e == 1:
        out[m] = subslot
        m += 1
    return out[:m]


@njit(cache=True)
def eval_endpoint_memo(e, pat, fits, model, tol, maxit, memo):
    """:func:`eval_endpoint` for a sweep of time shifts from one state. Every Cox fit of an
    endpoint (univariate, multivariable, the BCLC-B subgroup, the OS-by-response
    statistics) reads the times only through their order, the events and the ties; a shift
    of one patient by a day or two mostly leaves all three as they were. When they are the
    ones *memo* holds (:func:`order_memo`: filled by the last call, from the same warm
    starts), its fits are copied instead of refitted: the same numbers bit for bit, since
    the same sums run in the same order from the same start. The caller empties *memo*
    (``memo[0][0] = 0``) whenever the state it shifts from changes. The curves, log-rank,
    follow-up and timing statistics are always recomputed."""
    X, arm, otype, osd, pfsd, resp = pat
    cb, cse, kmv, lr, fu, ordr, ts, es = fits
    mterms, mp, mslot0, subslot, kbclc = model
    held, mord, mev, mtie, mcb, mcse, mk = memo
    prepare(e, otype, osd, pfsd, ordr, ts, es)
    slots = _endpoint_slots(e, X.shape[1], mp, mslot0, subslot)
    if _same_order(e, ordr, ts, es, memo):
        for q in slots:
            cb[q] = mcb[q]
            cse[q] = mcse[q]
        if e == 0:
            kmv[4, 0] = mk[0]
            kmv[4, 1] = mk[1]
        fit_km(e, arm, ordr, ts, es, kmv, lr, fu)
        if e == 1:
            cohort_stats(e, arm, resp, ordr, ts, es, kmv)
        return
    eval_endpoint(e, pat, fits, model, tol, maxit)
    n = ordr.shape[1]
    for r in range(n):
        mord[r] = ordr[e, r]
        mev[r] = es[e, r]
        mtie[r] = 1 if r + 1 < n and ts[e, r] == ts[e, r + 1] else 0
    for q in slots:
        mcb[q] = cb[q]
        mcse[q] = cse[q]
    mk[0] = kmv[4, 0]
    mk[1] = kmv[4, 1]
    held[0] = 1


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


#: The treatment × subgroup guard of the printed descent (``printed.descent``):
#: the design columns of Fig. 3's subgroup variables, and the bundle that switches the guard
#: off (a lower limit of 0 on the adjusted P; every other descent runs with it).
SUB_COLS = np.array([TERM_INDEX[v] for v in paper.SUBGROUP_VARIABLES], dtype=np.int64)
NO_GUARD = (SUB_COLS, K_ARM, 0.0)


@njit(cache=True)
def interaction_p(X, ordr, ts, es, cols, karm):
    """``hcc.plausibility``'s check 12, compiled: per endpoint the likelihood-ratio test of
    treatment × subgroup (Cox ``arm + v`` against ``arm * v``, Efron, 1 df) for each
    subgroup column in *cols*, Bonferroni over the columns where it is estimable (every
    cell arm × level has an event; a cell without one makes the interaction infinite, and
    hcc.cox refuses the fit), the smaller of the two endpoints' adjusted P (1 when
    none is estimable). Uses the sort order of the current fits (*ordr*, *ts*, *es* of
    :func:`workspace`). Equal to ``printed.interaction_check`` (hcc.cox) to 1e-8
    (``tests/test_reconstruct.py``); the descent checks it only for a move it would keep."""
    n = X.shape[0]
    pmin = 1.0
    X0 = np.empty((n, 2))
    X1 = np.empty((n, 3))
    for e in range(2):
        chimax = 0.0
        m = 0
        for q in range(cols.shape[0]):
            k = cols[q]
            dth = np.zeros(4)
            for r in range(n):
                i = ordr[e, r]
                z = X[i, karm]
                v = X[i, k]
                X0[r, 0] = z
                X0[r, 1] = v
                X1[r, 0] = z
                X1[r, 1] = v
                X1[r, 2] = z * v
                c = int(2 * z + v)
                dth[c] += es[e, r]
            if np.min(dth) == 0.0:
                continue
            chi = 2.0 * (cox_loglik(ts[e], es[e], X1) - cox_loglik(ts[e], es[e], X0))
            m += 1
            if chi > chimax:
                chimax = chi
        if m > 0:
            p = min(1.0, m * math.erfc(math.sqrt(chimax / 2.0)))
            if p < pmin:
                pmin = p
    return pmin


@njit(cache=True)
def guard_ok(X, fits, guard):
    """The treatment × subgroup guard of ``calibrate.polish``: *guard* = (subgroup columns, the
    treatment column, lower limit of the adjusted interaction P); a limit of 0 switches it
    off (:data:`NO_GUARD`), else the move is kept only if :func:`interaction_p` stays at
    or above the limit."""
    cols, karm, limit = guard
    if limit <= 0.0:
        return True
    return interaction_p(X, fits[5], fits[6], fits[7], cols, karm) >= limit


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
