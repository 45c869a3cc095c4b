"""hcc.iptw, hcc.weighted_km and hcc.cox(weights=, robust=True) against R, run live (tests/rtools.py).

References: R ``glm(treated ~ ..., family = binomial)$fitted.values`` (propensity, 1e-8),
R ``coxph(Surv(t, e) ~ arm, weights = w, robust = TRUE)`` (coefficient, robust SE = R's
``sqrt(diag(fit$var))``, 1e-6), R ``survfit(..., weights = w)`` (weighted KM); on the shipped
cohort and on R's ``lung`` (weights drawn in the test and passed to R). Bad input: one arm,
perfect separation, missing covariates, non-positive weights.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtools import r_dataset, requires_r, run_r

import hcc
from hcc.errors import DataError

CONFOUNDERS = ["ecog", "child_pugh", "pvtt", "metastases", "afp_gt400", "tumor_number_gt3"]

R_IPTW = """
d$treated <- as.integer(d$arm == "TKI-ICI")
m <- glm(as.formula(paste("treated ~", paste(covs, collapse = "+"))), family = binomial, data = d)
ps <- unname(fitted(m))
p1 <- mean(d$treated)
d$w <- ifelse(d$treated == 1, p1 / ps, (1 - p1) / (1 - ps))
f <- coxph(Surv(os_months, os_event) ~ treated, data = d, weights = w, robust = TRUE)
f2 <- coxph(Surv(pfs_months, pfs_event) ~ treated, data = d, weights = w, robust = TRUE)
km <- survfit(Surv(os_months, os_event) ~ arm, data = d, weights = w)
out <- list(ps = ps, coef = unname(coef(m)), w = d$w,
            cox = unname(coef(f)), se = unname(sqrt(diag(f$var))), naive = unname(sqrt(diag(f$naive.var))),
            cox_pfs = unname(coef(f2)), se_pfs = unname(sqrt(diag(f2$var))),
            km_time = km$time, km_surv = km$surv, km_strata = unname(km$strata))
"""


@pytest.fixture(scope="module")
def cohort():
    return hcc.get_cohort()


@requires_r
def test_propensity_weights_and_weighted_cox_match_r_on_the_cohort(cohort):
    d = cohort[["arm", "os_months", "os_event", "pfs_months", "pfs_event", *CONFOUNDERS]]
    r = run_r("covs <- c(" + ", ".join(f"'{c}'" for c in CONFOUNDERS) + ")\n" + R_IPTW, d=d)
    res = hcc.iptw(d, "arm", CONFOUNDERS)
    assert res.treated_level == "TKI-ICI"
    np.testing.assert_allclose(res.propensity.to_numpy(), r["ps"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.model["coef"].to_numpy(), r["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.weights.to_numpy(), r["w"], rtol=1e-8)
    dw = d.assign(treated=(d["arm"] == "TKI-ICI").astype(int), w=res.weights)
    for ep, coef, se in (("os", "cox", "se"), ("pfs", "cox_pfs", "se_pfs")):
        fit = hcc.cox(dw, f"{ep}_months", f"{ep}_event", ["treated"], weights="w", robust=True)
        assert fit.summary.loc["treated", "coef"] == pytest.approx(r[coef], abs=1e-6)
        assert fit.summary.loc["treated", "se"] == pytest.approx(r[se], abs=1e-6)
    fit = hcc.cox(dw, "os_months", "os_event", ["treated"], weights="w", robust=True)
    assert np.sqrt(fit.naive_var.iloc[0, 0]) == pytest.approx(r["naive"], abs=1e-6)
    # weighted KM = survfit(weights =)
    wkm = hcc.weighted_km(dw, "os_months", "os_event", "arm", "w")
    ours = np.concatenate([wkm.curves[g]["surv"].to_numpy() for g in wkm.groups])
    assert list(r["km_strata"]) == [len(wkm.curves[g]) for g in wkm.groups]
    np.testing.assert_allclose(ours, r["km_surv"], atol=1e-10)


@requires_r
def test_weighted_robust_cox_matches_r_on_lung():
    lung = r_dataset("lung")
    d = lung[["time", "status", "age", "sex", "ph.ecog"]].dropna().reset_index(drop=True)
    d["dead"] = (d["status"] == 2).astype(int)
    d["w"] = np.random.default_rng(11).uniform(0.3, 3.0, len(d)).round(6)
    r = run_r("""
f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, weights = w, robust = TRUE)
g <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, robust = TRUE)
b <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, robust = TRUE, ties = "breslow")
out <- list(coef = unname(coef(f)), se = unname(sqrt(diag(f$var))), loglik = f$loglik,
            p = unname(summary(f)$coefficients[, 6]),
            coef_u = unname(coef(g)), se_u = unname(sqrt(diag(g$var))),
            se_b = unname(sqrt(diag(b$var))))
