"""Build the synthetic cohort: initial state, annealing chains, dates, adverse events, files.

Everything here is deterministic given the seed: random numbers come from
``numpy.random.SeedSequence(seed)`` and from a counter-based generator inside the
compiled loop; the search runs for a fixed number of moves (never for a wall-clock time),
and with several chains the best one wins, ties going to the lowest chain number.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hcc import paper
from hcc.paths import CACHE_DIR, DEFAULT_SEED

#: Bump when the generator's output for a given seed changes.
GENERATOR_VERSION = "1.3.0"
#: Bump when the calibrated state for a given seed changes (search, score, moves).
CALIBRATION_VERSION = "11"
#: Moves per annealing chain (fixed budget → deterministic).
DEFAULT_BUDGET = 1_500_000
#: Annealing chains at most (forked processes, in waves of WAVE that stop once a chain has
#: every scored item in tolerance; see calibrate()).
DEFAULT_CHAINS = 16
#: chains run side by side (a constant, so that a seed gives the same cohort on any machine)
WAVE = 2
CHUNK = 5_000
#: Greedy sweeps after annealing (see calibrate.polish).
POLISH_SWEEPS = 6
#: Length (fraction of the budget) and temperatures of an optional cold refinement run
#: from the best state with the steeper acceptance weight. Off: tried at 0.25, it did not
#: raise the number of items in tolerance (it trades a few large misses for more small ones).
REFINE_FRACTION = 0.0
REFINE_T = (0.5, 0.003)
#: Repair phase (see :func:`repair`): sweeps of each lexicographic descent, kick rounds,
#: moves per kick and the kick's temperatures.
REPAIR_SWEEPS = 4
REPAIR_ROUNDS = 3
REPAIR_KICK = 3000
REPAIR_T = (0.3, 0.01)
#: Rounds of compound (two-swap) moves in the repair and evaluations allowed per round.
PAIR_ROUNDS = 6
PAIR_MAX_EVAL = 400_000

ARM_ORDER = paper.ARMS  # rows 0..36 TKI, 37..92 TKI-ICI
RESPONSES = ("CR", "PR", "SD", "PD")
ANALYSIS_COLUMNS = [
    "patient_id", "arm", "regimen", "age", "sex", "ecog", "etiology", "surgery", "tace",
    "ablation", "tumor_number_gt3", "tumor_size_gt5", "pvtt", "metastases", "afp_gt400",
    "child_pugh", "bclc", "os_months", "os_event", "pfs_months", "pfs_event", "best_response",
]
BASELINE_COLUMNS = ANALYSIS_COLUMNS[:17] + ["best_response"]
RAW_COLUMNS = BASELINE_COLUMNS + ["start_date", "progression_date", "death_date",
                                  "last_contact_date"]
AE_COLUMNS = ["patient_id", "term", "grade", "immune_related", "led_to_discontinuation"]

#: The paper's AE names → CTCAE v5 terms; defined in hcc.reconstruct.adverse_events.
from hcc.reconstruct.adverse_events import AE_TERM_MAP, draw_adverse_events  # noqa: E402


def _date(s: str) -> _dt.date:
    return _dt.date.fromisoformat(s)


# ----------------------------------------------------------------------------- ages
def _q7(x: np.ndarray, p: float) -> float:
    x = np.sort(x)
    h = (len(x) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(x) - 1)
    return float(x[lo] + (h - lo) * (x[hi] - x[lo]))


def _kw_p(a: np.ndarray, b: np.ndarray) -> float:
    """Kruskal–Wallis P for two groups with the tie correction (R ``kruskal.test``)."""
    x = np.concatenate([a, b])
    n = len(x)
    vals, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    avg_rank = np.cumsum(cnt) - (cnt - 1) / 2.0
    r = avg_rank[inv]
    ra, rb = r[: len(a)].sum(), r[len(a):].sum()
    h = 12.0 / (n * (n + 1)) * (ra ** 2 / len(a) + rb ** 2 / len(b)) - 3 * (n + 1)
    h /= 1 - float((cnt ** 3 - cnt).sum()) / (n ** 3 - n)
    return math.erfc(math.sqrt(max(h, 0.0) / 2.0))  # chi-square, 1 df


def _band(pr: paper.Printed) -> tuple[float, float]:
    h = 0.5 * 10.0 ** (-pr.decimals)
    return pr.value - h - 1e-12, pr.value + h + 1e-12


_AGE_BANDS = {k: [_band(p) for p in v] for k, v in paper.AGE.items()}
_AGE_P_BAND = _band(paper.AGE_P)


def _age_loss(a: np.ndarray, b: np.ndarray) -> float:
    loss = 0.0
    for arr, key in ((a, "TKI"), (b, "TKI-ICI"), (np.concatenate([a, b]), "Overall")):
        for (lo, hi), q in zip(_AGE_BANDS[key], (0.5, 0.25, 0.75)):
            v = _q7(arr, q)
            if not lo <= v <= hi:
                loss += min(abs(v - lo), abs(v - hi)) + 1
    p = _kw_p(a, b)
    lo, hi = _AGE_P_BAND
    if not lo <= p <= hi:
        loss += min(abs(p - lo), abs(p - hi)) * 100 + 0.1
    return loss


def make_ages(rng: np.random.Generator, max_iter: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Integer ages per arm matching the printed median [Q1, Q3] and Kruskal–Wallis P."""
    def draw(n, med, q1, q3):
        z = rng.normal(size=n)
        z = (z - np.median(z)) / (np.quantile(z, 0.75) - np.quantile(z, 0.25))
        return np.clip(np.round(med + z * (q3 - q1)), 30, 82).astype(np.int64)

    a = draw(paper.ARM_N["TKI"], 53, 49, 60)
    b = draw(paper.ARM_N["TKI-ICI"], 58.5, 51.5, 66.2)
    loss = _age_loss(a, b)
    for _ in range(max_iter):
        if loss == 0:
            break
        arr = a if rng.random() < 0.4 else b
        i = rng.integers(len(arr))
        old = arr[i]
        arr[i] = np.clip(old + rng.choice([-3, -2, -1, 1, 2, 3]), 30, 82)
        new = _age_loss(a, b)
        if new <= loss or rng.random() < 0.05:
            loss = new
        else:
            arr[i] = old
    if loss != 0:
        raise RuntimeError("age search failed")
    for arr, key in ((a, "TKI"), (b, "TKI-ICI"), (np.concatenate([a, b]), "Overall")):
        assert all(p.matches(_q7(arr, q)) for p, q in zip(paper.AGE[key], (0.5, 0.25, 0.75)))
    assert paper.AGE_P.matches(_kw_p(a, b))
    return a, b


