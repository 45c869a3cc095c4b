"""The generating model of the reconstructed cohort, in causal order.

One patient at a time, each step depending only on the ones before it:

1. **Baseline** — age, sex, ECOG, liver function, tumour burden, history — with every
   count of Table 1 per arm exact (a random allocation of the printed margins) and BCLC
   stage B exactly when ECOG 0, no PVTT and no metastases (METHODS.md §4). Ages are normal
   draws matched to the printed median and quartiles (redrawn, never clipped, outside the
   inclusion range).
2. **Regimen** — the printed numbers per arm (3 REG + 34 LEN; 12 REG+CAM, 4 REG+SIN,
   15 LEN+CAM, 25 LEN+SIN), allocated at random within the arm.
3. **Start date** — uniform between the day every drug of the regimen was available in
   China (:func:`hcc.drugs.regimen_available_from`) and the end of enrolment (May 2021).
4. **Prognosis** — a linear predictor from the paper's multivariable hazard ratios (Tables
   2 and 3 give the model its covariate effects; the arm effect is in the arm's time
   scales below).
5. **Best response** — the printed counts per arm; primary progression (PD) goes
   preferentially to patients with a poor PFS prognosis, CR/PR to good ones
   (sampling without replacement, weights ``exp(±lp)``).
6. **Progression** — PD: found at the first scan (6–13 weeks), a minority earlier on
   clinical grounds; CR/PR/SD: progression-free at the first scan (8–13 weeks), then a
   Weibull time to progression from it (longer for responders).
7. **Death** — after progression a Weibull post-progression survival (shorter after
   primary progression and with a poor OS prognosis); without progression a small
   competing hazard.
8. **Follow-up** — alive patients are last seen at a visit in the ``LAST_VISIT_GAP`` days
   before the data cut-off; a few are lost to follow-up earlier.

The number of deaths and of PFS events per arm is then conditioned on the printed counts
(outcomes are redrawn for the arm until both match: rejection sampling, exact).

Times are whole days. The calibration (:mod:`hcc.reconstruct.calibrate`) starts from such
draws and keeps every timing rule of steps 6–8 (``calibrate.valid``).
"""
from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from hcc import drugs, paper

#: Days of the first scan in the model (mRECIST at 8–13 weeks in most patients; the rules
#: of ``calibrate.FIRST_SCAN`` allow 6–13).
FIRST_SCAN_DRAW = (56, 91)
#: Weibull shape and median (days after the first scan) of the time to progression of a
#: CR/PR/SD patient, per arm.
TTP_SHAPE = 0.8
TTP_MEDIAN = {"TKI": 150.0, "TKI-ICI": 330.0}
#: Time-to-progression scale factor of a responder (CR/PR) against SD.
RESPONDER_TTP_FACTOR = 1.6
#: Weibull shape and median (days) of post-progression survival, per arm, and the factor
#: on that median after primary progression.
PPS_SHAPE = 1.4
PPS_MEDIAN = {"TKI": 130.0, "TKI-ICI": 210.0}
PRIMARY_PD_PPS_FACTOR = 0.85
#: Median (days) of the competing time to death without progression.
DEATH_NO_PROG_MEDIAN = 1500.0
#: Share of primary progressors found before the first scan, on clinical grounds.
CLINICAL_PD_SHARE = 0.1
#: Share of patients lost to follow-up before the cut-off (then last seen uniformly
#: between their first scan and their would-be last visit).
LTFU_SHARE = 0.05
#: How strongly the PFS prognosis steers best response (weight exp(RESPONSE_STEER · lp)).
RESPONSE_STEER = 0.3
#: Rise of the enrolment density over the enrolment period (1: twice as many starts per
#: month at the end as at the beginning).
ENROL_RAMP = 1.0
#: Inclusion range of ages (the paper: age > 18) and a plausible upper end.
AGE_RANGE = (19, 85)
#: Most years an age may move from its normal draw while the printed quartiles are met.
AGE_ANCHOR = 5
#: Outcome redraws allowed per arm to meet the printed event counts, and whole cohorts
#: (baseline, regimens, starts) drawn again when an arm does not meet them.
MAX_REDRAWS = 20000
MAX_COHORTS = 100

