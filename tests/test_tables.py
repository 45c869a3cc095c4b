"""hcc.tables against the paper's Table 1, METHODS.md §1 and R (live: chisq.test, fisher.test,
quantile, kruskal.test, oneway.test)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_toy_cohort
from rtools import requires_r, run_r

import hcc.tables as tables
from hcc import paper
from hcc.errors import DataError, ParameterError
from hcc.tables import compare_categorical, format_p, quantile_type7, table_one

TOL = 1e-8


def cohort_from_table1_counts() -> pd.DataFrame:
    """93 patients whose categorical columns have exactly the counts of paper Table 1."""
    arms = {"TKI": paper.ARM_N["TKI"], "TKI-ICI": paper.ARM_N["TKI-ICI"]}
    cols = {"arm": [a for a, n in arms.items() for _ in range(n)]}
    for var, levels in paper.TABLE1_COUNTS.items():
        values = []
        for i, arm in enumerate(arms):
            arm_values = [lev for lev, counts in levels.items() for _ in range(counts[i])]
            assert len(arm_values) == arms[arm]
            values += arm_values
        cols[var] = values
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------- the paper
def test_table1_p_values_reproduce_the_paper():
    """Every categorical P of Table 1 (paper) to the printed 4 dp, from the published counts.
    (Age's Kruskal–Wallis P needs the individual ages, which the paper does not print.)"""
    df = cohort_from_table1_counts()
    res = table_one(df, "arm", labels=paper.TABLE1_LABELS)
    checked = 0
    for var, printed in paper.TABLE1_P.items():
        if var == "age":
            continue
        assert printed.matches(res.pvalues[var]), (var, printed.text, res.pvalues[var])
        checked += 1
    assert checked == len(paper.TABLE1_COUNTS)


def test_table1_layout_counts_and_percentages():
    """Columns and cells as paper Table 1: 'TKI (n=37)', '30 (81.1)'; Overall 79 (84.9)."""
    df = cohort_from_table1_counts()
    s = table_one(df, "arm", labels=paper.TABLE1_LABELS).summary
    assert list(s.columns) == ["Overall (n=93)", "TKI (n=37)", "TKI-ICI (n=56)", "P", "test"]
    assert s.loc[("Sex", "Male"), "TKI (n=37)"] == "30 (81.1)"
    assert s.loc[("Sex", "Male"), "Overall (n=93)"] == "79 (84.9)"
    assert s.loc[("Surgery", ""), "Overall (n=93)"] == "21 (22.6)"  # METHODS §5: not 24.9%
    assert s.loc[("Cause", "HBV"), "test"] == "Chi-square"  # 3×2: no Yates correction exists
    assert s.loc[("TACE", ""), "test"] == "Chi-square (Yates)"  # not switched to Fisher
    levels = table_one(df, "arm", labels=paper.TABLE1_LABELS, binary="levels").summary
    assert levels.loc[("Surgery", "1"), "Overall (n=93)"] == "21 (22.6)"
    assert levels.loc[("TACE", "0"), "test"] == "Chi-square (Yates)"
    assert any(n.startswith("TACE") and "below 5" in n for n in table_one(df, "arm", labels=paper.TABLE1_LABELS).notes)


def test_table1_one_row_per_binary_variable_with_the_papers_labels():
    """Paper Table 1: "Surgery (%)  21 (22.6)  6 (16.2)  15 (26.8)  0.3473" — one row for a 0/1
    variable; "ECOG (%)" with level rows "PS 0" / "PS 1"; the levels in the paper's order."""
    df = cohort_from_table1_counts()
    res = table_one(df, "arm", variables=list(paper.TABLE1_COUNTS), labels=paper.TABLE1_ROW_LABELS,
                    levels=paper.TABLE1_LEVELS)
    s = res.summary
    for var in ("surgery", "tace", "ablation", "pvtt", "metastases"):
        rows = s.loc[paper.TABLE1_ROW_LABELS[var]]
        assert list(rows.index) == [""], var
        ones = paper.TABLE1_COUNTS[var][1]
        assert rows.iloc[0]["TKI (n=37)"].startswith(f"{ones[0]} (") and \
            rows.iloc[0]["TKI-ICI (n=56)"].startswith(f"{ones[1]} (")
    assert s.loc[("Surgery (%)", "")].tolist()[:3] == ["21 (22.6)", "6 (16.2)", "15 (26.8)"]
    assert s.loc[("Metastases (%)", "")].tolist()[:3] == ["41 (44.1)", "17 (45.9)", "24 (42.9)"]
    assert list(s.loc["ECOG (%)"].index) == ["PS 0", "PS 1"]
    assert s.loc[("ECOG (%)", "PS 0"), "TKI (n=37)"] == "9 (24.3)"
    assert list(s.loc["Sex"].index) == ["Male", "Female"]
    assert list(s.loc["Cause (%)"].index) == ["HBV", "HCV", "HBV + HCV"]
    assert list(s.loc["Number (%)"].index) == ["≤ 3", "> 3"]
    assert list(s.loc["AFP (%)"].index) == ["≤ 400 ng/mL", "> 400 ng/mL"]
    assert len(s) == 5 + 2 * 7 + 3  # 5 one-row binaries, 7 two-level variables, Cause
    # the P column, the tests and the counts do not depend on the layout
    other = table_one(df, "arm", variables=list(paper.TABLE1_COUNTS), binary="levels")
    assert res.pvalues.equals(other.pvalues)
    assert all(res.counts[v].equals(other.counts[v]) for v in res.counts)
    assert s["P"].dropna().tolist() == other.summary["P"].dropna().tolist()
    with pytest.raises(ParameterError, match="binary must be"):
        table_one(df, "arm", binary="two")


def test_table1_one_row_binary_keeps_the_missing_row_and_a_column_of_zeros():
    df = pd.DataFrame({"arm": ["A"] * 4 + ["B"] * 4, "x": [0, 0, 0, 0, 0, 0, np.nan, 0],
                       "y": [True, False, True, True, False, False, True, False]})
    s = table_one(df, "arm", variables=["x", "y"]).summary
    assert list(s.index) == [("x", ""), ("x", "Missing"), ("y", "")]
    assert s.loc[("x", ""), "Overall (n=8)"] == "0 (0.0)"
    assert s.loc[("y", ""), "A (n=4)"] == "3 (75.0)"


# METHODS.md §1 (R 4.2.2): (row counts from hcc.paper) -> (Yates, uncorrected, Fisher) to 4 dp
def _methods_rows():
    c = paper.TABLE1_COUNTS
    resp = paper.RESPONSE

    def two(d, a, b):
        return [[d[a][0], d[b][0]], [d[a][1], d[b][1]]]

    orr = [sum(resp[a][k] for k in ("CR", "PR")) for a in paper.ARMS]
    dcr = [sum(resp[a][k] for k in ("CR", "PR", "SD")) for a in paper.ARMS]
    any_ae = [paper.AE_ANY[a] for a in paper.ARMS]
    g34 = [paper.AE_GRADE34[a] for a in paper.ARMS]
    n = [paper.ARM_N[a] for a in paper.ARMS]
    return [
        ("sex", two(c["sex"], "Male", "Female"), (0.5816, 0.3968, 0.5547)),
        ("ecog", two(c["ecog"], 0, 1), (0.1081, 0.0675, 0.0797)),
        ("surgery", two(c["surgery"], 1, 0), (0.3473, 0.2328, 0.3129)),
        ("tace", two(c["tace"], 1, 0), (1.0, 0.6696, 1.0)),
        ("ablation", two(c["ablation"], 1, 0), (0.0849, 0.0515, 0.0720)),
        ("orr", [orr, [x - y for x, y in zip(n, orr)]], (0.1552, 0.0874, 0.1481)),
        ("dcr", [dcr, [x - y for x, y in zip(n, dcr)]], (0.0003, 0.0001, 0.0002)),
        ("any_ae", [any_ae, [x - y for x, y in zip(n, any_ae)]], (0.2528, 0.1499, 0.2352)),
        ("grade34", [g34, [x - y for x, y in zip(n, g34)]], (0.2424, 0.1592, 0.2321)),
    ]


@pytest.mark.parametrize("name,table,expected", _methods_rows(), ids=[r[0] for r in _methods_rows()])
def test_methods_section1_yates_uncorrected_fisher(name, table, expected):
    for test, value in zip(("yates", "chi2", "fisher"), expected):
        assert round(compare_categorical(table, test), 4) == pytest.approx(value, abs=1e-12), (name, test)


def test_methods_cause_3x2_same_p_with_and_without_correction():
    """METHODS.md §1: Cause (3×2) P 0.7631, Yates does not apply."""
    t = [[v[0] for v in paper.TABLE1_COUNTS["etiology"].values()],
         [v[1] for v in paper.TABLE1_COUNTS["etiology"].values()]]
    assert round(compare_categorical(t, "yates"), 4) == 0.7631
    assert compare_categorical(t, "yates") == compare_categorical(t, "chi2")


# --------------------------------------------------------------------------- R parity
TABLES = [
    [[30, 49], [7, 7]], [[35, 54], [2, 2]], [[3, 12], [34, 44]], [[0, 5], [10, 3]],
    [[34, 51], [2, 2], [1, 3]], [[1, 2, 14, 20], [2, 10, 35, 9]], [[3, 1, 4], [2, 6, 1], [5, 2, 3]],
    [[12, 4, 15, 25], [3, 0, 34, 1]], [[0, 7], [4, 0], [2, 2], [1, 6]],
]


@requires_r
def test_compare_categorical_matches_R_chisq_and_fisher():
    mats = "list(" + ", ".join(
        f"matrix(c({', '.join(str(v) for col in np.array(t).T for v in col)}), nrow = {len(t)})" for t in TABLES) + ")"
    r = run_r(f"""mats <- {mats}
out <- lapply(mats, function(m) list(
  yates = suppressWarnings(chisq.test(m)$p.value),
  chi2 = suppressWarnings(chisq.test(m, correct = FALSE)$p.value),
  fisher = fisher.test(m)$p.value))""")
    for t, rr in zip(TABLES, r):
        for test in ("yates", "chi2", "fisher"):
            np.testing.assert_allclose(compare_categorical(t, test), rr[test], rtol=TOL, atol=1e-14,
                                       err_msg=f"{t} {test}")


@requires_r
def test_quantile_type7_matches_R():
    rng = np.random.default_rng(7)
    xs = [rng.integers(30, 80, 37).astype(float), rng.normal(size=10), np.array([5.0]),
          np.array([1.0, 2.0]), np.round(rng.normal(50, 10, 56), 1)]
    probs = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]
    frames = {f"x{i}": pd.DataFrame({"v": x}) for i, x in enumerate(xs)}
    code = "out <- list(" + ", ".join(
        f"unname(quantile(x{i}$v, c({', '.join(map(str, probs))}), type = 7))" for i in range(len(xs))) + ")"
    r = run_r(code, **frames)
    for x, rq in zip(xs, r):
        np.testing.assert_allclose(quantile_type7(x, probs), rq, rtol=1e-14, atol=1e-14)
    assert isinstance(quantile_type7(xs[0], 0.5), float)


