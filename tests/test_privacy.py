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
    from hcc.build import read_run_log

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
    from hcc.privacy import decide

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
    from hcc.privacy import decide

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

    from hcc import build
    from test_build import make_project

    assert "is_shipped_cohort" not in Path(build.__file__).read_text(encoding="utf-8")
    root = make_project(tmp_path / "proj")
    ae = _user_ae(tmp_path)
    assert build.run_build(root=root, overrides={"adverse_events": str(ae), "suppress_below": "5"},
                           jobs=2, progress=False) == 0
    nb = nbformat.read(str(root / "book" / "01_a.ipynb"), as_version=4)
    src = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(src).body}
    assert values["synthetic"] is False and values["suppress_below"] == 5
    log = build.read_run_log(root / "book" / "_executed" / "run_log.json")
    assert log["synthetic"] is False
    assert log["masking"]["user_inputs"] == ["adverse_events"] and log["masking"]["masked_below"] == 5
    assert "adverse-event file came from your own file" in log["masking"]["reason"]


def test_setup_reads_the_injected_decision_and_never_overrides_it(tmp_path):
    from hcc.book import setup

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
        assert code.count("hcc.book.setup(") == 1


# --------------------------------------------------------------------------- figures, totals
def test_complementary_suppression_hides_what_a_total_would_reveal():
    """Reference: issue 13 — "no masked cell can be derived from a total": TKI = 3 of Overall 43
    with TKI-ICI 40 shown would give 43 − 40 = 3; Table 1's Female 3 of TKI (n=37) would follow
    from Male 34."""
    import pandas as pd

    from hcc.book import COMPLEMENTARY_MARK as STAR, suppress_small_counts

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

    from hcc.book import suppress_small_counts

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
    from hcc.book import plot_km
    from hcc.privacy import Mask

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
    assert "fewer than 5 patients are not drawn" in masked_ax.get_xlabel()
    texts = [t.get_text() for t in masked_ax.texts]
    assert not any(t.strip() in {"1", "2", "3", "4"} for t in texts)
    fit = hcc.km(cohort.iloc[:12], "os_months", "os_event", group="arm")
    ax = plot_km(fit, xticks=range(0, 37, 6), mask=mask)
    shown = [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_xticklabels()]
    assert not any(t.strip() in {"1", "2", "3", "4"} for t in shown), shown  # numbers at risk
    assert not [ln for ln in ax.lines if ln.get_marker() not in ("None", None, "")]  # no censor ticks


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
        rows = [r + [""] * (width - len(r)) for r in t["body"]]
        out.append(pd.DataFrame(rows, columns=[f"{h}#{i}" if head.count(h) > 1 else h
                                               for i, h in enumerate(head)]))
    return out


@pytest.fixture(scope="module")
def own_ae_build(tmp_path_factory):
    """The leak of issue 13: `hcc build -p adverse_events=my_ae.csv -p suppress_below=5`, our
    cohort. Only the chapters that read adverse events (1, 6) and the reproducibility page."""
    import yaml

    work = tmp_path_factory.mktemp("own_ae")
    ae = _user_ae(work)
    from hcc.build import copy_sources

    root = copy_sources(work / "book")
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    keep = {"book/01_cohort", "book/06_safety", "book/08_reproducibility", "book/references"}

    def prune(node):
        if isinstance(node, dict):
            for key in ("parts", "chapters", "sections"):
                if isinstance(node.get(key), list):
                    node[key] = [c for c in (prune(x) for x in node[key]) if c]
            if "file" in node and node["file"] not in keep:
                return None
            if "caption" in node and not node.get("chapters"):
                return None
        return node

    (root / "_toc.yml").write_text(yaml.safe_dump(prune(toc), sort_keys=False), encoding="utf-8")
    from hcc.build import run_build

    code = run_build(root=root, overrides={"adverse_events": str(ae), "suppress_below": "5"},
                     jobs=2, progress=True)
    assert code == 0, (root / "_build" / "sphinx.log").read_text(errors="replace")[-3000:]
    return root


@pytest.mark.slow
def test_own_ae_file_shows_no_count_below_5_anywhere(own_ae_build):
    import pandas as pd

    root = own_ae_build
    html = root / "_build" / "html"
    log = json.loads((root / "book" / "_executed" / "run_log.json").read_text())
    assert log["synthetic"] is False and log["masking"]["user_inputs"] == ["adverse_events"]
    hits = []
    csvs = {p.stem: p for p in html.rglob("*.csv")}
    assert {"adverse_events", "adverse_events_by_term"} <= set(csvs), sorted(csvs)
    for name in _AE_TABLES:
        if name in csvs:
            hits += [f"{name}.csv {h}" for h in _small_count_cells(pd.read_csv(csvs[name]))]
    for page in ("06_safety", "01_cohort"):
        text = (html / "book" / f"{page}.html").read_text(encoding="utf-8")
        assert "Your adverse events" in text  # the banner says whose data this is
        for table in _html_tables(text):
            if page == "06_safety" or any(str(c).endswith(" n") or str(c) in ("ours", "This cohort")
                                          for c in table.columns):
                hits += [f"{page}.html {h}" for h in _small_count_cells(table)]
    assert hits == [], hits[:30]
    repro = (html / "book" / "08_reproducibility.html").read_text(encoding="utf-8")
    assert "What is masked" in repro and "adverse-event file came from your own file" in repro
