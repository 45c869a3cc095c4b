"""hcc.rmst against R ``print(survfit(...), rmean = tau)`` (rmean and se(rmean), 1e-8), live
(tests/rtools.py), on the shipped cohort (OS at 24, PFS at 12 months) and on R's ``lung``;
the difference/ratio against their definitions; bad input (tau beyond the data, no events).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from rtools import r_dataset, requires_r, run_r

import hcc
from hcc.errors import DataError

R_RMEAN = """
f <- survfit(Surv(t, e) ~ g, data = d)
tb <- summary(f, rmean = tau)$table
out <- list(rmean = unname(tb[, "rmean"]), se = unname(tb[, "se(rmean)"]), strata = rownames(tb))
f1 <- survfit(Surv(t, e) ~ 1, data = d)
t1 <- summary(f1, rmean = tau)$table
out$rmean1 <- unname(t1["rmean"]); out$se1 <- unname(t1["se(rmean)"])
"""


def _check(d, tau, r):
    res = hcc.rmst(d, "t", "e", "g", tau=tau)
    s = res.summary
    assert [f"g={g}" for g in s.index] == r["strata"]
    np.testing.assert_allclose(s["rmst"], r["rmean"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(s["se"], r["se"], rtol=0, atol=1e-8)
    one = hcc.rmst(d, "t", "e", tau=tau).summary.loc["All"]
    assert one["rmst"] == pytest.approx(r["rmean1"], abs=1e-8)
    assert one["se"] == pytest.approx(r["se1"], abs=1e-8)
    return res


@requires_r
@pytest.mark.parametrize("ep,tau", [("os", 24.0), ("pfs", 9.0)])
def test_rmst_matches_r_on_the_cohort(ep, tau):
    c = hcc.get_cohort()
    d = pd.DataFrame({"t": c[f"{ep}_months"], "e": c[f"{ep}_event"], "g": c["arm"]})
    r = run_r(f"tau <- {tau}\n" + R_RMEAN, d=d)
    res = _check(d, tau, r)
    # difference TKI-ICI − TKI with its definition
    diff = res.difference.loc["TKI-ICI vs TKI"]
    s = res.summary
    assert diff["difference"] == pytest.approx(r["rmean"][1] - r["rmean"][0], abs=1e-8)
    sd = np.hypot(*r["se"])
    assert diff["se"] == pytest.approx(sd, abs=1e-8)
    assert diff["p"] == pytest.approx(2 * norm.sf(abs(diff["difference"]) / sd))
    assert diff["ratio"] == pytest.approx(r["rmean"][1] / r["rmean"][0])
    lo = np.exp(np.log(r["rmean"][1] / r["rmean"][0]) - norm.isf(0.025) * np.hypot(*(np.array(r["se"]) / r["rmean"])))
    assert diff["ratio_lower"] == pytest.approx(lo)
    assert s.loc["TKI", "upper"] - s.loc["TKI", "rmst"] == pytest.approx(norm.isf(0.025) * r["se"][0])


@requires_r
@pytest.mark.parametrize("tau", [365.0, 600.0, 750.5])
def test_rmst_matches_r_on_lung(tau):
    lung = r_dataset("lung")
    d = pd.DataFrame({"t": lung["time"], "e": (lung["status"] == 2).astype(int), "g": lung["sex"]})
    r = run_r(f"tau <- {tau}\n" + R_RMEAN, d=d)
    _check(d, tau, r)


def test_default_tau_is_the_smallest_last_time():
    c = hcc.get_cohort()
    res = hcc.rmst(c, "os_months", "os_event", "arm")
    last = c.groupby("arm")["os_months"].max()
    open_ = [last[g] for g in last.index if not c.loc[(c.arm == g) & (c.os_months == last[g]), "os_event"].all()]
    assert res.tau == min(open_)
    assert "smallest of the groups' largest follow-up times" in res.notes[0]


def test_lifelines_rmst_variance_is_not_the_se_of_the_mean():
    """lifelines #1682: its 'variance' is that of min(T, tau), about n times ours squared."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    c = hcc.get_cohort()
    kmf = KaplanMeierFitter().fit(c["os_months"], c["os_event"])
    m, v = restricted_mean_survival_time(kmf, t=24.0, return_variance=True)
    ours = hcc.rmst(c, "os_months", "os_event", tau=24.0).summary.loc["All"]
    assert m == pytest.approx(ours["rmst"], rel=1e-9)
    assert np.sqrt(v) > 5 * ours["se"]


def test_bad_input():
    c = hcc.get_cohort()
    last = hcc.rmst(c, "os_months", "os_event", "arm").tau  # the default rule's limit
    with pytest.raises(DataError, match="beyond the data"):
        hcc.rmst(c, "os_months", "os_event", "arm", tau=last + 1)
    with pytest.raises(DataError, match="positive"):
        hcc.rmst(c, "os_months", "os_event", "arm", tau=-1)
    with pytest.raises(DataError, match="no events"):
        hcc.rmst(c.assign(os_event=0), "os_months", "os_event", "arm", tau=12)


def test_a_curve_that_reaches_zero_does_not_limit_tau():
    d = pd.DataFrame({"t": [1, 2, 3, 4, 2, 5, 6, 9], "e": [1, 1, 1, 1, 1, 0, 1, 0],
                      "g": ["a"] * 4 + ["b"] * 4})
    r = hcc.rmst(d, "t", "e", "g", tau=8)
    # group a: S = 3/4, 1/2, 1/4, 0 at 1..4 -> area 1 + .75 + .5 + .25 = 2.5, whatever tau >= 4
    assert r.summary.loc["a", "rmst"] == pytest.approx(2.5)
    with pytest.raises(DataError, match="group 'b'"):
        hcc.rmst(d, "t", "e", "g", tau=10)


def test_clip_uses_the_largest_admissible_tau_and_says_so():
    """clip=True (the chapter's reader-chosen τ on another cohort): τ beyond the data becomes
    the default rule's τ, the note says why; the numbers are those of that τ."""
    d = hcc.get_cohort()
    default = hcc.rmst(d, "pfs_months", "pfs_event", "arm")
    clipped = hcc.rmst(d, "pfs_months", "pfs_event", "arm", tau=default.tau + 50, clip=True)
    assert clipped.tau == default.tau
    assert "beyond the data" in clipped.notes[0] and "was used instead" in clipped.notes[0]
    pd.testing.assert_frame_equal(clipped.summary, default.summary)
    with pytest.raises(DataError, match="beyond the data"):
        hcc.rmst(d, "pfs_months", "pfs_event", "arm", tau=default.tau + 50)
