"""hcc.chapter: the display helpers shared by the notebooks.

References: the small-cell suppression rule as the notebooks state it (``suppress_below``
parameter of params.yml: for a real cohort, counts 0 < n < k are shown as "<k", with the
percentage and confidence limits that reveal them; the paper's published numbers are never
masked); HTML escaping of untrusted labels (OWASP: ``<`` and ``>`` must reach the page as
``&lt;`` / ``&gt;``); the banner text of the book (chapter 1: a synthetic reconstruction
calibrated to the published numbers, not the study's patients); ``hcc.paper.Printed.matches``
for the paper-versus-cohort table; R ``summary(survfit, times)$n.risk`` (patients with
time >= t) for the numbers at risk, counted by hand below.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_toy_cohort
from hcc import chapter, paper
from hcc.errors import ParameterError

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in an empty folder, as the executed notebook does (tables/ is relative)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- suppression rule
def test_suppression_rule_on_a_concrete_table():
    """The rule, cell by cell: 0 < n < 5 masked (whole numbers, "n (%)" text, count columns
    stored as floats, the "%"/"lower"/"upper" beside a masked "<arm> n"), group sizes in labels;
    not masked: 0, the Paper column, P-values, non-count floats, "median [Q1, Q3]" text."""
    frame = pd.DataFrame({
        "TKI n": [3, 10, 0],
        "TKI %": [8.1, 27.0, 0.0],
        "TKI lower": [1.7, 14.0, np.nan],
        "TKI upper": [21.9, 44.0, np.nan],
        "TKI-ICI (n=4)": ["4 (7.1%)", "57 [50, 64]", "12 (21.4%)"],
        "Paper": ["3", "4", "1"],
        "P": [0.03, 1.0, 2.0],
        "events": [2.0, 7.0, 4.0],
        "HR": [2.0, 3.0, 0.5],
        "ok": [True, True, False],
    }, index=pd.Index(["CR", "PR", "NE"], name="response"))
    before = frame.copy()
    out = chapter.suppress_small_counts(frame, 5)
    expected = pd.DataFrame({
        "TKI n": ["<5", 10, 0],
        "TKI %": ["<5", 27.0, 0.0],
        "TKI lower": ["<5", 14.0, np.nan],
        "TKI upper": ["<5", 44.0, np.nan],
        "TKI-ICI (n=<5)": ["<5", "57 [50, 64]", "12 (21.4%)"],
        "Paper": ["3", "4", "1"],
        "P": [0.03, 1.0, 2.0],
        "events": ["<5", 7.0, "<5"],
        "HR": [2.0, 3.0, 0.5],
        "ok": [True, True, False],
    }, index=pd.Index(["CR", "PR", "NE"], name="response"))
    assert list(out.columns) == list(expected.columns)
    for col in expected.columns:
        assert [str(v) for v in out[col]] == [str(v) for v in expected[col]], col
    pd.testing.assert_frame_equal(frame, before)  # the input is not modified


def test_suppression_threshold_edges():
    """k - 1 is masked, k is not; k = 0 and k = 1 mask nothing; a negative or non-whole k is refused."""
    frame = pd.DataFrame({"n": [4, 5, 1]})
    assert chapter.suppress_small_counts(frame, 5)["n"].tolist() == ["<5", 5, "<5"]
    pd.testing.assert_frame_equal(chapter.suppress_small_counts(frame, 0), frame)
    pd.testing.assert_frame_equal(chapter.suppress_small_counts(frame, 1), frame)
    for bad in (-1, 2.5, True, "5"):
        with pytest.raises(ParameterError):
            chapter.suppress_small_counts(frame, bad)


def test_suppression_of_a_response_result():
    """On ``response_table``: every "<arm> n" cell with 0 < n < 5 and its "%", and nothing
    else in the count columns, are masked; the expected cells come from value_counts."""
    import hcc

    toy = make_toy_cohort(60, seed=3)
    masked = chapter.suppress_small_counts(hcc.response_table(toy, "arm", "best_response").summary, 5)
    for arm, sub in toy.groupby("arm"):
        counts = sub["best_response"].value_counts()
        for cat in ("CR", "PR", "SD", "PD"):
            n = int(counts.get(cat, 0))
            small = 0 < n < 5
            assert (masked.loc[cat, f"{arm} n"] == "<5") == small, (arm, cat, n)
            assert (masked.loc[cat, f"{arm} %"] == "<5") == small, (arm, cat, n)


def test_suppression_active_only_for_real_data():
    """The synthetic reconstruction is never masked; a real cohort only with k > 0."""
    assert not chapter.suppression_active(5, synthetic=True)
    assert not chapter.suppression_active(0, synthetic=False)
    assert chapter.suppression_active(5, synthetic=False)


# --------------------------------------------------------------------------- HTML escaping
def _hostile_frame() -> pd.DataFrame:
    return pd.DataFrame({SCRIPT: [IMG, 3], "Paper": ["1", "2"]}, index=pd.Index([IMG, SCRIPT], name=SCRIPT))


def _assert_escaped(text: str) -> None:
    assert SCRIPT not in text and IMG not in text
    assert SCRIPT_ESCAPED in text and IMG_ESCAPED in text


def test_displayed_tables_escape_hostile_labels(in_tmp):
    """OWASP: labels and values from a user's file reach the page escaped, with and without
    masking (values, index, column labels, index name)."""
    assert chapter.show_table(_hostile_frame(), "hostile", suppress_below=0, synthetic=False) is None
    shown = chapter.table_display(_hostile_frame(), suppress_below=0, synthetic=False)
    _assert_escaped(shown._repr_html_())
    masked = chapter.table_display(_hostile_frame(), suppress_below=5, synthetic=False)
    assert isinstance(masked, chapter.MaskedTable)
    _assert_escaped(masked._repr_html_())
    assert "&lt;5" in masked._repr_html_()


def test_masked_result_escapes_title_and_notes(in_tmp):
    """A masked result keeps its title and notes, escaped."""
    from hcc._results import Result

    class Hostile(Result):
        title = SCRIPT
        notes = (IMG,)

        @property
        def summary(self):
            return pd.DataFrame({"n": [2, 30]}, index=["a", "b"])

    shown = chapter.table_display(Hostile(), suppress_below=5, synthetic=False)
    _assert_escaped(shown._repr_html_())
    assert "Counts from 1 to 4" in shown._repr_html_()


# --------------------------------------------------------------------------- banner
def test_banner_for_the_synthetic_cohort():
    """Chapter 1: the data are a synthetic reconstruction calibrated to the published
    numbers, not the study's patients."""
    text = chapter.synthetic_banner(True).data
    assert "synthetic reconstruction" in text
    assert "numbers published by" in text
    assert "not the study's patients" in text