@requires_r
def test_table_one_p_values_match_R_on_toy_cohort():
    df = make_toy_cohort(150, 11)
    df.loc[[3, 9, 27], "child_pugh"] = None  # missing values: R's table() drops them
    variables = ["regimen", "age", "sex", "ecog", "etiology", "tace", "child_pugh", "bclc", "os_months"]
    res = table_one(df, "arm", variables=variables, nonnormal=["age"])
    cat = [v for v in variables if v not in ("age", "os_months")]
    code = ("d$child_pugh[d$child_pugh == ''] <- NA\n"  # read.csv reads the blanks as ''
            "out <- list(" + ", ".join(
        f"{v} = suppressWarnings(chisq.test(table(d${v}, d$arm))$p.value)" for v in cat)
        + ", age = kruskal.test(age ~ factor(arm), data = d)$p.value"
        + ", os_months = oneway.test(os_months ~ factor(arm), data = d, var.equal = TRUE)$p.value"
        + ", q = unname(quantile(d$age[d$arm == 'TKI'], c(.25, .5, .75))))")
    r = run_r(code, d=df[variables + ["arm"]])
    for v in variables:
        np.testing.assert_allclose(res.pvalues[v], r[v], rtol=TOL, err_msg=v)
    q1, med, q3 = r["q"]
    tki_col = [c for c in res.summary.columns if c.startswith("TKI (")][0]
    assert res.summary.loc[("age", "median [Q1, Q3]"), tki_col] == f"{med:.1f} [{q1:.1f}, {q3:.1f}]"
    assert res.summary.loc[("child_pugh", "Missing"), "Overall (n=150)"] == "3 (2.0)"
    assert res.summary.loc[("os_months", "mean (SD)"), "test"] == "ANOVA"
    assert any("child_pugh: 3 missing" in n for n in res.notes)


