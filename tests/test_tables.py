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
    assert s.loc[("Surgery", "1"), "Overall (n=93)"] == "21 (22.6)"  # METHODS §5: not 24.9%
    assert s.loc[("Cause", "HBV"), "test"] == "Chi-square"  # 3×2: no Yates correction exists
    assert s.loc[("TACE", "0"), "test"] == "Chi-square (Yates)"  # not switched to Fisher
    assert any(n.startswith("TACE") and "below 5" in n for n in table_one(df, "arm", labels=paper.TABLE1_LABELS).notes)


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
    assert ("ecog", "0") in res.summary.index and ("ecog", "1") in res.summary.index  # 0/1: categorical
    assert res.summary.loc[("age", "median [Q1, Q3]"), "test"] == "Kruskal–Wallis"


def test_format_p():
    assert format_p(0.08493) == "0.0849"
    assert format_p(0.0002710) == "<0.001"
    assert format_p(0.0002710, threshold=None) == "0.0003"
    assert format_p(0.5, prefix=True) == "= 0.5000"
    assert format_p(float("nan")) == ""


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
