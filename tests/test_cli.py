"""Tests of the ``hcc`` command line. Reference: issue 5's contract for ``hcc validate``
(exit 0 valid / 1 invalid / 2 unreadable, a message naming the column or the reason, never
a traceback) and the data dictionary (hcc.cohort), over the corpus of broken and hostile
inputs in tests/corpus/hostile.py."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.hostile import CASES, HOSTILE_SCRIPT, build, cohort
from hcc.cli import main

ROOT = Path(__file__).resolve().parents[1]
HCC = ROOT / ".venv" / "bin" / "hcc"


def run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_corpus_is_large_and_varied():
    # issue 5: at least 30 broken or hostile inputs
    broken = [c for c in CASES if c.exit != 0]
    assert len(broken) >= 30
    assert {c.exit for c in CASES} == {0, 1, 2}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_corpus(case, tmp_path, capsys):
    path, extra = build(case, tmp_path)
    code, text = run(capsys, "validate", str(path), *extra, "--kind", case.kind)
    assert code == case.exit, text
    for needle in case.expect:
        assert needle in text, text
    if case.column is not None:
        assert f"column '{case.column}'" in text, text
    assert "Traceback" not in text
    assert "\x1b" not in text  # no terminal escape sequence from a cell reaches the screen


def test_every_problem_is_listed_one_per_line_with_spreadsheet_rows(tmp_path, capsys):
    # rows as a spreadsheet user counts them: header = 1, first patient = 2
    df = cohort().astype(object)
    df.loc[0, "sex"] = "X"          # row 2
    df.loc[4, "os_event"] = 7       # row 6
    df.loc[9, "os_months"] = -1     # row 11
    p = tmp_path / "three.csv"
    df.to_csv(p, index=False)
    code, text = run(capsys, "validate", str(p))
    assert code == 1
    lines = [ln for ln in text.splitlines() if ln.startswith("three.csv, column")]
    assert len(lines) == 3, text
    assert "three.csv, column 'sex', row 2: unknown label 'X'" in text
    assert "three.csv, column 'os_event', row 6:" in text
    assert "three.csv, column 'os_months', row 11: negative time" in text


def test_valid_file_reports_missing_values_per_column(tmp_path, capsys):
    df = cohort().astype(object)
    df.loc[[1, 2], "afp_gt400"] = ""
    p = tmp_path / "m.csv"
    df.to_csv(p, index=False)
    code, text = run(capsys, "validate", str(p))
    assert code == 0, text
    assert "column 'afp_gt400': 2 missing values" in text


def test_console_script_never_shows_a_traceback(tmp_path):
    if not HCC.exists():
        pytest.skip(".venv/bin/hcc is not installed (pip install -e .)")
    bad = tmp_path / "bad.csv"
    df = cohort().astype(object)
    df.loc[0, "sex"] = HOSTILE_SCRIPT
    df.to_csv(bad, index=False)
    for args, want in (([str(bad)], 1), ([str(tmp_path / "nope.csv")], 2),
                       ([str(tmp_path)], 2)):
        r = subprocess.run([str(HCC), "validate", *args], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == want, r.stdout + r.stderr
        assert "Traceback" not in r.stdout + r.stderr


def test_version(capsys):
    from hcc import __version__

    code, text = run(capsys, "--version")
    assert code == 0 and __version__ in text


def test_usage_errors_exit_2_without_traceback(capsys):
    for argv in (["frobnicate"], ["validate"], ["validate", "x.csv", "--kind", "nope"], []):
        code, text = run(capsys, *argv)
        assert code == 2, (argv, text)
        assert "Traceback" not in text


def test_unexpected_errors_become_one_line(monkeypatch, capsys, tmp_path):
    import hcc.cohort.validate

    def boom(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(hcc.cohort.validate, "check_file", boom)
    p = tmp_path / "a.csv"
    cohort().to_csv(p, index=False)
    code, text = run(capsys, "validate", str(p))
    assert code == 3
    assert "internal error" in text and "disk on fire second line" in text
    assert len(text.strip().splitlines()) == 1


def test_build_parses_parameters_and_delegates(monkeypatch, capsys, tmp_path):
    import types

    seen = {}
    fake = types.ModuleType("hcc.pipeline.run")
    fake_site = types.ModuleType("hcc.pipeline.site")

    def run_build(overrides, params_file, data, only, jobs, progress=True, *, strict=False,
                  adverse_events=None):
        seen.update(overrides=overrides, params_file=params_file, data=data, only=only,
                    jobs=jobs, progress=progress, strict=strict, adverse_events=adverse_events)
        return 0

    fake.run_build = run_build
    fake_site.serve = lambda host="127.0.0.1", port=8000: seen.update(port=port, host=host)
    monkeypatch.setitem(sys.modules, "hcc.pipeline.run", fake)
    monkeypatch.setitem(sys.modules, "hcc.pipeline.site", fake_site)
    code, _ = run(capsys, "build", "-p", "seed=5", "-p", "k_small=3", "--only", "01_intro",
                  "--jobs", "2", "--data", "x.csv")
    assert code == 0
    assert seen["overrides"] == {"seed": "5", "k_small": "3"}
    assert seen["only"] == ["01_intro"] and seen["jobs"] == 2 and seen["data"] == "x.csv"
    assert seen["strict"] is False and seen["progress"] is True
    assert seen["adverse_events"] is None
    code, _ = run(capsys, "build", "--data", "x.csv", "--adverse-events", "my ae.csv")
    assert code == 0 and seen["data"] == "x.csv" and seen["adverse_events"] == "my ae.csv"
    # issue 13: both flags are documented in `hcc build --help`
    code, text = run(capsys, "build", "--help")
    assert code == 0 and "--data PATH" in text and "--adverse-events PATH" in text
    code, _ = run(capsys, "build", "--strict", "--quiet")
    assert code == 0 and seen["strict"] is True and seen["progress"] is False
    code, text = run(capsys, "build", "-p", "novalue")
    assert code == 1 and "NAME=VALUE" in text
    code, _ = run(capsys, "serve", "--port", "8123")
    assert code == 0 and seen["port"] == 8123


def test_reconstruct_delegates(monkeypatch, capsys, tmp_path):
    import types

    seen = {}
    fake = types.ModuleType("hcc.reconstruct")
    fake.reconstruct = lambda **kw: seen.update(kw)
    monkeypatch.setitem(sys.modules, "hcc.reconstruct", fake)
    code, _ = run(capsys, "reconstruct", "--seed", "11", "--out", str(tmp_path), "--quiet",
                  "--no-cache")
    assert code == 0
    assert seen == {"seed": 11, "out": tmp_path, "progress": False, "cache": False}
    seen.clear()
    from hcc import paths

    code, _ = run(capsys, "reconstruct", "--quiet")  # default seed -> the shipped files
    assert code == 0
    assert seen == {"seed": paths.DEFAULT_SEED, "out": paths.DATA_DIR, "progress": False,
                    "cache": True}


def test_fidelity_json_on_a_cohort_file(tmp_path, capsys):
    from test_fidelity import published_counts_cohort

    c, ae = published_counts_cohort()
    c.to_csv(tmp_path / "cohort.csv", index=False)
    ae.to_csv(tmp_path / "adverse_events.csv", index=False)
    code, text = run(capsys, "fidelity", "--data", str(tmp_path / "cohort.csv"), "--json")
    payload = json.loads(text)
    # this cohort has the published counts but random times: some items fail -> exit 1
    assert code == 1
    items = payload["items"]
    sex = next(i for i in items if i["item"] == "Sex = Male, TKI")
    assert sex["paper"] == "30" and sex["ours"] == 30 and sex["ok"] is True  # Table 1
    assert payload["score"]["all"]["excluded"] == 8
    assert payload["passed"] is False
    code, text = run(capsys, "fidelity", "--data", str(tmp_path / "cohort.csv"))
    assert code == 1 and "Table 1:" in text and "FAIL" in text


def test_fidelity_on_a_broken_file_is_one_message(tmp_path, capsys):
    p = tmp_path / "c.csv"
    cohort().drop(columns=["arm"]).to_csv(p, index=False)
    code, text = run(capsys, "fidelity", "--data", str(p))
    assert code == 1
    assert "missing column 'arm'" in text and "Traceback" not in text