""", d=d)
    cov = ["age", "sex", "ph.ecog"]
    f = hcc.cox(d, "time", "dead", cov, weights="w", robust=True)
    np.testing.assert_allclose(f.summary["coef"], r["coef"], atol=1e-8)
    np.testing.assert_allclose(f.summary["se"], r["se"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(f.summary["p"], r["p"], atol=1e-6)
    np.testing.assert_allclose(f.loglik, r["loglik"], rtol=1e-9)
    g = hcc.cox(d, "time", "dead", cov, robust=True)
    np.testing.assert_allclose(g.summary["coef"], r["coef_u"], atol=1e-8)
    np.testing.assert_allclose(g.summary["se"], r["se_u"], atol=1e-6, rtol=0)
    b = hcc.cox(d, "time", "dead", cov, robust=True, ties="breslow")
    np.testing.assert_allclose(b.summary["se"], r["se_b"], atol=1e-6, rtol=0)


@requires_r
def test_lifelines_robust_differs_from_r_with_tied_times():
    """Why hcc computes the sandwich: lifelines' robust SE is not R's with Efron ties (lung)."""
    from lifelines import CoxPHFitter

    lung = r_dataset("lung")
    d = lung[["time", "status", "age", "sex", "ph.ecog"]].dropna().reset_index(drop=True)
    d["dead"] = (d["status"] == 2).astype(int)
    d["w"] = np.random.default_rng(11).uniform(0.3, 3.0, len(d)).round(6)
    r = run_r("""
f <- coxph(Surv(time, dead) ~ age + sex + ph.ecog, data = d, weights = w, robust = TRUE)
out <- list(se = unname(sqrt(diag(f$var))))
""", d=d)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ll = CoxPHFitter().fit(d[["time", "dead", "age", "sex", "ph.ecog", "w"]], "time", "dead",
                               weights_col="w", robust=True,
                               fit_options={"step_size": 1.0, "precision": 1e-20, "r_precision": 1e-12})
    assert np.max(np.abs(ll.standard_errors_.to_numpy() - r["se"])) > 1e-6
    ours = hcc.cox(d, "time", "dead", ["age", "sex", "ph.ecog"], weights="w", robust=True)
    assert np.max(np.abs(ours.summary["se"].to_numpy() - r["se"])) < 1e-6


def test_stabilised_weights_average_one_per_arm(cohort):
    """Stabilised IPTW: the weighted arm sizes equal the real ones in expectation; the sum of
    the weights of an arm equals n_arm × (mean of p̂ / ps) — checked against the definition."""
    res = hcc.iptw(cohort, "arm", CONFOUNDERS)
    z = res.treated.to_numpy()
    p1 = z.mean()
    ps = res.propensity.to_numpy()
    np.testing.assert_allclose(res.weights[z], p1 / ps[z])
    np.testing.assert_allclose(res.weights[~z], (1 - p1) / (1 - ps[~z]))
    un = hcc.iptw(cohort, "arm", CONFOUNDERS, stabilized=False)
    np.testing.assert_allclose(un.weights[z], 1 / ps[z])
    # balance: SMD before is the plain standardised difference of the two arms
    x = (cohort["child_pugh"] == "B7").astype(float).to_numpy()
    v1, v0 = x[z].var(ddof=1), x[~z].var(ddof=1)
    assert res.balance.loc["child_pugh[B7 vs A]", "SMD before"] == pytest.approx(
        (x[z].mean() - x[~z].mean()) / np.sqrt((v1 + v0) / 2))
    assert (res.balance["SMD after"].abs() <= res.balance["SMD before"].abs() + 1e-9).mean() >= 0.5


def test_one_arm_is_refused(cohort):
    d = cohort[cohort["arm"] == "TKI"]
    with pytest.raises(DataError, match="exactly two groups"):
        hcc.iptw(d, "arm", CONFOUNDERS)


def test_perfect_separation_is_refused(cohort):
    d = cohort.copy()
    d["marker"] = (d["arm"] == "TKI-ICI").astype(int)
    with pytest.raises(DataError, match="separate the two arms perfectly.*marker = [01]"):
        hcc.iptw(d, "arm", ["ecog", "marker"])
    # quasi-separation: a rare level seen in one arm only (R glm: fitted probabilities 0 or 1)
    d["rare"] = 0
    d.loc[d.index[d["arm"] == "TKI-ICI"][:3], "rare"] = 1
    with pytest.raises(DataError, match="rare = 1"):
        hcc.iptw(d, "arm", ["ecog", "rare"])


def test_missing_covariate_and_bad_weights_are_refused(cohort):
    d = cohort.copy()
    d.loc[d.index[0], "ecog"] = np.nan
    with pytest.raises(DataError, match="no value in 'ecog'"):
        hcc.iptw(d, "arm", ["ecog"])
    d = cohort.assign(w=1.0)
    d.loc[d.index[0], "w"] = 0
    with pytest.raises(DataError, match="greater than 0"):
        hcc.cox(d, "os_months", "os_event", ["arm"], weights="w")
    with pytest.raises(DataError, match="Efron"):
        hcc.cox(cohort.assign(w=1.0), "os_months", "os_event", ["arm"], weights="w", ties="breslow")


def test_plots_return_axes(cohort):
    import matplotlib
    matplotlib.use("Agg")
    res = hcc.iptw(cohort, "arm", CONFOUNDERS)
    assert res.plot() is not None and res.plot_overlap() is not None
    assert "SMD after" in res._repr_html_()