# ----------------------------------------------------------------------------- initial state
def _binary_counts() -> dict[str, tuple[int, int]]:
    """Number coded 1 per arm for each Cox term (coding of hcc.paper.COX_CODING)."""
    out = {}
    for term, (col, lvl) in paper.COX_CODING.items():
        if term in ("age_gt60", "second_line"):
            continue
        out[term] = paper.TABLE1_COUNTS[col][lvl]
    return out


def initial_state(rng: np.random.Generator, ages: tuple[np.ndarray, np.ndarray], maxfu: int,
                  minadmin: int) -> dict:
    from hcc.reconstruct import calibrate as cal

    n_arm = [paper.ARM_N[a] for a in ARM_ORDER]
    n = sum(n_arm)
    nt = len(cal.TERMS)
    X = np.zeros((n, nt))
    arm = np.repeat([0, 1], n_arm).astype(np.int64)
    age = np.concatenate(ages).astype(np.int64)
    counts = _binary_counts()
    lo = [0, n_arm[0]]
    otype = np.zeros(n, np.int64)
    osd = np.zeros(n, np.int64)
    pfsd = np.zeros(n, np.int64)
    resp = np.zeros(n, np.int64)
    for a in range(2):
        idx = np.arange(lo[a], lo[a] + n_arm[a])
        na = n_arm[a]
        for term, c in counts.items():
            if term in ("ecog", "pvtt", "metastases", "bclc"):
                continue
            v = np.zeros(na)
            v[: c[a]] = 1
            X[idx, cal.TERM_INDEX[term]] = rng.permutation(v)
        # ECOG / PVTT / metastases / BCLC with BCLC B <=> ECOG 0, no PVTT, no metastases
        n_ecog1, n_pvtt, n_mets, n_c = (counts[t][a] for t in ("ecog", "pvtt", "metastases", "bclc"))
        n_b = na - n_c
        while True:
            ecog = rng.permutation(np.r_[np.ones(n_ecog1), np.zeros(na - n_ecog1)])
            e0 = np.flatnonzero(ecog == 0)
            bset = rng.choice(e0, n_b, replace=False)
            rest = np.setdiff1d(np.arange(na), bset)
            pv = np.zeros(na)
            me = np.zeros(na)
            pv[rng.choice(rest, n_pvtt, replace=False)] = 1
            me[rng.choice(rest, n_mets, replace=False)] = 1
            stage_b = (ecog == 0) & (pv == 0) & (me == 0)
            if stage_b.sum() == n_b:
                break
        X[idx, cal.K_ECOG] = ecog
        X[idx, cal.K_PVTT] = pv
        X[idx, cal.K_METS] = me
        X[idx, cal.K_BCLC] = (~stage_b).astype(float)
        X[idx, cal.K_ARM] = a
        # outcomes
        arm_name = ARM_ORDER[a]
        n_os, n_pfs = paper.EVENTS["os"][a], paper.EVENTS["pfs"][a]
        resp_list = np.concatenate([[RESPONSES.index(r)] * c
                                    for r, c in paper.RESPONSE[arm_name].items()])
        resp_a = rng.permutation(resp_list)
        n_pd = int((resp_a == 3).sum())
        n_pa = n_pfs - n_os
        n_pdth = min(n_os, max(n_pd - n_pa, int(round(0.7 * n_os))))
        types = np.r_[[2] * n_pa, [1] * n_pdth, [0] * (n_os - n_pdth), [3] * (na - n_pfs)]
        prog_types = rng.permutation(types[: n_pa + n_pdth])
        other = rng.permutation(types[n_pa + n_pdth:])
        pd_idx = np.flatnonzero(resp_a == 3)
        non_pd = np.flatnonzero(resp_a != 3)
        ty = np.empty(na, np.int64)
        ty[pd_idx] = prog_types[:n_pd]
        ty[non_pd] = rng.permutation(np.r_[prog_types[n_pd:], other])
        med_os = paper.MEDIANS["os"][arm_name][0].value * 30
        med_pfs = paper.MEDIANS["pfs"][arm_name][0].value * 30
        for r in range(na):
            i = idx[r]
            for _ in range(1000):
                t = ty[r]
                fu_days = paper.MEDIAN_FOLLOWUP.value * 30
                cens = int(min(maxfu, minadmin + rng.exponential(max(fu_days - minadmin, 30)))) \
                    if rng.random() < 0.9 else int(rng.integers(61, minadmin + 1))
                if t in (1, 2):
                    p = int(rng.integers(14, 91)) if resp_a[r] == 3 else 61 + int(
                        rng.exponential(med_pfs / math.log(2)))
                    o = p + 1 + int(rng.exponential(max(med_os - med_pfs, 30) / math.log(2))) \
                        if t == 1 else max(cens, p + 1)
                else:
                    o = max(14, int(rng.exponential(med_os / math.log(2)))) if t == 0 else cens
                    p = o
                otype[i], osd[i], pfsd[i], resp[i] = t, o, p, resp_a[r]
                if cal.valid(i, otype, osd, pfsd, resp, maxfu):
                    break
            else:
                raise RuntimeError("could not build a valid initial state")
    X[:, cal.K_AGE] = (age > 60).astype(float)
    return {"X": X, "age": age, "arm": arm, "otype": otype, "osd": osd, "pfsd": pfsd,
            "resp": resp, "arm_lo": np.array(lo, np.int64), "arm_n": np.array(n_arm, np.int64)}


# ----------------------------------------------------------------------------- chains
def _window(cutoff: str) -> tuple[int, int]:
    """(longest possible follow-up, shortest administrative follow-up) in days."""
    c = _date(cutoff)
    maxfu = (c - _date(calibrate_consts()["ENROL_START"])).days
    minadmin = (c - _date(calibrate_consts()["ENROL_END"])).days
    return maxfu, minadmin


def _cutoff_date(maxfu: int) -> str:
    return (_date(calibrate_consts()["ENROL_START"]) + _dt.timedelta(days=int(maxfu))).isoformat()


