"""hcc.ensemble: the quantities one cohort decides, against R on the shipped cohort, and the
ensemble summary against R's quantile(type = 7). The Dask driver: tests/test_ensemble_dask.py."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from rtools import requires_r, run_r

import hcc
from hcc import ensemble as ens
from hcc.errors import DataError
from hcc.fidelity import cox_design


@pytest.fixture(scope="module")
def shipped():
    cohort = hcc.load_cohort()
    return cohort, hcc.load_adverse_events()


@pytest.fixture(scope="module")
def quantities(shipped):
    cohort, ae = shipped
    return ens.cohort_quantities(cohort, ae)


R_QUANTITIES = """
d$arm <- factor(d$arm, levels = c("TKI", "TKI-ICI"))
d$cp <- as.integer(d$child_pugh == "B7")
d$resp <- factor(ifelse(d$best_response == "PD", "PD", "DC"), levels = c("DC", "PD"))
out <- list()
for (ep in c("os", "pfs")) {
  tt <- d[[paste0(ep, "_months")]]; ee <- d[[paste0(ep, "_event")]]
  for (a in levels(d$arm)) {
    s <- summary(survfit(Surv(tt, ee) ~ 1, subset = d$arm == a), times = c(6, 12, 24))
    out[[paste(ep, "rate", a)]] <- list(time = s$time, surv = s$surv)
    fu <- survfit(Surv(tt, 1 - ee) ~ 1, subset = d$arm == a)
    if (ep == "os") out[[paste("fu", a)]] <- unname(summary(fu)$table["median"])
  }
  tau <- if (ep == "os") 24 else 6
  rm <- summary(survfit(Surv(tt, ee) ~ arm, data = d), rmean = tau)$table[, "rmean"]
  out[[paste(ep, "rmst")]] <- unname(rm[2] - rm[1])
  out[[paste(ep, "crude")]] <- unname(exp(coef(coxph(Surv(tt, ee) ~ arm, data = d))))
  out[[paste(ep, "adjusted")]] <- unname(exp(coef(coxph(
    Surv(tt, ee) ~ arm + ecog + cp + pvtt + metastases + afp_gt400 + tumor_number_gt3, data = d))[1]))
  ps <- fitted(glm(arm ~ ecog + cp + pvtt + metastases + afp_gt400 + tumor_number_gt3,
                   family = binomial, data = d))
  z <- d$arm == "TKI-ICI"
  w <- ifelse(z, mean(z) / ps, (1 - mean(z)) / (1 - ps))
  out[[paste(ep, "iptw")]] <- unname(exp(coef(coxph(Surv(tt, ee) ~ arm, data = d, weights = w,
                                                     robust = TRUE))))
  out[[paste(ep, "ph")]] <- unname(cox.zph(coxph(Surv(tt, ee) ~ arm, data = d))$table["GLOBAL", "p"])
  for (lev in 0:1) {
    out[[paste(ep, "ecog", lev)]] <- unname(exp(coef(coxph(Surv(tt, ee) ~ arm, data = d,
                                                           subset = ecog == lev))))
  }
}
l <- subset(d, os_months >= 3); l$t <- l$os_months - 3
out$landmark <- unname(exp(coef(coxph(Surv(t, os_event) ~ resp, data = l))))
out$fu_all <- unname(summary(survfit(Surv(os_months, 1 - os_event) ~ 1, data = d))$table["median"])
"""


@requires_r
def test_quantities_match_r(shipped, quantities):
    """Each quantity is the statistic R computes on the same cohort (survival 3.x: survfit
    summary(times=), rmean, coxph Efron, glm + weighted coxph, cox.zph, reverse KM)."""
    cohort, _ = shipped
    r = run_r(R_QUANTITIES, d=cohort)
    v = quantities.values
    for ep in ("os", "pfs"):
        EP = ep.upper()
        for arm in hcc.paper.ARMS:
            got = r[f"{ep} rate {arm}"]
            times = np.atleast_1d(got["time"]).tolist()
            for m in ens.RATE_TIMES:
                q = v[f"{EP} rate {m} mo: {arm}"]
                if float(m) in times:
                    assert q == pytest.approx(np.atleast_1d(got["surv"])[times.index(float(m))], abs=1e-10)
                else:  # R's summary(times=) drops a time after the last follow-up
                    assert math.isnan(q)
        tau = ens.RMST_TAU[ep]
        assert v[f"{EP} RMST difference (τ {tau:g} mo)"] == pytest.approx(r[f"{ep} rmst"], abs=1e-8)
        assert v[f"{EP} HR crude"] == pytest.approx(r[f"{ep} crude"], rel=1e-7)
        assert v[f"{EP} HR adjusted"] == pytest.approx(r[f"{ep} adjusted"], rel=1e-7)
        assert v[f"{EP} HR IPTW"] == pytest.approx(r[f"{ep} iptw"], rel=1e-6)
        assert v[f"{EP} PH test P (crude treatment model)"] == pytest.approx(r[f"{ep} ph"], rel=1e-6)
        assert v[f"{EP} subgroup HR: ECOG PS0"] == pytest.approx(r[f"{ep} ecog 0"], rel=1e-7)
        assert v[f"{EP} subgroup HR: ECOG PS1"] == pytest.approx(r[f"{ep} ecog 1"], rel=1e-7)
    assert v["OS HR PD vs disease control (landmark 3 mo)"] == pytest.approx(r["landmark"], rel=1e-7)
    for name, key in [(f"median follow-up: {arm}", f"fu {arm}") for arm in hcc.paper.ARMS] + [
            ("median follow-up: all", "fu_all")]:
        if r[key] is None:  # R: NA, the reverse-KM curve never drops to 0.5
            assert math.isnan(v[name])
        else:
            assert v[name] == pytest.approx(r[key], abs=1e-10)


@requires_r
def test_multivariable_ph_test_matches_r(shipped, quantities):
    """The OS multivariable model's GLOBAL cox.zph P (model of the paper's P < 0.1 screen)."""
    cohort, _ = shipped
    design = cox_design(cohort)
    terms = hcc.cox_screen(design, "os_months", "os_event", list(hcc.paper.COX_TERMS)).multivariate.terms
    r = run_r(f"""
