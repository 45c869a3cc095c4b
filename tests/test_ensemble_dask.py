"""Issue 12: ensembles of small-budget reconstructions on Dask — a LocalCluster of 2 workers,
a scheduler + worker started here on 127.0.0.1, resume after an interrupted run, a failing
seed, same seeds → same rows (and the same cohort as a plain `hcc reconstruct`).

Each small reconstruction (budget 1000, one chain) takes about a minute on this machine;
the tests share seeds so that later tests read them from the reconstruction cache.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hcc.reconstruct.ensemble import run_ensemble

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BUDGET, CHAINS = 1000, 1
SEEDS = [910_001, 910_002, 910_003]
RESUME_SEEDS = [910_001, 910_004]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _small(**kw):
    return run_ensemble(budget=BUDGET, chains=CHAINS, progress=False, default=False, **kw)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    return _small(seeds=SEEDS, workers=2, out=out)


def test_local_cluster_two_workers(local_run):
    """3 seeds on a LocalCluster of 2 worker processes: one row per seed, the files written,
    each row built by the seed's own reconstruction."""
    from hcc.reconstruct import generator

    m = local_run.members
    assert list(m["seed"]) == SEEDS
    assert set(m["budget"]) == {BUDGET} and set(m["chains"]) == {CHAINS}
    assert local_run.failures == {}
    out = local_run.out
    assert pd.read_csv(out / "ensemble.csv")["seed"].tolist() == SEEDS
    summary = pd.read_csv(out / "summary.csv").set_index("quantity")
    assert summary.loc["OS HR crude", "n"] == 3
    for seed in SEEDS:  # the manifest of the cached reconstruction is the row's
        rec = generator.reconstruct(seed=seed, progress=False, budget=BUDGET, chains=CHAINS)
        assert rec.cached
        row = m[m["seed"] == seed].iloc[0]
        assert row["generator_in_tolerance"] == rec.manifest["fidelity"]["in_tolerance"]
        assert row["data_cutoff"] == rec.manifest["data_cutoff"]


def test_same_seed_same_row_as_a_plain_build(local_run):
    """Same seed → same row: the member built in a Dask worker (chains in process) equals the
    quantities of the same seed rebuilt here without any cache."""
    from hcc.ensemble import cohort_quantities
    from hcc.reconstruct import generator

    seed = SEEDS[0]
    rec = generator.reconstruct(seed=seed, progress=False, budget=BUDGET, chains=CHAINS, cache=False)
    cached = generator.reconstruct(seed=seed, progress=False, budget=BUDGET, chains=CHAINS)
    pd.testing.assert_frame_equal(rec.cohort, cached.cohort)
    pd.testing.assert_frame_equal(rec.ae, cached.ae)
    mine = cohort_quantities(rec.cohort, rec.ae, raw=rec.raw).row()
    row = local_run.members.set_index("seed").loc[seed]
    for k, v in mine.items():
        assert (pd.isna(v) and pd.isna(row[k])) or v == pytest.approx(row[k], rel=1e-12), k


@pytest.fixture
def scheduler(tmp_path):
    """`dask scheduler` on 127.0.0.1 (port 0) and one `dask worker`, as subprocesses;
    stopped and waited for afterwards."""
    dask = str(Path(sys.executable).with_name("dask"))
    sfile = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sfile)],
                              env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not sfile.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sfile.exists(), "the scheduler did not start"
        import json

        address = json.loads(sfile.read_text())["address"]
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                      env=ENV, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        from dask.distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_external_scheduler(scheduler, local_run, tmp_path, monkeypatch):
    """The same seeds through a scheduler named by DASK_SCHEDULER_ADDRESS: the same rows."""
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", scheduler)
    run = _small(seeds=SEEDS, out=tmp_path)
    assert run.failures == {}
    assert set(run.sources.values()) <= {"cache", "built"}
    pd.testing.assert_frame_equal(run.members, local_run.members)