@requires_r
def test_table_one_fisher_matches_R_including_3x2():
    df = cohort_from_table1_counts()
    res = table_one(df, "arm", test="fisher")
    r = run_r("out <- list(etiology = fisher.test(table(d$etiology, d$arm))$p.value, "
              "sex = fisher.test(table(d$sex, d$arm))$p.value)", d=df)
    np.testing.assert_allclose(res.pvalues[["etiology", "sex"]].to_numpy(), [r["etiology"], r["sex"]], rtol=TOL)
    assert res.summary.loc[("etiology", "HBV"), "test"] == "Fisher exact"


# --------------------------------------------------------------------------- other behaviour
def test_smd_binary_equals_austin_formula():
    """Austin (2009): SMD = |p1 - p2| / sqrt((p1(1-p1) + p2(1-p2)) / 2)."""
    df = cohort_from_table1_counts()
    res = table_one(df, "arm", variables=["sex"], smd=True)
    p1, p2 = 30 / 37, 49 / 56
    expected = abs(p1 - p2) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert res.summary.loc[("sex", "Female"), "SMD"] == pytest.approx(expected, rel=1e-10)


def test_continuous_detection_and_nonnormal_default(toy_cohort):
    res = table_one(toy_cohort, "arm", variables=["age", "ecog"])
    assert ("age", "median [Q1, Q3]") in res.summary.index  # > 2 distinct values: continuous
    assert ("ecog", "") in res.summary.index  # 0/1: categorical, one row (the 1s)
    levels = table_one(toy_cohort, "arm", variables=["age", "ecog"], binary="levels")
    assert ("ecog", "0") in levels.summary.index and ("ecog", "1") in levels.summary.index
    assert res.summary.loc[("age", "median [Q1, Q3]"), "test"] == "Kruskal–Wallis"


