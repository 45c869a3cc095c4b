"""hcc.survival against R's survival package (live, via tests/rtools.py) and METHODS.md facts.

References: R ``survfit`` (``summary(fit)$table``, ``quantile(fit)``, ``summary(fit, times=)``,
the fit's own arrays), ``survdiff``; R's ``lung`` and ``veteran`` data sets exported at run
time; small hand-made cohorts that hit R's median edge cases.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import make_toy_cohort
from rtools import r_dataset, requires_r, run_r

from hcc.errors import DataError, ParameterError, StatisticalWarning
from hcc.survival import _km_arrays, km, logrank, median_followup

TOL = 1e-8
CONF_TYPES = ("log", "log-log", "plain")


def _nan(values):
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


# R: one list per stratum of the survfit (named by level), with every array we compare
R_KM = """
d$g <- factor(d$g, levels = levs)
pick <- function(v, i) if (is.matrix(v)) v[i, 1] else v[[1]]
out <- list()
for (ctype in c("log", "log-log", "plain")) {
  fit <- survfit(Surv(time, ev) ~ g, data = d, conf.type = ctype)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list(NULL, names(tab)))
  q <- quantile(fit, probs = 0.5)
  res <- list()
  for (i in seq_along(levs)) {
    s <- if (length(levs) > 1) fit[i] else fit
    st <- summary(s, times = ticks)
    res[[levs[i]]] <- list(
      n = tab[i, "records"], events = tab[i, "events"], median = tab[i, "median"],
      lcl = tab[i, "0.95LCL"], ucl = tab[i, "0.95UCL"],
      q = unname(pick(q$quantile, i)), ql = unname(pick(q$lower, i)), qu = unname(pick(q$upper, i)),
      time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
      surv = s$surv, std_err = ifelse(is.infinite(s$std.err), -1, s$std.err),  # Inf -> -1 (JSON)
      lower = s$lower, upper = s$upper,
      at_time = st$time, at_n_risk = st$n.risk, at_surv = st$surv, at_lower = st$lower,
      at_upper = st$upper)
  }
  out[[ctype]] <- res
}
"""
_R_CACHE: dict = {}


def _r_km(df, time, event, group, conf_type, ticks):
    """R results for the three conf types, computed in one R call per data set and cached."""
    levs = [str(v) for v in sorted(df[group].unique().tolist())]
    d = pd.DataFrame({"time": df[time], "ev": df[event].astype(int), "g": df[group].astype(str)})
    key = (d.to_csv(index=False), tuple(ticks))
    if key not in _R_CACHE:
        code = (f"levs <- c({', '.join(repr(v) for v in levs)}); "
                f"ticks <- c({', '.join(repr(float(t)) for t in ticks)});\n" + R_KM)
        _R_CACHE[key] = run_r(code, d=d)
    return _R_CACHE[key][conf_type], levs


def _compare_with_r(df, time, event, group, conf_type, ticks):
    r, levs = _r_km(df, time, event, group, conf_type, ticks)
    d = df.assign(_g=df[group].astype(str))
    res = km(d, time, event, "_g", conf_type=conf_type)
    summ = res.summary
    for lv in levs:
        rr = r[lv]
        ours = summ.loc[lv]
        assert ours["n"] == rr["n"] and ours["events"] == rr["events"]
        for col, key in (("median", "median"), ("lower", "lcl"), ("upper", "ucl")):
            np.testing.assert_allclose(ours[col], _nan(rr[key])[0], rtol=TOL, equal_nan=True,
                                       err_msg=f"{lv} {col} {conf_type}")
        q = res.quantile(0.5).set_index("group").loc[lv]
        for col, key in (("quantile", "q"), ("lower", "ql"), ("upper", "qu")):
            np.testing.assert_allclose(q[col], _nan(rr[key])[0], rtol=TOL, equal_nan=True,
                                       err_msg=f"quantile {lv} {col} {conf_type}")
        c = res.curves[lv].assign(std_err=lambda x: x["std_err"].replace(np.inf, -1.0))
        for col in ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"):
            np.testing.assert_allclose(c[col].to_numpy(dtype=float), _nan(rr[col]), rtol=TOL, atol=1e-12,
                                       equal_nan=True, err_msg=f"curve {lv} {col} {conf_type}")
        at = res.survival_at(_nan(rr["at_time"])).query("group == @lv")
        np.testing.assert_array_equal(at["n_risk"].to_numpy(), _nan(rr["at_n_risk"]))
        np.testing.assert_array_equal(res.n_at_risk(_nan(rr["at_time"])).loc[lv].to_numpy(),
                                      _nan(rr["at_n_risk"]))
        for col in ("surv", "lower", "upper"):
            np.testing.assert_allclose(at[col].to_numpy(), _nan(rr[f"at_{col}"]), rtol=TOL,
                                       equal_nan=True, err_msg=f"at {lv} {col}")
    return res


@pytest.fixture(scope="module")
def veteran():
    return r_dataset("veteran")


@pytest.fixture(scope="module")
def lung():
    d = r_dataset("lung")
    d["event"] = (d["status"] == 2).astype(int)  # lung status: 1 censored, 2 dead
    return d


# --------------------------------------------------------------------------- R parity
@requires_r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_km_veteran_celltype_matches_R_survfit(veteran, conf_type):
    _compare_with_r(veteran, "time", "status", "celltype", conf_type, ticks=[0, 100, 200, 300, 400, 500])


@requires_r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_km_veteran_trt_matches_R_survfit(veteran, conf_type):
    _compare_with_r(veteran, "time", "status", "trt", conf_type, ticks=[0, 30, 60, 90, 365])


@requires_r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_km_lung_sex_matches_R_survfit(lung, conf_type):
    _compare_with_r(lung, "time", "event", "sex", conf_type, ticks=[0, 180, 365, 730, 1000])


@requires_r
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_km_toy_cohort_months_matches_R_survfit(seed, conf_type):
    # months = days / 30 gives many ties and many curves that cross 0.5 on a tie
    df = make_toy_cohort(150, seed)
    _compare_with_r(df, "pfs_months", "pfs_event", "arm", conf_type, ticks=[0, 3, 6, 12, 18, 24])


@requires_r
@pytest.mark.parametrize("case", [
    # flat stretch exactly at 0.5 followed by a drop -> midpoint (R print and quantile agree)
    {"time": [1, 2, 3, 4, 5, 6], "ev": [1, 1, 1, 0, 1, 1]},
    # curve ends exactly at 0.5 -> print gives the start, quantile the midpoint to the last time
    {"time": [1, 2, 3, 4], "ev": [1, 1, 0, 0]},
    # curve reaches 0 (Greenwood std.err infinite, limits NA)
    {"time": [1, 2, 2, 3, 4, 5], "ev": [1, 1, 0, 1, 0, 1]},
    # no event at all (median not reached)
    {"time": [1, 2, 3], "ev": [0, 0, 0]},
])
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_km_median_edge_cases_match_R(case, conf_type):
    df = pd.DataFrame(case).assign(g="a")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        _compare_with_r(df, "time", "ev", "g", conf_type, ticks=[0, 2, 4])


@requires_r
def test_veteran_methods_facts(veteran):
    """METHODS.md §2: squamous upper limit 314 days under conf.type "log" (lifelines: 242);
    trt = 2 median 52.5 by R's midpoint rule (lifelines: 52)."""
    cell = km(veteran, "time", "status", "celltype").summary
    assert cell.loc["squamous", "upper"] == 314
    assert km(veteran, "time", "status", "celltype", conf_type="log-log").summary.loc["squamous", "upper"] == 242
    assert km(veteran, "time", "status", "trt").summary.loc[2, "median"] == 52.5


