"""Tests of the reconstruction's last stage on the winning state (hcc.reconstruct.printed)
and of the compound moves it shares with the chains' repair (hcc.reconstruct.compound).

References: hcc.paper (the printed values, read from their text); hcc.plausibility's check
12 (treatment × subgroup interaction, by hcc.cox); the generator's full-precision
evaluation (``generator.evaluate_state``), recounted here from its item table; a full
refit of every Cox model (``scoring.full_eval``) for which fits a swap can move.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from test_reconstruct import _model_draws


def _counts(state, cutoff):
    """(scored items in tolerance, Cox numbers at the printed rounding), recounted from
    the generator's full-precision item table."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import generator

    items = cal.build_items()
    ev = generator.evaluate_state(state, cutoff)
    in_tol = sum(r["in_tolerance"] for r in ev["items"] if r["scored"])
    printed = sum(r["printed_rounding"] for r, k in zip(ev["items"], items["kind"])
                  if k in cal.COX_KINDS and r["scored"])
    return in_tol, printed


def _margins(st):
    """Per arm, the number of patients with each binary covariate (and the sorted ages)."""
    return [(st["X"][st["arm"] == a].sum(axis=0).tolist(), sorted(st["age"][st["arm"] == a]))
            for a in (0, 1)]


def test_printed_rows_accept_exactly_the_printed_rounding():
    """scoring.exact_items: every scored Cox number keeps its row, gains dup - 1 copies of it
    and one row whose acceptance band is the printed rounding — checked against the paper's
    text: an HR row accepts HR = printed ± 0.005 and no more, a P row accepts the |z| of
    two-sided P = printed ± half a unit of its last printed decimal."""
    from scipy.stats import norm

    from hcc.reconstruct import calibrate as cal

    items = cal.build_items()
    n = len(items["kind"])
    cox = [q for q in range(n) if items["kind"][q] in cal.COX_KINDS and items["weight"][q] > 0]
    dup = 3
    kind, slot, blo, bhi, alo, ahi, scale, weight = cal.exact_items(items, dup)
    assert len(kind) == n + dup * len(cox)
    assert np.array_equal(kind[:n], items["kind"]) and np.array_equal(alo[:n], items["alo"])
    printed = slice(n + (dup - 1) * len(cox), None)
    assert np.array_equal(slot[printed], items["slot"][cox])
    checked = {"HR": 0, "P": 0}
    for q, src in zip(range(n + (dup - 1) * len(cox), len(kind)), cox):
        text = items["target"][src]
        if kind[q] == cal.K_LOGHR:
            v = float(text)
            assert math.exp(alo[q]) == pytest.approx(v - 0.005, abs=1e-12)
            assert math.exp(ahi[q]) == pytest.approx(v + 0.005, abs=1e-12)
            checked["HR"] += 1
        elif kind[q] == cal.K_Z and not text.startswith("<"):
            v, half = float(text), 0.5 * 10.0 ** -(len(text.split(".")[1]))
            assert alo[q] >= 0
            assert 2 * norm.sf(alo[q]) == pytest.approx(v + half, abs=1e-12)
            assert 2 * norm.sf(ahi[q]) == pytest.approx(max(v - half, 0.0), abs=1e-12)
            checked["P"] += 1
    assert checked["HR"] > 20 and checked["P"] > 20


