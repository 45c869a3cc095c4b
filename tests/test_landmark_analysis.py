"""hcc.landmark and hcc.survival_rates, and the scaled Schoenfeld residuals of CoxResult.ph_test()
against R, run live (tests/rtools.py): landmark Cox = R ``coxph`` on ``subset(d, t >= L)`` with
``t - L``; survival rates = R ``summary(survfit, times = )`` (S, std.err); residuals and the smooth
= R ``cox.zph(fit)$x/$y`` and ``plot.cox.zph``'s natural spline (df = 4) with its ±2 SE band."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtools import r_dataset, requires_r, run_r

import hcc
from hcc.errors import DataError
from hcc.plots import natural_spline_smooth


@pytest.fixture(scope="module")
def lung():
    d = r_dataset("lung")
    d = d[["time", "status", "age", "sex", "ph.ecog"]].dropna().reset_index(drop=True)
    d["dead"] = (d["status"] == 2).astype(int)
    d["ecog_grp"] = np.where(d["ph.ecog"] >= 2, "poor", "good")
    return d


@requires_r
def test_landmark_and_rates_match_r(lung):
    r = run_r("""
L <- 180
f0 <- coxph(Surv(time, dead) ~ ecog_grp, data = d)
s <- subset(d, time >= L); s$time <- s$time - L
f1 <- coxph(Surv(time, dead) ~ ecog_grp, data = s)
k <- summary(survfit(Surv(time, dead) ~ sex, data = d), times = c(180, 365, 730))
out <- list(c0 = unname(coef(f0)), c1 = unname(coef(f1)), n1 = f1$n, e1 = f1$nevent,
            surv = k$surv, se = k$std.err, lower = k$lower, upper = k$upper, nrisk = k$n.risk)
""", d=lung)
    lm = hcc.landmark(lung, "time", "dead", "ecog_grp", at=180)
    assert lm.naive.coef.iloc[0] == pytest.approx(r["c0"], abs=1e-8)
    assert lm.landmark.coef.iloc[0] == pytest.approx(r["c1"], abs=1e-8)
    assert (lm.landmark.n, lm.landmark.events) == (r["n1"], r["e1"])
    assert lm.excluded == len(lung) - r["n1"]
    rates = hcc.survival_rates(lung, "time", "dead", "sex", [180, 365, 730]).summary
    s = np.r_[rates["1 S"], rates["2 S"]]
    np.testing.assert_allclose(s, r["surv"], atol=1e-10)
    # the difference SE from R's std.err (SE of S): sqrt(se1^2 + se2^2)
    rse = np.asarray(r["se"])
    sd = np.hypot(rse[:3], rse[3:])
    np.testing.assert_allclose(rates["diff_upper"] - rates["difference"], 1.959963984540054 * sd, rtol=1e-8)
    np.testing.assert_allclose(np.r_[rates["1 lower"], rates["2 lower"]], r["lower"], atol=1e-10)
    np.testing.assert_allclose(np.r_[rates["1 n at risk"], rates["2 n at risk"]], r["nrisk"])


@requires_r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_scaled_schoenfeld_residuals_and_smooth_match_r(lung, ties):
    r = run_r(f"""
suppressMessages(library(splines))
f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, ties = "{ties}")
z <- cox.zph(f)
xx <- z$x; yy <- z$y[, 2]
px <- seq(min(xx), max(xx), length = 40)
b <- ns(xx, df = 4, intercept = TRUE)
pm <- predict(b, px)
q <- qr(b)
bk <- backsolve(q$qr[1:4, 1:4], diag(4))
se <- ((pm %*% bk %*% t(bk)) * pm) %*% rep(1, 4)
out <- list(time = z$time, x = z$x, y = unname(as.list(as.data.frame(z$y))),
            fit = as.vector(pm %*% qr.coef(q, yy)), band = as.vector(2 * sqrt(z$var[2, 2] * se)))
""", d=lung)
    ph = hcc.cox(lung, "time", "dead", ["age", "sex", "ph.ecog"], ties=ties).ph_test()
    res = pd.concat([ph.residual_times, ph.residuals], axis=1)
    ours = res.sort_values(["time", "age"]).to_numpy()
    theirs = pd.DataFrame({"time": r["time"], "x": r["x"], "age": r["y"][0], "sex": r["y"][1],
                           "ph.ecog": r["y"][2]}).sort_values(["time", "age"]).to_numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    fit, band = natural_spline_smooth(res["x"], res["sex"], df=4,
                                      at=np.linspace(res["x"].min(), res["x"].max(), 40),
                                      var=float(ph.zph_var.loc["sex", "sex"]))
    np.testing.assert_allclose(fit, r["fit"], atol=1e-6)
    np.testing.assert_allclose(band, r["band"], atol=1e-6)


def test_residual_plot_and_bad_input(lung):
    import matplotlib
    matplotlib.use("Agg")
    ph = hcc.cox(lung, "time", "dead", ["age", "sex"]).ph_test()
    assert ph.plot("sex") is not None
    with pytest.raises(DataError, match="not a term"):
        ph.plot("weight")
    with pytest.raises(DataError, match="greater than 0"):
        hcc.landmark(lung, "time", "dead", "ecog_grp", at=0)
    with pytest.raises(DataError, match="fewer than two groups"):
        hcc.landmark(lung.assign(g=np.where(lung["time"] > 500, "a", "b")), "time", "dead", "g", at=600)
    with pytest.raises(DataError, match="no events"):
        hcc.landmark(lung.assign(dead=0), "time", "dead", "ecog_grp", at=10)
    w = hcc.cox(lung.assign(w=1.5), "time", "dead", ["age"], weights="w")
    with pytest.raises(DataError, match="weighted"):
        w.ph_test()


@requires_r
def test_stratified_cox_as_the_chapter_fits_it_matches_r():
    """07_beyond's option 1 for a PH failure: lifelines' stratified Cox (Efron) with
    hcc.coxph.LIFELINES_FIT_OPTIONS equals R ``coxph(... + strata(tace))`` on the cohort."""
    from lifelines import CoxPHFitter

    from hcc.coxph import LIFELINES_FIT_OPTIONS
    from hcc.fidelity import cox_design

    d = cox_design(hcc.get_cohort())[["os_months", "os_event", "tace", "second_line", "child_pugh",
                                      "afp_gt400"]]
    r = run_r("""
f <- coxph(Surv(os_months, os_event) ~ second_line + child_pugh + afp_gt400 + strata(tace), data = d)
out <- list(coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))))
""", d=d)
    cph = CoxPHFitter().fit(d, "os_months", "os_event", strata=["tace"],
                            fit_options=dict(LIFELINES_FIT_OPTIONS))
    s = cph.summary.loc[["second_line", "child_pugh", "afp_gt400"]]
    np.testing.assert_allclose(s["coef"], r["coef"], atol=1e-8)
    np.testing.assert_allclose(s["se(coef)"], r["se"], rtol=1e-6)


def test_no_public_name_is_also_a_module_of_hcc():
    """A submodule named like a public function would replace it as an attribute of
    ``hcc`` once imported (``hcc.landmark`` turned into the module): the modules are named for
    what they do, the functions for what they return."""
    import importlib
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(hcc.__path__)}
    assert not modules & set(hcc.__all__), modules & set(hcc.__all__)
    for mod in ("landmark_analysis", "propensity", "restricted_mean", "sensitivity"):
        importlib.import_module(f"hcc.{mod}")
    assert callable(hcc.landmark) and callable(hcc.iptw) and callable(hcc.rmst) and callable(hcc.evalue)