def calibrate_consts() -> dict:
    from hcc.reconstruct import calibrate as cal

    return {"ENROL_START": cal.ENROL_START, "ENROL_END": cal.ENROL_END,
            "CUTOFF_START": cal.CUTOFF_START, "CUTOFF_MIN": cal.CUTOFF_MIN,
            "CUTOFF_MAX": cal.CUTOFF_MAX}


def run_chain(chain_seed: np.random.SeedSequence, budget: int, cutoff: str,
              progress=None, slot: int = 0, t0: float = 3.0, t1: float = 0.003,
              polish_sweeps: int = POLISH_SWEEPS) -> dict:
    """One annealing chain from its own initial state; returns the best state found."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct.fastnum import Z975  # noqa: F401  (ensures compiled module loaded)

    rng = np.random.default_rng(chain_seed)
    maxfu, minadmin = _window(cutoff)
    ages = make_ages(rng)
    st = initial_state(rng, ages, maxfu, minadmin)
    items = cal.build_items()
    n = len(st["age"])
    cb, cse, kmv, lr, fu, ordr, ts, es = cal.workspace(n)
    args_fit = (cal.MULTI_TERMS, cal.MULTI_P, cal.MULTI_SLOT0, cal.SUB_SLOT, cal.K_BCLC)
    cal.full_eval(st["X"], st["arm"], st["otype"], st["osd"], st["pfsd"], ordr, ts, es, cb,
                  cse, kmv, lr, fu, *args_fit, 1e-9, 60)
    ltfu = cal.count_ltfu(st["otype"], st["osd"], minadmin)
    it = (items["kind"], items["slot"], items["blo"], items["bhi"], items["alo"],
          items["ahi"], items["scale"], items["weight"])
    s, nacc, nex = cal.score(cb, cse, kmv, lr, fu, ltfu, *it)
    cur = np.array([s, nacc, nex], dtype=np.float64)
    best = {k: st[k].copy() for k in ("X", "age", "otype", "osd", "pfsd", "resp")}
    best_info = np.array([s, nacc, nex, 0.0, maxfu])
    window = maxfu - minadmin
    cutv = np.array([maxfu], dtype=np.int64)
    cutlo = _window(cal.CUTOFF_MIN)[0]
    cuthi = _window(cal.CUTOFF_MAX)[0]
    rs = np.array([np.uint64(chain_seed.generate_state(1, np.uint64)[0])], dtype=np.uint64)
    rest = (cal.MULTI_TERMS, cal.MULTI_P, cal.MULTI_SLOT0, cal.SUB_SLOT, cal.SWAPPABLE,
            cal.K_AGE, cal.K_ECOG, cal.K_ARM, cal.K_PVTT, cal.K_METS, cal.K_BCLC)

    def phase(nmoves, temp0, temp1, wacc, done):
        step = 0
        while step < nmoves:
            k = min(CHUNK, nmoves - step)
            cal.anneal(st["X"], st["age"], st["arm"], st["otype"], st["osd"], st["pfsd"],
                       st["resp"], st["arm_lo"], st["arm_n"], cb, cse, kmv, lr, fu, ordr, ts,
                       es, best["X"], best["age"], best["otype"], best["osd"], best["pfsd"],
                       best["resp"], best_info, *it, *rest, cutv, window, cutlo, cuthi, rs,
                       step, k, nmoves, temp0, temp1, cur, wacc)
            step += k
            if progress is not None:
                progress[slot * 4: slot * 4 + 4] = [done + step, best_info[0], best_info[1],
                                                    best_info[2]]

    def restart_from_best(wacc):
        for key in ("X", "age", "otype", "osd", "pfsd", "resp"):
            st[key][...] = best[key]
        cutv[0] = int(best_info[4])
        cal.full_eval(st["X"], st["arm"], st["otype"], st["osd"], st["pfsd"], ordr, ts, es,
                      cb, cse, kmv, lr, fu, *args_fit, 1e-9, 60)
        lt = cal.count_ltfu(st["otype"], st["osd"], cutv[0] - window)
        sc, na, ne = cal.score(cb, cse, kmv, lr, fu, lt, *it, wacc)
        cur[:] = [sc, na, ne]
        best_info[:3] = [sc, na, ne]

    # 1. annealing; 2. a short cold run from the best state with the acceptance first
    t_start = time.perf_counter()
    phase(budget, t0, t1, cal.W_ACC, 0)
    refine = int(budget * REFINE_FRACTION)
    if refine > 0:
        restart_from_best(cal.W_ACC_POLISH)
        phase(refine, REFINE_T[0], REFINE_T[1], cal.W_ACC_POLISH, budget)
    step = budget + refine
    window = int(window)
    annealed = int(best_info[1])
    t_anneal = time.perf_counter() - t_start

    # repair: lexicographic descent and kicks from the best state found (deterministic)
    if polish_sweeps > 0:
        for k in ("X", "age", "otype", "osd", "pfsd", "resp"):
            st[k][...] = best[k]
        rep, fu_r, (nacc, s, nex) = repair(st, int(best_info[4]), window, rs)
        ev_key = _fit_state(st, int(best_info[4]), window, it,
                            (cb, cse, kmv, lr, fu, ordr, ts, es), cal.W_ACC_POLISH)
        if (nacc, -s) > (ev_key[0], -ev_key[1]):
            best = {k: rep[k] for k in ("X", "age", "otype", "osd", "pfsd", "resp")}
            best_info[:3] = [s, nacc, nex]
            best_info[4] = fu_r
        else:
            best_info[:3] = [ev_key[1], ev_key[0], ev_key[2]]
        if progress is not None:
            progress[slot * 4: slot * 4 + 4] = [step, best_info[0], best_info[1], best_info[2]]
    elif polish_sweeps == 0:  # warm-up: compile the descent only
        _lex_polish(st, int(best_info[4]), window, it, (cb, cse, kmv, lr, fu, ordr, ts, es), 0)
    best.update({"arm": st["arm"], "arm_lo": st["arm_lo"], "arm_n": st["arm_n"]})
    return {"state": best, "score": float(best_info[0]), "n_acc": int(best_info[1]),
            "n_exact": int(best_info[2]), "best_step": int(best_info[3]),
            "n_acc_annealed": annealed, "cutoff": _cutoff_date(int(best_info[4])),
            "seconds": (t_anneal, time.perf_counter() - t_start - t_anneal)}


def _fit_state(st, maxfu, window, it, bufs, wacc):
    """Refit everything for state *st* (full precision); returns (n_acc, score, n_exact)."""
    from hcc.reconstruct import calibrate as cal

    cb, cse, kmv, lr, fu, ordr, ts, es = bufs
    cal.full_eval(st["X"], st["arm"], st["otype"], st["osd"], st["pfsd"], ordr, ts, es, cb,
                  cse, kmv, lr, fu, cal.MULTI_TERMS, cal.MULTI_P, cal.MULTI_SLOT0,
                  cal.SUB_SLOT, cal.K_BCLC, 1e-12, 100)
    lt = cal.count_ltfu(st["otype"], st["osd"], maxfu - window)
    s, nacc, nex = cal.score(cb, cse, kmv, lr, fu, lt, *it, wacc)
    return int(nacc), float(s), int(nex)


def _missing_covariates(st, maxfu) -> list[int]:
    """Swappable covariates (columns) whose univariate or multivariate Cox items miss the
    acceptance tolerance; BCLC stands for ECOG, PVTT and metastases (it follows them)."""
    from hcc.reconstruct import calibrate as cal

    ev = evaluate_state(st, _cutoff_date(maxfu))
    out = []
    for r in ev["items"]:
        if not r["scored"] or r["in_tolerance"]:
            continue
        parts = r["item"].split()
        if len(parts) < 3 or parts[1] not in ("uni", "multi") or parts[2] not in cal.TERM_INDEX:
            continue
        term = parts[2]
        ks = ((cal.K_ECOG, cal.K_PVTT, cal.K_METS) if term == "bclc"
              else () if term in ("second_line", "age_gt60") else (cal.TERM_INDEX[term],))
        for k in ks:
            if k not in out:
                out.append(k)
    return out


def _lex_polish(st, maxfu, window, it, bufs, sweeps):
    from hcc.reconstruct import calibrate as cal

    cb, cse, kmv, lr, fu, ordr, ts, es = bufs
    cal.polish(st["X"], st["age"], st["arm"], st["otype"], st["osd"], st["pfsd"], st["resp"],
               cb, cse, kmv, lr, fu, ordr, ts, es, *it, cal.MULTI_TERMS, cal.MULTI_P,
               cal.MULTI_SLOT0, cal.SUB_SLOT, cal.SWAPPABLE, cal.K_AGE, cal.K_ECOG,
               cal.K_PVTT, cal.K_METS, cal.K_BCLC, maxfu, maxfu - window, sweeps, 30,
               cal.W_ACC_POLISH, True)


def repair(st: dict, maxfu: int, window: int, rs: np.ndarray, rounds: int | None = None,
           log=None) -> tuple[dict, int, tuple[int, float]]:
    """Final repair phase: lexicographic local search, then iterated kicks.

    First a deterministic greedy descent (:func:`hcc.reconstruct.calibrate.polish` with
    ``lex=True``) that accepts a move when it raises the number of items inside the
    acceptance tolerance, or keeps it and lowers the score, over the full neighbourhoods
    (every same-arm covariate swap, every ±1..30-day time shift, every same-arm outcome
    exchange). Then, while items remain outside tolerance, up to *rounds* rounds of a short
    cold annealing kick from the best state followed by the same descent; a round's result
    is kept only if it is lexicographically better (more in tolerance, then lower score).
    Random numbers come from the chain's counter-based generator *rs*, so the result is
    deterministic. Returns (state, cut-off in days, (n_acc, score)).
    """
    from hcc.reconstruct import calibrate as cal

    rounds = REPAIR_ROUNDS if rounds is None else rounds
    items = cal.build_items()
    it = (items["kind"], items["slot"], items["blo"], items["bhi"], items["alo"],
          items["ahi"], items["scale"], items["weight"])
    n_scored = int((items["weight"] > 0).sum())
    n = len(st["age"])
    bufs = cal.workspace(n)
    keys = ("X", "age", "otype", "osd", "pfsd", "resp")
    st = {k: np.array(v).copy() for k, v in st.items()}
    _lex_polish(st, maxfu, window, it, bufs, REPAIR_SWEEPS)
    best = {k: v.copy() for k, v in st.items()}
    best_fu = maxfu
    best_key = _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)
    if log is not None:
        log(f"repair: lexicographic descent -> {best_key[0]}/{n_scored} in tolerance")
    # compound moves: two swaps of a covariate whose Cox items miss, then descent again
    for r in range(PAIR_ROUNDS):
        if best_key[0] >= n_scored:
            break
        covs = _missing_covariates(best, best_fu)
        if not covs:
            break
        for k in st:
            st[k][...] = best[k]
        _fit_state(st, best_fu, window, it, bufs, cal.W_ACC_POLISH)
        cb, cse, kmv, lr, fu, ordr, ts, es = bufs
        nev = cal.pair_swaps(st["X"], st["arm"], cb, cse, kmv, lr, fu, ordr, ts, es, *it,
                             cal.MULTI_TERMS, cal.MULTI_P, cal.MULTI_SLOT0, cal.SUB_SLOT,
                             np.array(covs, np.int64), cal.K_ECOG, cal.K_PVTT, cal.K_METS,
                             cal.K_BCLC, cal.count_ltfu(st["otype"], st["osd"],
                                                         best_fu - window),
                             cal.W_ACC_POLISH, PAIR_MAX_EVAL)
        if nev >= 0:
            break
        _lex_polish(st, best_fu, window, it, bufs, REPAIR_SWEEPS)
        key = _fit_state(st, best_fu, window, it, bufs, cal.W_ACC_POLISH)
        if log is not None:
            log(f"repair: pair round {r + 1}: {key[0]}/{n_scored} after {-nev} evaluations")
        if (key[0], -key[1]) > (best_key[0], -best_key[1]):
            best = {k: v.copy() for k, v in st.items()}
            best_key = key
        else:
            break
    cutlo = _window(cal.CUTOFF_MIN)[0]
    cuthi = _window(cal.CUTOFF_MAX)[0]
    for r in range(rounds):
        if best_key[0] >= n_scored:
            break
        for k in st:
            st[k][...] = best[k]
        nacc, s, _ = _fit_state(st, best_fu, window, it, bufs, cal.W_ACC_POLISH)
        cur = np.array([s, nacc, 0.0])
        cutv = np.array([best_fu], dtype=np.int64)
        dummy = {k: st[k].copy() for k in keys}
        dinfo = np.array([s, nacc, 0.0, 0.0, best_fu])
        cb, cse, kmv, lr, fu, ordr, ts, es = bufs
        cal.anneal(st["X"], st["age"], st["arm"], st["otype"], st["osd"], st["pfsd"],
                   st["resp"], st["arm_lo"], st["arm_n"], cb, cse, kmv, lr, fu, ordr, ts, es,
                   dummy["X"], dummy["age"], dummy["otype"], dummy["osd"], dummy["pfsd"],
                   dummy["resp"], dinfo, *it, cal.MULTI_TERMS, cal.MULTI_P,
                   cal.MULTI_SLOT0, cal.SUB_SLOT, cal.SWAPPABLE, cal.K_AGE, cal.K_ECOG,
                   cal.K_ARM, cal.K_PVTT, cal.K_METS, cal.K_BCLC, cutv, window, cutlo, cuthi,
                   rs, 0, REPAIR_KICK, REPAIR_KICK, REPAIR_T[0], REPAIR_T[1], cur,
                   cal.W_ACC_POLISH)
        fu_r = int(cutv[0])
        _lex_polish(st, fu_r, window, it, bufs, REPAIR_SWEEPS)
        key = _fit_state(st, fu_r, window, it, bufs, cal.W_ACC_POLISH)
        if (key[0], -key[1]) > (best_key[0], -best_key[1]):
            best = {k: v.copy() for k, v in st.items()}
            best_fu, best_key = fu_r, key
        if log is not None:
            log(f"repair: round {r + 1}: {key[0]}/{n_scored} (best {best_key[0]})")
    return best, best_fu, best_key


def warmup() -> float:
    """Compile (or load from numba's cache) every compiled function; returns seconds.

    Called in the parent before the chains are forked, so that they do not each compile.
    """
    t0 = time.perf_counter()
    from hcc.reconstruct import calibrate as cal

    run_chain(np.random.SeedSequence(0), 1, cal.CUTOFF_START, polish_sweeps=0)
    return time.perf_counter() - t0


def _worker(idx, seq, budget, cutoff, progress, queue):
    try:
        queue.put((idx, run_chain(seq, budget, cutoff, progress, idx)))
    except BaseException as exc:  # pragma: no cover - reported in the parent
        queue.put((idx, exc))


def evaluate_state(state: dict, cutoff: str) -> dict:
    """Full-precision fast evaluation of a state: item table and totals."""
    from hcc.reconstruct import calibrate as cal

    maxfu, minadmin = _window(cutoff)
    items = cal.build_items()
    n = len(state["age"])
    cb, cse, kmv, lr, fu, ordr, ts, es = cal.workspace(n)
    cal.full_eval(state["X"], state["arm"], state["otype"], state["osd"], state["pfsd"], ordr,
                  ts, es, cb, cse, kmv, lr, fu, cal.MULTI_TERMS, cal.MULTI_P, cal.MULTI_SLOT0,
                  cal.SUB_SLOT, cal.K_BCLC, 1e-14, 200)
    ltfu = cal.count_ltfu(state["otype"], state["osd"], minadmin)
    it = (items["kind"], items["slot"], items["blo"], items["bhi"], items["alo"],
          items["ahi"], items["scale"], items["weight"])
    s, nacc, nex = cal.score(cb, cse, kmv, lr, fu, ltfu, *it)
    vals = cal.item_values(cb, cse, kmv, lr, fu, ltfu, items["kind"], items["slot"])
    rows = []
    for q in range(len(vals)):
        kind = items["kind"][q]
        v = float(vals[q])
        w = float(items["weight"][q])
        inband = items["blo"][q] <= v <= items["bhi"][q]
        va = abs(v) if kind == cal.K_Z else v
        acc = items["alo"][q] <= va <= items["ahi"][q]
        if kind in (cal.K_LOGHR, cal.K_LOGLO, cal.K_LOGHI):
            shown = round(math.exp(v), 4)
        elif kind == cal.K_Z:
            shown = float(f"{math.erfc(abs(v) / math.sqrt(2)):.6g}")
        elif kind in (cal.K_MED, cal.K_LO, cal.K_HI, cal.K_FU):
            shown = round(v / 30, 4) if math.isfinite(v) else float("inf")
        else:
            shown = round(v, 4) if math.isfinite(v) else float("inf")
        rows.append({"item": items["name"][q], "kind": cal.KIND_NAMES[kind],
                     "paper": items["target"][q], "ours": shown, "scored": w > 0,
                     "printed_rounding": bool(inband), "in_tolerance": bool(acc)})
    return {"score": float(s), "n_acc": int(nacc), "n_exact": int(nex),
            "n_scored": int((items["weight"] > 0).sum()), "items": rows,
            "ltfu": int(ltfu)}


# ----------------------------------------------------------------------------- output
#: Redraws allowed to meet the per-term rule of :func:`_ae_table`.
AE_MAX_TRIES = 500


def yates_p(a_yes: int, a_n: int, b_yes: int, b_n: int) -> float:
    """Two-sided P of the 2 × 2 chi-square test with Yates' continuity correction.

    Notes
    -----
    As R's ``chisq.test(correct = TRUE)``: each |O − E| is reduced by min(0.5, |O − E|);
    P from the chi-square distribution with 1 df.
    """
    obs = np.array([[a_yes, a_n - a_yes], [b_yes, b_n - b_yes]], dtype=float)
    e = obs.sum(1, keepdims=True) * obs.sum(0, keepdims=True) / obs.sum()
    if (e == 0).any():
        return 1.0
    d = np.abs(obs - e)
    stat = float((((d - np.minimum(0.5, d)) ** 2) / e).sum())
    return math.erfc(math.sqrt(stat / 2.0))


def ae_term_pvalues(ae: pd.DataFrame, arm_of: dict) -> dict[str, float]:
    """Per CTCAE term, Yates chi-square P of patients with the term (any grade) by arm."""
    arms = pd.Series(arm_of)
    n = {a: int((arms == a).sum()) for a in ARM_ORDER}
    out = {}
    for term, sub in ae.groupby("term", sort=True):
        pats = sub["patient_id"].unique()
        k = {a: int((arms.loc[pats] == a).sum()) for a in ARM_ORDER}
        out[term] = yates_p(k[ARM_ORDER[0]], n[ARM_ORDER[0]], k[ARM_ORDER[1]], n[ARM_ORDER[1]])
    return out


def _ae_table(rng: np.random.Generator, arm: np.ndarray, ids: list[str]) -> pd.DataFrame:
    """Adverse events with the paper's per-arm counts and no per-term arm difference.

    The paper reports "no significant difference in the incidence of different types of
    AEs" between arms: the table is redrawn from *rng* (deterministic, at most
    ``AE_MAX_TRIES`` draws) until every term's Yates chi-square P (patients with the term,
    any grade, by arm; :func:`ae_term_pvalues`) is at least 0.05.
    """
    arm_of = {ids[i]: ARM_ORDER[a] for i, a in enumerate(arm)}
    for _ in range(AE_MAX_TRIES):
        ae = _ae_draw(rng, arm, ids)
        if min(ae_term_pvalues(ae, arm_of).values()) >= 0.05:
            return ae
    raise RuntimeError("could not draw adverse events without a per-term arm difference")


def _ae_draw(rng: np.random.Generator, arm: np.ndarray, ids: list[str]) -> pd.DataFrame:
    """One draw of the adverse-event table with the paper's per-arm counts."""
    common = {  # term: (weight TKI, weight TKI-ICI)
        "Hypertension": (0.45, 0.45), "Diarrhea": (0.35, 0.35),
        "Palmar-plantar erythrodysesthesia syndrome": (0.30, 0.25),
        "Rash maculo-papular": (0.15, 0.25), "Nausea": (0.25, 0.25), "Vomiting": (0.15, 0.15),
        "Fatigue": (0.25, 0.25), "Anorexia": (0.20, 0.20), "Hypothyroidism": (0.08, 0.14),
        "Proteinuria": (0.18, 0.18), "Aspartate aminotransferase increased": (0.12, 0.12),
        "Platelet count decreased": (0.12, 0.12), "Hoarseness": (0.08, 0.08),
    }
    terms = list(common)
    rows = []
    for a, arm_name in enumerate(ARM_ORDER):
        idx = np.flatnonzero(arm == a)
        n_any = paper.AE_ANY[arm_name]
        n_g34 = paper.AE_GRADE34[arm_name]
        pats = rng.permutation(idx)
        any_p = pats[:n_any]
        g34 = set(any_p[:n_g34].tolist())
        special = {}  # patient -> list of (term, grade, immune, discontinuation)
        order = list(any_p)
        k = 0
        if arm_name == "TKI-ICI":
            for term, cnt in paper.IMMUNE_RELATED.items():
                for _ in range(cnt):
                    special.setdefault(order[k], []).append([AE_TERM_MAP[term], 2, 1, 0])
                    k += 1
        disc = paper.DISCONTINUATIONS[arm_name]
        # discontinuations: grade 3 events, in grade >= 3 patients
        g34_list = [p for p in any_p if p in g34]
        for q, term in enumerate(disc):
            ct = AE_TERM_MAP.get(term, term)
            if arm_name == "TKI-ICI" and term == "Immune-mediated hepatitis":
                p = order[0]  # the first immune hepatitis patient
                # make that patient a grade >= 3 one by swapping with a grade >= 3 patient
                if p not in g34:
                    swap = next(x for x in g34_list if x not in special)
                    g34.discard(swap)
                    g34.add(p)
                    g34_list = [x for x in any_p if x in g34]
                special[p][0] = [ct, 3, 1, 1]
            else:
                p = next(x for x in g34_list if x not in special)
                special.setdefault(p, []).append([ct, 3, 0, 1])
        for p in any_p:
            ev = special.get(p, [])
            w = np.array([common[t][a] for t in terms])
            m = 1 + int(rng.binomial(3, 0.45))
            chosen = list(rng.choice(terms, size=m, replace=False, p=w / w.sum()))
            ev_terms = {e[0] for e in ev}
            for t in chosen:
                if t not in ev_terms:
                    ev.append([t, int(rng.choice([1, 2], p=[0.6, 0.4])), 0, 0])
            if p in g34 and not any(e[1] >= 3 for e in ev):
                cand = [e for e in ev if e[2] == 0] or ev
                e = cand[int(rng.integers(len(cand)))]
                e[1] = 4 if rng.random() < 0.1 else 3
            if p not in g34:
                for e in ev:
                    e[1] = min(e[1], 2)
            for e in ev:
                rows.append((ids[p], e[0], int(e[1]), int(e[2]), int(e[3])))
    ae = pd.DataFrame(rows, columns=AE_COLUMNS)
    return ae.sort_values(["patient_id", "term"], kind="mergesort").reset_index(drop=True)