def test_compiled_interaction_check_equals_plausibility_check_12():
    """scoring.interaction_p (the printed descent's guard, compiled) against check 12 of
    hcc.plausibility (the LR test by hcc.cox, Bonferroni over the estimable variables,
    through printed.interaction_check): equal to 1e-8 on model draws, on a draw made
    implausible on purpose (treatment works only in one level of a subgroup variable: the
    check must fail), and on a draw where a cell arm × level has no death (the variable
    is not estimable and leaves the Bonferroni count)."""
    from hcc.plausibility.thresholds import ALPHA
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import generator, printed

    _, draws = _model_draws(3, seed=11)
    # implausible: TKI-ICI patients with tumour size > 5 cm get the TKI arm's worst OS times
    bad = {k: v.copy() for k, v in draws[0].items()}
    k = cal.TERM_INDEX["tumor_size_gt5"]
    ici = np.flatnonzero((bad["arm"] == 1) & (bad["otype"] <= 1))
    order = ici[np.argsort(bad["osd"][ici])]
    big = np.flatnonzero(bad["arm"] == 1)
    bad["X"][big, k] = 0.0
    bad["X"][order[:12], k] = 1.0  # the 12 earliest TKI-ICI deaths are the big tumours
    # not estimable: no event among TKI patients with AFP > 400
    empty = {kk: v.copy() for kk, v in draws[1].items()}
    ka = cal.TERM_INDEX["afp_gt400"]
    tki = np.flatnonzero(empty["arm"] == 0)
    empty["X"][tki, ka] = (empty["otype"][tki] == 3).astype(float)
    assert (empty["X"][tki, ka] == 1).any()
    for st in [*draws, bad, empty]:
        bufs = cal.workspace(len(st["age"]))
        cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-12, 100)
        got = cal.interaction_p(st["X"], bufs[5], bufs[6], bufs[7], cal.SUB_COLS, cal.K_ARM)
        want = printed.interaction_check(st)
        assert got == pytest.approx(want, rel=1e-8, abs=1e-12), (got, want)
    bufs = cal.workspace(len(bad["age"]))
    cal.full_eval(cal.patients(bad), bufs, cal.model_terms(), 1e-12, 100)
    assert cal.interaction_p(bad["X"], bufs[5], bufs[6], bufs[7], cal.SUB_COLS, cal.K_ARM) < ALPHA


def test_guarded_descent_never_lowers_the_interaction_check_below_its_limit():
    """The printed descent with the guard (calibrate.polish, *guard* = (SUB_COLS, K_ARM,
    limit)): on a model draw, the limit set just above the draw's own adjusted interaction
    P (so that almost every move that strengthens an interaction is refused) is still met
    by hcc.plausibility's check after the descent, while the same descent without the
    guard (NO_GUARD) goes below it — the guard is what holds it."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import generator, printed

    cutoff = generator.calibrate_cutoff()
    maxfu, minadmin = generator._window(cutoff)
    exact = cal.exact_items(cal.build_items(), printed.DESCENT_DUP)
    ctrl = (maxfu, minadmin, 2, 30, printed.DESCENT_WACC, True)
    _, draws = _model_draws(1, seed=5)
    p0 = printed.interaction_check(draws[0])
    ends = {}
    for name, guard in (("guarded", (cal.SUB_COLS, cal.K_ARM, p0)), ("free", cal.NO_GUARD)):
        st = {k: v.copy() for k, v in draws[0].items()}
        cal.polish(generator._state_tuple(st), tuple(cal.workspace(len(st["age"]))), exact,
                   generator._terms(), ctrl, guard)
        ends[name] = printed.interaction_check(st)
    assert ends["guarded"] >= p0 * (1 - 1e-9), (p0, ends)
    assert ends["free"] < p0, (p0, ends)


def test_printed_descent_raises_the_printed_count_and_loses_nothing():
    """The chain's last step. Its descent (calibrate.polish on scoring.exact_items) raises
    the number of Cox numbers at the printed rounding of a model draw; the step that keeps
    it (printed.descent) never ends with fewer scored items in tolerance, nor with
    a treatment × subgroup interaction check that newly fails (plausibility's LR test,
    recomputed here by hcc.plausibility.interaction_lr through printed.interaction_check) —
    by the generator's full-precision evaluation, recounted here from the item table."""
    from hcc.plausibility.thresholds import ALPHA
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import generator, printed

    cutoff = generator.calibrate_cutoff()
    items = cal.build_items()

    def counts(state):
        ev = generator.evaluate_state(state, cutoff)
        in_tol = sum(r["in_tolerance"] for r in ev["items"] if r["scored"])
        printed = sum(r["printed_rounding"] for r, k in zip(ev["items"], items["kind"])
                      if k in cal.COX_KINDS and r["scored"])
        return in_tol, printed

    maxfu, minadmin = generator._window(cutoff)
    _, draws = _model_draws(2, seed=5)
    st = {k: v.copy() for k, v in draws[0].items()}
    before = counts(st)
    cal.polish(generator._state_tuple(st), tuple(cal.workspace(len(st["age"]))),
               cal.exact_items(items, printed.DESCENT_DUP), generator._terms(),
               (maxfu, minadmin, printed.DESCENT_SWEEPS, 30, printed.DESCENT_WACC, True),
               cal.NO_GUARD)
    assert counts(st)[1] > before[1]
    for st in draws:
        before, p_before = counts(st), printed.interaction_check(st)
        printed.descent(st, maxfu, maxfu - minadmin, cal.item_arrays(items),
                        cal.workspace(len(st["age"])), items)
        after, p_after = counts(st), printed.interaction_check(st)
        assert after[0] >= before[0], (before, after)
        assert p_after >= ALPHA or p_after >= p_before, (p_before, p_after)


