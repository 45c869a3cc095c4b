"""The winning state's last stage: more Cox numbers at the paper's printed rounding.

After the chains, the winner has every scored item inside its acceptance tolerance. This
stage moves it, never losing an item in tolerance, towards the printed rounding of the 132
Cox numbers (HR and confidence limits at 2 dp, P at 3 dp), in three steps:

1. :func:`descent` — a lexicographic descent of single moves (every covariate swap, time
   shift and outcome exchange; ``calibrate.polish`` on ``scoring.exact_items``);
2. :func:`pair_rounds` — compound moves: two swaps of one covariate at once
   (:func:`hcc.reconstruct.compound.pair_swaps`), kept when no item leaves its tolerance
   and one more Cox number prints as the paper prints it;
3. :func:`descent` again, from the new state.

Why pairs: one swap moves a coefficient by 0.05-0.1 on the log scale, while a hazard
ratio's printed rounding and the tolerance of a large P are both about ±0.005 on that
scale. On the default seed's winner a single move nearly always pushes some number out of
tolerance (99% of the covariate swaps an annealer proposes there are refused for it), so
the single-move descent stops at 57 of 132; two swaps of one column can cancel each
other's coarse step, and the rounds reach 72 (issue 9's closing note has the figures).

Each step keeps a move only if the treatment × subgroup interaction check
(``hcc.plausibility`` check 12, compiled as ``scoring.interaction_p``) stays at or above
min(``ALPHA``, its value when the stage started), and every state it keeps is checked by
a full-precision refit and the compiled check on its sorted times; the state the stage
ends with is checked by check 12 itself (hcc.cox, as ``hcc plausibility`` runs it).
"""
from __future__ import annotations

import numpy as np

from hcc import paper

#: The single-move descent: sweeps at most, copies of each Cox row in tolerance (so that
#: its count never trades one number in tolerance for several printed ones; see
#: ``scoring.exact_items``) and the weight of the acceptance tolerance in its score (small:
#: the printed-rounding part of each penalty leads).
DESCENT_SWEEPS = 6
DESCENT_DUP = 3
DESCENT_WACC = 0.5
#: Rounds of compound moves (each a pass over the covariates, then a descent), the
#: evaluations one search for a pair may make (a covariate of the default seed has about
#: 600,000 pairs of swaps; the search stops at the first pair that helps), and the
#: evaluations of the whole stage per annealing move of a chain (so a small search budget,
#: as in the tests, makes a short stage; the default's 400,000 moves allow 8 million).
PAIR_ROUNDS = 3
PAIR_MAX_EVAL = 200_000
PAIR_EVALS_PER_MOVE = 20


def interaction_check(st) -> float:
    """``hcc.plausibility``'s check 12 on the state: the smallest Bonferroni-adjusted
    treatment × subgroup interaction P over both endpoints (``interaction_ps``,
    ``bonferroni_min``); the check fails below ``thresholds.ALPHA``."""
    import pandas as pd

    from hcc.plausibility.sections import bonferroni_min, interaction_ps
    from hcc.reconstruct import calibrate as cal

    cols = {v: st["X"][:, cal.TERM_INDEX[v]] for v in paper.SUBGROUP_VARIABLES}
    d = pd.DataFrame({"arm": st["arm"], "os": st["osd"], "pfs": st["pfsd"],
                      "os_e": (st["otype"] <= 1).astype(int),
                      "pfs_e": (st["otype"] <= 2).astype(int), **cols})
    ps = [bonferroni_min(interaction_ps(d, ep, f"{ep}_e", "arm", paper.SUBGROUP_VARIABLES)[0])
          for ep in ("os", "pfs")]
    return min((p for p in ps if np.isfinite(p)), default=1.0)


def _fitted_check(st, bufs) -> float:
    """Check 12 on *st* by the compiled ``scoring.interaction_p``, from the sort orders of
    the fit just made (*bufs*: ``_fit_state`` on *st*). The same number as
    :func:`interaction_check` to 1e-8 (``tests/test_reconstruct_printed.py``) at a
    sixtieth of its cost (lifelines' fits of check 12 were 29 of the stage's 62 s);
    :func:`last_stage` runs :func:`interaction_check` itself once on the state it ends with."""
    from hcc.reconstruct import calibrate as cal

    return float(cal.interaction_p(st["X"], bufs[5], bufs[6], bufs[7], cal.SUB_COLS, cal.K_ARM))