f <- coxph(Surv(os_months, os_event) ~ {' + '.join(terms)}, data = x)
out <- list(p = unname(cox.zph(f)$table["GLOBAL", "p"]))
""", x=design[["os_months", "os_event", *terms]])
    assert quantities.values["OS PH test P (multivariable model, GLOBAL)"] == pytest.approx(r["p"], rel=1e-6)


def test_fidelity_columns_follow_the_report(shipped, quantities):
    """The exact flags are the fidelity report's own: Cox numbers as printed, medians at 2 dp,
    printed-rounding items by their tolerance; the counts add up to the report's."""
    cohort, ae = shipped
    rep = hcc.fidelity_report(cohort, ae)
    t = rep.summary.set_index("item")
    ex = quantities.exact
    assert set(ex) == set(t.index)
    cox_items = t.index[t["as_printed"].map(lambda x: isinstance(x, (bool, np.bool_)))]
    assert [ex[i] for i in cox_items] == [float(t.loc[i, "as_printed"]) for i in cox_items]
    assert quantities.meta["as_printed_equal"] == int(rep.as_printed().loc["all", "equal"])
    assert quantities.meta["fidelity_in_tolerance"] == rep.score["all"]["passed"]
    excluded = t.index[t["tolerance"] == "excluded"]
    assert all(math.isnan(ex[i]) for i in excluded)
    # a count must be reproduced exactly to be in tolerance at all
    counts = t.index[t["kind"] == "count"]
    assert [ex[i] for i in counts] == [float(t.loc[i, "ok"]) for i in counts]
    flags = [x for x in ex.values() if not math.isnan(x)]
    assert quantities.meta["exact_equal"] == sum(flags)
    assert quantities.meta["exact_compared"] == len(flags)


def test_result_object(quantities):
    s = quantities.summary
    assert list(s.columns) == ["group", "value", "note"]
    assert {"survival rate", "RMST", "hazard ratio", "subgroup HR", "PH test P", "follow-up"} <= set(s["group"])
    # a NaN always says why
    assert (s.loc[s["value"].isna(), "note"] != "").all()
    assert "<table" in quantities._repr_html_()
    row = quantities.row()
    assert row["OS HR crude"] == quantities.values["OS HR crude"]
    assert any(k.startswith(ens.EXACT_PREFIX) for k in row)


def test_bad_input():
    with pytest.raises(DataError, match="empty"):
        ens.cohort_quantities(pd.DataFrame())
    with pytest.raises(DataError, match="best_response"):
        ens.cohort_quantities(hcc.load_cohort().drop(columns="best_response"))
    with pytest.raises(DataError, match="no members"):
        ens.summarize_ensemble(pd.DataFrame())