def _categories(state: dict, rng: np.random.Generator) -> pd.DataFrame:
    from hcc.reconstruct import calibrate as cal

    X = state["X"]
    arm = state["arm"]
    n = len(arm)
    T = cal.TERM_INDEX
    df = pd.DataFrame({"arm": [ARM_ORDER[a] for a in arm]})
    # regimen and etiology: not in any model, assigned at random within arm
    reg = np.empty(n, dtype=object)
    eti = np.empty(n, dtype=object)
    for a, arm_name in enumerate(ARM_ORDER):
        idx = np.flatnonzero(arm == a)
        reg[idx] = rng.permutation(np.concatenate(
            [[r] * c for r, c in paper.REGIMENS[arm_name].items()]))
        eti[idx] = rng.permutation(np.concatenate(
            [[lv] * c[a] for lv, c in paper.TABLE1_COUNTS["etiology"].items()]))
    df["regimen"] = reg
    df["age"] = state["age"].astype(int)
    df["sex"] = np.where(X[:, T["sex"]] > 0.5, "Male", "Female")
    df["ecog"] = X[:, T["ecog"]].astype(int)
    df["etiology"] = eti
    for c in ("surgery", "tace", "ablation", "tumor_number_gt3", "tumor_size_gt5", "pvtt"):
        df[c] = X[:, T[c]].astype(int)
    df["metastases"] = X[:, T["metastases"]].astype(int)
    df["afp_gt400"] = X[:, T["afp_gt400"]].astype(int)
    df["child_pugh"] = np.where(X[:, T["child_pugh"]] > 0.5, "B7", "A")
    df["bclc"] = np.where(X[:, T["bclc"]] > 0.5, "C", "B")
    df["best_response"] = [RESPONSES[r] for r in state["resp"]]
    return df


