"""Tests of the compiled evaluation's shortcuts (hcc.reconstruct.scoring): they must give
the numbers of the full evaluation bit for bit.

References: ``scoring.eval_endpoint`` (every fit of an endpoint made afresh from the same
warm starts) and ``scoring.build_items`` built afresh (``scoring._build_items``).
"""
from __future__ import annotations

import numpy as np

from test_reconstruct import _model_draws


def _copy(fits):
    return tuple(np.array(a).copy() for a in fits)


def test_memo_evaluation_of_time_shifts_equals_a_full_refit_bit_for_bit():
    """eval_endpoint_memo against eval_endpoint, on every shift of ±1..30 days of the OS
    and PFS times of a third of the patients of two model draws, each from the same fitted
    state (as the polish's sweep of shifts makes them): every coefficient, SE, curve
    statistic, log-rank and follow-up number is identical, and the memo's shortcut was
    taken for most shifts (a shift that crosses no other time)."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct.scoring import _same_order

    cut, draws = _model_draws(2, seed=11)
    model = cal.model_terms()
    hits = total = 0
    for st in draws:
        pat = cal.patients(st)
        n = len(st["age"])
        base = cal.workspace(n)
        cal.full_eval(pat, base, model, cal.SEARCH_TOL, 30)
        memos = (cal.order_memo(n), cal.order_memo(n))
        for i in range(0, n, 3):
            for e, times in ((0, st["osd"]), (1, st["pfsd"])):
                for d in [s * dd for s in (-1, 1) for dd in range(1, 31)]:
                    old = times[i]
                    times[i] = max(1, old + d)
                    want = _copy(base)
                    cal.eval_endpoint(e, pat, want, model, cal.SEARCH_TOL, 3)
                    got = _copy(base)
                    hits += bool(_same_order(e, want[5], want[6], want[7], memos[e]))
                    cal.eval_endpoint_memo(e, pat, got, model, cal.SEARCH_TOL, 3, memos[e])
                    total += 1
                    times[i] = old
                    for a, b in zip(want, got):
                        assert np.array_equal(a, b, equal_nan=True)
    assert total > 3000 and hits > total // 2


def test_default_item_table_is_built_once_and_handed_out_as_a_copy():
    """build_items(): the cached default table equals a fresh build, and a caller that
    changes the arrays it got (as a chain's guided restart does to the weights) does not
    change what the next caller gets."""
    from hcc.reconstruct import scoring

    first = scoring.build_items()
    first["weight"] *= 5.0
    first["alo"][0] = -99.0
    first["name"].append("extra")
    again, fresh = scoring.build_items(), scoring._build_items(None)
    for k in fresh:
        if isinstance(fresh[k], np.ndarray):
            assert np.array_equal(again[k], fresh[k])
        else:
            assert again[k] == fresh[k]
    assert not np.array_equal(first["weight"], again["weight"])
