"""hcc.cox (hcc/coxph.py) and hcc/cox_tables.py against R's survival package, run live (tests/rtools.py).

References: R 4.x ``survival::coxph`` (coefficients, Wald CI and P, log-likelihoods,
global tests, concordance), ``cox.zph(fit, transform = "km", terms = TRUE)`` (R >= 3.0 score
test), and R ``vcov``-based Wald tests for interactions; data: R's ``lung`` (event =
status == 2; rows with a missing covariate dropped by R's na.omit, and by us with a note),
``veteran``, and the toy cohort of tests/conftest.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_toy_cohort
from rtools import r_dataset, requires_r, run_r

from hcc.cox_tables import cox_screen, subgroup_hr
from hcc.coxph import cox
from hcc.errors import ConvergenceError, DataError

TOL = 1e-6


@pytest.fixture(scope="module")
def lung():
    d = r_dataset("lung")
    d["dead"] = (d["status"] == 2).astype(int)
    return d


@pytest.fixture(scope="module")
def veteran():
    return r_dataset("veteran")


@pytest.fixture(scope="module")
def toy():
    d = make_toy_cohort(150, seed=7)
    d["age_gt60"] = (d["age"] > 60).astype(int)
    return d


R_FIT = """
s <- summary(f)
out <- list(names = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
            HR = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]),
            upper = unname(s$conf.int[, 4]), z = unname(s$coefficients[, 4]),
            p = unname(s$coefficients[, 5]), loglik = f$loglik, n = f$n, nevent = f$nevent,
            concordance = unname(f$concordance["concordance"]),
            lr = unname(s$logtest[1]), wald = unname(s$waldtest[1]), score = unname(s$sctest[1]))
