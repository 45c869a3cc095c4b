"""Privacy of the published site (issue 5).

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

pytestmark = pytest.mark.slow
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