@requires_r
@pytest.mark.parametrize("dataset,time,event,group", [
    ("veteran", "time", "status", "celltype"), ("veteran", "time", "status", "trt"),
    ("lung", "time", "event", "sex"), ("lung", "time", "event", "ph.ecog")])
def test_logrank_matches_R_survdiff(dataset, time, event, group, veteran, lung):
    df = {"veteran": veteran, "lung": lung}[dataset].dropna(subset=[group])
    d = pd.DataFrame({"time": df[time], "ev": df[event], "g": df[group]})
    r = run_r("s <- survdiff(Surv(time, ev) ~ g, data = d); "
              "out <- list(chisq = s$chisq, df = length(s$n) - 1, "
              "p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE), obs = s$obs, exp = s$exp, "
              "n = as.vector(s$n))", d=d)
    res = logrank(d, "time", "ev", "g")
    np.testing.assert_allclose(res.statistic, r["chisq"], rtol=TOL)
    assert res.df == r["df"]
    np.testing.assert_allclose(res.p, r["p"], rtol=TOL)
    np.testing.assert_allclose(res.summary["observed"], r["obs"], rtol=TOL)
    np.testing.assert_allclose(res.summary["expected"], r["exp"], rtol=TOL)
    np.testing.assert_array_equal(res.summary["N"], r["n"])