RESPONSES = ("CR", "PR", "SD", "PD")


def _days(d: _dt.date, origin: _dt.date) -> int:
    return (d - origin).days


def regimen_codes() -> list[str]:
    """Regimen names in code order (the state stores the index)."""
    return list(drugs.REGIMEN_DRUGS)


def draw_regimens(rng: np.random.Generator, arm: np.ndarray) -> np.ndarray:
    """Regimen code per patient: the printed counts, allocated at random within each arm."""
    names = regimen_codes()
    out = np.empty(len(arm), dtype=np.int64)
    for a, arm_name in enumerate(paper.ARMS):
        idx = np.flatnonzero(arm == a)
        labels = np.concatenate([[names.index(r)] * c
                                 for r, c in paper.REGIMENS[arm_name].items()])
        out[idx] = rng.permutation(labels)
    return out


def availability(regimen: np.ndarray, enrol_start: _dt.date) -> np.ndarray:
    """Days from the first enrolment date to the day each patient's regimen was available
    (0 when it was available before enrolment opened)."""
    names = regimen_codes()
    return np.array([max(0, _days(drugs.regimen_available_from(names[r]), enrol_start))
                     for r in regimen], dtype=np.int64)


def draw_starts(rng: np.random.Generator, avail: np.ndarray, enrol_days: int) -> np.ndarray:
    """Start day (after the first enrolment date) per patient, from the regimen's
    availability to the end of enrolment, with a density rising linearly over the
    enrolment period by the factor ``1 + ENROL_RAMP`` (referrals grew as the combinations
    became available); inverse-CDF sampling of the linear density."""
    out = np.empty(len(avail), dtype=np.int64)
    c = ENROL_RAMP / enrol_days
    for i, a in enumerate(avail):
        f = lambda x: x + 0.5 * c * x * x  # noqa: E731  (cumulative density, unnormalised)
        target = f(a) + rng.random() * (f(enrol_days) - f(a))
        x = (-1 + math.sqrt(1 + 2 * c * target)) / c if c > 0 else target
        out[i] = min(enrol_days, max(int(a), int(x)))
    return out


#: Prognostic terms of the model beyond the paper's multivariable ones (HR): stage C
#: (portal vein thrombus or metastases, or ECOG 1) carries a worse OS prognosis — the
#: paper's univariate OS HR of BCLC C is 1.74, a term its P < 0.1 screen left out — while
#: ECOG 1 adds little to it: every ECOG 1 patient is stage C, yet the printed OS HR of
#: ECOG (1.35) is below that of stage C, so given the stage ECOG 1 carries an HR below 1.
EXTRA_HR = {"os": {"bclc": 1.8, "ecog": 0.6}, "pfs": {}}
#: Factor on the OS log-hazard ratios: they act on post-progression survival only (OS =
#: time to progression + post-progression survival), which dilutes them; with this factor
#: the model's draws have univariate OS hazard ratios near the printed ones
#: (``tests/test_reconstruct.py`` measures them).
OS_LP_SCALE = 2.5


def linear_predictor(X: np.ndarray, endpoint: str, term_index: dict) -> np.ndarray:
    """Log-hazard of each patient from the paper's multivariable hazard ratios (the arm
    term excluded: the arm's effect lives in its time scales) and :data:`EXTRA_HR`."""
    lp = np.zeros(X.shape[0])
    hrs = {t: s["HR"].value for t, s in paper.COX_MULTIVARIATE[endpoint].items()
           if t != "second_line"}
    hrs.update(EXTRA_HR[endpoint])
    scale = OS_LP_SCALE if endpoint == "os" else 1.0
    for term, hr in hrs.items():
        lp += scale * math.log(hr) * X[:, term_index[term]]
    return lp - lp.mean()


def _weighted_order(rng: np.random.Generator, w: np.ndarray) -> np.ndarray:
    """A random order of the indices, drawn without replacement with weights *w*
    (Efraimidis–Spirakis keys)."""
    keys = np.log(rng.random(len(w))) / w
    return np.argsort(-keys, kind="mergesort")