z <- cox.zph(f)
out$zph_names <- rownames(z$table)
out$zph_chisq <- unname(z$table[, 1]); out$zph_df <- unname(z$table[, 2])
out$zph_p <- unname(z$table[, 3])
"""


def assert_matches_r(res, r, names=None):
    """Compare a CoxResult with the R output of R_FIT (names: our term -> R coef name)."""
    s = res.summary
    order = [r["names"].index(names[t] if names else t) for t in s.index]
    # METHODS.md §2: lifelines (tightened) / statsmodels coefficients equal R's to 1e-8
    np.testing.assert_allclose(s["coef"].to_numpy(), np.array(r["coef"])[order], rtol=0, atol=1e-8)
    for col in ("coef", "se", "HR", "lower", "upper", "z", "p"):
        np.testing.assert_allclose(s[col].to_numpy(), np.array(r[col])[order], rtol=TOL,
                                   atol=TOL, err_msg=col)
    assert res.n == r["n"] and res.events == r["nevent"]
    np.testing.assert_allclose(res.loglik, r["loglik"], rtol=1e-9)
    np.testing.assert_allclose(res.concordance, r["concordance"], rtol=1e-9)
    np.testing.assert_allclose(res.tests["statistic"], [r["lr"], r["wald"], r["score"]],
                               rtol=1e-4)  # R rounds the printed Wald statistic to 2 dp


def assert_zph_matches_r(res, r, names=None):
    z = res.ph_test().summary
    rn = r["zph_names"]
    for term in z.index:
        k = rn.index(names.get(term, term) if names else term)
        assert z.loc[term, "df"] == r["zph_df"][k]
        np.testing.assert_allclose(z.loc[term, "chisq"], r["zph_chisq"][k], rtol=1e-6)
        np.testing.assert_allclose(z.loc[term, "p"], r["zph_p"][k], rtol=1e-4, atol=1e-8)


# --------------------------------------------------------------------------- R parity
@requires_r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_lung_matches_r_coxph_and_cox_zph(lung, ties):
    res = cox(lung, "time", "dead", ["age", "sex", "ph.ecog"], ties=ties)
    r = run_r(f"f <- coxph(Surv(time, status == 2) ~ age + sex + ph.ecog, data = lung, "
              f"ties = '{ties}')\n" + R_FIT, lung=lung.drop(columns="dead"))
    assert_matches_r(res, r)
    assert_zph_matches_r(res, r)
    # R drops the one row with missing ph.ecog; so do we, and we say so
    assert res.n == 227 and res.n_dropped == 1
    assert any("left out" in n for n in res.notes)


@requires_r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_veteran_factor_matches_r(veteran, ties):
    # R's factor order of celltype starts with squamous: use it as our reference too
    res = cox(veteran, "time", "status", ["celltype", "trt", "karno"], ties=ties,
              reference={"celltype": "squamous"})
    r = run_r(f"f <- coxph(Surv(time, status) ~ celltype + trt + karno, data = veteran, "
              f"ties = '{ties}')\n" + R_FIT)
    names = {t: t for t in ("trt", "karno")}
    for lev in ("smallcell", "adeno", "large"):
        names[f"celltype[{lev} vs squamous]"] = f"celltype{lev}"
    assert_matches_r(res, r, names)
    assert_zph_matches_r(res, r)
    assert res.levels["celltype"][0] == "squamous"


@requires_r
def test_veteran_celltype_ph_test_is_r_score_test(veteran):
    """METHODS.md: cox.zph is a score test in R >= 3.0 and lifelines' approximation differs
    (veteran celltype). Our per-term (3 df) and GLOBAL values equal R's, whatever the
    reference level (the test does not depend on the coding)."""
    for ref in ("adeno", "squamous"):
        res = cox(veteran, "time", "status", ["trt", "celltype"], reference={"celltype": ref})
        r = run_r("f <- coxph(Surv(time, status) ~ trt + celltype, data = veteran)\n" + R_FIT)
        assert_zph_matches_r(res, r)
        z = res.ph_test().summary
        assert z.loc["celltype", "df"] == 3 and z.loc["GLOBAL", "df"] == 4
        assert z.loc["celltype", "p"] < 0.05  # R: 0.025 (lifelines' old test is far larger)


@requires_r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_toy_cohort_matches_r(toy, ties):
    res = cox(toy, "os_months", "os_event", ["arm", "age", "ecog", "etiology", "child_pugh"],
              ties=ties)
    r = run_r(f"d$arm <- factor(d$arm, levels = c('TKI', 'TKI-ICI'))\n"
              f"d$etiology <- factor(d$etiology, levels = c('HBV', 'HBV+HCV', 'HCV'))\n"
              f"f <- coxph(Surv(os_months, os_event) ~ arm + age + ecog + etiology + child_pugh,"
              f" data = d, ties = '{ties}')\n" + R_FIT, d=toy)
    names = {"arm[TKI-ICI vs TKI]": "armTKI-ICI", "age": "age", "ecog": "ecog",
             "etiology[HBV+HCV vs HBV]": "etiologyHBV+HCV", "etiology[HCV vs HBV]": "etiologyHCV",
             "child_pugh[B7 vs A]": "child_pughB7"}
    assert_matches_r(res, r, names)
    assert_zph_matches_r(res, r)
    assert "arm[TKI-ICI vs TKI]" in res.summary.index


@requires_r
def test_tied_times_heavy_efron_and_breslow_differ_as_in_r():
    """Times on a coarse grid (many ties): Efron and Breslow must each match R."""
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    g = rng.integers(0, 2, n)
    t = np.ceil(rng.exponential(5 * np.exp(-0.5 * x - 0.7 * g)))
    e = (rng.random(n) < 0.75).astype(int)
    d = pd.DataFrame({"t": t, "e": e, "x": x, "g": g})
    out = {}
    for ties in ("efron", "breslow"):
        res = cox(d, "t", "e", ["x", "g"], ties=ties)
        r = run_r(f"f <- coxph(Surv(t, e) ~ x + g, data = d, ties = '{ties}')\n" + R_FIT, d=d)
        assert_matches_r(res, r)
        assert_zph_matches_r(res, r)
        out[ties] = res.coef
    assert abs(out["efron"]["g"] - out["breslow"]["g"]) > 1e-3


@requires_r
def test_concordance_large_data_matches_r():
    """Above 5,000 rows the concordance uses the numba kernel: R's concordance is the
    reference."""
    rng = np.random.default_rng(11)
    n = 6000
    x = rng.normal(size=n)
    b = rng.integers(0, 2, n)
    t = np.ceil(rng.exponential(100 * np.exp(-0.4 * x - 0.3 * b)))
    e = (rng.random(n) < 0.7).astype(int)
    d = pd.DataFrame({"t": t, "e": e, "x": x, "b": b})
    res = cox(d, "t", "e", ["x", "b"])
    r = run_r("f <- coxph(Surv(t, e) ~ x + b, data = d)\n"
              "out <- list(c = unname(f$concordance['concordance']), coef = unname(coef(f)))", d=d)
    np.testing.assert_allclose(res.concordance, r["c"], rtol=1e-9)
    np.testing.assert_allclose(res.coef.to_numpy(), r["coef"], rtol=TOL, atol=TOL)


# --------------------------------------------------------------------------- delegation
def test_cox_delegates_to_lifelines_efron_and_statsmodels_breslow(toy):
    """Issue 10: .fitter is the library object whose coefficients, covariance and
    log-likelihood the result reports (Efron: lifelines CoxPHFitter; Breslow: statsmodels)."""
    from lifelines import CoxPHFitter
    from statsmodels.duration.hazard_regression import PHRegResults

    from hcc.coxph import LIFELINES_FIT_OPTIONS

    res = cox(toy, "os_months", "os_event", ["arm", "age", "ecog"])
    assert isinstance(res.fitter, CoxPHFitter)
    np.testing.assert_array_equal(res.summary["coef"], res.fitter.params_.loc[res.summary.index])
    np.testing.assert_array_equal(res.var.to_numpy(), res.fitter.variance_matrix_.to_numpy())
    assert res.loglik[1] == res.fitter.log_likelihood_
    # the call a reader would write gives the same coefficients
    d = toy.assign(arm=(toy["arm"] == "TKI-ICI").astype(int))[["os_months", "os_event", "arm", "age", "ecog"]]
    own = CoxPHFitter().fit(d, "os_months", "os_event", fit_options=dict(LIFELINES_FIT_OPTIONS))
    np.testing.assert_allclose(res.coef.to_numpy(), own.params_.to_numpy(), rtol=1e-12)
    b = cox(toy, "os_months", "os_event", ["arm", "age", "ecog"], ties="breslow")
    assert isinstance(b.fitter, PHRegResults)
    np.testing.assert_array_equal(b.coef.to_numpy(), np.asarray(b.fitter.params))
    assert b.loglik[1] == b.fitter.llf
    scr = cox_screen(toy, "os_months", "os_event", ["arm", "ecog"], threshold=1.0)
    assert isinstance(scr.multivariate.fitter, CoxPHFitter)


def test_breslow_equals_the_statsmodels_call_a_reader_would_write(toy):
    """Issue 10: ties="breslow" is statsmodels PHReg; the reader's own PHReg call (0/1-coded
    arm) gives the same coefficients, covariance and log-likelihood."""
    from statsmodels.duration.hazard_regression import PHReg

    b = cox(toy, "os_months", "os_event", ["arm", "age", "ecog"], ties="breslow")
    d = toy.assign(arm=(toy["arm"] == "TKI-ICI").astype(int))
    own = PHReg(d["os_months"], d[["arm", "age", "ecog"]], status=d["os_event"], ties="breslow").fit()
    np.testing.assert_allclose(b.coef.to_numpy(), np.asarray(own.params), rtol=1e-6)
    np.testing.assert_allclose(b.var.to_numpy(), np.asarray(own.cov_params()), rtol=1e-6)
    assert b.loglik[1] == pytest.approx(own.llf, rel=1e-10)


def test_fitter_predicts_on_the_callers_rows(toy):
    """The design reaches lifelines sorted by time, yet the fitter is an ordinary fitted
    CoxPHFitter: its linear predictor on the caller's rows is X beta, centred as lifelines does."""
    res = cox(toy, "os_months", "os_event", ["age", "ecog"])
    lp = res.fitter.predict_log_partial_hazard(toy[["age", "ecog"]]).to_numpy()
    X = toy[["age", "ecog"]].to_numpy(dtype=float)
    np.testing.assert_allclose(lp, (X - X.mean(axis=0)) @ res.coef.to_numpy(), rtol=1e-10, atol=1e-12)
    assert len(res.fitter.durations) == res.n and res.fitter.event_observed.sum() == res.events


