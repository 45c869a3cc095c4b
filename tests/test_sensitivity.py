"""hcc.evalue against the published formula and worked examples of VanderWeele & Ding (2017,
Ann Intern Med 167:268): RR 3.9 (1.8–8.7) → E-values 7.26 and 3.0 (their breastfeeding
example); the common-outcome HR conversion RR = (1 − 0.5^√HR)/(1 − 0.5^√(1/HR)); a CI that
contains 1 → 1; bad input."""
from __future__ import annotations

import math

import pytest

import hcc
from hcc.errors import DataError


def test_published_worked_example():
    r = hcc.evalue(3.9, 1.8, 8.7, measure="RR")
    assert round(r.point, 2) == 7.26
    assert round(r.ci, 1) == 3.0


def test_formula_and_protective_estimates():
    e = lambda rr: rr + math.sqrt(rr * (rr - 1))  # noqa: E731  the paper's formula
    for rr in (1.1, 2.0, 5.5):
        assert hcc.evalue(rr, measure="RR").point == pytest.approx(e(rr))
        assert hcc.evalue(1 / rr, measure="RR").point == pytest.approx(e(rr))


def test_common_outcome_hr_conversion():
    hr = 0.337
    rr = (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))
    r = hcc.evalue(hr, 0.2, 0.57, measure="HR")
    assert r.summary.loc["point", "RR"] == pytest.approx(rr)
    assert r.point == pytest.approx(1 / rr + math.sqrt(1 / rr * (1 / rr - 1)))
    up = (1 - 0.5 ** math.sqrt(0.57)) / (1 - 0.5 ** math.sqrt(1 / 0.57))
    assert r.ci == pytest.approx(1 / up + math.sqrt(1 / up * (1 / up - 1)))
    # rare outcome: the HR is the RR
    assert hcc.evalue(2.0, measure="HR", rare=True).point == pytest.approx(2 + math.sqrt(2))
    # OR, common outcome: sqrt(OR)
    assert hcc.evalue(4.0, measure="OR").point == pytest.approx(2 + math.sqrt(2))


def test_ci_containing_one_gives_one():
    r = hcc.evalue(0.8, 0.5, 1.2)
    assert r.ci == 1.0 and r.point > 1
    assert hcc.evalue(1.5, 0.9, 2.5).ci == 1.0
    assert hcc.evalue(1.5).ci is None


def test_bad_input():
    for args in ((0,), (-1.0,), (float("nan"),), (2.0, 2.5, 3.0), (0.5, 0.1, 0.4)):
        with pytest.raises(DataError):
            hcc.evalue(*args)
    with pytest.raises(DataError, match="measure"):
        hcc.evalue(2.0, measure="beta")
