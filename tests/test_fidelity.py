"""Tests of hcc.fidelity. References: the paper's printed numbers (hcc.paper) — the
cohort built here has exactly the published counts, so every count row and every P-value
that depends on counts alone (Table 1, ORR/DCR, AE; Yates chi-square, METHODS.md §1) must
match the paper."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from hcc import paper, paths


def published_counts_cohort(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cohort (and AE table) with every published count, built from hcc.paper alone."""
    rng = np.random.default_rng(seed)
    parts = []
    pid = 0
    for a in paper.ARMS:
        n = paper.ARM_N[a]
        d = {"arm": [a] * n}
        d["regimen"] = rng.permutation(np.repeat(list(paper.REGIMENS[a]),
                                                 list(paper.REGIMENS[a].values())))
        k = paper.ARMS.index(a)
        for var, levels in paper.TABLE1_COUNTS.items():
            vals = np.concatenate([[lev] * cnt[k] for lev, cnt in levels.items()])
            d[var] = rng.permutation(np.array(vals, dtype=object))
        resp = np.concatenate([[c] * m for c, m in paper.RESPONSE[a].items()])
        d["best_response"] = rng.permutation(resp)
        d["age"] = rng.integers(40, 75, n)
        n_death = paper.EVENTS["os"][k]
        n_pfs = paper.EVENTS["pfs"][k]
        os_event = np.r_[np.ones(n_death, int), np.zeros(n - n_death, int)]
        # every death is a PFS event; the remaining PFS events are progressions among the living
        pfs_event = np.r_[np.ones(n_death, int), np.ones(n_pfs - n_death, int),
                          np.zeros(n - n_pfs, int)]
        os_days = rng.integers(60, 900, n)
        pfs_days = np.where(pfs_event == 1, np.maximum(1, (os_days * rng.uniform(0.2, 1, n))
                                                       .astype(int)), os_days)
        d.update(os_months=os_days / 30, os_event=os_event, pfs_months=pfs_days / 30,
                 pfs_event=pfs_event)
        df = pd.DataFrame(d)
        df.insert(0, "patient_id", [f"S{pid + i + 1:03d}" for i in range(n)])
        pid += n
        parts.append(df)
    cohort = pd.concat(parts, ignore_index=True)
    # adverse events
    rows = []
    for a in paper.ARMS:
        ids = list(cohort.loc[cohort["arm"] == a, "patient_id"])
        n_any, n_g34 = paper.AE_ANY[a], paper.AE_GRADE34[a]
        for i, p_ in enumerate(ids[:n_any]):
            rows.append((p_, "Hypertension", 3 if i < n_g34 else 1, 0, 0))
        if a == "TKI-ICI":
            j = 0
            for term, m in paper.IMMUNE_RELATED.items():
                for _ in range(m):
                    rows.append((ids[j], term, 2, 1, 0))
                    j += 1
        for i, term in enumerate(paper.DISCONTINUATIONS[a]):
            if term in paper.IMMUNE_RELATED:  # one of the immune-related events stopped treatment
                j = next(j for j, r in enumerate(rows) if r[1] == term and r[3] == 1)
                rows[j] = rows[j][:4] + (1,)
            else:
                rows.append((ids[i], term, 2, 0, 1))  # ids[i] already has an AE: counts unchanged
    ae = pd.DataFrame(rows, columns=["patient_id", "term", "grade", "immune_related",
                                     "led_to_discontinuation"])
    return cohort, ae


@pytest.fixture(scope="module")
def report():
    from hcc.fidelity import fidelity_report

    cohort, ae = published_counts_cohort()
    return fidelity_report(cohort, ae)


def test_count_rows_match_the_paper_exactly(report):
    s = report.summary
    counts = s[s["kind"] == "count"]
    # reference: paper.ARM_N, REGIMENS, TABLE1_COUNTS, EVENTS, RESPONSE, AE_ANY, AE_GRADE34,
    # IMMUNE_RELATED
    expected = (1 + 2 + sum(len(v) for v in paper.REGIMENS.values())
                + 2 * sum(len(v) for v in paper.TABLE1_COUNTS.values()) + 4 + 8 + 4 + 1
                + len(paper.IMMUNE_RELATED) + 1)
    assert len(counts) == expected
    bad = counts[counts["ok"] != True]  # noqa: E712
    assert bad.empty, bad[["item", "paper", "ours"]].to_string()
    assert (counts["ours"].astype(float) == counts["paper"].astype(float)).all()


def test_pvalues_from_counts_match_the_paper(report):
    # Table 1 (except age), ORR/DCR and AE P-values depend on the counts only: Yates
    # chi-square reproduces the printed values (METHODS.md §1)
    s = report.summary
    pv = s[s["kind"] == "p (Yates chi-square)"]
    assert len(pv) == len(paper.TABLE1_P) - 1 + 2 + 2
    assert (pv["ok"] == True).all(), pv[["item", "paper", "ours"]].to_string()  # noqa: E712
    sex = pv[pv["item"] == "Sex: P"].iloc[0]
    assert paper.TABLE1_P["sex"].matches(sex["ours"], 4)