def test_banner_for_a_real_cohort():
    """A user's cohort: no synthetic warning; its size and the masking threshold are stated."""
    text = chapter.synthetic_banner(False, n_patients=120, suppress_below=5).data
    assert "Synthetic data" not in text and "synthetic reconstruction</strong>" not in text
    assert "Your cohort" in text and "(120 patients)" in text
    assert "counts below 5 are suppressed" in text
    assert "suppressed" not in chapter.synthetic_banner(False, n_patients=120).data


# --------------------------------------------------------------------------- CSV downloads
def test_show_table_writes_the_csv(in_tmp):
    """tables/NAME.csv next to the working directory, as the {download} links expect."""
    frame = pd.DataFrame({"TKI n": [3, 12], "TKI %": [8.1, 32.4]}, index=pd.Index(["CR", "PR"], name="response"))
    chapter.show_table(frame, "response", synthetic=True, suppress_below=5)
    written = pd.read_csv(in_tmp / "tables" / "response.csv", index_col=0)
    pd.testing.assert_frame_equal(written, frame)  # synthetic: never masked
    chapter.show_table(frame, "response_real", synthetic=False, suppress_below=5)
    real = pd.read_csv(in_tmp / "tables" / "response_real.csv", index_col=0)
    assert real.loc["CR"].tolist() == ["<5", "<5"] and real.loc["PR", "TKI n"] == "12"


