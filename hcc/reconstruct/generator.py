"""Build the synthetic cohort: initial state, annealing chains, dates, adverse events, files.

Everything here is deterministic given the seed: random numbers come from
``numpy.random.SeedSequence(seed)`` and from a counter-based generator inside the
compiled loop; the search runs for a fixed number of moves (never for a wall-clock time),
and with several chains the best one wins, ties going to the lowest chain number.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from hcc import paper
from hcc.paths import CACHE_DIR, DEFAULT_SEED

#: Bump when the generator's output for a given seed changes.
GENERATOR_VERSION = "2.4.0"
#: Bump when the calibrated state for a given seed changes (search, score, moves); a whole
#: number (the ensemble's rows store it as one).
CALIBRATION_VERSION = "18"
#: Moves per annealing chain (fixed budget → deterministic).
DEFAULT_BUDGET = 400_000
#: Annealing chains at most (forked processes, in waves of WAVE that stop once a chain has
#: every scored item in tolerance; see run_chains()).
DEFAULT_CHAINS = 32
#: chains run side by side (a constant, so that a seed gives the same cohort on any machine)
WAVE = 2
CHUNK = 5_000
#: Greedy sweeps after annealing (see calibrate.polish).
POLISH_SWEEPS = 6
#: Annealing temperatures (start, end) of a chain. The chain starts from a draw of the
#: generating model, so it starts cool: the search repairs the draw rather than
#: wandering away from it.
START_T = (1.0, 0.003)
#: A chain after the first wave: fraction of the budget and temperatures (start, end)
#: of its run from the best state of the earlier waves.
RESTART = (0.5, 0.3, 0.003)
#: Repair phase (see :func:`repair`): sweeps of each lexicographic descent, kick rounds,
#: moves per kick and the kick's temperatures.
REPAIR_SWEEPS = 4
REPAIR_ROUNDS = 1
REPAIR_KICK = 3000
REPAIR_T = (0.3, 0.01)
#: Final descent towards the printed rounding: sweeps, and the weight of the acceptance
#: tolerance in its score (small: the printed-rounding part of each penalty leads; the
#: lexicographic rule still never gives up an item in tolerance).
EXACT_SWEEPS = 3
EXACT_WACC = 0.5
#: Rounds of compound (two-swap) moves in the repair and evaluations allowed per round.
REPAIR_PAIR_ROUNDS = 2
REPAIR_PAIR_MAX_EVAL = 100_000

#: Model draws scored before a chain starts; the chain anneals from the best of them.
START_DRAWS = 64
#: The rescue (:func:`rescue_waves`): when none of a run's chains reaches every scored
#: item, up to a RESCUE_SHARE-th more chains (8 after the default 32; none after 2 or 3), in
#: waves of WAVE, continue the best state hot — the whole budget, from the temperature a
#: chain from the model starts at (RESCUE) — with the items it misses weighted
#: MISS_BOOST_MAX times. The waves' cool continuations (:data:`RESTART`) stay in the basin
#: of the best state; a hot chain leaves it and can come back with the missing item
#: (issue 9's closing note, session 13, has the seeds it rescued).
RESCUE_SHARE = 4
RESCUE = (1.0, START_T[0], START_T[1])
#: Guided restarts: an item that the best result of the earlier waves still misses weighs
#: this many times more in the next wave's chains (again for each wave it stays missed, up
#: to :data:`MISS_BOOST_MAX`), so the search stops trading it for its neighbours. The
#: chains' results are compared on the plain weights.
MISS_BOOST = 5.0
MISS_BOOST_MAX = 125.0
#: Keys of the state that moves change (the others — arm, regimen, availability, start
#: day — stay with their row).
MOVING = ("X", "age", "otype", "osd", "pfsd", "resp")
FIXED = ("arm", "arm_lo", "arm_n", "regimen", "avail", "start")

#: The paper's AE names → CTCAE v5 terms; defined in hcc.reconstruct.adverse_events.
from hcc.reconstruct.adverse_events import AE_TERM_MAP  # noqa: E402
from hcc.reconstruct.output import _read_files, build_frames, write_files  # noqa: E402
from hcc.reconstruct.study_dates import _cutoff_date, _window  # noqa: E402
from hcc.reconstruct import printed  # noqa: E402


def calibrate_cutoff() -> str:
    """The data cut-off a chain's search starts from (``calibrate.CUTOFF_START``)."""
    from hcc.reconstruct import calibrate as cal

    return cal.CUTOFF_START