def test_printed_items_are_the_last_block_of_the_exact_items():
    """scoring.printed_items is the printed-rounding block of scoring.exact_items (one row
    per scored Cox number, in item order), the bundle the compound moves count by."""
    from hcc.reconstruct import calibrate as cal

    items = cal.build_items()
    got = cal.printed_items(items)
    n = len(got[0])
    assert n == int((np.isin(items["kind"], cal.COX_KINDS) & (items["weight"] > 0)).sum()) == 132
    for a, b in zip(got, cal.exact_items(items, 3)):
        assert np.array_equal(a, b[-n:])


def test_column_slots_cover_every_fit_a_swap_moves():
    """printed._column_slots(k): a swap of covariate k (or of the stage block, -2) between
    two patients of an arm, followed by a full refit of every Cox model, moves no
    coefficient outside the slots named — checked for every covariate on model draws, with
    swaps that change BCLC too."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import printed

    _, draws = _model_draws(2, seed=17)
    rng = np.random.default_rng(4)
    checked = 0
    for st in draws:
        bufs = cal.workspace(len(st["age"]))
        cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-12, 100)
        b0 = bufs[0].copy()
        for k in [int(c) for c in cal.SWAPPABLE] + [-2]:
            slots = printed._column_slots(k)
            for _ in range(15):
                a = rng.integers(2)
                i, j = rng.choice(np.flatnonzero(st["arm"] == a), 2, replace=False)
                X0 = st["X"].copy()
                if cal._swap_cov(st["X"], i, j, k, cal.K_ECOG, cal.K_PVTT, cal.K_METS,
                                 cal.K_BCLC) == 0:
                    continue
                cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-12, 100)
                moved = set(np.flatnonzero(np.abs(bufs[0] - b0) > 1e-9).tolist())
                assert moved <= slots, (k, moved - slots)
                checked += bool(moved)
                st["X"][...] = X0
                cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-12, 100)
    assert checked > 100


def test_pair_swaps_keep_a_pair_only_when_it_gains_and_leave_the_state_otherwise():
    """compound.pair_swaps: with an empty printed bundle and no guard (the repair's call) a
    kept pair has more items in tolerance (by the fast fit it returns); with the printed
    bundle a kept pair has more in tolerance, or as many and more Cox numbers printed; a
    kept pair is two swaps of one covariate within arms (every arm's column counts stay);
    when nothing is kept the state and the fits are exactly as on entry."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import compound, generator

    cutoff = generator.calibrate_cutoff()
    maxfu, minadmin = generator._window(cutoff)
    items = cal.build_items()
    it = cal.item_arrays(items)
    pr = cal.printed_items(items)
    _, draws = _model_draws(2, seed=23)
    outcomes = {"kept": 0, "none": 0}
    for st in draws:
        for bundle, k, maxeval in ((compound.no_items(), cal.K_ECOG, 3000), (pr, -2, 3000),
                                   (pr, cal.TERM_INDEX["afp_gt400"], 40), (pr, cal.K_AGE, 5)):
            bufs = cal.workspace(len(st["age"]))
            cal.full_eval(cal.patients(st), bufs, cal.model_terms(), 1e-12, 100)
            lt = cal.count_ltfu(st["otype"], st["osd"], minadmin)
            _, n0, _ = cal.score(bufs, lt, it, cal.W_ACC_POLISH)
            p0 = cal.score(bufs, lt, bundle, 0.0)[1]
            X0, fits0, m0 = st["X"].copy(), [b.copy() for b in bufs], _margins(st)
            nev = compound.pair_swaps(generator._state_tuple(st), tuple(bufs), it,
                                      generator._terms(), np.array([k], np.int64), lt,
                                      cal.W_ACC_POLISH, maxeval, bundle, cal.NO_GUARD)
            if nev < 0:
                _, n1, _ = cal.score(bufs, lt, it, cal.W_ACC_POLISH)
                p1 = cal.score(bufs, lt, bundle, 0.0)[1]
                assert n1 > n0 or (n1 == n0 and p1 > p0), (n0, n1, p0, p1)
                cols = np.flatnonzero((st["X"] != X0).any(axis=0))
                rows = np.flatnonzero((st["X"] != X0).any(axis=1))
                assert 2 <= len(rows) <= 4
                if k >= 0 and k != cal.K_ECOG:
                    assert set(cols.tolist()) == {k}
                assert [m[0] for m in _margins(st)] == [m[0] for m in m0]
                outcomes["kept"] += 1
            else:
                assert nev <= maxeval
                assert np.array_equal(st["X"], X0)
                assert all(np.array_equal(a, b) for a, b in zip(bufs[:2], fits0[:2]))
                outcomes["none"] += 1
            st["X"][...] = X0
    assert outcomes["kept"] > 0 and outcomes["none"] > 0, outcomes


def test_ages_follow_the_age_flag_after_a_pair():
    """printed._follow_ages: after the age > 60 column moved in two pairs of one arm, the
    patients whose flag went up take the ages of those whose went down, so the flag is
    age > 60 again and each arm keeps its ages (its median and quartiles of Table 1)."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import printed

    _, draws = _model_draws(1, seed=29)
    st = draws[0]
    k = cal.K_AGE
    assert np.array_equal(st["X"][:, k] == 1, st["age"] > 60)
    before = st["X"][:, k].copy()
    m0 = _margins(st)
    arm = st["arm"]
    for a in (0, 1):
        old = np.flatnonzero((arm == a) & (before == 1))[:2]
        young = np.flatnonzero((arm == a) & (before == 0))[:2]
        st["X"][old, k], st["X"][young, k] = 0.0, 1.0
    assert not np.array_equal(st["X"][:, k] == 1, st["age"] > 60)
    printed._follow_ages(st, before)
    assert np.array_equal(st["X"][:, k] == 1, st["age"] > 60)
    assert _margins(st) == m0


def test_pair_rounds_lose_nothing_and_keep_the_interaction_check():
    """printed.pair_rounds on model draws (a small evaluation budget): by the generator's
    full-precision evaluation, recounted from the item table, no item leaves its
    tolerance and the count of items in tolerance, then of Cox numbers as printed, does
    not fall; hcc.plausibility's check 12 ends at or above the limit it was given; every
    arm keeps its covariate counts and its ages, and age > 60 stays the age flag; and a
    draw where it keeps something ends strictly better."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import generator, printed

    cutoff = generator.calibrate_cutoff()
    maxfu, minadmin = generator._window(cutoff)
    items = cal.build_items()
    _, draws = _model_draws(2, seed=31)
    kept_any = False
    for st in draws:
        before = _counts(st, cutoff)
        limit = min(0.01, printed.interaction_check(st))
        m0 = _margins(st)
        kept = printed.pair_rounds(st, maxfu, maxfu - minadmin, cal.item_arrays(items),
                                   cal.workspace(len(st["age"])), items, limit, 30_000)
        after = _counts(st, cutoff)
        assert after >= before, (before, after)
        assert printed.interaction_check(st) >= limit
        assert _margins(st) == m0
        assert np.array_equal(st["X"][:, cal.K_AGE] == 1, st["age"] > 60)
        if kept:
            kept_any = True
            assert after > before
    assert kept_any


def test_last_stage_is_undone_when_check_12_itself_ends_below_the_limit(monkeypatch):
    """printed.last_stage searches with the compiled check and runs hcc.plausibility's
    check 12 (printed.interaction_check) once more on the state it ends with. On a model
    draw the stage moves the state; with check 12 made to answer 1.0 at the start and 0.0
    at the end, the same stage hands back the state exactly as it came."""
    from hcc.reconstruct import generator, printed

    cutoff = generator.calibrate_cutoff()
    _, draws = _model_draws(1, seed=41)
    entry = {k: np.array(v).copy() for k, v in draws[0].items()}
    free = {k: v.copy() for k, v in entry.items()}
    printed.last_stage(free, cutoff, 200)
    assert any(not np.array_equal(free[k], entry[k]) for k in generator.MOVING)

    answers = iter([1.0, 0.0])
    monkeypatch.setattr(printed, "interaction_check", lambda st: next(answers))
    undone = {k: v.copy() for k, v in entry.items()}
    printed.last_stage(undone, cutoff, 200)
    assert all(np.array_equal(undone[k], entry[k]) for k in entry)
    assert next(answers, None) is None