# --------------------------------------------------------------------------- screen
@requires_r
def test_cox_screen_matches_screen_done_in_r(toy):
    cands = ["age_gt60", "sex", "ecog", "tace", "arm", "child_pugh", "afp_gt400", "pvtt"]
    res = cox_screen(toy, "os_months", "os_event", cands, threshold=0.1,
                     labels={"arm": "Second line"})
    r = run_r("""
cands <- c('age_gt60', 'sex', 'ecog', 'tace', 'arm', 'child_pugh', 'afp_gt400', 'pvtt')
uni <- lapply(cands, function(v) {
  f <- coxph(as.formula(paste('Surv(os_months, os_event) ~', v)), data = d)
  s <- summary(f)
  c(s$conf.int[1, c(1, 3, 4)], s$coefficients[1, 5])
})
u <- do.call(rbind, uni)
sel <- cands[u[, 4] < 0.1]
fm <- coxph(as.formula(paste('Surv(os_months, os_event) ~', paste(sel, collapse = '+'))), data = d)
sm <- summary(fm)
out <- list(HR = unname(u[, 1]), lower = unname(u[, 2]), upper = unname(u[, 3]),
            p = unname(u[, 4]), selected = sel, mHR = unname(sm$conf.int[, 1]),
            mlower = unname(sm$conf.int[, 3]), mupper = unname(sm$conf.int[, 4]),
            mp = unname(sm$coefficients[, 5]))
""", d=toy)
    assert res.selected == list(np.atleast_1d(r["selected"]))
    u = res.univariate
    for col in ("HR", "lower", "upper", "p"):
        np.testing.assert_allclose(u[col].to_numpy(), r[col], rtol=TOL, atol=TOL)
    m = res.multivariate.summary
    np.testing.assert_allclose(m["HR"], np.atleast_1d(r["mHR"]), rtol=TOL)
    np.testing.assert_allclose(m["p"], np.atleast_1d(r["mp"]), rtol=TOL, atol=TOL)
    s = res.summary
    assert list(s["candidate"]) == cands
    assert s.loc["Second line [TKI-ICI vs TKI]", "uni_HR"] == pytest.approx(
        r["HR"][cands.index("arm")], rel=TOL)
    unselected = s[~s["candidate"].isin(res.selected)]
    assert unselected["multi_HR"].isna().all()
    assert (unselected["Multivariate P"] == "–").all()


