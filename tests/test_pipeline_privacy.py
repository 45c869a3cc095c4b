"""Privacy of the published site (issues 5 and 13).

The book is built from the real notebooks, in a temporary copy of the project, on a raw
export whose patient ids are sentinels ("SENTINEL-ID-8431-…") and whose dates are sentinel
dates (2011, a year that appears nowhere else in the book), with an adverse-event file
keyed by the same ids. Reference: the requirement itself — none of these strings may
appear anywhere under ``_build/html`` (pages, sources, downloads, search index) nor in the
outputs of the executed notebooks in ``book/``.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from test_site import build_copy  # same helper: copy the project, build with -W

SENTINEL = "SENTINEL-ID-8431"


def sentinel_export(folder: Path) -> tuple[Path, Path, list[str]]:
    """A raw export (dates) and an adverse-event file with sentinel ids; and every date."""
    import numpy as np
    from conftest import make_toy_cohort

    df = make_toy_cohort(93, seed=8431)
    start0 = date(2011, 1, 3)
    rng = np.random.default_rng(8431)
    rows, dates = [], []
    for i, r in df.iterrows():
        start = start0 + timedelta(days=int(rng.integers(0, 300)))
        os_days = int(round(r.os_months * 30))
        pfs_days = int(round(r.pfs_months * 30))
        end = start + timedelta(days=os_days)
        prog = start + timedelta(days=pfs_days) if (r.pfs_event and pfs_days < os_days) else None
        death = end if r.os_event else None
        row = r.drop(["os_months", "os_event", "pfs_months", "pfs_event"]).to_dict()
        row["patient_id"] = f"{SENTINEL}-{i + 1:03d}"
        row.update(start_date=start.isoformat(), progression_date=prog.isoformat() if prog else "",
                   death_date=death.isoformat() if death else "", last_contact_date=end.isoformat())
        dates += [d.isoformat() for d in (start, prog, death, end) if d]
        rows.append(row)
    import pandas as pd

    cohort = folder / "hospital_export.csv"
    pd.DataFrame(rows).to_csv(cohort, index=False)
    ae = pd.DataFrame({
        "patient_id": [f"{SENTINEL}-{i:03d}" for i in range(1, 41)],
        "term": ["Hypertension", "Diarrhea", "Fatigue", "Hypothyroidism"] * 10,
        "grade": [1, 2, 3, 2] * 10,
        "immune_related": [0, 0, 0, 1] * 10,
        "led_to_discontinuation": [0, 0, 1, 0] * 10,
    })
    ae_path = folder / "hospital_ae.csv"
    ae.to_csv(ae_path, index=False)
    return cohort, ae_path, sorted(set(dates))


@pytest.fixture(scope="module")
def private_build(tmp_path_factory):
    work = tmp_path_factory.mktemp("privacy")
    cohort, ae, dates = sentinel_export(work)
    root = build_copy(work / "book", data=str(cohort),
                      overrides={"adverse_events": str(ae), "suppress_below": "5"})
    return root, dates, cohort


def _needles(dates: list[str]) -> list[str]:
    out = [SENTINEL]
    for d in dates:  # ISO and the common day-first / month-first spellings
        y, m, dd = d.split("-")
        out += [d, f"{dd}/{m}/{y}", f"{m}/{dd}/{y}", f"{y}/{m}/{dd}", f"{dd}.{m}.{y}"]
    return out


@pytest.mark.slow
def test_no_patient_id_or_date_anywhere_in_the_site(private_build):
    root, dates, cohort = private_build
    html = root / "_build" / "html"
    # the folder of a user's export can name a hospital or a person: not even the path may show
    needles = _needles(dates) + [str(cohort.parent)]
    hits = []
    for path in sorted(html.rglob("*")):
        # binary files, and the themes' source maps and MathJax (copied from packages, never
        # written from data: a theme's .map happens to contain "2013-01-11")
        if not path.is_file() or path.suffix in (".png", ".jpg", ".woff", ".woff2", ".ttf", ".map") \
                or "mathjax" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{path.relative_to(html)}: {n}" for n in needles if n in text]
    assert len(list(html.rglob("*.html"))) > 5  # the site is there
    assert hits == [], hits[:20]


@pytest.mark.slow
def test_no_patient_id_or_date_in_executed_notebook_outputs(private_build):
    root, dates, _ = private_build
    needles = _needles(dates)
    executed = sorted((root / "book").glob("*.ipynb"))
    assert executed
    hits = []
    for nb in executed:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        outputs = json.dumps([c.get("outputs", []) for c in cells])
        hits += [f"{nb.name}: {n}" for n in needles if n in outputs]
    assert hits == [], hits[:20]


@pytest.mark.slow
def test_privacy_mode_and_suppression_are_recorded(private_build):
    from hcc.pipeline.runlog import read_run_log

    root, _, _ = private_build
    log = read_run_log(root / "book" / "_executed" / "run_log.json")
    assert log["synthetic"] is False
    assert log["suppress_below"] == 5
    assert log["data"]["data"]["file"] == "hospital_export.csv"
    assert str(root) not in json.dumps(log)  # no full paths (user names, institutions)
    page = (root / "_build" / "html" / "book" / "08_reproducibility.html").read_text(encoding="utf-8")
    assert "suppress_below" in page


# --------------------------------------------------------------------------- issue 13: one decision
# Reference: issue 13 — "one decision of what is synthetic and what must be masked, made by the
# pipeline and only read by the notebooks; masking applies to everything that comes from a
# user's file (cohort or AE file)".
NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.ipynb"))


def _user_ae(folder: Path) -> Path:
    """A user's adverse-event file: the shipped one minus its last row (not byte-identical)."""
    import pandas as pd

    from hcc import paths

    path = folder / "my_ae.csv"
    pd.read_csv(paths.ADVERSE_EVENTS_CSV).iloc[:-1].to_csv(path, index=False)
    return path


