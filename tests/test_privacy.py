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