@requires_r
def test_cox_screen_counts_patients_and_events_per_model(lung):
    # reference: R coxph's n and nevent per univariate model (na.omit drops the patients
    # with that covariate missing: ph.ecog 1, ph.karno 1, meal.cal 47, wt.loss 14)
    cands = ["age", "ph.ecog", "ph.karno", "meal.cal", "wt.loss"]
    res = cox_screen(lung, "time", "dead", cands)
    r = run_r("""
cands <- c('age', 'ph.ecog', 'ph.karno', 'meal.cal', 'wt.loss')
f <- lapply(cands, function(v) coxph(as.formula(paste('Surv(time, status == 2) ~', v)),
                                     data = lung))
out <- list(n = sapply(f, function(m) m$n), events = sapply(f, function(m) m$nevent))
""", lung=lung.drop(columns="dead"))
    u = res.univariate
    assert list(u["n"]) == list(r["n"])
    assert list(u["events"]) == list(r["events"])
    assert len(set(u["n"])) > 1  # the models really use different patients


def test_cox_screen_no_candidate_selected(toy):
    # reference: definition of the screen (nothing below the threshold -> no model)
    res = cox_screen(toy, "os_months", "os_event", ["pvtt"], threshold=1e-12)
    assert res.selected == [] and res.multivariate is None
    assert res.summary["multi_p"].isna().all()