def test_decision_for_each_kind_of_input(tmp_path):
    from hcc import paths
    from hcc.pipeline.privacy import decide

    ours = decide()
    assert ours.synthetic and ours.user_inputs == () and not ours.mask.active
    assert decide(data=paths.COHORT_CSV, suppress_below=5).synthetic  # our own file, by hash
    own_ae = decide(adverse_events=_user_ae(tmp_path), suppress_below=5)  # the leak of issue 13
    assert not own_ae.synthetic and own_ae.user_inputs == ("adverse_events",)
    assert own_ae.mask.k == 5 and own_ae.mask.hide_rows
    user = tmp_path / "cohort.csv"
    user.write_bytes(paths.COHORT_CSV.read_bytes().replace(b"P001", b"Q001"))
    assert decide(data=user).user_inputs == ("data",)
    assert not decide(data=user).mask.active  # suppress_below 0: rows hidden, counts shown
    assert decide(data=user).mask.hide_rows


def test_an_adverse_event_file_beside_our_cohort_copy_is_judged_too(tmp_path):
    # get_adverse_events reads adverse_events.csv beside a data file: the decision sees it
    import shutil

    from hcc import paths
    from hcc.pipeline.privacy import decide

    shutil.copy(paths.COHORT_CSV, tmp_path / "cohort.csv")
    shutil.copy(paths.COHORT_MANIFEST, tmp_path / "manifest.json")
    assert decide(data=tmp_path / "cohort.csv").synthetic  # no AE file beside it
    _user_ae(tmp_path).rename(tmp_path / "adverse_events.csv")
    d = decide(data=tmp_path / "cohort.csv", suppress_below=5)
    assert not d.synthetic and d.user_inputs == ("adverse_events",)


@pytest.mark.slow
def test_the_build_injects_the_decision_for_an_own_ae_file(tmp_path):
    """`hcc build -p adverse_events=my_ae.csv`: the pipeline's decision reaches every notebook
    (synthetic = False) and the run log; nothing in the pipeline asks is_shipped_cohort itself."""
    import ast

    import nbformat

    from hcc.pipeline import privacy, run, runlog
    from test_pipeline import make_project

    for module in Path(run.__file__).parent.glob("*.py"):  # only privacy.decide asks
        if module.name != Path(privacy.__file__).name:
            assert "is_shipped_cohort" not in module.read_text(encoding="utf-8"), module.name
    root = make_project(tmp_path / "proj")
    ae = _user_ae(tmp_path)
    assert run.run_build(root=root, overrides={"adverse_events": str(ae), "suppress_below": "5"},
                         jobs=2, progress=False) == 0
    nb = nbformat.read(str(root / "book" / "01_a.ipynb"), as_version=4)
    src = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(src).body}
    assert values["synthetic"] is False and values["suppress_below"] == 5
    log = runlog.read_run_log(root / "book" / "_executed" / "run_log.json")
    assert log["synthetic"] is False
    assert log["masking"]["user_inputs"] == ["adverse_events"] and log["masking"]["masked_below"] == 5
    assert "adverse-event file came from your own file" in log["masking"]["reason"]


def test_setup_reads_the_injected_decision_and_never_overrides_it(tmp_path):
    from hcc.chapter import setup

    ae = _user_ae(tmp_path)
    # injected by hcc build: read as it is
    ctx = setup({"adverse_events": str(ae), "suppress_below": 5, "synthetic": False},
                tables=tmp_path / "t", style=False)
    assert ctx.mask.k == 5 and ctx.mask.hide_rows and not ctx.synthetic
    assert "Your adverse events" in ctx.banner.data
    ctx = setup({"suppress_below": 5, "synthetic": True}, tables=tmp_path / "t", style=False)
    assert not ctx.mask.active
    # executed outside hcc build (no injected value): the same decide() answers
    ctx = setup({"adverse_events": str(ae), "suppress_below": 5}, tables=tmp_path / "t", style=False)
    assert ctx.mask.k == 5 and not ctx.synthetic
    assert len(ctx.ae) == len(__import__("pandas").read_csv(ae))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_notebook_decides_what_is_synthetic(path):
    import nbformat

    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "is_shipped_cohort" not in code
    assert "synthetic =" not in code and "synthetic=synthetic" not in code
    assert "suppress_below=suppress_below" not in code
    if path.stem != "08_reproducibility":
        assert code.count("hcc.chapter.setup(") == 1


# --------------------------------------------------------------------------- figures, totals
def test_complementary_suppression_hides_what_a_total_would_reveal():
    """Reference: issue 13 — "no masked cell can be derived from a total": TKI = 3 of Overall 43
    with TKI-ICI 40 shown would give 43 − 40 = 3; Table 1's Female 3 of TKI (n=37) would follow
    from Male 34."""
    import pandas as pd

    from hcc.chapter import COMPLEMENTARY_MARK as STAR, suppress_small_counts

    rows = pd.DataFrame({"TKI n": [3, 20], "TKI %": [8.1, 54.1], "TKI-ICI n": [40, 2],
                         "TKI-ICI %": [71.4, 3.6], "Overall n": [43, 22], "Overall %": [46.2, 23.7]})
    m = suppress_small_counts(rows, 5)
    assert m.loc[0, "TKI n"] == "<5" and m.loc[0, "Overall n"] == STAR and m.loc[0, "Overall %"] == STAR
    assert m.loc[0, "TKI-ICI n"] == 40  # two of the three hidden: nothing follows
    t1 = pd.DataFrame({"Overall (n=93)": ["80 (86.0%)", "13 (14.0%)"], "TKI (n=37)": ["34 (91.9%)", "3 (8.1%)"],
                       "TKI-ICI (n=56)": ["46 (82.1%)", "10 (17.9%)"]},
                      index=pd.MultiIndex.from_tuples([("Sex", "Male"), ("Sex", "Female")]))
    m = suppress_small_counts(t1, 5)
    assert m.iloc[1, 1] == "<5" and m.iloc[0, 1] == STAR  # Male TKI: 37 − 34 = 3
    assert m.iloc[0, 0] == STAR and m.iloc[1, 0] == STAR  # Overall: 80 − 46 = 34, 13 − 10 = 3
    assert m.iloc[:, 2].tolist() == ["46 (82.1%)", "10 (17.9%)"]


