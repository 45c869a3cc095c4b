"""hcc.safety against the paper's AE numbers (hcc.paper AE_ANY, AE_GRADE34, IMMUNE_RELATED,
DISCONTINUATIONS) and R (live chisq.test per term)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rtools import requires_r, run_r

from hcc import paper
from hcc.errors import DataError, ParameterError
from hcc.safety import safety_table


def cohort_and_events():
    """Patients of both arms and AE rows with the paper's patient counts.

    Patient i of an arm has an AE when i < AE_ANY[arm]; grade 3 when i < AE_GRADE34[arm];
    some patients get several events (they must count once)."""
    pats, events = [], []
    for arm in paper.ARMS:
        for i in range(paper.ARM_N[arm]):
            pid = f"{arm}-{i:02d}"
            pats.append((pid, arm))
            if i < paper.AE_ANY[arm]:
                term = paper.COMMON_AE_TERMS[i % len(paper.COMMON_AE_TERMS)]
                events.append((pid, term, 3 if i < paper.AE_GRADE34[arm] else 1, 0, 0))
                events.append((pid, term, 2, 0, 0))  # the same patient again
    k = 0
    for term, n in paper.IMMUNE_RELATED.items():
        for _ in range(n):
            events.append((f"TKI-ICI-{k:02d}", term, 2, 1, 0))
            k += 1
    # discontinuations: patients who already have AEs (TKI-00 is already grade 3; TKI-ICI-00 is
    # the first immune hepatitis patient), so the patient counts above do not change
    for arm, terms in paper.DISCONTINUATIONS.items():
        for j, term in enumerate(terms):
            events.append((f"{arm}-{j:02d}", term, 3 if arm == "TKI" else 2, int(term in paper.IMMUNE_RELATED), 1))
    df = pd.DataFrame(pats, columns=["patient_id", "arm"])
    ae = pd.DataFrame(events, columns=["patient_id", "term", "grade", "immune_related", "led_to_discontinuation"])
    return ae, df


def test_any_and_grade3_reproduce_the_paper():
    """Paper: any AE 29 (78.4%) vs 50 (89.3%), overall 84.9%, P 0.2528;
    grade 3/4 7 (18.9%) vs 18 (32.1%), P 0.2424 (Yates chi-square)."""
    ae, df = cohort_and_events()
    res = safety_table(ae, df, "arm")
    s = res.summary
    assert s.loc["Any AE", "TKI n"] == paper.AE_ANY["TKI"] and s.loc["Any AE", "TKI-ICI n"] == paper.AE_ANY["TKI-ICI"]
    for arm in paper.ARMS:
        assert paper.AE_ANY_PCT[arm].matches(s.loc["Any AE", f"{arm} %"])
        assert paper.AE_GRADE34_PCT[arm].matches(s.loc["Grade ≥ 3 AE", f"{arm} %"])
    assert paper.AE_ANY_PCT["Overall"].matches(s.loc["Any AE", "Overall %"])
    assert paper.AE_ANY["p"].matches(s.loc["Any AE", "P"])
    assert paper.AE_GRADE34["p"].matches(s.loc["Grade ≥ 3 AE", "P"])


def test_immune_related_and_discontinuation_tables():
    ae, df = cohort_and_events()
    res = safety_table(ae, df, "arm")
    imm = res.immune_related
    for term, n in paper.IMMUNE_RELATED.items():
        assert imm.loc[term, "TKI-ICI"] == n and imm.loc[term, "TKI"] == 0
    disc = res.discontinuations
    for arm, terms in paper.DISCONTINUATIONS.items():
        for term in terms:
            assert disc.loc[term, arm] == 1
    assert res.summary.loc["AE leading to discontinuation", "Overall n"] == 3


@requires_r
def test_per_term_counts_once_per_patient_and_p_matches_R():
    ae, df = cohort_and_events()
    res = safety_table(ae, df, "arm")
    bt = res.by_term
    assert list(bt["Overall any n"]) == sorted(bt["Overall any n"], reverse=True)
    term = "Hypertension"
    pts = ae.loc[ae["term"] == term, "patient_id"].unique()
    r = run_r("d$has <- d$patient_id %in% pts$id; "
              "out <- list(n = as.vector(table(factor(d$arm[d$has], levels = c('TKI', 'TKI-ICI')))), "
              "p = suppressWarnings(chisq.test(table(d$has, d$arm))$p.value))",
              d=df, pts=pd.DataFrame({"id": pts}))
    assert [bt.loc[term, "TKI any n"], bt.loc[term, "TKI-ICI any n"]] == r["n"]
    np.testing.assert_allclose(bt.loc[term, "P any"], r["p"], rtol=1e-8)


def test_plot_and_html():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ae, df = cohort_and_events()
    res = safety_table(ae, df, "arm")
    ax = res.plot()
    widths = sorted(round(p.get_width(), 6) for p in ax.patches if p.get_width() > 0)
    expected = sorted(round(v, 6) for a in paper.ARMS for v in res.by_term[f"{a} any %"].head(15) if v > 0)
    assert widths == expected
    plt.close("all")
    assert "Grade ≥ 3 AE" in res._repr_html_()


@pytest.mark.parametrize("change,match", [
    (lambda ae, df: (pd.concat([ae, ae.head(1).assign(patient_id="X-99")]), df), "not in the cohort: X-99"),
    (lambda ae, df: (ae.assign(grade=6), df), "from 1 to 5"),
    (lambda ae, df: (ae.assign(immune_related=2), df), "must be 0 or 1"),
    (lambda ae, df: (ae, pd.concat([df, df.head(1)])), "duplicated"),
    (lambda ae, df: (ae.drop(columns="term"), df), "no column"),
    (lambda ae, df: (ae, df.iloc[0:0]), "empty"),
])
def test_bad_input(change, match):
    ae, df = change(*cohort_and_events())
    with pytest.raises(DataError, match=match):
        safety_table(ae, df, "arm")


def test_bad_options():
    ae, df = cohort_and_events()
    with pytest.raises(ParameterError):
        safety_table(ae, df, "arm", test="z")
    with pytest.raises(ParameterError):
        safety_table(ae, df, "arm", grade_min_severe=7)