# --------------------------------------------------------------------------- subgroups
@requires_r
def test_subgroup_hr_matches_r(toy):
    subs = ["age_gt60", "sex", "ecog", "bclc", "child_pugh"]
    res = subgroup_hr(toy, "pfs_months", "pfs_event", "arm", subs)
    r = run_r("""
d$arm <- factor(d$arm, levels = c('TKI', 'TKI-ICI'))
subs <- c('age_gt60', 'sex', 'ecog', 'bclc', 'child_pugh')
rows <- list(); pint <- c()
for (v in subs) {
  lv <- sort(unique(d[[v]]))
  for (l in lv) {
    dd <- d[d[[v]] == l, ]
    f <- coxph(Surv(pfs_months, pfs_event) ~ arm, data = dd)
    s <- summary(f)
    rows[[length(rows) + 1]] <- c(nrow(dd), sum(dd$pfs_event), s$conf.int[1, c(1, 3, 4)],
                                  s$coefficients[1, 5])
  }
  fi <- coxph(as.formula(paste('Surv(pfs_months, pfs_event) ~ arm *', v)), data = d)
  k <- grep(':', names(coef(fi)))
  b <- coef(fi)[k]; V <- vcov(fi)[k, k, drop = FALSE]
  pint <- c(pint, pchisq(drop(t(b) %*% solve(V) %*% b), length(k), lower.tail = FALSE))
}
m <- do.call(rbind, rows)
fo <- summary(coxph(Surv(pfs_months, pfs_event) ~ arm, data = d))
out <- list(m = unname(as.data.frame(m)), pint = pint,
            overall = unname(c(fo$conf.int[1, c(1, 3, 4)], fo$coefficients[1, 5])))
""", d=toy)
    s = res.summary
    body = s.drop(index="All patients", level=0)
    m = np.array(r["m"]).T if np.array(r["m"]).shape[0] == 6 else np.array(r["m"])
    np.testing.assert_array_equal(body["n"].to_numpy(), m[:, 0])
    np.testing.assert_array_equal(body["events"].to_numpy(), m[:, 1])
    for k, col in enumerate(("HR", "lower", "upper", "p"), start=2):
        np.testing.assert_allclose(body[col].to_numpy(), m[:, k], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(res.p_interaction.loc[subs].to_numpy(), r["pint"], rtol=1e-6)
    np.testing.assert_allclose(s.loc[("All patients", ""), ["HR", "lower", "upper", "p"]]
                               .to_numpy(dtype=float), r["overall"], rtol=TOL)


@requires_r
def test_subgroup_three_levels_interaction_is_multi_df_wald(toy):
    d = toy.copy()
    d["regimen_tki"] = d["regimen"].str[:3]  # LEN / REG
    d["grp3"] = np.select([d.age < 50, d.age < 65], ["<50", "50-64"], "65+")
    res = subgroup_hr(d, "os_months", "os_event", "arm", ["grp3"])
    r = run_r("""
fi <- coxph(Surv(os_months, os_event) ~ arm * grp3, data = d)
k <- grep(':', names(coef(fi)))
b <- coef(fi)[k]; V <- vcov(fi)[k, k]
out <- list(p = pchisq(drop(t(b) %*% solve(V) %*% b), length(k), lower.tail = FALSE), df = length(k))
""", d=d)
    assert r["df"] == 2
    np.testing.assert_allclose(res.p_interaction["grp3"], r["p"], rtol=1e-6)


def test_subgroup_level_without_events_in_one_arm_gives_nan_and_note(toy):
    # reference: the documented behaviour (R would return an infinite HR with a warning)
    d = toy.copy()
    d["site"] = np.where(np.arange(len(d)) < 20, "X", "Y")
    d.loc[(d.site == "X") & (d.arm == "TKI"), "os_event"] = 0
    assert ((d.site == "X") & (d.arm == "TKI")).any()
    res = subgroup_hr(d, "os_months", "os_event", "arm", ["site"])
    row = res.summary.loc[("site", "X")]
    assert np.isnan(row["HR"]) and row["n"] == 20
    assert any("site = X" in n for n in res.notes)
    assert np.isfinite(res.summary.loc[("site", "Y"), "HR"])


def test_subgroup_treatment_must_have_two_groups(toy):
    with pytest.raises(DataError, match="exactly two groups"):
        subgroup_hr(toy, "os_months", "os_event", "etiology", ["sex"])


# --------------------------------------------------------------------------- bad input
@pytest.fixture
def small():
    return pd.DataFrame({"t": [5, 8, 3, 12, 7, 9, 4, 10.0], "e": [1, 0, 1, 1, 0, 1, 1, 0],
                         "x": [1, 0, 1, 0, 1, 0, 0, 1], "k": ["a", "b", "a", "b", "c", "c", "a", "b"]})


@pytest.mark.parametrize("change, message", [
    (lambda d: d.assign(e=[1, 2, 1, 1, 0, 1, 1, 0]), "must be 1 .event. or 0 .censored."),
    (lambda d: d.assign(e=[1, None, 1, 1, 0, 1, 1, 0]), "missing value"),
    (lambda d: d.assign(t=[5, -1, 3, 12, 7, 9, 4, 10]), "negative"),
    (lambda d: d.assign(t=[5, None, 3, 12, 7, 9, 4, 10]), "missing value"),
    (lambda d: d.assign(t=list("abcdefgh")), "must hold numbers"),
    (lambda d: d.assign(e=0), "no events"),
    (lambda d: d.assign(x=1), "same value for every patient"),
])
def test_bad_input_raises_plain_data_error(small, change, message):
    # reference: the validation rules documented in hcc.coxph.cox (wording: hcc/_checks.py)
    with pytest.raises(DataError, match=message):
        cox(change(small), "t", "e", ["x"])


def test_other_bad_arguments(small):
    with pytest.raises(DataError, match="column 'nope' is not in the data"):
        cox(small, "t", "e", ["nope"])
    with pytest.raises(DataError, match="ties must be"):
        cox(small, "t", "e", ["x"], ties="exact")
    with pytest.raises(DataError, match="reference level 'z'"):
        cox(small, "t", "e", ["k"], reference={"k": "z"})
    with pytest.raises(DataError, match="collinear"):
        cox(small.assign(x2=lambda d: 2 * d.x + 1), "t", "e", ["x", "x2"])
    with pytest.raises(DataError, match="same value"):
        cox(small.assign(k="a"), "t", "e", ["k"])


def test_missing_covariate_rows_are_dropped_with_a_note(small):
    # reference: R na.omit drops the row; the fit equals the fit on the complete rows
    d = small.copy()
    d["x"] = d["x"].astype(float)
    d.loc[2, "x"] = np.nan
    res = cox(d, "t", "e", ["x"])
    ref = cox(d.dropna(), "t", "e", ["x"])
    assert res.n == 7 and res.n_dropped == 1
    assert res.coef["x"] == pytest.approx(ref.coef["x"], rel=1e-12)
    assert any("1 patient(s) with a missing covariate value were left out" in n for n in res.notes)


def test_infinite_hazard_ratio_raises_convergence_error_naming_covariate():
    # reference: R coxph warns "Loglik converged before variable 1"; we refuse
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 1, 1, 0, 1, 0, 1],
                      "g": [1, 1, 1, 1, 0, 0, 0, 0], "x": [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.6]})
    d.loc[d.g == 0, "e"] = 0
    with pytest.raises(ConvergenceError, match="'g'"):
        cox(d, "t", "e", ["g", "x"])