def model_rules() -> dict:
    """The calibrator's timing constants that the generating model draws by."""
    from hcc.reconstruct import calibrate as cal

    keys = ("FIRST_SCAN", "CLINICAL_PD_MIN", "NON_PD_MIN", "MIN_PPS", "LAST_VISIT_GAP",
            "ENROL_START", "ENROL_END", "TERM_INDEX")
    return {k: getattr(cal, k) for k in keys}


def start_state(rng: np.random.Generator, cutoff: str, draws: int = START_DRAWS) -> dict:
    """The best of *draws* cohorts of the generating model (:mod:`model`), scored on the
    printed numbers and the realism items: where a chain starts. The draws share one
    draw of the ages."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import model

    maxfu, minadmin = _window(cutoff)
    items = cal.build_items()
    it = cal.item_arrays(items)
    bufs = cal.workspace(sum(paper.ARM_N.values()))
    rules = model_rules()
    best, best_key = None, None
    ages = model.draw_ages(rng)  # the slowest step, and no printed number but age depends on it
    for _ in range(draws):
        st = model.draw_cohort(rng, maxfu, rules, ages)
        cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-9, 60)
        lt = cal.count_ltfu(st["otype"], st["osd"], minadmin)
        s, nacc, _ = cal.score(bufs, lt, it)
        if best_key is None or (-nacc, s) < best_key:
            best, best_key = st, (-nacc, s)
    return best


def run_chain(chain_seed: np.random.SeedSequence, budget: int, cutoff: str,
              progress=None, slot: int = 0, t0: float = START_T[0], t1: float = START_T[1],
              polish_sweeps: int = POLISH_SWEEPS, init: dict | None = None) -> dict:
    """One chain: the best of :data:`START_DRAWS` model draws, annealed for *budget* moves
    from temperature *t0* down to *t1*, then repaired; returns the best state found.

    With *init* (a result of an earlier chain: ``state`` and ``cutoff``, and ``boost``, the
    factor on each item's weight, see :data:`MISS_BOOST`) the chain starts from that state
    instead, with a shorter, cooler run (:data:`RESTART`): chains after the first wave
    continue the best one rather than start again from the model. The returned ``score``
    is on the plain weights. *init* may also carry ``schedule``: (fraction of the budget,
    start and end temperature) instead of :data:`RESTART` (the rescue's :data:`RESCUE`)."""
    from hcc.reconstruct import calibrate as cal

    rng = np.random.default_rng(chain_seed)
    items = cal.build_items()
    plain = cal.item_arrays(items)
    if init is not None and init.get("boost") is not None:
        items["weight"] = items["weight"] * np.asarray(init["boost"], dtype=np.float64)
    it = cal.item_arrays(items)
    if init is None:
        st = start_state(rng, cutoff)
    else:
        st = {k: np.array(v).copy() for k, v in init["state"].items()}
        cutoff = init["cutoff"]
        frac, t0, t1 = init.get("schedule", RESTART)
        budget = max(1, int(budget * frac))
    maxfu, minadmin = _window(cutoff)
    bufs = cal.workspace(len(st["age"]))
    cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-9, 60)
    ltfu = cal.count_ltfu(st["otype"], st["osd"], minadmin)
    s, nacc, nex = cal.score(bufs, ltfu, it)
    cur = np.array([s, nacc, nex], dtype=np.float64)
    best = {k: st[k].copy() for k in MOVING}
    best_info = np.array([s, nacc, nex, 0.0, maxfu])
    window = maxfu - minadmin
    cutv = np.array([maxfu], dtype=np.int64)
    cutlo = _window(cal.CUTOFF_MIN)[0]
    cuthi = _window(cal.CUTOFF_MAX)[0]
    rs = np.array([np.uint64(chain_seed.generate_state(1, np.uint64)[0])], dtype=np.uint64)
    t_start = time.perf_counter()
    step = 0
    while step < budget:
        k = min(CHUNK, budget - step)
        cal.anneal(_state_tuple(st), bufs, _best_tuple(best, best_info), it, _terms(),
                   (cutv, window, cutlo, cuthi), (rs, step, k, budget, t0, t1, cur, cal.W_ACC))
        step += k
        if progress is not None:
            progress[slot * 4: slot * 4 + 4] = [step, best_info[0], best_info[1], best_info[2]]
    annealed = int(best_info[1])
    t_anneal = time.perf_counter() - t_start
    if polish_sweeps > 0:
        for k in MOVING:
            st[k][...] = best[k]
        rep, fu_r, (nacc, s, nex) = repair(st, int(best_info[4]), window, rs, it=it)
        ev_key = _fit_state(st, int(best_info[4]), window, it, bufs, cal.W_ACC_POLISH)
        if (nacc, -s) > (ev_key[0], -ev_key[1]):
            best = {k: rep[k] for k in MOVING}
            best_info[:3] = [s, nacc, nex]
            best_info[4] = fu_r
        else:
            best_info[:3] = [ev_key[1], ev_key[0], ev_key[2]]
        # last: towards the printed rounding, never losing an item in tolerance
        for k in MOVING:
            st[k][...] = best[k]
        _lex_polish(st, int(best_info[4]), window, it, bufs, EXACT_SWEEPS, EXACT_WACC)
        key = _fit_state(st, int(best_info[4]), window, it, bufs, cal.W_ACC_POLISH)
        if key[0] >= best_info[1]:
            best = {k: st[k].copy() for k in MOVING}
            best_info[:3] = [key[1], key[0], key[2]]
        if progress is not None:
            progress[slot * 4: slot * 4 + 4] = [step, best_info[0], best_info[1], best_info[2]]
    elif polish_sweeps == 0:  # warm-up: compile the descent only
        _lex_polish(st, int(best_info[4]), window, it, bufs, 0)
    best.update({k: st[k] for k in FIXED})
    if it is not plain and polish_sweeps > 0:
        for k in MOVING:
            st[k][...] = best[k]
        best_info[1], best_info[0], best_info[2] = _fit_state(st, int(best_info[4]), window, plain,
                                                              bufs, cal.W_ACC_POLISH)
    return {"state": best, "score": float(best_info[0]), "n_acc": int(best_info[1]),
            "n_exact": int(best_info[2]), "best_step": int(best_info[3]),
            "n_acc_annealed": annealed, "cutoff": _cutoff_date(int(best_info[4])),
            "seconds": (t_anneal, time.perf_counter() - t_start - t_anneal)}


def _state_tuple(st: dict) -> tuple:
    """The compiled search's state bundle (``calibrate.anneal``)."""
    return tuple(st[k] for k in ("X", "age", "arm", "arm_lo", "arm_n", "otype", "osd", "pfsd",
                                 "resp", "avail"))


def _best_tuple(best: dict, info: np.ndarray) -> tuple:
    return tuple(best[k] for k in ("X", "age", "otype", "osd", "pfsd", "resp")) + (info,)


def _terms() -> tuple:
    """The compiled search's model-terms bundle (``calibrate.anneal``)."""
    from hcc.reconstruct import calibrate as cal

    return (cal.MULTI_TERMS, cal.MULTI_P, cal.MULTI_SLOT0, cal.SUB_SLOT, cal.SWAPPABLE,
            cal.K_AGE, cal.K_ECOG, cal.K_ARM, cal.K_PVTT, cal.K_METS, cal.K_BCLC)


def _fit_state(st, maxfu, window, it, bufs, wacc):
    """Refit everything for state *st* (full precision); returns (n_acc, score, n_exact)."""
    from hcc.reconstruct import calibrate as cal

    cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-12, 100)
    lt = cal.count_ltfu(st["otype"], st["osd"], maxfu - window)
    s, nacc, nex = cal.score(bufs, lt, it, wacc)
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