@requires_r
@pytest.mark.parametrize("seed", [4, 5])
def test_logrank_toy_cohort_matches_R_survdiff(seed):
    df = make_toy_cohort(200, seed)
    r = run_r("s <- survdiff(Surv(os_months, os_event) ~ regimen, data = d); "
              "out <- list(chisq = s$chisq, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE))",
              d=df[["os_months", "os_event", "regimen"]])
    res = logrank(df, "os_months", "os_event", "regimen")
    np.testing.assert_allclose([res.statistic, res.p], [r["chisq"], r["p"]], rtol=TOL)
    # the same test is reachable from a KM result
    np.testing.assert_allclose(km(df, "os_months", "os_event", "regimen").logrank.p, r["p"], rtol=TOL)


@requires_r
@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_reverse_km_followup_matches_R(lung, conf_type):
    r = run_r(f"f <- survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = '{conf_type}'); "
              "t <- summary(f)$table; out <- list(m = t[['median']], l = t[['0.95LCL']], u = t[['0.95UCL']])",
              d=lung[["time", "event"]])
    fu = median_followup(lung, "time", "event", conf_type=conf_type)
    np.testing.assert_allclose([fu.median, fu.lower, fu.upper], _nan([r["m"], r["l"], r["u"]]), rtol=TOL)


@requires_r
def test_observed_followup_matches_R_median(lung):
    r = run_r("out <- list(m = median(d$time))", d=lung[["time"]])
    fu = median_followup(lung, "time", "event", method="observed")
    assert fu.median == pytest.approx(r["m"], rel=TOL)
    assert np.isnan(fu.lower)


@requires_r
def test_km_without_group_matches_R(lung):
    r = run_r("f <- survfit(Surv(time, event) ~ 1, data = d); t <- summary(f)$table; "
              "out <- list(m = t[['median']], l = t[['0.95LCL']], u = t[['0.95UCL']])",
              d=lung[["time", "event"]])
    s = km(lung, "time", "event").summary
    np.testing.assert_allclose(s[["median", "lower", "upper"]].iloc[0].to_numpy(dtype=float),
                               [r["m"], r["l"], r["u"]], rtol=TOL)