@requires_r
def test_covariate_flat_in_every_risk_set_cannot_be_estimated_as_in_r():
    """Group g = 1 leaves follow-up before the first event: at every event time everybody at
    risk has g = 0, so the partial likelihood does not depend on its coefficient. R coxph
    leaves it NA (singular information); hcc refuses, naming it (information_diag check)."""
    d = pd.DataFrame({"t": [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9], "e": [0, 0, 0, 1, 1, 0, 1, 1, 0, 1],
                      "g": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
                      "x": [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.7, 0.8, 0.6, 0.0]})
    r = run_r("f <- coxph(Surv(t, e) ~ g + x, data = d)\nout <- list(coef = unname(coef(f)))", d=d)
    assert r["coef"][0] is None  # NA
    with pytest.raises(ConvergenceError, match="'g' cannot be estimated"):
        cox(d, "t", "e", ["g", "x"])
    with pytest.raises(ConvergenceError, match="'g' cannot be estimated"):
        cox(d, "t", "e", ["g", "x"], ties="breslow")


def test_information_diagonal_equals_the_full_matrix():
    """The cheap diagonal used by the check above is the diagonal of the full information
    (internal consistency, Efron and Breslow, with tied times)."""
    from hcc.coxph import _CoxData, _design, _sorted_block

    rng = np.random.default_rng(5)
    d = pd.DataFrame({"t": rng.integers(1, 15, 200).astype(float), "e": rng.integers(0, 2, 200),
                      "a": rng.normal(size=200), "b": rng.integers(0, 2, 200)})
    des = _design(d, "t", "e", ["a", "b"])
    block, _ = _sorted_block(des)
    for efron in (True, False):
        data = _CoxData(block[:, 2], block[:, 3] != 0, block[:, :2], efron=efron)
        st = data.evaluate(np.array([0.3, -0.4]))
        np.testing.assert_allclose(data.information_diag(st), np.diag(st.I), rtol=1e-12)