def test_save_table_writes_result_summary_without_index(in_tmp):
    """``save_table(result, name, index=False)`` writes ``result.summary`` as the notebooks' to_csv did."""
    import hcc

    toy = make_toy_cohort(40, seed=2)
    fit = hcc.km(toy, "os_months", "os_event", group="arm")
    path = chapter.save_table(fit, "km", index=False)
    assert path.resolve() == (in_tmp / "tables" / "km.csv").resolve()
    back = pd.read_csv(path)
    assert list(back.columns) == list(fit.summary.columns)  # no index column
    assert back["n"].tolist() == toy["arm"].value_counts().sort_index().tolist()


@pytest.mark.parametrize("name", ["../escape", "sub/dir", "", "a b"])
def test_table_name_cannot_leave_the_tables_folder(in_tmp, name):
    with pytest.raises(ParameterError):
        chapter.save_table(pd.DataFrame({"a": [1]}), name)


# --------------------------------------------------------------------------- paper vs ours
def test_compare_with_paper_uses_printed_rounding():
    """hcc.paper: 7.63 months = 229 days / 30; "NR" matches a median not reached; 0.0905 is
    not 0.0904."""
    table = chapter.compare_with_paper([("OS TKI median", paper.P("7.63"), 229 / 30),
                                      ("OS TKI-ICI upper", paper.P("NR"), float("nan")),
                                      ("some P", paper.P("0.0905"), 0.0904)])
    assert list(table.columns) == ["Paper", "This cohort", "match"]
    assert table.index.name == "item"
    assert table["Paper"].tolist() == ["7.63", "NR", "0.0905"]
    assert table["This cohort"].tolist() == ["7.633", "NR", "0.0904"]
    assert table["match"].tolist() == [True, True, False]


def test_compare_with_paper_takes_the_fidelity_rows_and_their_tolerance():
    """A chapter's "paper vs ours" table is the fidelity report's rows (hcc.fidelity: one
    tolerance rule): ``match`` is its ``ok``, text values stay text."""
    rows = pd.DataFrame({"item": ["Median follow-up", "Discontinuations, TKI"], "paper": ["13.7", "Hypertension"],
                         "ours": [13.73, "Hypertension"], "ok": [True, True]})
    table = chapter.compare_with_paper(rows)
    assert table["This cohort"].tolist() == ["13.73", "Hypertension"]
    assert table["match"].tolist() == [True, True]


def test_format_number():
    assert chapter.format_number(float("inf")) == "NR"
    assert chapter.format_number(None) == "NR"
    assert chapter.format_number(np.nan) == "NR"
    assert chapter.format_number(13.6666) == "13.67"
    assert chapter.format_number(np.int64(37)) == "37"


# --------------------------------------------------------------------------- plots
def _at_risk_texts(ax):
    return [t.get_text() for t in ax.texts if getattr(t, "xycoords", None) == ("data", "axes fraction")]


def test_km_number_at_risk_is_masked_for_real_data():
    """Six patients, times 2, 3, 3+, 5, 7+, 8 (chapter 3's exercise): at risk (time >= t) at
    0, 2, 4, 6, 8 months is 6, 6, 3, 2, 1 (R summary(fit, times)$n.risk); with k = 5 the last
    three read "<5"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import hcc

    six = pd.DataFrame({"time": [2, 3, 3, 5, 7, 8], "event": [1, 1, 0, 1, 0, 1]})
    fit = hcc.km(six, "time", "event")
    ticks = [0, 2, 4, 6, 8]
    ax = chapter.plot_km(fit, xticks=ticks, synthetic=True, suppress_below=5)
    assert _at_risk_texts(ax) == ["6", "6", "3", "2", "1"]
    ax = chapter.plot_km(fit, xticks=ticks, synthetic=False, suppress_below=5)
    assert _at_risk_texts(ax) == ["6", "6", "<5", "<5", "<5"]
    plt.close("all")


def test_forest_plot_drops_patient_counts_when_masked():
    """Fig. 3 style: a subgroup of 5 or fewer women is a small count, so the n column is left
    out for real data with k = 6 and kept otherwise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import hcc

    toy = make_toy_cohort(60, seed=3)
    assert 0 < (toy["sex"] == "Female").sum() < 6
    result = hcc.subgroup_hr(toy, "pfs_months", "pfs_event", treatment="arm", subgroups=["sex"])
    n_female = str(int((toy["sex"] == "Female").sum()))

    def texts(ax):
        return [t.get_text() for t in ax.texts]

    kept = texts(chapter.plot_forest(result, synthetic=False, suppress_below=0))
    assert "n" in kept and n_female in kept
    dropped = texts(chapter.plot_forest(result, synthetic=False, suppress_below=6))
    assert "n" not in dropped and n_female not in dropped
    plt.close("all")