def descent(st, maxfu, window, it, bufs, items, limit=None):
    """The single-move descent towards the printed rounding (:func:`scoring.exact_items`),
    one sweep at a time. The descent's count could in principle trade one item in
    tolerance for several printed numbers, and a move that brings a number to its print
    can strengthen a treatment × subgroup interaction. So the descent keeps a move only if
    the compiled interaction check stays at or above *limit* (default min(``ALPHA``, its
    value at the start)); and after each sweep the state is checked by a full-precision
    refit and by the compiled check on it (:func:`_fitted_check`), and the state kept
    is the last sweep's that has no fewer items in tolerance and an interaction check at
    or above the limit. Calibration 15 had only the check after each sweep: on the
    shipped seed both sweeps lowered the OS × tumour-number interaction (adjusted P
    0.0103 → 0.0094 → 0.0092, below the check's 0.01) and none was kept. Works on *st* in
    place; returns (n_acc, score, n_exact) on the item arrays *it*."""
    from hcc.plausibility.thresholds import ALPHA
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct.generator import MOVING, _fit_state, _state_tuple, _terms

    start = _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)
    if limit is None:
        limit = min(ALPHA, interaction_check(st))
    kept = {k: st[k].copy() for k in MOVING}
    exact = cal.exact_items(items, DESCENT_DUP)
    ctrl = (int(maxfu), int(maxfu - window), 1, 30, DESCENT_WACC, True)
    guard = (cal.SUB_COLS, cal.K_ARM, limit)
    for _ in range(DESCENT_SWEEPS):
        prev = {k: st[k].copy() for k in MOVING}
        cal.polish(_state_tuple(st), tuple(bufs), exact, _terms(), ctrl, guard)
        if all(np.array_equal(prev[k], st[k]) for k in MOVING):
            break
        if (_fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)[0] >= start[0]
                and _fitted_check(st, bufs) >= limit):
            kept = {k: st[k].copy() for k in MOVING}
    for k in MOVING:
        st[k][...] = kept[k]
    return _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)


def _column_slots(k: int) -> set[int]:
    """The coefficient slots a swap of covariate *k* (-2: the stage block) can move: its
    univariate fits, the multivariable fits that include it and, when the swap can change
    BCLC (a stage column), BCLC's univariate fits and the BCLC-B subgroup's fit."""
    from hcc.reconstruct import calibrate as cal

    stage = (cal.K_ECOG, cal.K_PVTT, cal.K_METS)
    cols = set(stage) if k == -2 else {k}
    if cols & set(stage):
        cols.add(cal.K_BCLC)
    nt = len(cal.TERMS)
    slots = {e * nt + c for e in range(2) for c in cols}
    for e in range(2):
        p = int(cal.MULTI_P[e])
        if cols & {int(c) for c in cal.MULTI_TERMS[e, :p]}:
            slots.update(range(int(cal.MULTI_SLOT0[e]), int(cal.MULTI_SLOT0[e]) + p))
    if cal.K_BCLC in cols:
        slots.add(int(cal.SUB_SLOT))
    return slots


def _printed_rows(bufs, ltfu, printed) -> np.ndarray:
    """Which rows of the *printed* bundle are at their printed rounding."""
    from hcc.reconstruct import calibrate as cal

    kind, slot, blo, bhi, alo, ahi = printed[:6]
    v = cal.item_values(bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], ltfu, kind, slot)
    v = np.where(kind == cal.K_Z, np.abs(v), v)
    return (v >= alo) & (v <= ahi)


def _follow_ages(st, before: np.ndarray) -> None:
    """After a pair of swaps of the age > 60 column, give the ages to the patients who now
    carry the flag: within each arm the patients whose flag went up take, in row order,
    the ages of those whose flag went down (so every arm keeps its ages, and age > 60
    stays the flag)."""
    from hcc.reconstruct import calibrate as cal

    col = st["X"][:, cal.K_AGE]
    for a in np.unique(st["arm"]):
        rows = st["arm"] == a
        up = np.flatnonzero(rows & (col > before))
        down = np.flatnonzero(rows & (col < before))
        st["age"][up], st["age"][down] = st["age"][down].copy(), st["age"][up].copy()