@requires_r
def test_monotone_likelihood_is_what_r_flags(toy):
    """R's own check ("Loglik converged before variable") flags the same data."""
    d = toy.copy()
    d.loc[d.arm == "TKI", "os_event"] = 0
    r = run_r("w <- NULL\nf <- withCallingHandlers(coxph(Surv(os_months, os_event) ~ arm, data = d),"
              " warning = function(x) {w <<- conditionMessage(x); invokeRestart('muffleWarning')})\n"
              "out <- list(w = w)", d=d)
    assert "coefficient may be infinite" in r["w"]
    with pytest.raises(ConvergenceError, match="infinite"):
        cox(d, "os_months", "os_event", ["arm"])


def test_result_object_contract(toy):
    # reference: ARCHITECTURE.md result contract
    res = cox(toy, "os_months", "os_event", ["arm", "ecog"])
    assert list(res.summary.columns) == ["coef", "se", "HR", "lower", "upper", "z", "p"]
    assert "arm[TKI-ICI vs TKI]" in res.summary.index
    assert "reference level 'TKI'" in " ".join(res.notes)
    assert res.to_csv().splitlines()[0] == ",coef,se,HR,lower,upper,z,p"
    html = cox(toy.assign(arm=toy.arm.str.replace("TKI-ICI", "<b>x</b>")), "os_months",
               "os_event", ["arm"])._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    ph = res.ph_test()
    assert list(ph.summary.index) == ["arm", "ecog", "GLOBAL"]
    assert list(ph.summary.columns) == ["chisq", "df", "p"]


@requires_r
def test_screen_factor_candidate_uses_multi_df_wald_p(toy):
    """A three-level candidate is selected on the Wald test of all its terms (R: the Wald
    test of summary(coxph) of the univariate model)."""
    res = cox_screen(toy, "os_months", "os_event", ["etiology", "ecog"], threshold=1.0)
    r = run_r("f <- coxph(Surv(os_months, os_event) ~ etiology, data = d)\n"
              "out <- list(p = unname(summary(f)$waldtest['pvalue']), "
              "w = unname(summary(f)$waldtest['test']))", d=toy)
    np.testing.assert_allclose(res.candidate_p["etiology"], r["p"], rtol=1e-3)  # R rounds W
    stat, df, p = res.multivariate.term_test("etiology")
    assert df == 2
    assert len(res.univariate[res.univariate["candidate"] == "etiology"]) == 2


def test_hcc_cox_is_the_function_after_submodule_imports(toy):
    # reference: ARCHITECTURE.md public API (hcc.cox is the function cox; the modules are
    # hcc.coxph and hcc.cox_tables, so no name means two things)
    import hcc
    import hcc.cox_tables
    import hcc.coxph as module

    assert hcc.cox is module.cox and callable(hcc.cox)
    assert hcc.cox_screen is hcc.cox_tables.cox_screen
    assert hcc.cox(toy, "os_months", "os_event", ["arm"]).coef.iloc[0] == pytest.approx(
        module.cox(toy, "os_months", "os_event", ["arm"]).coef.iloc[0], rel=0, abs=0)