def _lex_polish(st, maxfu, window, it, bufs, sweeps, wacc=None):
    """:func:`calibrate.polish` with lexicographic acceptance (items in tolerance never
    fall); *wacc* the weight of the acceptance tolerance in the score (default
    ``calibrate.W_ACC_POLISH``; a small one makes the descent aim at the printed rounding)."""
    from hcc.reconstruct import calibrate as cal

    wacc = cal.W_ACC_POLISH if wacc is None else wacc
    cal.polish(_state_tuple(st), tuple(bufs), it, _terms(),
               (int(maxfu), int(maxfu - window), int(sweeps), 30, float(wacc), True), cal.NO_GUARD)


def repair(st: dict, maxfu: int, window: int, rs: np.ndarray, rounds: int | None = None,
           log=None, it: tuple | None = None) -> tuple[dict, int, tuple[int, float]]:
    """Final repair phase: lexicographic local search, then iterated kicks.

    First a deterministic greedy descent (:func:`hcc.reconstruct.calibrate.polish` with
    ``lex=True``) that accepts a move when it raises the number of items inside the
    acceptance tolerance, or keeps it and lowers the score, over the full neighbourhoods
    (every same-arm covariate swap, every ±1..30-day time shift, every same-arm outcome
    exchange). Then, while items remain outside tolerance, up to *rounds* rounds of a short
    cold annealing kick from the best state followed by the same descent; a round's result
    is kept only if it is lexicographically better (more in tolerance, then lower score).
    Random numbers come from the chain's counter-based generator *rs*, so the result is
    deterministic. *it*: the item arrays to score by (default the plain ones of
    :func:`~hcc.reconstruct.calibrate.build_items`). Returns (state, cut-off in days,
    (n_acc, score)).
    """
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct.compound import no_items, pair_swaps

    rounds = REPAIR_ROUNDS if rounds is None else rounds
    it = cal.item_arrays(cal.build_items()) if it is None else it
    n_scored = int((it[7] > 0).sum())
    n = len(st["age"])
    bufs = cal.workspace(n)
    keys = MOVING
    st = {k: np.array(v).copy() for k, v in st.items()}
    _lex_polish(st, maxfu, window, it, bufs, REPAIR_SWEEPS)
    best = {k: v.copy() for k, v in st.items()}
    best_fu = maxfu
    best_key = _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)
    if log is not None:
        log(f"repair: lexicographic descent -> {best_key[0]}/{n_scored} in tolerance")
    # compound moves: two swaps of a covariate whose Cox items miss, then descent again
    for r in range(REPAIR_PAIR_ROUNDS):
        if best_key[0] >= n_scored:
            break
        covs = _missing_covariates(best, best_fu)
        if not covs:
            break
        for k in st:
            st[k][...] = best[k]
        _fit_state(st, best_fu, window, it, bufs, cal.W_ACC_POLISH)
        nev = pair_swaps(_state_tuple(st), tuple(bufs), it, _terms(), np.array(covs, np.int64),
                         cal.count_ltfu(st["otype"], st["osd"], best_fu - window),
                         cal.W_ACC_POLISH, REPAIR_PAIR_MAX_EVAL, no_items(), cal.NO_GUARD)
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
        cal.anneal(_state_tuple(st), tuple(bufs), _best_tuple(dummy, dinfo), it, _terms(),
                   (cutv, window, cutlo, cuthi),
                   (rs, 0, REPAIR_KICK, REPAIR_KICK, REPAIR_T[0], REPAIR_T[1], cur,
                    cal.W_ACC_POLISH))
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