def test_format_p():
    assert format_p(0.08493) == "0.0849"
    assert format_p(0.0002710, threshold=0.001) == "<0.001"
    assert format_p(0.0002710, threshold=None) == "0.0003"
    assert format_p(0.5, prefix=True) == "= 0.5000"
    assert format_p(float("nan")) == ""


def test_format_p_prints_as_the_paper_beside_it():
    """The rule (hcc/_format.py): *digits* decimals, "<10^-digits" below what they show.
    Paper: DCR "P = 0.0003" (4 dp, response/Table 1/safety); Tables 2/3 "<0.001" (3 dp)."""
    assert format_p(0.0002710) == "0.0003"  # DCR, as printed
    assert format_p(0.0002710, digits=3) == "<0.001"  # a Cox table / log-rank
    assert format_p(0.00004) == "<0.0001" and format_p(0.00004, prefix=True) == "< 0.0001"
    assert format_p(0.00099, digits=3) == "<0.001" and format_p(0.001, digits=3) == "0.001"
    assert format_p(0.0000, threshold=None) == "0.0000"


def test_format_estimate_one_decimals_rule():
    """An estimate and its CI share their decimals: follow-up "13.7 (13.2–35.4)", not "13.2–35.37"."""
    from hcc._format import format_estimate
    assert format_estimate(13.7, 13.2, 35.3667, digits=1) == "13.7 (13.2–35.4)"
    assert format_estimate(19.2333, 14.2, float("nan")) == "19.23 (14.20–NR)"


def test_html_is_escaped_and_formats_p():
    df = pd.DataFrame({"arm": ["<b>A</b>"] * 5 + ["B"] * 5, "x": ["<script>"] * 3 + ["y"] * 7})
    html = table_one(df, "arm")._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_fisher_refuses_tables_too_large_to_enumerate(monkeypatch):
    monkeypatch.setattr(tables, "FISHER_MAX_TABLES", 1000)
    with pytest.raises(DataError, match="too large"):
        compare_categorical([[20, 30, 25], [22, 18, 30], [15, 25, 20]], "fisher")


@pytest.mark.parametrize("call,exc,match", [
    (lambda d: table_one(d, "arm", test="gtsummary"), ParameterError, "test must be"),
    (lambda d: table_one(d, "group"), DataError, "not in the data"),
    (lambda d: table_one(d, "arm", variables=["nope"]), DataError, "not in the data"),
    (lambda d: table_one(d, "arm", variables=["arm"]), DataError, "cannot also be"),
    (lambda d: table_one(d.iloc[0:0], "arm"), DataError, "empty"),
    (lambda d: table_one(d.to_dict(), "arm"), DataError, "DataFrame"),
    (lambda d: compare_categorical([[1, 2, 3]]), DataError, "2 rows and 2 columns"),
    (lambda d: compare_categorical([[1, -2], [3, 4]]), DataError, "non-negative"),
    (lambda d: compare_categorical([[1, 2], [3, 4]], "exact"), ParameterError, "test must be"),
    (lambda d: quantile_type7([1, 2, 3], 1.5), ParameterError, "between 0 and 1"),
])
def test_bad_input_raises_plain_errors(toy_cohort, call, exc, match):
    with pytest.raises(exc, match=match):
        call(toy_cohort)


def test_rows_without_group_are_left_out_with_a_note(toy_cohort):
    d = toy_cohort.copy()
    d.loc[:4, "arm"] = None
    res = table_one(d, "arm", variables=["sex"])
    assert any("5 patient(s) without a value of 'arm'" in n for n in res.notes)
    assert res.summary.columns[0] == f"Overall (n={len(d) - 5})"