def test_resume_after_interrupt(tmp_path):
    """`hcc ensemble` killed after its first member: the next run keeps that row and builds
    only the rest."""
    import shutil

    from hcc.reconstruct import calibrate, generator

    out = tmp_path / "ens"
    # the second seed must really be built (not read from an earlier run's cache)
    key = (RESUME_SEEDS[1], BUDGET, CHAINS, calibrate.CUTOFF_START)
    shutil.rmtree(generator._cache_dir(*key), ignore_errors=True)
    generator._state_file(*key).unlink(missing_ok=True)
    cmd = [sys.executable, "-c",
           "from hcc.reconstruct.ensemble import run_ensemble\n"
           "if __name__ == '__main__':\n"
           f"    run_ensemble(seeds={RESUME_SEEDS}, out={str(out)!r}, budget={BUDGET}, "
           f"chains={CHAINS}, workers=1, progress=False, default=False)\n"]
    p = subprocess.Popen(cmd, env=ENV, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and p.poll() is None:
            f = out / "ensemble.csv"
            if f.exists() and len(pd.read_csv(f)) >= 1:
                break
            time.sleep(0.5)
        assert (out / "ensemble.csv").exists(), "no member was written"
        interrupted = p.poll() is None
        if interrupted:
            os.killpg(p.pid, signal.SIGTERM)
    finally:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    first = pd.read_csv(out / "ensemble.csv")
    assert interrupted and len(first) == 1, "the run should have been stopped after one member"
    done = int(first["seed"].iloc[0])
    run = _small(seeds=RESUME_SEEDS, workers=1, out=out)
    assert run.sources[done] == "resumed"
    assert list(run.members["seed"]) == RESUME_SEEDS
    pd.testing.assert_series_equal(run.members.set_index("seed").loc[done], first.set_index("seed").loc[done],
                                   check_dtype=False)


def test_failing_seed_keeps_the_others(tmp_path):
    """A seed whose task raises (a negative seed: numpy's SeedSequence refuses it) is
    reported in failures.csv; the other member is kept and summarised."""
    run = _small(seeds=[SEEDS[1], -1], workers=1, out=tmp_path)
    assert list(run.failures) == [-1] and "non-negative" in run.failures[-1]
    assert list(run.members["seed"]) == [SEEDS[1]]
    fails = pd.read_csv(tmp_path / "failures.csv")
    assert fails["seed"].tolist() == [-1]
    assert pd.read_csv(tmp_path / "summary.csv").set_index("quantity").loc["OS HR crude", "n"] == 1


def test_cli(local_run, tmp_path):
    """`hcc ensemble --n 2 --seed-start S`: seeds S, S + 1; exit 0; one summary line."""
    res = subprocess.run([sys.executable, "-m", "hcc.cli", "ensemble", "--n", "2", "--out",
                          str(tmp_path), "--seed-start", str(SEEDS[1]), "--budget", str(BUDGET),
                          "--chains", str(CHAINS), "--workers", "1"],
                         env=ENV, cwd=str(ROOT), capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    assert "ensemble: 2 of 2 cohorts" in res.stdout and "local cluster of 1 workers" in res.stdout
    got = pd.read_csv(tmp_path / "ensemble.csv")
    pd.testing.assert_frame_equal(got, local_run.members.iloc[1:].reset_index(drop=True),
                                  check_dtype=False)
    bad = subprocess.run([sys.executable, "-m", "hcc.cli", "ensemble", "--n", "0", "--out",
                          str(tmp_path)], env=ENV, cwd=str(ROOT), capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_chains_in_process_equal_forked(monkeypatch):
    """The design choice of the Dask tasks: with two chains (one wave of generator.WAVE, run
    forked normally) the chains run one after the other in the process when
    HCC_CHAINS_IN_PROCESS=1 — and the cohort, raw export, adverse events and manifest are
    identical to the forked build."""
    from hcc.reconstruct import generator

    kw = dict(seed=910_009, budget=500, chains=2, cache=False, progress=False)
    monkeypatch.delenv("HCC_CHAINS_IN_PROCESS", raising=False)
    assert not generator.chains_in_process()
    forked = generator.reconstruct(**kw)
    monkeypatch.setenv("HCC_CHAINS_IN_PROCESS", "1")
    assert generator.chains_in_process()
    serial = generator.reconstruct(**kw)
    for k in ("cohort", "raw", "ae"):
        pd.testing.assert_frame_equal(forked[k], serial[k])
    assert forked.manifest == serial.manifest
    assert len(serial.manifest["chain_scores"]) == 2