def _worker(idx, seq, budget, cutoff, progress, queue, init):
    try:
        queue.put((idx, run_chain(seq, budget, cutoff, progress, idx, init=init)))
    except BaseException as exc:  # pragma: no cover - reported in the parent
        queue.put((idx, exc))


def evaluate_state(state: dict, cutoff: str) -> dict:
    """Full-precision fast evaluation of a state: item table and totals."""
    from hcc.reconstruct import calibrate as cal

    maxfu, minadmin = _window(cutoff)
    items = cal.build_items()
    n = len(state["age"])
    fits = cal.workspace(n)
    cb, cse, kmv, lr, fu = fits[:5]
    cal.full_eval(cal.patients(state), fits, cal.model_terms(), 1e-14, 200)
    ltfu = cal.count_ltfu(state["otype"], state["osd"], minadmin)
    s, nacc, nex = cal.score(fits, ltfu, cal.item_arrays(items))
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
                     "realism": kind in cal.REALISM_KINDS,
                     "printed_rounding": bool(inband), "in_tolerance": bool(acc)})
    return {"score": float(s), "n_acc": int(nacc), "n_exact": int(nex),
            "n_scored": int((items["weight"] > 0).sum()), "items": rows,
            "ltfu": int(ltfu)}


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


def chains_in_process() -> bool:
    """True when the chains must run in this process, one after the other: in a daemonic
    process (a Dask worker under its nanny, a ``multiprocessing`` pool worker: such a
    process may not have children) or when the environment sets ``HCC_CHAINS_IN_PROCESS=1``
    (the ensemble's Dask tasks do: one core per task)."""
    import multiprocessing as mp

    return bool(mp.current_process().daemon) or os.environ.get("HCC_CHAINS_IN_PROCESS") == "1"