def build_frames(state: dict, seed: int, cutoff: str) -> dict[str, pd.DataFrame]:
    """Turn a calibrated state into the raw, analysis and adverse-event tables."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    base = _categories(state, rng)
    c = _date(cutoff)
    e0, e1 = _date(calibrate_consts()["ENROL_START"]), _date(calibrate_consts()["ENROL_END"])
    n = len(base)
    starts = []
    for i in range(n):
        ty, o = int(state["otype"][i]), int(state["osd"][i])
        latest = min(e1, c - _dt.timedelta(days=o))
        if ty >= 2 and c - _dt.timedelta(days=o) <= e1:
            s = c - _dt.timedelta(days=o)  # alive at the data cut-off
        else:
            span = (latest - e0).days
            if ty >= 2:  # alive, lost to follow-up before the cut-off
                span -= 1
            s = e0 + _dt.timedelta(days=int(rng.integers(0, span + 1)))
        starts.append(s)
    base["start_date"] = starts
    order = sorted(range(n), key=lambda i: (starts[i], i))
    ids = [""] * n
    for r, i in enumerate(order):
        ids[i] = f"P{r + 1:03d}"
    base.insert(0, "patient_id", ids)
    prog, death, last = [], [], []
    for i in range(n):
        ty, o, p = int(state["otype"][i]), int(state["osd"][i]), int(state["pfsd"][i])
        s = starts[i]
        prog.append((s + _dt.timedelta(days=p)).isoformat() if ty in (1, 2) else "")
        death.append((s + _dt.timedelta(days=o)).isoformat() if ty <= 1 else "")
        last.append((s + _dt.timedelta(days=o)).isoformat())
    raw = base.copy()
    raw["start_date"] = [s.isoformat() for s in starts]
    raw["progression_date"] = prog
    raw["death_date"] = death
    raw["last_contact_date"] = last
    raw = raw[RAW_COLUMNS].iloc[order].reset_index(drop=True)
    cohort = derive(raw)
    ae = draw_adverse_events(base[["patient_id", "arm", "regimen"]], rng)
    return {"raw": raw, "cohort": cohort, "ae": ae}


def derive(raw: pd.DataFrame) -> pd.DataFrame:
    """Analysis columns from the raw export (ARCHITECTURE.md rule; months = days / 30)."""
    d = lambda col: pd.to_datetime(raw[col].replace("", None), format="%Y-%m-%d")  # noqa: E731
    start, prog, death, last = d("start_date"), d("progression_date"), d("death_date"), d(
        "last_contact_date")
    os_end = death.fillna(last)
    os_days = (os_end - start).dt.days
    pfs_end = prog.fillna(death).fillna(last)
    pfs_days = (pfs_end - start).dt.days
    out = raw[BASELINE_COLUMNS[:-1]].copy()
    out["os_months"] = os_days / 30
    out["os_event"] = death.notna().astype(int)
    out["pfs_months"] = pfs_days / 30
    out["pfs_event"] = (prog.notna() | death.notna()).astype(int)
    out["best_response"] = raw["best_response"]
    return out[ANALYSIS_COLUMNS]


def _csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df = df.copy()
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = [repr(float(v)) for v in df[c]]
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def write_files(frames: dict, out: Path, manifest: dict) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"cohort_raw.csv": _csv_bytes(frames["raw"]),
             "cohort.csv": _csv_bytes(frames["cohort"]),
             "adverse_events.csv": _csv_bytes(frames["ae"])}
    man = dict(manifest)
    man["files"] = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    files["manifest.json"] = (json.dumps(man, indent=2, sort_keys=True, ensure_ascii=False)
                              + "\n").encode("utf-8")
    paths = {}
    for name, data in files.items():
        p = out / name
        p.write_bytes(data)
        paths[name] = p
    return paths


# ----------------------------------------------------------------------------- driver
class Reconstruction(dict):
    """Result of :func:`reconstruct`: a dict with ``cohort``, ``raw``, ``ae`` (DataFrames),
    ``manifest`` (dict), ``path`` (folder with the files), ``seconds``, ``cached`` and
    ``timing`` (wall-clock seconds of the calibration and of each chain's annealing and
    repair when it ran, else None; never written to the files)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _progress_line(progress, wave, n_waves, budget, t_start, n_scored):
    steps = [progress[4 * c] for c in wave]
    best = min(wave, key=lambda c: (progress[4 * c + 1], c))
    sc = progress[4 * best + 1]
    head = f"chains {wave[0] + 1}-{wave[-1] + 1}" if len(wave) > 1 else f"chain {wave[0] + 1}"
    return (f"\rreconstruct: {head} (wave {wave[0] // WAVE + 1} of at most {n_waves}): step "
            f"{int(sum(steps)):>9,d}/{budget * len(wave):,d}  "
            f"best score {sc if math.isfinite(sc) else float('nan'):10.3f}  in tolerance "
            f"{int(progress[4 * best + 2])}/{n_scored}  printed "
            f"{int(progress[4 * best + 3])}/{n_scored}  {time.perf_counter() - t_start:5.1f}s")