@requires_r
def test_summary_quantiles_match_r():
    """Median and 2.5% / 97.5% limits = R quantile(type = 7); NaN members are left out; the
    default column is the default seed's member; 0/1 exact items give the share."""
    rng = np.random.default_rng(3)
    x = rng.lognormal(-1, 0.3, 11)
    m = pd.DataFrame({"seed": hcc.paths.DEFAULT_SEED + np.arange(11), "OS HR crude": x,
                      "PFS HR crude": np.r_[x[:8] * 1.1, [np.nan] * 3],
                      ens.EXACT_PREFIX + "OS: deaths": [1.0] * 8 + [0.0] * 3})
    r = run_r("out <- list(a = unname(quantile(m$OS.HR.crude, c(0.025, 0.5, 0.975), type = 7)),"
              " b = unname(quantile(m$PFS.HR.crude, c(0.025, 0.5, 0.975), type = 7, na.rm = TRUE)))",
              m=m)
    s = ens.summarize_ensemble(m).summary
    np.testing.assert_allclose(s.loc["OS HR crude", ["lower", "median", "upper"]].astype(float), r["a"], rtol=1e-12)
    np.testing.assert_allclose(s.loc["PFS HR crude", ["lower", "median", "upper"]].astype(float), r["b"], rtol=1e-12)
    assert s.loc["PFS HR crude", "n"] == 8
    assert s.loc["OS HR crude", "default"] == x[0]
    assert s.loc["OS HR crude", "group"] == "hazard ratio"
    assert s.loc[ens.EXACT_PREFIX + "OS: deaths", "mean"] == pytest.approx(8 / 11)
    assert s.loc[ens.EXACT_PREFIX + "OS: deaths", "group"] == "exact"


def test_shipped_ensemble_is_consistent():
    """The shipped ensemble (make ensemble) was written by code: its summary is what
    summarize_ensemble computes from its members, for the generator version in the manifest."""
    from hcc.reconstruct import generator

    shipped = ens.read_ensemble()
    man = shipped.manifest
    members = shipped.members
    assert man["generator_version"] == generator.GENERATOR_VERSION
    assert set(members["calibration_version"].astype(str)) == {man["calibration_version"]} \
        == {generator.CALIBRATION_VERSION}
    assert sorted(members["seed"]) == man["seeds"] and members["seed"].is_unique
    assert len(members) == man["n_members"] >= 3
    assert set(members["budget"]) == {man["budget_moves_per_chain"]}
    default = None
    if hcc.paths.DEFAULT_SEED not in set(members["seed"]):
        default = ens.cohort_quantities(hcc.load_cohort(), hcc.load_adverse_events()).row()
    again = ens.summarize_ensemble(members, default=default).summary
    pd.testing.assert_frame_equal(again[["n", "median", "lower", "upper", "mean", "default"]],
                                  shipped.summary[["n", "median", "lower", "upper", "mean", "default"]],
                                  check_dtype=False, rtol=1e-9)
    ax = shipped.plot(group="hazard ratio")
    assert ax.get_xscale() == "log"


def test_read_ensemble_missing(tmp_path):
    with pytest.raises(DataError, match="make ensemble"):
        ens.read_ensemble(tmp_path)


def test_rows_of_another_calibration_are_not_resumed(tmp_path):
    """hcc ensemble keeps a row of an earlier run only when it was built with the same
    generator, calibration, budget, chains and search cut-off (IDENTITY): after a
    calibration change every member is built again (calibration 17's rows were kept by
    calibration 18's first run, whose manifest then claimed 18)."""
    from hcc.reconstruct import generator
    from hcc.reconstruct.ensemble import IDENTITY, _Ledger

    ident = {"generator_version": generator.GENERATOR_VERSION,
             "calibration_version": generator.CALIBRATION_VERSION, "budget": 1000,
             "chains": 1, "search_cutoff": "2021-09-30"}
    assert set(ident) == set(IDENTITY)
    rows = [{"seed": 1, **ident, "x": 1.0}, {"seed": 2, **ident, "calibration_version": "0",
                                             "x": 2.0}]
    pd.DataFrame(rows).to_csv(tmp_path / "ensemble.csv", index=False)
    book = _Ledger([1, 2], tmp_path, progress=False)
    book.resume(ident)
    assert sorted(book.rows) == [1] and book.sources == {1: "resumed"}
    pd.DataFrame([{k: v for k, v in r.items() if k != "calibration_version"} for r in rows]) \
        .to_csv(tmp_path / "ensemble.csv", index=False)
    book = _Ledger([1, 2], tmp_path, progress=False)
    book.resume(ident)
    assert book.rows == {}  # rows that do not say their calibration: built again