# --------------------------------------------------------------------------- delegation
def test_km_logrank_followup_delegate_to_lifelines(toy_cohort):
    """Issue 10: each result's .fitter is the lifelines object that computed it; the curve is
    lifelines' survival function, and equals lifelines fitted on the uncollapsed rows."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import StatisticalResult, multivariate_logrank_test

    d = toy_cohort
    res = km(d, "os_months", "os_event", "arm")
    assert list(res.fitter) == ["TKI", "TKI-ICI"]
    for g, f in res.fitter.items():
        assert isinstance(f, KaplanMeierFitter)
        c = res.curves[g]
        np.testing.assert_array_equal(c["surv"], f.survival_function_.iloc[:, 0].loc[c["time"]])
        m = d["arm"] == g
        plain = KaplanMeierFitter().fit(d.loc[m, "os_months"], d.loc[m, "os_event"])
        np.testing.assert_allclose(c["surv"], plain.survival_function_.iloc[:, 0].loc[c["time"]],
                                   rtol=1e-14)
    one = km(d, "os_months", "os_event")
    assert list(one.fitter) == ["All"] and isinstance(one.fitter["All"], KaplanMeierFitter)
    lr = logrank(d, "os_months", "os_event", "arm")
    assert isinstance(lr.fitter, StatisticalResult)
    assert lr.statistic == lr.fitter.test_statistic and lr.p == lr.fitter.p_value
    plain = multivariate_logrank_test(d["os_months"], d["arm"], d["os_event"])
    assert lr.statistic == pytest.approx(plain.test_statistic, rel=1e-12)
    assert km(d, "os_months", "os_event", "arm").logrank.fitter.test_statistic == lr.statistic
    fu = median_followup(d, "os_months", "os_event")
    assert isinstance(fu.fitter, KaplanMeierFitter)
    # the reverse Kaplan–Meier curve is lifelines' fit with censoring as the event
    rev = KaplanMeierFitter().fit(d["os_months"], 1 - d["os_event"])
    t = rev.survival_function_.index.to_numpy()
    np.testing.assert_allclose(fu.fitter.survival_function_.iloc[:, 0].reindex(t, method="ffill").fillna(1.0),
                               rev.survival_function_.iloc[:, 0], rtol=1e-14)
    assert median_followup(d, "os_months", "os_event", method="observed").fitter is None


def test_lifelines_own_median_differs_where_R_rule_bites():
    """METHODS.md §2 without R: a flat stretch at exactly 0.5 — R takes its midpoint (hcc
    does), lifelines' ``median_survival_time_`` an end of it (here the next event time)."""
    df = pd.DataFrame({"time": [1, 2, 3, 4, 5, 6], "ev": [1, 1, 1, 0, 1, 1]})
    res = km(df, "time", "ev")
    assert res.summary.loc["All", "median"] == 4.0  # (3 + 5) / 2
    assert res.fitter["All"].median_survival_time_ == 5.0