def test_fidelity_report_counts_are_masked_by_their_kind():
    import pandas as pd

    from hcc.chapter import suppress_small_counts

    rep = pd.DataFrame({"item": ["Immune-related: Pneumonitis", "OS log-rank P"], "kind": ["count", "p"],
                        "paper": ["2", "<0.001"], "ours": [2.0, 3.0]})
    m = suppress_small_counts(rep, 5)
    assert m["ours"].tolist() == ["<5", 3.0] and m["paper"].tolist() == ["2", "<0.001"]


def test_figure_sentinel_ae_bars_and_km_censor_ticks():
    """A cohort whose small cells are known: 3 TKI patients with the sentinel term. The AE
    chart draws no bar for them (3 / 37 would give the count) and the KM plot no censor tick."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    import hcc
    from hcc.chapter import plot_km
    from hcc.pipeline.privacy import Mask

    cohort = hcc.get_cohort()
    tki = cohort.loc[cohort["arm"] == "TKI", "patient_id"].tolist()
    ici = cohort.loc[cohort["arm"] == "TKI-ICI", "patient_id"].tolist()
    ae = pd.DataFrame({"patient_id": tki[:3] + ici[:20], "term": ["Sentinelitis"] * 23,
                       "grade": [2] * 23, "immune_related": [0] * 23, "led_to_discontinuation": [0] * 23})
    safety = hcc.safety_table(ae, cohort, "arm")
    mask = Mask(k=5, hide_rows=True)
    small_pct = 100 * 3 / len(tki)

    def widths(ax):
        return [round(p.get_width(), 6) for p in ax.patches if p.get_width() == p.get_width()]

    open_ax = hcc.ae_chart(safety, top=15)
    assert round(small_pct, 6) in widths(open_ax)  # the sentinel is visible without a mask
    masked_ax = hcc.ae_chart(safety, top=15, mask=mask)
    assert round(small_pct, 6) not in widths(masked_ax)
    assert round(100 * 20 / len(ici), 6) in widths(masked_ax)
    assert "fewer than 5 patients (or all but fewer) are not drawn" in masked_ax.get_xlabel()
    texts = [t.get_text() for t in masked_ax.texts]
    assert not any(t.strip() in {"1", "2", "3", "4"} for t in texts)
    fit = hcc.km(cohort.iloc[:12], "os_months", "os_event", group="arm")
    ax = plot_km(fit, xticks=range(0, 37, 6), mask=mask)
    shown = [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_xticklabels()]
    assert not any(t.strip() in {"1", "2", "3", "4"} for t in shown), shown  # numbers at risk
    assert not [ln for ln in ax.lines if ln.get_marker() == "|"]  # no censor ticks


def _sentinel_km_cohort():
    """A cohort whose small cells are known by construction. Arm "TKI": 20 patients, one
    per month 1..20, censored at months 4, 9 and 15, every other time a death (17 deaths,
    each on its own day: every step of the plain curve is one death). Arm "TKI-ICI": 4
    patients, 2 deaths (fewer than 5 events in all)."""
    import pandas as pd

    t = list(range(1, 21)) + [3, 6, 9, 12]
    e = [0 if m in (4, 9, 15) else 1 for m in range(1, 21)] + [1, 0, 1, 0]
    return pd.DataFrame({"os_months": [float(x) for x in t], "os_event": e,
                         "arm": ["TKI"] * 20 + ["TKI-ICI"] * 4})


def _product_limit(df, time_col="os_months", event_col="os_event"):
    """S(t) after each distinct time, by the textbook product-limit formula (the test's own
    reference, not hcc's): {t: S(t)}."""
    s, out = 1.0, {}
    for t in sorted(df[time_col].unique()):
        at_risk = int((df[time_col] >= t).sum())
        d = int(((df[time_col] == t) & (df[event_col] == 1)).sum())
        s *= 1 - d / at_risk
        out[float(t)] = s
    return out


def test_km_figure_sentinel_steps_pool_k_events_and_stop_at_k_at_risk():
    """Reference: the sentinel cohort's own counts (computed here from the rows): every drop
    the masked figure draws pools at least 5 deaths, the curve ends at the last time with at
    least 5 patients at risk, each drawn value is the product-limit estimate, and no text of
    the figure shows 1–4. Without the mask the one-death steps are all visible (the control)."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    import hcc
    from hcc.chapter import plot_km
    from hcc.pipeline.privacy import Mask

    df = _sentinel_km_cohort()
    tki = df[df["arm"] == "TKI"]
    fit = hcc.km(df, "os_months", "os_event", group="arm")
    ref = _product_limit(tki)

    def curve(ax, label):
        line = next(ln for ln in ax.lines if ln.get_label() == label)
        return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)

    x, y = curve(plot_km(fit, xticks=range(0, 25, 4)), "TKI")  # unmasked: one step per death
    assert len(set(np.round(y, 12))) == int(tki["os_event"].sum()) + 1
    ax = plot_km(fit, xticks=range(0, 25, 4), mask=Mask(k=5, hide_rows=True))
    x, y = curve(ax, "TKI")
    drops = [i for i in range(1, len(y)) if y[i] < y[i - 1] - 1e-12]
    assert len(drops) >= 2
    previous = 0.0
    for i in drops:
        pooled = int(((tki["os_months"] > previous) & (tki["os_months"] <= x[i]) & (tki["os_event"] == 1)).sum())
        assert pooled >= 5, (previous, x[i], pooled)
        assert y[i] == pytest.approx(ref[x[i]], abs=1e-12)
        previous = x[i]
    end = x[-1]
    assert int((tki["os_months"] >= end).sum()) >= 5  # at risk where the curve stops
    later = sorted(t for t in tki["os_months"].unique() if t > end)
    assert later and int((tki["os_months"] >= later[0]).sum()) < 5  # and one time later: fewer
    ends = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert len(ends) == 1 and ends[0].get_xdata()[0] == end  # the truncation is marked
    assert not [ln for ln in ax.lines if ln.get_marker() == "|"]  # no censor ticks
    small = curve(ax, "TKI-ICI")  # 2 deaths: no curve at all
    assert small[0].size == 0
    texts = [t.get_text() for t in ax.texts]
    assert not any(t.strip() in {"1", "2", "3", "4"} for t in texts), texts
    note = " ".join(next(t for t in texts if t.startswith("Masked figure")).split())
    assert "at least 5 events" in note and "Not drawn (fewer than 5 events): TKI-ICI" in note
    band = [c for c in ax.collections]
    assert len(band) == 1  # the band of the curve drawn, coarsened with it
    verts = band[0].get_paths()[0].vertices
    assert verts[:, 0].max() <= end + 1e-9  # the band stops where the curve stops


def test_km_steps_rule_edges():
    from hcc.pipeline.privacy import km_steps

    plain = km_steps([1, 2], [3, 2], [1, 1], [2 / 3, 1 / 3], k=0)  # no mask: the curve as it is
    assert plain["time"].tolist() == [0, 1, 2] and plain["end"] is None
    # 7 deaths before the cut: 5 pooled, the remainder of 2 joins that run (one drop of 7)
    out = km_steps(range(1, 10), [9, 8, 7, 6, 5, 4, 3, 2, 1], [1] * 9,
                   [1 - i / 9 for i in range(1, 10)], k=5)
    assert out["pooled"].tolist() == [5] and out["end"] == 5.0
    assert out["time"].tolist() == [0, 5, 5] and out["surv"][1] == pytest.approx(4 / 9)


def _response_sentinel():
    """TKI (30): CR 1, PR 3, SD 12, PD 14; TKI-ICI (40): CR 6, PR 10, SD 14, PD 10."""
    import pandas as pd

    resp = ["CR"] + ["PR"] * 3 + ["SD"] * 12 + ["PD"] * 14 + ["CR"] * 6 + ["PR"] * 10 + ["SD"] * 14 + ["PD"] * 10
    return pd.DataFrame({"arm": ["TKI"] * 30 + ["TKI-ICI"] * 40, "best_response": resp})


def test_response_bars_sentinel_hide_what_the_table_hides():
    """Reference: the sentinel's counts. TKI CR = 1 and PR = 3 (of 30) must not be drawn or
    printed, nor follow from the other segments (each arm hides none or at least two
    categories); the hidden cells are those of the masked table."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    import hcc
    from hcc.chapter import table_display
    from hcc.pipeline.privacy import Mask

    df = _response_sentinel()
    res = hcc.response_table(df, "arm")
    small_pcts = {round(100 * c / 30, 6) for c in (1, 3, 4)}  # CR, PR, CR + PR of TKI
    open_ax = hcc.response_bars(res)
    assert small_pcts & {round(p.get_height(), 6) for p in open_ax.patches}  # visible without a mask
    mask = Mask(k=5, hide_rows=True)
    table = table_display(res, mask=mask).frame
    hidden = res.hidden(mask)
    for arm in ("TKI", "TKI-ICI"):
        cats = list(hidden.index)
        assert [isinstance(table.loc[c, f"{arm} n"], str) for c in cats] == hidden[arm].tolist()
        assert hidden[arm].sum() != 1  # one hidden category would be 100 % minus the others
    assert hidden.loc[["CR", "PR"], "TKI"].all()
    ax = hcc.response_bars(res, mask=mask)
    heights = [round(p.get_height(), 6) for p in ax.patches]
    assert not small_pcts & set(heights), heights
    grey = [p for p in ax.patches if p.get_hatch() and p.get_height() > 0]
    assert grey and all(p.get_height() >= 100 * 5 / 40 for p in grey)  # ≥ 5 patients together
    texts = [t.get_text() for t in ax.texts]
    assert not any(t in {f"{100 * c / 30:.1f}%" for c in (1, 3)} for t in texts), texts
    assert "hidden" in ax.get_xlabel()
    g = hcc.response_bars(res, mask=mask, kind="grouped")
    drawn = [p for p in g.patches if p.get_height() > 0]
    assert len(drawn) == hidden.size - int(hidden.to_numpy().sum())
    assert not small_pcts & {round(p.get_height(), 6) for p in drawn}


def test_response_table_sums_are_complemented():
    """ORR = CR + PR, DCR = CR + PR + SD, the categories add up to the arm: no sum with
    exactly one hidden cell in any count column (else the cell follows from the others)."""
    import hcc
    from hcc.chapter import suppress_small_counts

    res = hcc.response_table(_response_sentinel(), "arm")
    m = suppress_small_counts(res.summary, 5)
    sums = {"arm": ["CR", "PR", "SD", "PD"], "ORR": ["ORR", "CR", "PR"], "DCR": ["DCR", "CR", "PR", "SD"],
            "DCR+PD": ["DCR", "PD"]}
    for arm in ("TKI", "TKI-ICI"):
        for name, rows in sums.items():
            hidden = sum(isinstance(m.loc[r, f"{arm} n"], str) for r in rows)
            assert hidden != 1, (arm, name, m[f"{arm} n"].tolist())
    assert m.loc["CR", "TKI n"] == "<5" and m.loc["CR", "TKI %"] == "<5"
    assert m.loc["ORR", "TKI lower"] == "<5"  # the exact CI of 4/30 would give the count


def test_a_count_whose_complement_in_the_arm_is_small_is_hidden():
    """34 of 37 TKI patients with an AE leaves 3 without: the 34 is hidden (the arm size is
    stated by the label or by the page)."""
    import pandas as pd

    from hcc.chapter import COMPLEMENTARY_MARK as STAR, suppress_small_counts
    from hcc.pipeline.privacy import Page

    t = pd.DataFrame({"TKI n": [34, 20], "TKI-ICI n": [50, 30]}, index=["Any AE", "Grade ≥ 3 AE"])
    assert suppress_small_counts(t, 5).loc["Any AE", "TKI n"] == 34  # no arm size known
    m = suppress_small_counts(t, 5, page=Page(5, {"TKI": 37, "TKI-ICI": 56}))
    assert m.loc["Any AE", "TKI n"] == STAR and m.loc["Grade ≥ 3 AE", "TKI n"] == 20
    t1 = pd.DataFrame({"TKI (n=37)": ["34 (91.9)"], "TKI-ICI (n=56)": ["40 (71.4)"]}, index=["TACE 1"])
    assert suppress_small_counts(t1, 5).iloc[0, 0] == STAR
    # a KM table: 34 deaths among 37 leaves 3 censored (alive): the events are hidden
    km = pd.DataFrame({"n": [37, 56], "events": [34, 24], "median": [7.6, 19.2]}, index=["TKI", "TKI-ICI"])
    m = suppress_small_counts(km, 5)
    assert m["events"].tolist() == [STAR, 24] and m["n"].tolist() == [37, 56]


def test_cross_table_relations_on_one_page(tmp_path):
    """Reference: issue 13 — "no masked cell can be derived from ... a neighbouring cell in
    another table of the same page". Table 1 hides Female TKI = 3 and, with it, Male TKI = 34
    (37 − 34 = 3); a comparison table further down the page that prints Male TKI = 34, or
    the TKI share 8.1 (3 of 37), hides them too. A table's own CSV and display stay equal."""
    import pandas as pd

    from hcc.chapter import COMPLEMENTARY_MARK as STAR, compare_with_paper, save_table, table_display
    from hcc.paper import P
    from hcc.pipeline.privacy import Mask

    mask = Mask(k=5, hide_rows=True).for_page({"Overall": 93, "TKI": 37, "TKI-ICI": 56})
    t1 = pd.DataFrame({"Overall (n=93)": ["80 (86.0)", "13 (14.0)"], "TKI (n=37)": ["34 (91.9)", "3 (8.1)"],
                       "TKI-ICI (n=56)": ["46 (82.1)", "10 (17.9)"]},
                      index=pd.MultiIndex.from_tuples([("Sex", "Male"), ("Sex", "Female")]))
    shown = table_display(t1, mask=mask).frame
    saved = pd.read_csv(save_table(t1, "t1", mask=mask, directory=tmp_path), index_col=[0, 1], dtype=str)
    assert shown.iloc[:, 1].tolist() == ["*", "<5"]
    assert saved.astype(str).to_numpy().tolist() == shown.astype(str).to_numpy().tolist()  # CSV = display
    later = compare_with_paper([("Sex = Male, TKI", P("30"), 34), ("Sex = Male, TKI-ICI", P("49"), 46),
                                ("Female share, TKI (%)", P("18.9"), 100 * 3 / 37),
                                ("Male share, TKI-ICI (%)", P("87.5"), 100 * 46 / 56)])
    m = table_display(later, mask=mask).frame
    assert m.loc["Sex = Male, TKI", "This cohort"] == STAR  # 34 was hidden above
    assert m.loc["Female share, TKI (%)", "This cohort"] == STAR  # 8.108 = 3 of 37
    assert m.loc["Sex = Male, TKI-ICI", "This cohort"] == "46"  # shown above too
    assert m.loc["Male share, TKI-ICI (%)", "This cohort"] != STAR
    assert m["Paper"].tolist() == ["30", "49", "18.9", "87.5"]  # the published numbers are public
    # a percentage hidden beside a count (50.0 %) is not a count: a later 50 stays shown
    table_display(pd.DataFrame({"TKI n": [2, 2], "TKI %": [50.0, 50.0]}), mask=mask)
    assert table_display(pd.DataFrame({"n": [50, 12]}, index=["a", "b"]), mask=mask).frame["n"].tolist() == [50, 12]


def test_regimens_nested_in_an_arm_do_not_give_a_hidden_one_away():
    """Chapter 3 prints n and events by arm, then by regimen: with TKI = 37 printed, LEN = 34
    beside a hidden REG would give REG = 3. Reference: the sentinel's own counts."""
    import pandas as pd

    from hcc.chapter import suppress_small_counts
    from hcc.pipeline.privacy import Page

    page = Page(5, {"TKI": 37, "TKI-ICI": 56, "Overall": 93},
                {"REG": "TKI", "LEN": "TKI", "LEN+SIN": "TKI-ICI", "REG+CAM": "TKI-ICI"})
    t = pd.DataFrame({"n": [34, 3, 40, 16], "events": [27, 3, 20, 9], "median": [7.6, 22.4, 19.1, 19.2]},
                     index=pd.Index(["LEN", "REG", "LEN+SIN", "REG+CAM"], name="regimen"))
    m = suppress_small_counts(t, 5, page=page)
    assert m.loc["REG", "n"] == "<5" and isinstance(m.loc["LEN", "n"], str)  # 37 − 34 = 3
    assert m.loc["REG", "events"] == "<5" and isinstance(m.loc["LEN", "events"], str)
    assert m.loc["LEN+SIN", "n"] == 40 and m.loc["REG+CAM", "events"] == 9  # nothing hidden there
    assert m.loc["LEN", "median"] == 7.6  # not a count
    plain = suppress_small_counts(t, 5)  # without the page nothing says LEN and REG make TKI
    assert plain.loc["LEN", "n"] == 34


def test_corpus_small_cells_hidden_by_every_chapter_helper(tmp_path):
    """The corpus case ``privacy_small_cells`` (a valid cohort whose small cells are known:
    tests/corpus/hostile.py SMALL_CELLS) read as a user's file with suppress_below=5: Table 1,
    the KM tables by arm and by regimen, the response table and the subgroup table hide
    every count 1–4 and every percentage of one; the figures (KM by regimen, response bars,
    forest plot) print none either."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    import hcc
    from corpus.hostile import PRIVACY_CASES, SMALL_CELLS, build
    from hcc import paper
    from hcc.chapter import plot_forest, plot_km, setup, table_display

    path, _ = build(PRIVACY_CASES[0], tmp_path / "case")
    ctx = setup({"data": str(path), "suppress_below": 5}, tables=tmp_path / "t", style=False)
    assert not ctx.synthetic and ctx.mask.k == 5
    cohort = ctx.cohort
    assert (cohort["regimen"] == "REG").sum() == SMALL_CELLS["REG"]  # the sentinel is there
    sizes = tuple(sorted({len(cohort), *cohort["arm"].value_counts().tolist()}))
    tables = {
        "table1": hcc.table_one(cohort, by="arm", variables=list(paper.TABLE1_P), nonnormal=["age"],
                                labels=paper.TABLE1_LABELS),
        "km": hcc.km(cohort, "os_months", "os_event", group="arm"),
        "regimen": pd.concat({"os": hcc.km(cohort, "os_months", "os_event", group="regimen").summary},
                             names=["endpoint"]),
        "response": hcc.response_table(cohort, "arm"),
        "subgroups": hcc.subgroup_hr(cohort, "pfs_months", "pfs_event", treatment="arm",
                                     subgroups=["child_pugh", "sex"], reference="TKI"),
    }
    hits = []
    for name, t in tables.items():
        frame = table_display(t, mask=ctx.mask).frame.reset_index()
        hits += _page_hits(frame.astype(str), name, sizes=sizes)
    assert hits == [], hits
    texts = []
    ax = plot_km(hcc.km(cohort, "os_months", "os_event", group="regimen"), xticks=range(0, 37, 6),
                 mask=ctx.mask)
    texts += [t.get_text() for t in ax.texts]
    ax = hcc.response_bars(tables["response"])  # the chapter's mask, not passed
    texts += [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_xticklabels()]
    tki = int((cohort["arm"] == "TKI").sum())
    assert not {round(100 * c / tki, 6) for c in (1, 3, 4)} & {round(p.get_height(), 6) for p in ax.patches}
    ax = plot_forest(tables["subgroups"], mask=ctx.mask)
    texts += [t.get_text() for t in ax.texts]
    assert not [t for t in texts if t.strip() in {"1", "2", "3", "4"} or "(n=2)" in t or "(n=3)" in t], texts


def test_the_reproducibility_page_lists_what_each_table_hid(tmp_path):
    """save_table records how many cells it hid (not published: no link to it); the
    reproducibility page shows them by CSV name; an unmasked rewrite drops the old tally."""
    import pandas as pd

    from hcc.chapter import masking_summary, save_table
    from hcc.pipeline.privacy import Mask

    t = pd.DataFrame({"Overall n": [43, 22], "TKI n": [3, 20], "TKI-ICI n": [40, 2]})
    save_table(t, "counts", mask=Mask(k=5, hide_rows=True), directory=tmp_path)
    clean = pd.DataFrame({"Overall n": [70, 40], "TKI n": [30, 20], "TKI-ICI n": [40, 20]})
    save_table(clean, "clean", mask=Mask(k=5, hide_rows=True), directory=tmp_path)
    m = masking_summary(tmp_path)
    written = pd.read_csv(tmp_path / "counts.csv", dtype=str).to_numpy()
    assert m.index.tolist() == ["counts"]  # only the tables with a hidden cell
    assert m.loc["counts", 'shown as "<5"'] == (written == "<5").sum() == 2
    assert m.loc["counts", 'hidden as "*"'] == (written == "*").sum() == 2
    save_table(t, "counts", directory=tmp_path)  # the same table, synthetic: nothing masked
    assert masking_summary(tmp_path).empty


def test_items_naming_levels_within_an_arm_are_complemented():
    """The fidelity report (chapter 1's CSV) lists Table 1's counts item by item: with
    "TKI: patients 37" printed, "TKI: regimen LEN 34" beside a hidden REG would give 3, and
    "TACE = 1, TKI 35" beside a hidden TACE = 0 would give 2."""
    import pandas as pd

    from hcc.chapter import COMPLEMENTARY_MARK as STAR, suppress_small_counts
    from hcc.pipeline.privacy import Page

    rep = pd.DataFrame({"item": ["TKI: patients", "TKI: regimen REG", "TKI: regimen LEN", "TACE = 0, TKI",
                                 "TACE = 1, TKI", "Sex = Male, TKI", "Sex = Female, TKI"],
                        "kind": ["count"] * 7, "paper": ["37", "3", "34", "2", "35", "30", "7"],
                        "ours": [37, 3, 34, 2, 35, 30, 7]})
    m = suppress_small_counts(rep, 5, page=Page(5, {"TKI": 37}))
    assert m["ours"].tolist() == [37, "<5", STAR, "<5", STAR, 30, 7]
    assert m["paper"].tolist() == rep["paper"].tolist()


def test_the_chapter_mask_applies_to_a_figure_called_without_it(tmp_path):
    """Chapter 5 calls ``hcc.response_bars(response, ax=...)`` without a mask: the chapter's
    mask (hcc.chapter.setup) applies; without a chapter nothing is hidden."""
    import matplotlib

    matplotlib.use("Agg")
    import hcc
    from hcc.pipeline import privacy
    from hcc.chapter import setup

    res = hcc.response_table(_response_sentinel(), "arm")
    ctx = setup({"adverse_events": str(_user_ae(tmp_path)), "suppress_below": 5, "synthetic": False},
                tables=tmp_path / "t", style=False)
    assert privacy.active() is ctx.mask and ctx.mask.page is not None
    assert "hidden" in hcc.response_bars(res).get_xlabel()
    privacy.activate(None)
    assert "hidden" not in hcc.response_bars(res).get_xlabel()
    ctx = setup({"suppress_below": 5, "synthetic": True}, tables=tmp_path / "t", style=False)
    assert privacy.active() is None  # the synthetic book is never masked


# --------------------------------------------------------------------------- the leak, built
_AE_TABLES = ("adverse_events", "adverse_events_by_term", "immune_related_aes", "discontinuations",
              "safety_vs_paper", "fidelity_report")


def _small_count_cells(frame, sizes=(37, 56, 93)) -> list[str]:
    """Cells of a published table that show a count 1–4, or a percentage of one (c / n)."""
    import re

    if "kind" in frame.columns:  # the fidelity report: only its count and percent rows
        kind = frame["kind"].astype(str)
        return (_small_count_cells(frame[kind == "count"].drop(columns="kind"), sizes)
                + _small_count_cells(frame[kind == "percent"].drop(columns="kind")
                                     .rename(columns={"ours": "ours %"}), sizes))
    pcts = {round(100 * c / n, d) for c in range(1, 5) for n in sizes for d in (1, 2)}
    hits = []
    for col in frame.columns:
        name = str(col).strip().lower()
        if name.startswith("paper") or name in ("p", "item", "kind", "tolerance", "ok", "match", "note") \
                or name.startswith("p ") or name.endswith(" p"):
            continue
        for v in frame[col]:
            text = str(v).strip()
            m = re.match(r"^(\d+)(?:\.0+)?(?:\s*\(|$)", text)
            if m and 1 <= int(m.group(1)) <= 4:
                hits.append(f"{col}: {text}")
            elif name.endswith("%"):
                try:
                    if round(float(text), 1) in pcts or round(float(text), 2) in pcts:
                        hits.append(f"{col}: {text}")
                except ValueError:
                    pass
    return hits


def _html_tables(text: str):
    """Every <table> of a page as a DataFrame (header rows joined per column; stdlib parser)."""
    from html.parser import HTMLParser

    import pandas as pd

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.row, self.cell, self.head = [], None, None, False

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append({"head": [], "body": []})
            elif tag == "thead":
                self.head = True
            elif tag == "tr" and self.tables:
                self.row = []
            elif tag in ("td", "th") and self.row is not None:
                self.cell = []

        def handle_endtag(self, tag):
            if tag == "thead":
                self.head = False
            elif tag in ("td", "th") and self.cell is not None:
                self.row.append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "tr" and self.row is not None:
                self.tables[-1]["head" if self.head else "body"].append(self.row)
                self.row = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    parser = P()
    parser.feed(text)
    out = []
    for t in parser.tables:
        if not t["head"] or not t["body"]:
            continue
        width = max(len(r) for r in t["body"])
        rows_h = [[""] * (width - len(h)) + h for h in t["head"]]  # index cells come first
        head = [" ".join(x for x in col if x).strip() for col in zip(*rows_h)]
        # a short body row lacks the leading index cells that a rowspan above it covers
        # (pandas' MultiIndex HTML): pad on the left, so each value stays under its column
        rows = [[""] * (width - len(r)) + r for r in t["body"]]
        out.append(pd.DataFrame(rows, columns=[f"{h}#{i}" if head.count(h) > 1 else h
                                               for i, h in enumerate(head)]))
    return out


@pytest.fixture(scope="module")
def own_ae_build(tmp_path_factory):
    """The leak of issue 13: `hcc build -p adverse_events=my_ae.csv -p suppress_below=5`, our
    cohort — every chapter of the book. ``HCC_OWN_AE_SITE=<project copy>`` reuses a copy
    built that way (to work on the checks without a new build of several minutes)."""
    import os

    given = os.environ.get("HCC_OWN_AE_SITE")
    if given:
        return Path(given).resolve()
    work = tmp_path_factory.mktemp("own_ae")
    ae = _user_ae(work)
    return build_copy(work / "book", overrides={"adverse_events": str(ae), "suppress_below": "5"}, jobs=2)


#: Count columns of a published table: these names, a name ending in " n", a "(n=...)" label.
_COUNT_NAMES = {"n", "events", "n_risk", "n_event", "n_censor", "responders", "observed", "used",
                "of", "left out", "ours", "this cohort"}
#: Rows of a comparison table whose value is not a count.
_NOT_COUNT_ROW = ("median", "lower", "upper", " p", "p ", "hr", "(months)", "(%)", "follow", "χ²")


def _is_count_column(name: str) -> bool:
    name = name.split("#")[0].strip().lower()
    return name in _COUNT_NAMES or name.endswith(" n") or "(n=" in name


def _page_hits(frame, where: str, sizes=(37, 56, 93)) -> list[str]:
    """Cells of a published table (CSV or HTML) that show a count 1–4 or a percentage of
    one: in count columns, "n (%)" text anywhere, "%" columns and "(%)" rows."""
    import re

    pcts = [100 * c / n for c in range(1, 5) for n in sizes]

    def is_small_pct(text):
        m = re.match(r"^\s*(\d+(?:\.(\d+))?)\s*%?\s*$", text)
        if not m:
            return False
        dec = min(len(m.group(2) or ""), 6)
        return any(abs(float(m.group(1)) - p) <= 0.5 * 10 ** -dec + 1e-9 for p in pcts)

    hits = []
    columns = [str(c) for c in frame.columns]
    label_col = columns[0] if columns else ""
    for col in columns:
        name = col.split("#")[0].strip().lower()
        if name.startswith("paper") or name in ("p", "item", "kind", "tolerance", "ok", "match", "note") \
                or name.startswith("p ") or name.endswith(" p"):
            continue
        for i, v in enumerate(frame[col].astype(str)):
            text = v.strip()
            row = " ".join(str(x) for x in frame.iloc[i, :1]).lower() if col != label_col else ""
            m = re.match(r"^(\d+)(?:\.0+)?(?:\s*\(|$)", text)
            n_pct = re.match(r"^(\d+) \((\d+(?:\.\d+)?)%\)", text)
            if n_pct and 1 <= int(n_pct.group(1)) <= 4:
                hits.append(f"{where} {col}: {text}")
            elif m and 1 <= int(m.group(1)) <= 4 and _is_count_column(col) \
                    and not any(w in f" {row}" for w in _NOT_COUNT_ROW):
                hits.append(f"{where} {col} [{row}]: {text}")
            elif ("%" in name or "(%)" in row) and is_small_pct(text):
                hits.append(f"{where} {col} [{row}]: {text} %")
    return hits


def _svg_hits(path: Path) -> list[str]:
    """Text elements of a figure (SVG, text kept as text) that show a count 1–4, "(n=1)"
    to "(n=4)" or a percentage of such a count; axis tick labels are scale, not counts."""
    import re
    import xml.etree.ElementTree as ET

    tree = ET.parse(path)
    pcts = [100 * c / n for c in range(1, 5) for n in (37, 56, 93)]
    hits = []

    def walk(node, in_tick):
        gid = node.attrib.get("id", "")
        in_tick = in_tick or bool(re.match(r"^[xy]tick_\d+$", gid))
        if node.tag.endswith("text") and not in_tick:
            text = " ".join("".join(node.itertext()).split())
            m = re.match(r"^(\d+(?:\.\d+)?)%$", text)
            if re.fullmatch(r"[1-4]", text) or re.search(r"\(n=[1-4]\)", text) \
                    or (m and any(abs(float(m.group(1)) - p) < 0.051 for p in pcts)):
                hits.append(f"{path.name}: {text!r}")
        for child in node:
            walk(child, in_tick)

    walk(tree.getroot(), False)
    return hits


#: Prose a chapter writes from data: "3 patients", "(2)", "2 of 37", "3 were left out".
_PROSE_COUNT = (r"\b[1-4] (?:patients?|events?|deaths?|were|was|of \d+ patients)\b", r"\((?:n ?= ?)?[1-4]\)")


def _worked_examples() -> list[set]:
    """Tables a chapter computes from rows written in the notebook itself, not from data:
    chapter 3's six-patient Kaplan–Meier example (read from the notebook's own cell, so
    the test follows the notebook). Each as the set of its first column's values."""
    import nbformat
    import pandas as pd

    nb = nbformat.read(NOTEBOOKS[0].parent / "03_survival.ipynb", as_version=4)
    src = next(c.source for c in nb.cells if c.cell_type == "code" and "six = pd.DataFrame(" in c.source)
    line = next(ln for ln in src.splitlines() if ln.startswith("six = pd.DataFrame("))
    six = eval(line.split("=", 1)[1].strip(), {"pd": pd})  # noqa: S307 - the notebook's literal rows
    times = {f"{t:g}" for t in six["time"]} | {f"{float(t)}" for t in six["time"]}
    return [times, {"all", "All"}]


def _is_worked_example(table, examples) -> bool:
    """A table whose first or second column (the HTML index comes first) holds only the
    values of a worked example."""
    for j in range(min(2, len(table.columns))):
        values = {str(v).strip() for v in table.iloc[:, j]}
        if values and any(values <= ex for ex in examples):
            return True
    return False


@pytest.mark.slow
def test_own_ae_file_shows_no_count_below_5_anywhere(own_ae_build):
    """Every chapter built with a user's AE file and suppress_below=5: no count 1–4 (or a
    percentage of one) in any table, CSV download, figure text or sentence written from the
    data. Reference: issue 13's acceptance list."""
    import re

    import pandas as pd

    root = own_ae_build
    html = root / "_build" / "html"
    log = json.loads((root / "book" / "_executed" / "run_log.json").read_text())
    assert log["synthetic"] is False and log["masking"]["user_inputs"] == ["adverse_events"]
    chapters = sorted((html / "book").glob("0*.html"))
    notebooks = [p.stem for p in NOTEBOOKS]
    assert [c.stem for c in chapters] == notebooks, chapters  # the whole book, not a subset
    hits = []
    csvs = sorted(html.rglob("*.csv"))
    assert {"adverse_events", "adverse_events_by_term", "table1", "response", "os_by_arm",
            "fig3_subgroups_pfs"} <= {p.stem for p in csvs}
    for path in csvs:
        if path.stem == "data_dictionary":  # the dictionary's allowed values, not data
            continue
        hits += _page_hits(pd.read_csv(path, dtype=str, keep_default_na=False), f"{path.name}")
    examples = _worked_examples()
    for page in chapters:
        text = page.read_text(encoding="utf-8")
        assert "Your adverse events" in text or page.stem == "08_reproducibility"
        for table in _html_tables(text):
            if not _is_worked_example(table, examples):
                hits += _page_hits(table, page.stem)
    svgs = sorted(html.rglob("*.svg"))
    figures = [p for p in svgs if "_static" not in p.parts]
    assert len(figures) >= 6, "masked pages embed their figures as SVG text"  # KM, forest, bars, AE
    for path in figures:
        hits += _svg_hits(path)
    for nb in sorted((root / "book").glob("0*.ipynb")):  # sentences the chapters write from data
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                prose = "".join(data.get("text/markdown", "")) if "text/markdown" in data else ""
                prose += re.sub(r"<table.*?</table>", " ", "".join(data.get("text/html", "")), flags=re.S) \
                    if "text/html" in data and "<table" in "".join(data.get("text/html", "")) else ""
                for pat in _PROSE_COUNT:
                    hits += [f"{nb.stem} prose: {m.group(0)!r}" for m in re.finditer(pat, re.sub(r"<[^>]+>", " ", prose))]
    assert hits == [], hits[:40]
    # the fidelity report lists Table 1 item by item: no (variable, arm) hides just one level
    import re as _re

    fid = pd.read_csv(next(p for p in csvs if p.stem == "fidelity_report"), dtype=str)
    fid = fid[fid["kind"] == "count"]
    groups: dict = {}
    for item, ours in zip(fid["item"], fid["ours"]):
        m = (_re.match(r"^(.+?) = .+, (TKI-ICI|TKI)$", item)
             or _re.match(r"^(TKI-ICI|TKI): (.+) \S+$", item))
        if m:
            groups.setdefault(m.groups(), []).append(ours)
    assert len(groups) > 10
    lone = {k: v for k, v in groups.items() if sum(x in ("<5", "*") for x in v) == 1}
    assert lone == {}, lone
    # cross-table: chapter 3 prints n and events by arm; by regimen no arm hides just one
    regimens = pd.read_csv(next(p for p in csvs if p.stem == "medians_by_regimen"), dtype=str)
    arm_of = {"REG": "TKI", "LEN": "TKI"}
    for (endpoint, arm), rows in regimens.groupby(
            [regimens["endpoint"], regimens["regimen"].map(lambda r: arm_of.get(r, "TKI-ICI"))]):
        for col in ("n", "events"):
            hidden = int(rows[col].str.match(r"^(<5|\*)$").sum())
            assert hidden != 1, (endpoint, arm, col, rows[col].tolist())
    repro = (html / "book" / "08_reproducibility.html").read_text(encoding="utf-8")
    assert "What is masked" in repro and "adverse-event file came from your own file" in repro
    assert "each drawn step pools at least 5 events" in repro
    assert "Cells hidden in the tables" in repro and "adverse_events_by_term" in repro