def _run_wave(wave, seqs, budget, cutoff, shared, results, progress, t_start, n_scored,
              total):
    """Run the chains in *wave* side by side in forked processes; fills *results*."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(c, seqs[c], budget, cutoff, shared, queue))
             for c in wave]
    for p in procs:
        p.start()
    last_line = None
    todo = set(wave)
    while todo:
        try:
            idx, res = queue.get(timeout=0.25)
            if isinstance(res, BaseException):
                for p in procs:
                    p.kill()
                raise res
            results[idx] = res
            todo.discard(idx)
        except Exception as exc:  # queue.Empty
            if not type(exc).__name__ == "Empty":
                raise
            if any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError("an annealing chain failed")
        if progress:
            line = _progress_line(shared, wave, -(-total // WAVE), budget, t_start, n_scored)
            if line.rsplit("  ", 1)[0] != last_line or not todo:
                if last_line is None and wave[0] > 0:
                    sys.stderr.write("\n")
                sys.stderr.write(line)
                sys.stderr.flush()
                last_line = line.rsplit("  ", 1)[0]
    for p in procs:
        p.join()


def calibrate(seed: int, budget: int, chains: int, cutoff: str, progress: bool) -> dict:
    """Run up to *chains* annealing chains and return the best.

    Chains run in waves of :data:`WAVE` side by side (one process each); when a chain of a
    wave ends with every scored item inside the acceptance tolerance, no further wave is
    started. The wave size is a constant, not the machine's number of cores, so the result
    of a seed is the same on every machine.
    """
    import multiprocessing as mp

    from hcc.reconstruct import calibrate as cal

    seqs = np.random.SeedSequence(seed).spawn(chains)
    n_scored = int((cal.build_items()["weight"] > 0).sum())
    t_start = time.perf_counter()
    results = {}
    if chains == 1:
        results[0] = run_chain(seqs[0], budget, cutoff, None, 0)
    else:
        warmup()
        shared = mp.get_context("fork").Array("d", 4 * chains, lock=False)
        for c in range(chains):
            shared[4 * c + 1] = math.inf
        for w0 in range(0, chains, WAVE):
            wave = list(range(w0, min(chains, w0 + WAVE)))
            _run_wave(wave, seqs, budget, cutoff, shared, results, progress, t_start,
                      n_scored, chains)
            if any(results[c]["n_acc"] >= n_scored for c in wave):
                break
    if progress:
        sys.stderr.write("\n")
        sys.stderr.flush()
    run = sorted(results)
    best = min(run, key=lambda c: (-results[c]["n_acc"], results[c]["score"], c))
    out = results[best]
    out["chain"] = best
    out["chains"] = [{"chain": c, "score": results[c]["score"], "n_acc": results[c]["n_acc"],
                      "n_exact": results[c]["n_exact"],
                      "n_acc_annealed": results[c]["n_acc_annealed"]} for c in run]
    # wall-clock figures for the benchmark; never written to the (deterministic) files
    out["timing"] = {"seconds": time.perf_counter() - t_start,
                     "chains": [results[c]["seconds"] for c in run]}
    return out


def _cache_dir(seed: int, budget: int, chains: int, cutoff: str) -> Path:
    return (CACHE_DIR / "reconstruct"
            / f"v{GENERATOR_VERSION}-c{CALIBRATION_VERSION}-seed{seed}-b{budget}-c{chains}-{cutoff}")


def _state_file(seed: int, budget: int, chains: int, cutoff: str) -> Path:
    return (CACHE_DIR / "reconstruct" / "states"
            / f"c{CALIBRATION_VERSION}-seed{seed}-b{budget}-c{chains}-{cutoff}.npz")


def _save_state(path: Path, res: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    st = res["state"]
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.npz")
    np.savez(tmp, **{k: st[k] for k in ("X", "age", "arm", "otype", "osd", "pfsd", "resp")},
             cutoff=np.array(res["cutoff"]), chain=np.array(res["chain"]),
             chains=np.array(json.dumps(res["chains"])))
    tmp.replace(path)


def _load_state(path: Path) -> dict:
    z = np.load(path)
    st = {k: z[k] for k in ("X", "age", "arm", "otype", "osd", "pfsd", "resp")}
    return {"state": st, "cutoff": str(z["cutoff"]), "chain": int(z["chain"]),
            "chains": json.loads(str(z["chains"]))}


def _read_files(folder: Path) -> dict:
    raw = pd.read_csv(folder / "cohort_raw.csv", dtype=str, keep_default_na=False)
    return {
        "raw": raw,
        "cohort": pd.read_csv(folder / "cohort.csv"),
        "ae": pd.read_csv(folder / "adverse_events.csv"),
        "manifest": json.loads((folder / "manifest.json").read_text()),
    }


def reconstruct(seed: int = DEFAULT_SEED, out=None, progress: bool = True, cache: bool = True,
                chains: int = DEFAULT_CHAINS, budget: int = DEFAULT_BUDGET, cutoff: str | None = None):
    """Reconstruct the cohort for *seed*; see :func:`hcc.reconstruct.reconstruct`."""
    from hcc.reconstruct import calibrate as cal

    cutoff = cutoff or cal.CUTOFF_START
    t0 = time.perf_counter()
    seed = int(seed)
    cdir = _cache_dir(seed, budget, chains, cutoff)
    cached = cache and all((cdir / f).exists() for f in (
        "cohort_raw.csv", "cohort.csv", "adverse_events.csv", "manifest.json"))
    timing = None
    if not cached:
        sfile = _state_file(seed, budget, chains, cutoff)
        if cache and sfile.exists():
            res = _load_state(sfile)
        else:
            res = calibrate(seed, budget, chains, cutoff, progress)
            timing = res["timing"]
            if cache:
                _save_state(sfile, res)
        found = res["cutoff"]
        frames = build_frames(res["state"], seed, found)
        ev = evaluate_state(res["state"], found)
        manifest = {
            "generator": "hcc.reconstruct", "generator_version": GENERATOR_VERSION,
            "seed": seed, "budget_moves_per_chain": budget, "chains": chains,
            "data_cutoff": found, "search_start_cutoff": cutoff, "enrolment": [cal.ENROL_START, cal.ENROL_END],
            "best_chain": res["chain"], "chain_scores": res["chains"],
            "months": "days / 30", "pfs_definition": "standard (death without progression is a PFS event)",
            "ae_term_map": AE_TERM_MAP,
            "fidelity": {"score": round(ev["score"], 6), "scored_items": ev["n_scored"],
                         "in_tolerance": ev["n_acc"], "printed_rounding": ev["n_exact"],
                         "lost_to_follow_up": ev["ltfu"],
                         "items": [{k: (v if not isinstance(v, float) or math.isfinite(v)
                                        else "inf") for k, v in r.items()}
                                   for r in ev["items"]]},
        }
        target = cdir if cache else Path(out) if out is not None else None
        if target is not None:
            tmp = target.with_name(target.name + f".tmp{os.getpid()}")
            write_files(frames, tmp, manifest)
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
    if cache:
        src = cdir
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if cache:
            for f in ("cohort_raw.csv", "cohort.csv", "adverse_events.csv", "manifest.json"):
                shutil.copyfile(src / f, out / f)
        path = out
    else:
        path = cdir if cache else None
    if path is not None:
        data = _read_files(path)
    else:
        data = {"raw": frames["raw"], "cohort": frames["cohort"], "ae": frames["ae"],
                "manifest": manifest}
    return Reconstruction(cohort=data["cohort"], raw=data["raw"], ae=data["ae"],
                          manifest=data["manifest"], path=path, cached=bool(cached),
                          seconds=time.perf_counter() - t0, timing=timing)
