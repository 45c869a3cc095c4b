"""hcc.response against the paper's ORR/DCR (hcc.paper.RESPONSE counts) and R (live:
binom.test Clopper–Pearson intervals, chisq.test, fisher.test)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rtools import requires_r, run_r

from hcc import paper
from hcc.errors import DataError, ParameterError
from hcc.response import response_table

TOL = 1e-8


def cohort_from_response_counts() -> pd.DataFrame:
    rows = [(arm, cat) for arm, counts in paper.RESPONSE.items() for cat, n in counts.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["arm", "best_response"])


def test_orr_dcr_percentages_and_p_reproduce_the_paper():
    """Paper: ORR 8.1% vs 21.4% (P 0.1552), DCR 45.9% vs 83.9% (P 0.0003), Yates chi-square."""
    res = response_table(cohort_from_response_counts(), "arm")
    s = res.summary
    for arm in paper.ARMS:
        assert paper.ORR[arm].matches(s.loc["ORR", f"{arm} %"])
        assert paper.DCR[arm].matches(s.loc["DCR", f"{arm} %"])
    assert paper.ORR["p"].matches(res.p_orr)
    assert paper.DCR["p"].matches(res.p_dcr)
    assert s.loc["PD", "TKI n"] == paper.RESPONSE["TKI"]["PD"]
    assert list(s.index) == ["CR", "PR", "SD", "PD", "ORR", "DCR"]


@requires_r
@pytest.mark.parametrize("test", ["yates", "chi2", "fisher"])
def test_clopper_pearson_and_p_match_R(test):
    df = cohort_from_response_counts()
    res = response_table(df, "arm", test=test, alpha=0.1)
    rtest = {"yates": "chisq.test(m)", "chi2": "chisq.test(m, correct = FALSE)", "fisher": "fisher.test(m)"}[test]
    r = run_r(f"""
d$orr <- d$best_response %in% c('CR', 'PR'); d$dcr <- d$best_response %in% c('CR', 'PR', 'SD')
out <- list()
for (v in c('orr', 'dcr')) {{
  m <- table(d[[v]], d$arm)
  ci <- lapply(c('TKI', 'TKI-ICI'), function(a) binom.test(sum(d[[v]][d$arm == a]), sum(d$arm == a), conf.level = 0.9)$conf.int)
  out[[v]] <- list(p = suppressWarnings({rtest})$p.value, ci = ci)
}}""", d=df)
    for measure, key in (("ORR", "orr"), ("DCR", "dcr")):
        for i, arm in enumerate(paper.ARMS):
            np.testing.assert_allclose(res.rates.loc[(measure, arm), ["lower", "upper"]].to_numpy(dtype=float),
                                       r[key]["ci"][i], rtol=TOL)
        np.testing.assert_allclose(res.p_orr if measure == "ORR" else res.p_dcr, r[key]["p"], rtol=TOL)


def test_missing_response_is_not_evaluable_and_kept_in_denominator():
    df = cohort_from_response_counts()
    df.loc[0, "best_response"] = None  # a TKI patient without assessment
    res = response_table(df, "arm")
    assert res.summary.loc["NE", "TKI n"] == 1
    assert res.rates.loc[("ORR", "TKI"), "n"] == paper.ARM_N["TKI"]
    assert any("not evaluable" in n for n in res.notes)


def test_plot_bars_are_percentages():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = response_table(cohort_from_response_counts(), "arm")
    ax = res.plot()
    heights = np.array([p.get_height() for p in ax.patches]).reshape(4, 2)  # categories × arms
    np.testing.assert_allclose(heights.sum(axis=0), [100, 100])
    np.testing.assert_allclose(heights[3], [100 * 20 / 37, 100 * 9 / 56])  # PD, paper counts
    plt.close("all")
    html = res._repr_html_()
    assert "Clopper" in html and "0.1552" in html


@pytest.mark.parametrize("change,exc,match", [
    (lambda d: d.assign(best_response="MR"), DataError, "CR, PR, SD or PD"),
    (lambda d: d.assign(arm=d["arm"].where(d.index > 0)), DataError, "no value in the group column 'arm'"),
    (lambda d: d.drop(columns="best_response"), DataError, "not in the data"),
    (lambda d: d.iloc[0:0], DataError, "empty"),
])
def test_bad_input(change, exc, match):
    with pytest.raises(exc, match=match):
        response_table(change(cohort_from_response_counts()), "arm")
    with pytest.raises(ParameterError):
        response_table(cohort_from_response_counts(), "arm", test="z")