# --------------------------------------------------------------------------- core by hand
def test_km_arrays_hand_computed():
    """Kaplan–Meier by hand: S = 5/6, 5/6*3/4 ... (textbook product-limit, Greenwood)."""
    a = _km_arrays(np.array([1, 2, 2, 3, 4, 5.0]), np.array([1, 1, 0, 1, 0, 1]))
    np.testing.assert_array_equal(a.time, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(a.n_risk, [6, 5, 3, 2, 1])
    np.testing.assert_allclose(a.surv, [5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 2 / 3, 5 / 6 * 4 / 5 * 2 / 3, 0])
    np.testing.assert_allclose(a.std_err[:2], np.sqrt(np.cumsum([1 / (6 * 5), 1 / (5 * 4)])))
    assert np.isinf(a.std_err[-1])


def test_plot_at_risk_counts_are_time_ge_tick(toy_cohort):
    """The numbers printed under the KM plot count patients with time >= tick (R summary)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = km(toy_cohort, "os_months", "os_event", "arm")
    ax = res.plot(xticks=[0, 6, 12, 18, 24])
    texts = {t.get_text() for t in ax.texts}
    for arm in ("TKI", "TKI-ICI"):
        t = toy_cohort.loc[toy_cohort["arm"] == arm, "os_months"].to_numpy()
        for tick in (0, 6, 12, 18, 24):
            assert str(int((t >= tick).sum())) in texts
    assert any(t.startswith("Log-rank P") for t in texts)
    plt.close("all")


def test_html_shows_nr_for_not_reached():
    df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 0, 0, 0, 0, 0]})
    html = km(df, "t", "e")._repr_html_()
    assert "NR" in html


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("change,match", [
    (lambda d: d.assign(os_event=d["os_event"] * 2), "must be 1 \\(event\\) or 0"),
    (lambda d: d.assign(os_months=-d["os_months"]), "negative follow-up time"),
    (lambda d: d.assign(os_months=d["os_months"].where(d.index > 2)), "3 patient\\(s\\) have no follow-up time"),
    (lambda d: d.assign(os_event=d["os_event"].astype(float).where(d.index > 0)), "no event status"),
    (lambda d: d.assign(os_months="soon"), "not numbers"),
    (lambda d: d.assign(arm=d["arm"].where(d.index > 0)), "no value in the group column"),
    (lambda d: d.iloc[0:0], "empty"),
    (lambda d: d.drop(columns="os_months"), "not in the data"),
])
def test_km_and_logrank_refuse_bad_input(toy_cohort, change, match):
    bad = change(toy_cohort)
    with pytest.raises(DataError, match=match):
        km(bad, "os_months", "os_event", "arm")
    with pytest.raises(DataError, match=match):
        logrank(bad, "os_months", "os_event", "arm")


def test_boolean_events_accepted(toy_cohort):
    a = km(toy_cohort, "os_months", "os_event", "arm").summary
    b = km(toy_cohort.assign(os_event=toy_cohort["os_event"].astype(bool)), "os_months", "os_event", "arm").summary
    pd.testing.assert_frame_equal(a, b)


def test_logrank_single_group_and_no_events_refused(toy_cohort):
    with pytest.raises(DataError, match="single value"):
        logrank(toy_cohort.assign(arm="TKI"), "os_months", "os_event", "arm")
    with pytest.raises(DataError, match="No events"):
        logrank(toy_cohort.assign(os_event=0), "os_months", "os_event", "arm")


def test_all_censored_km_warns_and_reports_not_reached(toy_cohort):
    with pytest.warns(StatisticalWarning, match="median is not reached"):
        res = km(toy_cohort.assign(os_event=0), "os_months", "os_event", "arm")
    assert res.summary["median"].isna().all()


def test_bad_options_refused(toy_cohort):
    with pytest.raises(ParameterError):
        km(toy_cohort, "os_months", "os_event", "arm", conf_type="logit")
    with pytest.raises(ParameterError):
        km(toy_cohort, "os_months", "os_event", "arm", alpha=5)
    with pytest.raises(ParameterError):
        median_followup(toy_cohort, "os_months", "os_event", method="naive")
    with pytest.raises(DataError, match="followed until censoring"):
        median_followup(toy_cohort.assign(os_event=1), "os_months", "os_event")
    with pytest.raises(DataError, match="DataFrame"):
        km([1, 2, 3], "t", "e")


def test_followup_text_one_decimals_rule():
    """Median follow-up and its CI print with the same decimals (was "13.2–35.37")."""
    from hcc.survival import FollowupResult
    fu = FollowupResult("reverse_km", 93, 411 / 30, 396 / 30, 1061 / 30, "os_months")
    assert fu.text() == "13.7 (13.2–35.4)"
    assert fu.text(digits=2, ci="95% CI") == "13.70 (95% CI 13.20–35.37)"


def _label_and_curves(ax):
    from hcc.plots import _axes_box, _hits, curve_points
    renderer = ax.figure._get_renderer()
    label = next(t for t in ax.texts if t.get_text().startswith("Log-rank P"))
    return (_hits(curve_points(ax), _axes_box(label, ax, renderer)),
            _hits(curve_points(ax), _axes_box(ax.get_legend(), ax, renderer, margin=0.0)),
            label)


@pytest.mark.parametrize("endpoint", ["os", "pfs"])
def test_logrank_label_and_legend_cover_no_curve_on_the_final_layout(endpoint):
    """Issue 14: the log-rank label sat on the PFS curve (bottom left); the label and the
    legend now go where no curve is, re-placed when the figure is drawn (after
    subplots_adjust, which makes a legend cover more of the axes)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import hcc
    cohort = hcc.load_cohort()
    for group, size in (("arm", (7.5, 5.5)), ("regimen", (4.5, 4.0))):
        fig, ax = plt.subplots(figsize=size)
        hcc.km(cohort, f"{endpoint}_months", f"{endpoint}_event", group=group).plot(
            ax=ax, ci=group == "arm", medians=group == "arm", xticks=range(0, 37, 6))
        fig.subplots_adjust(bottom=0.4)
        fig.canvas.draw()
        label_hits, legend_hits, label = _label_and_curves(ax)
        assert label_hits == 0, (endpoint, group, label.get_position())
        inside = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted()).x1 <= 1.001
        assert legend_hits == 0 or not inside, (endpoint, group)
        plt.close(fig)


def test_logrank_label_prints_p_as_the_paper_text():
    """The paper's text prints the log-rank P with 3 decimals ("P < 0.001")."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import hcc
    ax = hcc.km(hcc.load_cohort(), "os_months", "os_event", group="arm").plot()
    assert any(t.get_text() == "Log-rank P < 0.001" for t in ax.texts)
    plt.close("all")
