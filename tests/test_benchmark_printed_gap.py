"""benchmarks/printed_gap.py: the diagnostic's arithmetic (reference: the rounding rule
written out by hand, and the self-consistency of its split approximation)."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "printed_gap.py"


@pytest.fixture(scope="module")
def gap():
    spec = importlib.util.spec_from_file_location("printed_gap", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_printed_se_band_is_the_rounding_interval_of_the_limits(gap):
    # Table 2, OS, age > 60: printed 95% CI 0.49-1.49; any (lo, hi) in [0.485, 0.495) x
    # [1.485, 1.495) prints as the paper prints it
    lo, hi = gap.printed_se_band("0.49", "1.49")
    z = 1.959963984540054
    assert lo == pytest.approx((math.log(1.485) - math.log(0.495)) / (2 * z), abs=1e-12)
    assert hi == pytest.approx((math.log(1.495) - math.log(0.485)) / (2 * z), abs=1e-12)
    assert 0.2802 < lo < 0.2804 and 0.2871 < hi < 0.2873
    # trailing zero dropped by the paper: "0.2" is 0.20, not a 1-decimal print
    assert gap.printed_se_band("0.2", "0.59")[0] > 0.26


def test_splits_in_band_returns_the_observed_split_when_its_se_fits(gap):
    se = math.sqrt(1.1 * (1 / 16 + 1 / 38))
    assert 16 in gap.splits_in_band(se, 16, 38, (se * 0.999, se * 1.001), 34, 59)
    # a narrower se needs a more even split; never more events than patients in a level
    got = gap.splits_in_band(se, 16, 38, (0.9 * se, 0.95 * se), 20, 59)
    assert got and min(got) > 16 and max(got) <= 20
    assert gap.splits_in_band(se, 16, 38, (5 * se, 6 * se), 34, 59) == []


def test_runs(gap):
    assert gap.runs([3, 4, 5, 9, 11, 12]) == "3–5, 9, 11–12"
    assert gap.runs([]) == ""