def test_show_table_displays_once(in_tmp, monkeypatch):
    """The notebooks' show(): one display per call (a call ending a cell must not show twice)."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    frame = pd.DataFrame({"n": [2, 9]})
    assert chapter.show_table(frame, "once", synthetic=True) is None
    assert len(shown) == 1 and shown[0] is frame
    chapter.show_table(frame, "once_real", synthetic=False, suppress_below=5)
    assert isinstance(shown[1], chapter.MaskedTable) and shown[1].frame["n"].tolist() == ["<5", 9]


# --------------------------------------------------------------------------- rows used
# Reference for the expected numbers: the complete-case rule of R's na.omit (a patient with a
# missing value in any needed column is left out, once), as issue 5 states it; checked against
# hcc.cox's CoxResult.n / .n_dropped, hcc.table_one's "Missing" rows, hcc.response_table's "NE"
# row, and R's coxph live.
N_TOY = 40


@pytest.fixture
def gappy():
    """40 toy patients: ecog blank for patients 0 and 1, afp_gt400 blank for patient 1 only
    (patient 1 misses both), so a model of ecog + afp_gt400 leaves out 2 patients."""
    toy = make_toy_cohort(N_TOY, seed=3)
    toy["ecog"] = toy["ecog"].astype(float)
    toy["afp_gt400"] = toy["afp_gt400"].astype(float)
    toy.loc[[0, 1], "ecog"] = np.nan
    toy.loc[[1], "afp_gt400"] = np.nan
    return toy


def test_rows_used_counts_a_patient_missing_several_columns_once(gappy):
    r = chapter.rows_used(gappy, ["os_months", "os_event", "ecog", "afp_gt400"])
    assert (r.used, r.left_out, r.total) == (38, 2, 40)
    assert r.missing == {"ecog": 2, "afp_gt400": 1}
    assert r.sentences == ["This analysis used 38 of 40 patients; 2 were left out: "
                           "missing ecog (2), missing afp_gt400 (1)."]
    assert r.counts.loc[:, ["used", "total", "left_out", "missing ecog", "missing afp_gt400"]] \
        .iloc[0].tolist() == [38, 40, 2, 2, 1]


def test_rows_used_when_nobody_is_left_out(gappy):
    r = chapter.rows_used(gappy, ["os_months", "os_event", "arm"], label="The OS analyses")
    assert (r.used, r.left_out, r.missing) == (40, 0, {})
    assert r.sentences == ["The OS analyses used all 40 patients."]
    assert "used all 40 patients" in r._repr_html_()


def test_rows_used_agrees_with_cox(gappy):
    """hcc.cox leaves out the same patients (R na.omit): CoxResult.n and .n_dropped."""
    import hcc

    fit = hcc.cox(gappy, "os_months", "os_event", ["ecog", "afp_gt400"])
    r = chapter.rows_used(gappy, ["os_months", "os_event", "ecog", "afp_gt400"])
    assert (fit.n, fit.n_dropped) == (r.used, r.left_out) == (38, 2)
    one = hcc.cox(gappy, "os_months", "os_event", ["afp_gt400"])
    assert one.n == chapter.rows_used(gappy, ["os_months", "os_event", "afp_gt400"]).used == 39


def test_rows_used_agrees_with_r_coxph(gappy):
    """R: coxph(..., na.action = na.omit)$n on the same frame (blank cells read as NA)."""
    from rtools import run_r

    r = run_r("f <- coxph(Surv(os_months, os_event) ~ ecog + afp_gt400, data = d)\n"
              "out <- list(n = f$n, dropped = length(f$na.action))", d=gappy)
    ours = chapter.rows_used(gappy, ["os_months", "os_event", "ecog", "afp_gt400"])
    assert (r["n"], r["dropped"]) == (ours.used, ours.left_out) == (38, 2)


def test_table_one_rows_used_per_variable(gappy):
    """table_one: a "Missing" row and P on complete cases (patients with arm and the variable)."""
    import hcc

    gappy.loc[5, "arm"] = np.nan  # table_one leaves out a patient without a group
    r = chapter.table_one_rows_used(gappy, "arm", ["sex", "ecog", "afp_gt400"],
                                 labels={"ecog": "ECOG", "afp_gt400": "AFP > 400"})
    c = r.counts
    assert c.loc["sex", "used"] == 39 and c.loc["ECOG", "used"] == 37 and c.loc["AFP > 400", "used"] == 38
    assert c.loc["ECOG", "missing ecog"] == 2 and c.loc["ECOG", "missing arm"] == 1
    lines = repr(r).splitlines()
    assert "ECOG: used 37 of 40 patients; 3 were left out: missing arm (1), missing ECOG (2)." in lines
    t1 = hcc.table_one(gappy, by="arm", variables=["sex", "ecog", "afp_gt400"])
    assert any("ecog" in n and "complete cases" in n for n in t1.notes)
    assert any("P use complete cases" in n for n in r.notes)
    # the Missing row of ECOG counts the 2 patients whose group is known
    missing_row = t1.summary.loc[("ecog", "Missing")].iloc[0]
    assert str(missing_row).startswith("2 ")


def test_screen_rows_used_matches_each_model(gappy):
    import hcc

    candidates = ["ecog", "afp_gt400", "tace"]
    screen = hcc.cox_screen(gappy, "os_months", "os_event", candidates, threshold=1.0)
    r = chapter.screen_rows_used(gappy, "os_months", "os_event", screen,
                              labels={"ecog": "ECOG", "afp_gt400": "AFP", "tace": "TACE"})
    c = r.counts
    assert c.loc["Univariate: ECOG", "used"] == 38
    assert c.loc["Univariate: AFP", "used"] == 39
    assert c.loc["Univariate: TACE", "used"] == 40
    assert screen.selected == candidates  # threshold 1 selects every candidate
    assert c.loc["Multivariable: ECOG, AFP, TACE", "used"] == 38 == screen.multivariate.n
    for cand in candidates:
        used = c.loc[f"Univariate: {dict(ecog='ECOG', afp_gt400='AFP', tace='TACE')[cand]}",
                     "used"]
        assert hcc.cox(gappy, "os_months", "os_event", [cand]).n == used
        assert screen.univariate.loc[screen.univariate["candidate"] == cand, "n"].iloc[0] == used
    text = repr(r)
    assert "Univariate: ECOG: used 38 of 40 patients; 2 were left out: missing ECOG (2)." in text
    assert "The other analysis used all 40 patients." in text


def test_response_keeps_missing_response_as_not_evaluable(gappy):
    import hcc

    gappy.loc[[3, 4, 5], "best_response"] = np.nan
    r = chapter.rows_used(gappy, ["arm", "best_response"], label="The response analysis",
                       kept={"best_response": "counted as not evaluable (NE)"})
    assert (r.used, r.left_out) == (40, 0)
    assert r.sentences == ["The response analysis used all 40 patients; 3 with missing "
                           "best_response counted as not evaluable (NE)."]
    resp = hcc.response_table(gappy, "arm").summary
    assert resp.loc["NE", ["TKI n", "TKI-ICI n"]].sum() == 3
    assert resp.loc[["CR", "PR", "SD", "PD", "NE"], ["TKI n", "TKI-ICI n"]].to_numpy().sum() == 40


def test_rows_used_escapes_labels(gappy):
    r = chapter.rows_used(gappy, ["ecog"], label=SCRIPT, labels={"ecog": IMG})
    out = r._repr_html_()
    assert SCRIPT_ESCAPED in out and IMG_ESCAPED in out
    assert "<script" not in out and "<img" not in out
    table = chapter.rows_used_table(gappy, {SCRIPT: ["ecog"], "b": ["afp_gt400"]}, title=IMG,
                                 notes=(SCRIPT,))
    out = table._repr_html_()
    assert "<script" not in out and "<img" not in out and IMG_ESCAPED in out


def test_rows_used_masks_small_counts_for_real_data(gappy, in_tmp):
    masked = chapter.rows_used(gappy, ["ecog", "afp_gt400"], suppress_below=5, synthetic=False)
    # "used 38 of 40" beside "<5 left out" would give 2: the number used is hidden too
    assert masked.sentences == ["This analysis used all but <5 of 40 patients, left out for "
                                "missing ecog (<5), missing afp_gt400 (<5)."]
    assert masked.summary.iloc[0].tolist() == ["*", "40", "<5", "missing ecog (<5), missing afp_gt400 (<5)"]
    assert "38" not in masked._repr_html_()
    masked.to_csv("rows.csv")
    assert "(2)" not in (in_tmp / "rows.csv").read_text()
    assert "Counts from 1 to 4" in masked._repr_html_()
    # the synthetic cohort and suppress_below = 0 are never masked
    for kw in ({"suppress_below": 5, "synthetic": True}, {"suppress_below": 0, "synthetic": False}):
        assert "missing ecog (2)" in chapter.rows_used(gappy, ["ecog", "afp_gt400"], **kw).sentences[0]
    with pytest.raises(ParameterError):
        chapter.rows_used(gappy, ["ecog"], suppress_below=-1, synthetic=False)


def test_rows_used_refuses_bad_input(gappy):
    from hcc.errors import DataError

    with pytest.raises(DataError, match="no column 'nope'"):
        chapter.rows_used(gappy, ["ecog", "nope"])
    with pytest.raises(DataError, match="DataFrame"):
        chapter.rows_used([1, 2], ["ecog"])
    with pytest.raises(ParameterError):
        chapter.rows_used_table(gappy, ["ecog"])


def test_rows_used_is_exported():
    import hcc

    assert hcc.rows_used is chapter.rows_used and hcc.RowsUsed is chapter.RowsUsed
    assert hcc.screen_rows_used is chapter.screen_rows_used
    assert hcc.table_one_rows_used is chapter.table_one_rows_used


def test_rows_used_table_agrees_with_subgroup_hr(gappy):
    """hcc.subgroup_hr leaves out a patient missing the subgroup variable: the levels' n add up
    to the patients used."""
    import hcc

    by_level = gappy.assign(ecog=gappy["ecog"].map({0: "PS 0", 1: "PS 1"}))
    sub = hcc.subgroup_hr(by_level, "pfs_months", "pfs_event", treatment="arm", subgroups=["ecog", "sex"],
                          reference="TKI")
    r = chapter.rows_used_table(by_level, {c: ["pfs_months", "pfs_event", "arm", c] for c in ("ecog", "sex")})
    n = sub.summary["n"]
    assert r.counts.loc["ecog", "used"] == n.loc["ecog"].sum() == 38
    assert r.counts.loc["sex", "used"] == n.loc["sex"].sum() == 40


def test_show_table_shows_long_text_in_full(tmp_path, monkeypatch):
    """Issue 14: pandas cuts text longer than ``display.max_colwidth`` (50) to "..." — the
    inconsistency list, the data dictionary, the fidelity notes and the "why" column of the
    Cox chapter lost their ends. The display helper shows every cell in full."""
    import IPython.display

    long = "a reason that is much longer than fifty characters and must be read to its end"
    frame = pd.DataFrame({"why": [long]})
    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj: shown.append(obj._repr_html_()))
    assert pd.get_option("display.max_colwidth") == 50  # pandas' default, outside the helper
    chapter.show_table(frame, "why", directory=tmp_path)
    assert long in shown[0] and "..." not in shown[0]
    assert long not in frame._repr_html_()  # a bare frame outside the helper is still cut
    with chapter.display.full_text():
        assert long in frame._repr_html_()
    assert long not in frame._repr_html_()  # the option is restored afterwards