def draw_response(rng: np.random.Generator, lp_pfs: np.ndarray, arm_name: str) -> np.ndarray:
    """Best response code (0 CR .. 3 PD) for the patients of one arm, printed counts exact."""
    counts = paper.RESPONSE[arm_name]
    n = len(lp_pfs)
    resp = np.full(n, 2, dtype=np.int64)
    order = _weighted_order(rng, np.exp(RESPONSE_STEER * lp_pfs))
    pd_idx = order[:counts["PD"]]
    resp[pd_idx] = 3
    rest = np.setdiff1d(np.arange(n), pd_idx)
    order = rest[_weighted_order(rng, np.exp(-RESPONSE_STEER * lp_pfs[rest]))]
    resp[order[:counts["CR"]]] = 0
    resp[order[counts["CR"]:counts["CR"] + counts["PR"]]] = 1
    return resp


def _weibull(rng, shape, median, size):
    scale = median / math.log(2) ** (1 / shape)
    return scale * rng.weibull(shape, size)


def draw_outcomes(rng, arm_name, resp, lp_os, lp_pfs, follow, rules, batch: int = 1) -> dict:
    """*batch* draws of (type, OS days, PFS days) for the patients of one arm (arrays of
    shape (batch, n)); *follow* is each patient's potential follow-up (days from start to
    the last visit before the cut-off); *rules* the calibrator's timing constants. Types:
    0 death without progression, 1 progression then death, 2 progression and alive,
    3 alive without progression."""
    size = (batch, len(resp))
    first_scan = rng.integers(FIRST_SCAN_DRAW[0], FIRST_SCAN_DRAW[1] + 1, size)
    clinical = rng.random(size) < CLINICAL_PD_SHARE
    early = rng.integers(rules["CLINICAL_PD_MIN"], rules["FIRST_SCAN"][0], size)
    ttp = first_scan + _weibull(rng, TTP_SHAPE, TTP_MEDIAN[arm_name], size) \
        * np.exp(-lp_pfs / TTP_SHAPE) * np.where(resp <= 1, RESPONDER_TTP_FACTOR, 1.0)
    prog = np.where(resp == 3, np.where(clinical, early, first_scan), ttp)
    pps = _weibull(rng, PPS_SHAPE, PPS_MEDIAN[arm_name], size) * np.exp(-lp_os / PPS_SHAPE) \
        * np.where(resp == 3, PRIMARY_PD_PPS_FACTOR, 1.0)
    pps = np.maximum(pps, rules["MIN_PPS"])
    dnp = np.maximum(_weibull(rng, 1.0, DEATH_NO_PROG_MEDIAN, size), rules["NON_PD_MIN"])
    lost = rng.random(size) < LTFU_SHARE
    cens = np.where(lost, rng.uniform(rules["FIRST_SCAN"][1] + 1, np.maximum(follow, 92), size),
                    follow)
    prog, pps, dnp, cens = (np.floor(v).astype(np.int64) for v in (prog, pps, dnp, cens))
    progressed = (prog < np.minimum(dnp, cens)) | (resp == 3)
    died_first = ~progressed & (dnp < cens)
    death_after = prog + pps
    otype = np.where(progressed, np.where(death_after <= cens, 1, 2), np.where(died_first, 0, 3))
    osd = np.where(progressed, np.minimum(death_after, cens), np.where(died_first, dnp, cens))
    pfsd = np.where(progressed, prog, osd)
    # a primary progressor is followed at least until the day after progression
    osd = np.where(progressed, np.maximum(osd, pfsd + 1), osd)
    return {"otype": otype, "osd": osd, "pfsd": pfsd}


#: Outcome draws made at once by :func:`condition_outcomes`.
BATCH = 500