def pair_rounds(st, maxfu, window, it, bufs, items, limit, max_eval, log=None) -> int:
    """Rounds of compound moves (:func:`hcc.reconstruct.compound.pair_swaps`): for each
    swappable covariate and the stage block, pairs of swaps are kept one at a time while
    one is found that brings one more item into tolerance, or keeps them and brings one
    more Cox number to its printed rounding, and keeps the interaction check at or above
    *limit* — each checked by a full-precision refit and :func:`_fitted_check`; a covariate
    whose Cox numbers all print is skipped. After each round, a :func:`descent`. Stops after
    :data:`PAIR_ROUNDS` rounds, a round without a gain or *max_eval* evaluations in all
    (a count, not a time: the result is the same on every machine). Works on *st* in
    place; returns the number of pairs kept."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct.compound import pair_swaps
    from hcc.reconstruct.generator import _fit_state, _state_tuple, _terms

    printed = cal.printed_items(items)
    minadmin = maxfu - window
    covs = [int(k) for k in cal.SWAPPABLE] + [-2]
    kept = 0
    left = int(max_eval)
    for r in range(PAIR_ROUNDS):
        gained = 0
        for k in covs:
            slots = _column_slots(k)
            while True:
                n_cur = _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)[0]
                ltfu = cal.count_ltfu(st["otype"], st["osd"], minadmin)
                at = _printed_rows(bufs, ltfu, printed)
                if left <= 0 or all(at[q] for q in range(len(at)) if printed[1][q] in slots):
                    break
                before = {key: st[key].copy() for key in ("X", "age")}
                nev = pair_swaps(_state_tuple(st), tuple(bufs), it, _terms(),
                                 np.array([k], np.int64), ltfu, cal.W_ACC_POLISH,
                                 min(PAIR_MAX_EVAL, left), printed,
                                 (cal.SUB_COLS, cal.K_ARM, limit))
                left -= abs(nev)
                if nev >= 0:
                    break
                if k == cal.K_AGE:
                    _follow_ages(st, before["X"][:, k])
                n1 = _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)[0]
                p1 = int(_printed_rows(bufs, ltfu, printed).sum())
                if (not (n1 > n_cur or (n1 == n_cur and p1 > at.sum()))
                        or _fitted_check(st, bufs) < limit):
                    for key in before:  # a gain of the fast fit only: undone, next covariate
                        st[key][...] = before[key]
                    break
                gained += 1
                if log is not None:
                    log(f"printed stage: round {r + 1}, {cal.TERMS[k] if k >= 0 else 'stage'}: "
                        f"{p1} of {len(at)} Cox numbers as printed, {n1} items in tolerance")
        kept += gained
        if not gained:
            break
        descent(st, maxfu, window, it, bufs, items, limit)
    return kept


def last_stage(st, cutoff: str, budget: int, log=None) -> tuple[int, float, int]:
    """The whole stage on the winning state *st* (in place): :func:`descent`, then
    :func:`pair_rounds` (each round ends with a descent) with
    :data:`PAIR_EVALS_PER_MOVE` × *budget* (the chains' moves) evaluations. The
    interaction limit is min(``ALPHA``, the check at the start) throughout; the search
    reads the compiled check (:func:`_fitted_check`), and the state it ends with is checked
    once more by check 12 itself (:func:`interaction_check`): should that check fall below
    the limit, the stage is undone (the winner as it came). Returns (n_acc, score,
    n_exact) on the plain item arrays."""
    from hcc.plausibility.thresholds import ALPHA
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct.generator import _fit_state
    from hcc.reconstruct.study_dates import _window

    maxfu, minadmin = _window(cutoff)
    window = maxfu - minadmin
    items = cal.build_items()
    it = cal.item_arrays(items)
    bufs = cal.workspace(len(st["age"]))
    limit = min(ALPHA, interaction_check(st))
    entry = {k: np.array(v).copy() for k, v in st.items()}
    if log is not None:
        log("printed stage: single-move descent")
    descent(st, maxfu, window, it, bufs, items, limit)
    pair_rounds(st, maxfu, window, it, bufs, items, limit, PAIR_EVALS_PER_MOVE * budget, log)
    if interaction_check(st) < limit:
        for k in entry:
            st[k][...] = entry[k]
    return _fit_state(st, maxfu, window, it, bufs, cal.W_ACC_POLISH)