def _run_wave(wave, seqs, budget, cutoff, shared, results, progress, t_start, n_scored,
              total, init=None):
    """Run the chains in *wave* side by side in forked processes (from *init*, the best
    result of the earlier waves, when given); fills *results*. Where this process may not
    fork (see :func:`chains_in_process`) the chains of the wave run one after the other
    here instead: the same chains from the same seeds, so the same result."""
    import multiprocessing as mp

    if chains_in_process():
        for c in wave:
            results[c] = run_chain(seqs[c], budget, cutoff, shared, c, init=init)
        if progress:
            sys.stderr.write(_progress_line(shared, wave, -(-total // WAVE), budget, t_start,
                                            n_scored))
            sys.stderr.flush()
        return
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(c, seqs[c], budget, cutoff, shared, queue, init))
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


def miss_boost(result: dict, boost: np.ndarray | None) -> np.ndarray:
    """The weight factors of the next wave (:data:`MISS_BOOST`): *boost* (ones at first)
    times ``MISS_BOOST`` for each scored item that *result* misses, capped at
    :data:`MISS_BOOST_MAX`."""
    miss = _missed(result)
    boost = np.ones(len(miss)) if boost is None else np.array(boost, dtype=np.float64)
    boost[miss] = np.minimum(MISS_BOOST_MAX, boost[miss] * MISS_BOOST)
    return boost


def _missed(result: dict) -> np.ndarray:
    """Which items of ``calibrate.build_items`` *result* (``state``, ``cutoff``) scores and
    misses (full-precision :func:`evaluate_state`)."""
    ev = evaluate_state(result["state"], result["cutoff"])
    return np.array([r["scored"] and not r["in_tolerance"] for r in ev["items"]], dtype=bool)


def rescue_waves(seqs, first: int, budget: int, cutoff: str, shared, results: dict,
                 show: tuple) -> None:
    """The rescue (:data:`RESCUE_SHARE`): chains ``first, first + 1, ...`` from *seqs*, in
    waves of :data:`WAVE`, each continuing the best result so far (of *results*, which it
    fills; best as :func:`run_chains` chooses) hot (:data:`RESCUE`), with the items that
    result misses weighted :data:`MISS_BOOST_MAX` times (not the waves' boost: the rescue
    depends only on the results it is given). Stops after the first wave with a chain at
    every scored item. *show*: (progress, start time, the number of scored items: the count a
    chain must reach)."""
    progress, t_start, n_scored = show
    total = first + len(seqs)
    seqs = [None] * first + list(seqs)
    for w0 in range(first, total, WAVE):
        best = results[_best_chain(results)]
        if best["n_acc"] >= n_scored:
            return
        init = {**best, "boost": np.where(_missed(best), MISS_BOOST_MAX, 1.0),
                "schedule": RESCUE}
        _run_wave(list(range(w0, min(total, w0 + WAVE))), seqs, budget, cutoff, shared,
                  results, progress, t_start, n_scored, total, init)