def condition_outcomes(rng, arm_name, resp, lp_os, lp_pfs, follow, rules) -> dict | None:
    """:func:`draw_outcomes` drawn until the arm has the printed numbers of deaths and
    PFS events (rejection sampling, exact: the first matching draw, in batches of
    :data:`BATCH`); None after :data:`MAX_REDRAWS` draws."""
    a = paper.ARMS.index(arm_name)
    n_os, n_pfs = paper.EVENTS["os"][a], paper.EVENTS["pfs"][a]
    for _ in range(MAX_REDRAWS // BATCH):
        out = draw_outcomes(rng, arm_name, resp, lp_os, lp_pfs, follow, rules, BATCH)
        ok = np.flatnonzero(((out["otype"] <= 1).sum(1) == n_os)
                            & ((out["otype"] <= 2).sum(1) == n_pfs))
        if ok.size:
            return {k: v[ok[0]].copy() for k, v in out.items()}
    return None


# ----------------------------------------------------------------------------- ages
def _kruskal_p(a: np.ndarray, b: np.ndarray) -> float:
    """Kruskal–Wallis P of two groups with R's tie correction (as ``scipy.stats.kruskal``,
    which is ten times slower on 93 values; ``tests/test_reconstruct.py`` checks they agree)."""
    from scipy.stats import chi2, rankdata

    x = np.concatenate([a, b])
    n = len(x)
    r = rankdata(x)
    h = 12.0 / (n * (n + 1)) * (r[:len(a)].sum() ** 2 / len(a) + r[len(a):].sum() ** 2 / len(b)) \
        - 3 * (n + 1)
    _, cnt = np.unique(x, return_counts=True)
    h /= 1 - float((cnt ** 3 - cnt).sum()) / (n ** 3 - n)
    return float(chi2.sf(h, 1))


def _age_loss(a: np.ndarray, b: np.ndarray) -> float:
    """Distance of the arms' ages from the printed median [Q1, Q3] (R type-7 quantiles,
    :func:`hcc.tables.quantile_type7`) and Kruskal–Wallis P (scipy, R's tie correction);
    0 when every printed number is met at its rounding."""
    from hcc.tables import quantile_type7

    loss = 0.0
    for arr, key in ((a, "TKI"), (b, "TKI-ICI"), (np.concatenate([a, b]), "Overall")):
        for pr, v in zip(paper.AGE[key], quantile_type7(arr, [0.5, 0.25, 0.75])):
            if not pr.matches(v):
                loss += abs(v - pr.value) + 1
    if loss > 0:  # the quartiles first (worse than any miss of P alone, which is < 101)
        return loss + 101.0
    p = _kruskal_p(a, b)
    if not paper.AGE_P.matches(p):
        loss += abs(p - paper.AGE_P.value) * 100 + 0.1
    return loss


def _normal_ages(rng: np.random.Generator, key: str) -> np.ndarray:
    """Normal ages for arm *key* whose sample median and quartiles are moved onto the
    printed ones by a monotone piecewise-linear map (so the later search only rounds);
    drawn again whole if an age falls outside :data:`AGE_RANGE` (never clipped)."""
    from hcc.tables import quantile_type7

    targets = [p.value for p in paper.AGE[key]]  # median, Q1, Q3
    while True:
        z = rng.normal(size=paper.ARM_N[key])
        m, q1, q3 = quantile_type7(z, [0.5, 0.25, 0.75])
        up = (targets[2] - targets[0]) / (q3 - m)
        down = (targets[0] - targets[1]) / (m - q1)
        v = np.round(targets[0] + np.where(z >= m, up, down) * (z - m)).astype(np.int64)
        if v.min() >= AGE_RANGE[0] and v.max() <= AGE_RANGE[1]:
            return v


def draw_ages(rng: np.random.Generator, max_iter: int = 40000) -> tuple[np.ndarray, np.ndarray]:
    """Whole-year ages per arm: normal draws with the printed median and interquartile
    range (values outside :data:`AGE_RANGE` are drawn again, never clipped), then single
    ±1–2-year changes, each age staying within :data:`AGE_ANCHOR` years of its draw (so no
    age can drift to a bound), until the printed median [Q1, Q3] of each arm and overall
    and the Kruskal–Wallis P are met."""
    lo_age, hi_age = AGE_RANGE
    arms = [_normal_ages(rng, key) for key in ("TKI", "TKI-ICI")]
    a, b = arms
    drawn = [a.copy(), b.copy()]
    loss = _age_loss(a, b)
    for _ in range(max_iter):
        if loss == 0:
            return a, b
        w = 0 if rng.random() < 0.4 else 1
        arr = arms[w]
        i = int(rng.integers(len(arr)))
        old = arr[i]
        v = old + int(rng.choice([-2, -1, 1, 2]))
        if abs(v - drawn[w][i]) > AGE_ANCHOR or not lo_age <= v <= hi_age:
            continue
        arr[i] = v
        new = _age_loss(a, b)
        if new <= loss or rng.random() < 0.03:
            loss = new
        else:
            arr[i] = old
    raise RuntimeError("the age draw did not meet the printed quartiles")


# ----------------------------------------------------------------------------- baseline
def _binary_counts() -> dict[str, tuple[int, int]]:
    """Number coded 1 per arm for each Cox term (coding of hcc.paper.COX_CODING)."""
    return {term: paper.TABLE1_COUNTS[col][lvl] for term, (col, lvl) in paper.COX_CODING.items()
            if term not in ("age_gt60", "second_line")}


def _stage_block(rng, na, counts, a):
    """ECOG, PVTT, metastases and BCLC of one arm with the printed counts and BCLC B
    exactly when ECOG 0, no PVTT and no metastases."""
    n_ecog1, n_pvtt, n_mets, n_c = (counts[t][a] for t in ("ecog", "pvtt", "metastases", "bclc"))
    while True:
        ecog = rng.permutation(np.r_[np.ones(n_ecog1), np.zeros(na - n_ecog1)])
        bset = rng.choice(np.flatnonzero(ecog == 0), na - n_c, replace=False)
        rest = np.setdiff1d(np.arange(na), bset)
        pv = np.zeros(na)
        me = np.zeros(na)
        pv[rng.choice(rest, n_pvtt, replace=False)] = 1
        me[rng.choice(rest, n_mets, replace=False)] = 1
        stage_b = (ecog == 0) & (pv == 0) & (me == 0)
        if stage_b.sum() == na - n_c:
            return ecog, pv, me, (~stage_b).astype(float)


def draw_baseline(rng: np.random.Generator, term_index: dict, ages=None) -> dict:
    """Step 1: ages (*ages*, a pair of arrays per arm, when given, else
    :func:`draw_ages`) and the binary Cox terms (design matrix columns in *term_index*
    order), rows 0..36 TKI, 37..92 TKI-ICI."""
    n_arm = [paper.ARM_N[a] for a in paper.ARMS]
    X = np.zeros((sum(n_arm), len(term_index)))
    arm = np.repeat([0, 1], n_arm).astype(np.int64)
    age = np.concatenate(draw_ages(rng) if ages is None else ages).astype(np.int64)
    counts = _binary_counts()
    lo = [0, n_arm[0]]
    for a in range(2):
        idx = np.arange(lo[a], lo[a] + n_arm[a])
        for term, c in counts.items():
            if term in ("ecog", "pvtt", "metastases", "bclc"):
                continue
            v = np.zeros(n_arm[a])
            v[: c[a]] = 1
            X[idx, term_index[term]] = rng.permutation(v)
        block = _stage_block(rng, n_arm[a], counts, a)
        for term, v in zip(("ecog", "pvtt", "metastases", "bclc"), block):
            X[idx, term_index[term]] = v
        X[idx, term_index["second_line"]] = a
    X[:, term_index["age_gt60"]] = (age > 60).astype(float)
    return {"X": X, "age": age, "arm": arm, "arm_lo": np.array(lo, np.int64),
            "arm_n": np.array(n_arm, np.int64)}


# ----------------------------------------------------------------------------- a cohort
def draw_cohort(rng: np.random.Generator, cutoff_day: int, rules: dict, ages=None) -> dict:
    """One cohort from the model (steps 1–8), as the calibrator's state.

    *cutoff_day* is the data cut-off in days after the first enrolment date; *rules* the
    calibrator's timing constants (``FIRST_SCAN``, ``CLINICAL_PD_MIN``, ``NON_PD_MIN``,
    ``MIN_PPS``, ``LAST_VISIT_GAP``, ``ENROL_START``, ``ENROL_END``, ``TERM_INDEX``).
    Returns the state: ``X, age, arm, arm_lo, arm_n`` (baseline), ``regimen`` (codes of
    :func:`regimen_codes`), ``avail`` (days from the first enrolment date to the
    regimen's availability), ``start`` (start day), ``otype, osd, pfsd, resp``. A cohort
    whose arm misses the printed event counts in :data:`MAX_REDRAWS` outcome draws is
    drawn again whole (at most :data:`MAX_COHORTS` times). *ages*: as for
    :func:`draw_baseline`.
    """
    for _ in range(MAX_COHORTS):
        st = _draw_once(rng, cutoff_day, rules, ages)
        if st is not None:
            return st
    raise RuntimeError("the model did not meet the printed event counts")


def _draw_once(rng: np.random.Generator, cutoff_day: int, rules: dict, ages) -> dict | None:
    e0 = _dt.date.fromisoformat(rules["ENROL_START"])
    enrol_days = min(_days(_dt.date.fromisoformat(rules["ENROL_END"]), e0),
                     cutoff_day - rules["FIRST_SCAN"][1] - 1)
    st = draw_baseline(rng, rules["TERM_INDEX"], ages)
    st["regimen"] = draw_regimens(rng, st["arm"])
    st["avail"] = availability(st["regimen"], e0)
    st["start"] = draw_starts(rng, st["avail"], enrol_days)
    potential = cutoff_day - st["start"]
    gap = rng.integers(0, rules["LAST_VISIT_GAP"] + 1, len(potential))
    follow = np.maximum(potential - gap, np.minimum(potential, rules["FIRST_SCAN"][1] + 1))
    lp_os = linear_predictor(st["X"], "os", rules["TERM_INDEX"])
    lp_pfs = linear_predictor(st["X"], "pfs", rules["TERM_INDEX"])
    n = len(st["arm"])
    st["resp"] = np.empty(n, dtype=np.int64)
    for key in ("otype", "osd", "pfsd"):
        st[key] = np.empty(n, dtype=np.int64)
    for a, arm_name in enumerate(paper.ARMS):
        idx = np.flatnonzero(st["arm"] == a)
        resp = draw_response(rng, lp_pfs[idx], arm_name)
        out = condition_outcomes(rng, arm_name, resp, lp_os[idx], lp_pfs[idx], follow[idx],
                                 rules)
        if out is None:
            return None
        st["resp"][idx] = resp
        for key in ("otype", "osd", "pfsd"):
            st[key][idx] = out[key]
    return st


def parameters_frame():
    """The model's parameters as a table (name, value, what it is) for the book."""
    import pandas as pd

    rows = [
        ("FIRST_SCAN_DRAW", FIRST_SCAN_DRAW, "day of the first scan (uniform, days)"),
        ("CLINICAL_PD_SHARE", CLINICAL_PD_SHARE, "primary progressors found before the first scan"),
        ("TTP_SHAPE", TTP_SHAPE, "Weibull shape of time to progression after the first scan"),
        ("TTP_MEDIAN", TTP_MEDIAN, "its median per arm (days, SD patient of average prognosis)"),
        ("RESPONDER_TTP_FACTOR", RESPONDER_TTP_FACTOR, "time-scale factor of a CR/PR patient"),
        ("PPS_SHAPE", PPS_SHAPE, "Weibull shape of post-progression survival"),
        ("PPS_MEDIAN", PPS_MEDIAN, "its median per arm (days)"),
        ("PRIMARY_PD_PPS_FACTOR", PRIMARY_PD_PPS_FACTOR, "factor on it after primary progression"),
        ("DEATH_NO_PROG_MEDIAN", DEATH_NO_PROG_MEDIAN, "median of death without progression (days)"),
        ("RESPONSE_STEER", RESPONSE_STEER, "how strongly the PFS prognosis steers best response"),
        ("EXTRA_HR", EXTRA_HR, "prognostic terms beyond the paper's multivariable ones"),
        ("OS_LP_SCALE", OS_LP_SCALE, "factor on the OS log-hazard ratios (they act after progression)"),
        ("LTFU_SHARE", LTFU_SHARE, "patients lost to follow-up before the cut-off"),
        ("ENROL_RAMP", ENROL_RAMP, "rise of the enrolment rate over the enrolment period"),
        ("AGE_RANGE", AGE_RANGE, "inclusion range of ages (redrawn outside, never clipped)"),
    ]
    return pd.DataFrame([(n, str(v), w) for n, v, w in rows],
                        columns=["parameter", "value", "meaning"]).set_index("parameter")