def test_response_and_safety_percent_rows(report):
    s = report.summary
    pct = s[s["kind"] == "percent"]
    assert (pct["ok"] == True).all(), pct[["item", "paper", "ours"]].to_string()  # noqa: E712
    dcr = pct[pct["item"] == "DCR (%), TKI-ICI"].iloc[0]
    assert dcr["ours"] == pytest.approx(100 * 47 / 56)  # paper: 83.9


def test_flagged_rows_are_excluded_and_do_not_count(report):
    s = report.summary
    for (ep, table, term), key in paper.COX_FLAGGED.items():
        label = paper.COX_TERMS[term]
        rows = s[s["item"].str.startswith(f"{ep.upper()} {table}: {label} ")]
        assert len(rows) == 4  # HR, lower, upper, P
        assert rows["ok"].isna().all()
        assert (rows["tolerance"] == "excluded").all()
        assert rows["note"].str.startswith(key).all()
    total_excluded = sum(v["excluded"] for k, v in report.score.items() if k != "all")
    assert total_excluded == 4 * len(paper.COX_FLAGGED) == report.score["all"]["excluded"]
    sc = report.score["all"]
    assert sc["total"] + sc["excluded"] == len(s)


def test_every_published_cox_number_has_a_row(report):
    s = report.summary
    n_uni = sum(len(v) for v in paper.COX_UNIVARIATE.values())
    n_multi = sum(len(v) for v in paper.COX_MULTIVARIATE.values())
    cox_rows = s[s["section"].isin(["Table 2", "Table 3"]) & s["kind"].isin(["hr", "ci", "p"])]
    assert len(cox_rows) == 4 * (n_uni + n_multi)
    assert len(s[s["section"] == "Fig. 3"]) == 4
    # exact_2dp is defined for HR and CI rows only
    hrci = s[s["section"].isin(["Table 2", "Table 3", "Fig. 3"]) & s["kind"].isin(["hr", "ci"])
             & s["ok"].notna()]
    assert hrci["exact_2dp"].map(lambda v: isinstance(v, (bool, np.bool_))).all()


def test_cox_tolerances_follow_issue_2():
    # reference: issue 2 acceptance — HR within 3%, CI within 5%, P within 0.01 / "<0.001"
    from hcc.fidelity import _p_ok, _rel_ok

    hr = paper.P("0.34")
    assert _rel_ok(hr, 0.34 * 1.029, 0.03) and not _rel_ok(hr, 0.34 * 1.031, 0.03)
    assert _p_ok(paper.P("<0.001"), 0.00099) and not _p_ok(paper.P("<0.001"), 0.0011)
    assert _p_ok(paper.P("0.014"), 0.0239) and not _p_ok(paper.P("0.014"), 0.0241)


def test_report_serialises_and_plots(report, tmp_path):
    text = report.to_csv()
    assert "item,section,kind,paper,ours" in text.splitlines()[0]
    html = report._repr_html_()
    assert "Fidelity" in html
    import matplotlib

    matplotlib.use("Agg")
    ax = report.plot()
    assert len(ax.patches) == len([k for k in report.score if k != "all"])


#: Published numbers the shipped cohort (default seed) does not reproduce within issue 2's
#: tolerance: item -> the largest distance from the printed value accepted meanwhile, so
#: that a gap cannot silently widen, and closing it forces its removal here. Empty since
#: generator 1.2.0 (the last one, PFS univariate BCLC P 0.497 vs 0.476, was closed).
KNOWN_GAPS: dict[str, float] = {}


@pytest.mark.skipif(not paths.COHORT_CSV.exists(),
                    reason="the shipped cohort hcc/data/cohort.csv has not been built yet "
                           "(hcc reconstruct)")
def test_shipped_cohort_passes_every_non_excluded_row():
    # reference: every printed number in hcc.paper, with issue 2's tolerances
    from hcc.fidelity import fidelity_report

    rep = fidelity_report()
    failures = rep.failures
    unexpected = failures[~failures["item"].isin(list(KNOWN_GAPS))]
    assert unexpected.empty, unexpected[["item", "paper", "ours", "tolerance"]].to_string()
    for item, limit in KNOWN_GAPS.items():
        row = rep.summary[rep.summary["item"] == item]
        assert len(row) == 1, item
        assert item in set(failures["item"]), f"{item} now passes: remove it from KNOWN_GAPS"
        paper_value = paper.Printed(str(row["paper"].iloc[0])).value
        assert abs(float(row["ours"].iloc[0]) - paper_value) < limit, item
    assert rep.score["all"]["excluded"] == 4 * len(paper.COX_FLAGGED)