def _best_chain(results: dict) -> int:
    """The best of the chains' *results*: most items in tolerance, then the lowest score
    (plain weights), then the lowest chain number."""
    return min(results, key=lambda c: (-results[c]["n_acc"], results[c]["score"], c))


def run_chains(seed: int, budget: int, chains: int, cutoff: str, progress: bool) -> dict:
    """Run up to *chains* annealing chains and return the best.

    Chains run in waves of :data:`WAVE` side by side (one process each); when a chain of a
    wave ends with every scored item inside the acceptance tolerance, no further wave is
    started. When none of the *chains* gets there, :func:`rescue_waves` adds up to
    ``chains // RESCUE_SHARE`` hot chains. The wave size is a constant, not the machine's
    number of cores, so the result of a seed is the same on every machine.
    """
    import multiprocessing as mp

    from hcc.reconstruct import calibrate as cal

    seqs = np.random.SeedSequence(seed).spawn(chains + chains // RESCUE_SHARE)
    n_scored = int((cal.build_items()["weight"] > 0).sum())
    t_start = time.perf_counter()
    results = {}
    if chains == 1:
        results[0] = run_chain(seqs[0], budget, cutoff, None, 0)
    else:
        if progress:
            sys.stderr.write(f"reconstruct: seed {seed}: loading the compiled search (the first run "
                             "on a machine compiles it, about a minute)\n")
            sys.stderr.flush()
        warmup()
        shared = mp.get_context("fork").Array("d", 4 * len(seqs), lock=False)
        for c in range(len(seqs)):
            shared[4 * c + 1] = math.inf
        boost = None
        for w0 in range(0, chains, WAVE):
            wave = list(range(w0, min(chains, w0 + WAVE)))
            init = None
            if results:
                init = results[_best_chain(results)]
                boost = miss_boost(init, boost)
                init = {**init, "boost": boost}
            _run_wave(wave, seqs, budget, cutoff, shared, results, progress, t_start,
                      n_scored, chains, init)
            if any(results[c]["n_acc"] >= n_scored for c in wave):
                break
        else:
            rescue_waves(seqs[chains:], chains, budget, cutoff, shared, results,
                         (progress, t_start, n_scored))
    if progress:
        sys.stderr.write("\n")
        sys.stderr.flush()
    run = sorted(results)
    best = _best_chain(results)
    out = results[best]
    out["chain"] = best
    # last, once on the winner: more Cox numbers as printed, none leaving its tolerance
    # (after the chains, so that it does not change which states the waves pass on)
    log = None
    if progress:
        def log(msg):
            sys.stderr.write(f"\rreconstruct: seed {seed}: {msg}\033[K")
            sys.stderr.flush()
    out["n_acc"], out["score"], out["n_exact"] = printed.last_stage(
        out["state"], out["cutoff"], budget, log)
    if progress:
        sys.stderr.write("\n")
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
    np.savez(tmp, **{k: st[k] for k in MOVING + FIXED},
             cutoff=np.array(res["cutoff"]), chain=np.array(res["chain"]),
             chains=np.array(json.dumps(res["chains"])))
    tmp.replace(path)


def _load_state(path: Path) -> dict:
    z = np.load(path)
    st = {k: z[k] for k in MOVING + FIXED}
    return {"state": st, "cutoff": str(z["cutoff"]), "chain": int(z["chain"]),
            "chains": json.loads(str(z["chains"]))}


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
            res = run_chains(seed, budget, chains, cutoff, progress)
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
