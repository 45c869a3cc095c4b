"""Tests of hcc.cohort.load, .derive, .missing and hcc.pipeline.inputs (get_cohort). References: the derivation rules of ARCHITECTURE.md's data dictionary
(OS to death or last contact; standard PFS: progression, else death, else censored at last
contact; months = whole days / 30, METHODS.md §3 — expected values below are computed by
hand from those rules), and the loader contract (validated analysis frame, every problem
listed, lazy reconstruction)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corpus.hostile import ae_table, cohort
from hcc import paths
from hcc.cohort import derive, dictionary, load, missing
from hcc.pipeline import inputs
from hcc.errors import DataError, ValidationError

ROOT = Path(__file__).resolve().parents[1]


def _raw_rows() -> pd.DataFrame:
    base = cohort(5).drop(columns=["os_months", "os_event", "pfs_months", "pfs_event"])
    base["start_date"] = ["2020-01-01"] * 5
    #            A: progressed then died   B: died, no progression   C: alive, no progression
    #            D: progressed, alive      E: died at day 229 (the paper's 7.63 months)
    base["progression_date"] = ["2020-03-01", "", "", "2020-04-10", ""]
    base["death_date"] = ["2020-07-19", "2020-02-15", "", "", "2020-08-17"]
    base["last_contact_date"] = ["", "", "2020-12-31", "2021-01-01", ""]
    return base


def test_derive_analysis_rules():
    out = derive.derive_analysis(_raw_rows())
    # A: OS = 200 days to death (event); PFS = 60 days to progression (event)
    # B: OS = 45 days to death; PFS = the same death, an event (standard definition)
    # C: OS = 365 days censored at last contact; PFS censored there too
    # D: OS = 366 days censored (2020 is a leap year); PFS = 100 days to progression
    # E: OS = 229 days -> 229 / 30 = 7.633..., printed 7.63
    assert out["os_months"].tolist() == pytest.approx([200 / 30, 45 / 30, 365 / 30, 366 / 30,
                                                       229 / 30])
    assert out["os_event"].tolist() == [1, 1, 0, 0, 1]
    assert out["pfs_months"].tolist() == pytest.approx([60 / 30, 45 / 30, 365 / 30, 100 / 30,
                                                        229 / 30])
    assert out["pfs_event"].tolist() == [1, 1, 0, 1, 1]
    assert round(out["os_months"].iloc[4], 2) == 7.63
    assert list(out.columns) == list(dictionary.ANALYSIS_COLUMNS)
    assert (out["pfs_months"] <= out["os_months"]).all()


def test_derive_analysis_refuses_impossible_input():
    raw = _raw_rows()
    with pytest.raises(DataError):
        derive.derive_analysis(raw.drop(columns=["start_date"]))
    bad = raw.copy()
    bad.loc[2, "last_contact_date"] = ""
    with pytest.raises(DataError, match="neither"):
        derive.derive_analysis(bad)
    bad = raw.copy()
    bad.loc[0, "death_date"] = "2019-01-01"
    with pytest.raises(DataError, match="negative"):
        derive.derive_analysis(bad)


def test_load_cohort_from_raw_dates(tmp_path):
    p = tmp_path / "raw.csv"
    _raw_rows().to_csv(p, index=False)
    df = load.load_cohort(p)
    expected = derive.derive_analysis(_raw_rows())
    assert df["os_event"].tolist() == expected["os_event"].tolist()
    assert df["pfs_months"].tolist() == pytest.approx(expected["pfs_months"].tolist())
    assert df.attrs["hcc_source"]["layout"] == "raw"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "semicolon"])
def test_loader_round_trip(tmp_path, fmt):
    c = cohort(30)
    p = tmp_path / f"c.{ 'csv' if fmt == 'semicolon' else fmt}"
    if fmt == "csv":
        c.to_csv(p, index=False)
    elif fmt == "semicolon":
        c.to_csv(p, index=False, sep=";", decimal=",")
    elif fmt == "xlsx":
        c.to_excel(p, index=False)
    else:
        c.to_parquet(p, index=False)
    df = load.load_cohort(p)
    pd.testing.assert_frame_equal(df, c[list(dictionary.ANALYSIS_COLUMNS)], check_dtype=False,
                                  check_exact=False, rtol=1e-12)
    assert df["os_event"].dtype == np.int64 and df["arm"].dtype == object


def test_missing_covariates_are_allowed_and_reported(tmp_path):
    c = cohort(10).astype(object)
    c.loc[[1, 4], "afp_gt400"] = ""
    c.loc[2, "sex"] = "NA"
    p = tmp_path / "m.csv"
    c.to_csv(p, index=False)
    df = load.load_cohort(p)
    assert df["afp_gt400"].isna().sum() == 2 and df["sex"].isna().sum() == 1
    rep = missing.missing_report(df)
    s = rep.summary.set_index("column")
    assert s.loc["afp_gt400", "missing"] == 2 and s.loc["afp_gt400", "percent"] == 20.0
    assert s.loc["sex", "missing"] == 1 and s.loc["arm", "missing"] == 0
    assert rep.n == 10 and rep.complete == 7
    assert "7 of 10 rows are complete" in rep._repr_html_()
    with pytest.raises(DataError):
        missing.missing_report(df, ["nope"])


def test_load_cohort_lists_every_problem(tmp_path):
    c = cohort(10).astype(object)
    c.loc[0, "os_event"] = 3
    c.loc[5, "bclc"] = "D"
    p = tmp_path / "bad.csv"
    c.to_csv(p, index=False)
    with pytest.raises(ValidationError) as ei:
        load.load_cohort(p)
    assert not ei.value.unreadable
    assert {(q.column, q.row) for q in ei.value.problems} == {("os_event", 2), ("bclc", 7)}


def test_load_adverse_events(tmp_path):
    p = tmp_path / "ae.csv"
    ae_table().to_csv(p, index=False)
    df = load.load_adverse_events(p)
    assert list(df.columns) == list(dictionary.AE_COLUMNS)
    assert df["grade"].tolist() == [2, 1, 3]
    ae_table().iloc[:0].to_csv(p, index=False)  # no events at all is a valid table
    assert len(load.load_adverse_events(p)) == 0


def test_get_cohort_and_adverse_events_for_a_user_file(tmp_path):
    p = tmp_path / "mine.csv"
    cohort().to_csv(p, index=False)
    pd.testing.assert_frame_equal(inputs.get_cohort(data=p), load.load_cohort(p))
    assert inputs.get_adverse_events(data=p) is None  # no adverse_events.csv beside it
    ae_table().to_csv(tmp_path / "adverse_events.csv", index=False)
    assert len(inputs.get_adverse_events(data=p)) == 3


def _write_generator_output(out: Path, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cohort(15, seed % 1000).to_csv(out / "cohort.csv", index=False)
    ae_table().to_csv(out / "adverse_events.csv", index=False)
    files = {n: hashlib.sha256((out / n).read_bytes()).hexdigest()
             for n in ("cohort.csv", "adverse_events.csv")}
    (out / "manifest.json").write_text(json.dumps({"generator": "hcc.reconstruct", "seed": seed,
                                                   "files": files}))


def test_get_cohort_with_another_seed_reconstructs_once(tmp_path, monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("hcc.reconstruct")

    def reconstruct(seed, out, progress=True, cache=True):
        calls.append(seed)
        _write_generator_output(Path(out), seed)

    fake.reconstruct = reconstruct
    monkeypatch.setitem(sys.modules, "hcc.reconstruct", fake)
    monkeypatch.setattr(paths, "CACHE_DIR", tmp_path / "cache")
    a = inputs.get_cohort(seed=123)
    b = inputs.get_cohort(seed=123)
    assert calls == [123]  # the second call used the cached files
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 15 and load.is_shipped_cohort(a)
    assert len(inputs.get_adverse_events(seed=123)) == 3


def test_is_shipped_cohort_uses_the_manifest(tmp_path):
    out = tmp_path / "gen"
    _write_generator_output(out, 5)
    assert load.is_shipped_cohort(out / "cohort.csv")
    df = load.load_cohort(out / "cohort.csv")
    assert load.is_shipped_cohort(df)
    changed = df.copy()
    changed.loc[0, "age"] = 99
    assert not load.is_shipped_cohort(changed)
    assert load.is_shipped_cohort(df.assign(age_gt60=(df["age"] > 60).astype(int)))
    assert not load.is_shipped_cohort(df.iloc[1:])  # a subset is not the synthetic cohort
    # a user's file: no manifest lists it
    user = tmp_path / "user" / "cohort.csv"
    user.parent.mkdir()
    cohort(15, 5).assign(age=40).to_csv(user, index=False)
    assert not load.is_shipped_cohort(user)
    assert not load.is_shipped_cohort(load.load_cohort(user))
    # a manifest not written by our generator does not count
    other = tmp_path / "other"
    other.mkdir()
    (other / "cohort.csv").write_bytes((out / "cohort.csv").read_bytes())
    (other / "manifest.json").write_text(json.dumps(
        {"files": {"cohort.csv": hashlib.sha256((out / "cohort.csv").read_bytes()).hexdigest()}}))
    assert not load.is_shipped_cohort(other / "cohort.csv")
    # the same bytes as a generated file, but edited afterwards: no longer listed
    edited = out / "cohort.csv"
    edited.write_text(edited.read_text().replace("Male", "Female", 1))
    assert not load.is_shipped_cohort(edited)


def test_shipped_cohort_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "COHORT_CSV", tmp_path / "cohort.csv")
    with pytest.raises(DataError, match="hcc reconstruct"):
        load.load_cohort()


def test_loading_never_imports_the_reconstruction(tmp_path):
    p = tmp_path / "c.csv"
    cohort().to_csv(p, index=False)
    code = ("import sys, hcc; hcc.load_cohort(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith(('hcc.reconstruct', 'numba'))))")
    if paths.COHORT_CSV.exists():
        code += "; hcc.load_cohort(); print(sorted(m for m in sys.modules if m.startswith(('hcc.reconstruct', 'numba'))))"
    r = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert all(line == "[]" for line in r.stdout.split()), r.stdout


def test_no_cohort_path_imports_the_calibrator(tmp_path):
    """Issue 14: every module of hcc.cohort, validating and loading a user's file, the shipped
    cohort through hcc.pipeline.inputs (default seed) and a chapter's setup never import the
    calibrator (hcc.reconstruct.calibrate) or numba; only a non-default seed does."""
    p = tmp_path / "c.csv"
    cohort().to_csv(p, index=False)
    code = ("import sys, pkgutil, importlib, hcc, hcc.cohort\n"
            "for m in pkgutil.iter_modules(hcc.cohort.__path__):\n"
            "    importlib.import_module('hcc.cohort.' + m.name)\n"
            "hcc.validate_file(sys.argv[1]); hcc.load_cohort(sys.argv[1]); hcc.missing_report(hcc.load_cohort(sys.argv[1]))\n"
            "hcc.get_cohort(data=sys.argv[1]); hcc.get_adverse_events(data=sys.argv[1])\n"
            "from hcc.chapter import setup\n"
            "setup({'data': sys.argv[1]}, tables=sys.argv[2], style=False)\n")
    if paths.COHORT_CSV.exists():
        code += ("hcc.get_cohort(); hcc.get_adverse_events(); hcc.is_shipped_cohort(hcc.load_cohort())\n"
                 "setup({}, tables=sys.argv[2], style=False)\n")
    code += ("print(sorted(m for m in sys.modules if m.startswith(('hcc.reconstruct', 'numba'))))")
    r = subprocess.run([sys.executable, "-c", code, str(p), str(tmp_path / "tables")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout


@pytest.mark.skipif(not paths.COHORT_CSV.exists(),
                    reason="the shipped cohort hcc/data/cohort.csv has not been built yet")
def test_shipped_cohort_loads_and_is_synthetic():
    # reference: the paper's arm sizes (hcc.paper.ARM_N)
    from hcc import paper

    df = load.load_cohort()
    assert df["arm"].value_counts().to_dict() == paper.ARM_N
    assert load.is_shipped_cohort(df) and load.is_shipped_cohort(paths.COHORT_CSV)
    if paths.COHORT_RAW_CSV.exists():
        raw = load.load_cohort(paths.COHORT_RAW_CSV)
        pd.testing.assert_frame_equal(raw, df, check_dtype=False)
    if paths.ADVERSE_EVENTS_CSV.exists():
        ae = load.load_adverse_events()
        assert set(ae["patient_id"]) <= set(df["patient_id"])