def test_ctcae_coding_from_the_manifest_is_understood(tmp_path):
    # reference: paper.IMMUNE_RELATED / DISCONTINUATIONS counts; the generator's manifest
    # records how the paper's AE names were coded (ae_term_map)
    import json

    from hcc.fidelity import fidelity_report

    cohort, ae = published_counts_cohort()
    coding = {"Immune-mediated hepatitis": "Alanine aminotransferase increased",
              "Hepatic encephalopathy": "Encephalopathy"}
    ae = ae.assign(term=ae["term"].replace(coding))
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    ae.to_csv(tmp_path / "adverse_events.csv", index=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"ae_term_map": coding}))
    s = fidelity_report(tmp_path / "cohort.csv").summary
    safety = s[s["section"] == "Safety"].set_index("item")
    assert safety.loc["Immune-related Immune-mediated hepatitis, TKI-ICI", "ours"] == 5
    assert safety.loc["Discontinuations for AEs, TKI", "ours"] == "Hepatic encephalopathy"
    assert (safety["ok"] == True).all(), safety[["paper", "ours"]].to_string()  # noqa: E712
    assert "Alanine aminotransferase increased" in \
        safety.loc["Immune-related Immune-mediated hepatitis, TKI-ICI", "note"]


def test_one_section_is_the_same_rows_as_in_the_full_report(report):
    """A chapter compares its own section (Chapter.vs_paper): the rows of the full report."""
    from hcc.fidelity import fidelity_report

    cohort, ae = published_counts_cohort()
    full = report.summary
    for section in ("Survival", "Safety"):
        part = fidelity_report(cohort, ae, sections=(section,)).summary
        pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                      full[full["section"] == section].reset_index(drop=True),
                                      check_dtype=False)


def test_immune_hepatitis_coded_as_a_flagged_liver_enzyme_rise_counts():
    """hcc.fidelity.AE_CODING: immune hepatitis recorded as AST or ALT increased with
    immune_related = 1 is the paper's "Immune-mediated hepatitis"; the same term without the
    flag is the TKI's own enzyme rise."""
    from hcc.fidelity import immune_related_patients, paper_ae_name

    ae = pd.DataFrame({"patient_id": ["a", "b", "c"], "immune_related": [1, 1, 0],
                       "term": ["Aspartate aminotransferase increased",
                                "Alanine aminotransferase increased",
                                "Alanine aminotransferase increased"]})
    got, in_tki = immune_related_patients(ae, {"a": "TKI-ICI", "b": "TKI-ICI", "c": "TKI"}, {})
    assert got["Immune-mediated hepatitis"] == 2 and in_tki == 0
    assert paper_ae_name("Alanine aminotransferase increased", 1, {}) == "Immune-mediated hepatitis"
    assert paper_ae_name("Alanine aminotransferase increased", 0, {}) == "Alanine aminotransferase increased"
    assert paper_ae_name("Encephalopathy", 0, {}) == "Hepatic encephalopathy"


def test_cox_terms_one_row_per_printed_term(report):
    """FidelityResult.cox_terms (chapter 4's table): one row per term the paper prints, its
    printed HR (CI) and P as hcc.paper has them, "in tolerance" / "as printed" exactly when
    all four numbers of the term are so in the report, and the paper's flag on the terms
    hcc.paper.COX_FLAGGED names (those are not judged)."""
    s = report.summary
    for section, ep in (("Table 2", "os"), ("Table 3", "pfs")):
        rows = report.cox_terms(section)
        printed = {**{f"{ep.upper()} univariate: {paper.COX_TERMS[k]}": v
                      for k, v in paper.COX_UNIVARIATE[ep].items()},
                   **{f"{ep.upper()} multivariate: {paper.COX_TERMS[k]}": v
                      for k, v in paper.COX_MULTIVARIATE[ep].items()}}
        assert list(rows.index) == list(printed)
        for term, pr in printed.items():
            row = rows.loc[term]
            assert row["Paper HR (CI)"] == f"{pr['HR'].text} ({pr['lower'].text}–{pr['upper'].text})"
            assert row["Paper P"] == pr["p"].text
            four = s[s["item"].str.startswith(term + " ")]
            assert len(four) == 4
            kind = "univariate" if "univariate" in term else "multivariate"
            key = next((k for (e, t, c), k in paper.COX_FLAGGED.items()
                        if e == ep and t == kind and term.endswith(paper.COX_TERMS[c])), "")
            assert row["flag"] == key
            if key:
                assert pd.isna(row["in tolerance"]) and pd.isna(row["as printed"])
            else:
                assert row["in tolerance"] == bool(four["ok"].astype(bool).all())
                assert row["as printed"] == bool(four["as_printed"].astype(bool).all())
    assert len(report.cox_terms("Fig. 3")) == 1
