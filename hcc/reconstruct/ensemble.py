"""Ensembles of reconstructions on Dask: many cohorts, each consistent with the paper.

One Dask task per seed (``pure=False``): the task reconstructs the cohort
(:func:`hcc.reconstruct.reconstruct`, which caches by seed, budget, chains and cut-off, so an
interrupted run resumes from the seeds already built) and computes the quantities of
:func:`hcc.ensemble.cohort_quantities` in the worker; the client collects one row per seed
into ``ensemble.csv`` as the tasks finish (a row already in ``ensemble.csv`` with the same
generator version, budget, chains and cut-off is kept, not recomputed), reports a failed
seed and keeps the others, and writes ``summary.csv`` and ``manifest.json`` at the end.

Design: the reconstruction runs its chains in forked processes (``generator.WAVE`` side by
side). A Dask worker under its nanny is a daemonic process, which may not have children,
and running two chains per task would put two processes on a core that Dask already gave
to the task; so each task runs its chains one after the other in the worker process
(``HCC_CHAINS_IN_PROCESS=1``, :func:`generator.chains_in_process`): the same chains from
the same seeds, hence the same cohort as ``hcc reconstruct`` for that seed and budget. The
parallelism is across seeds.

Scheduler: a ``dask.distributed.LocalCluster`` (processes, ``workers`` of them, one thread
each, on 127.0.0.1, no dashboard) unless ``scheduler`` or the ``DASK_SCHEDULER_ADDRESS``
environment variable names an existing scheduler (``tcp://host:8786``); its workers must be
able to import ``hcc`` and read the same cache folder for resuming to work across runs.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import pandas as pd

from hcc.errors import DataError
from hcc.paths import DEFAULT_SEED

__all__ = ["run_ensemble", "EnsembleRun", "build_member", "scheduler_address"]

#: Columns that identify how a member was built: a row is reused only when they match.
IDENTITY = ("generator_version", "calibration_version", "budget", "chains", "search_cutoff")


class EnsembleRun(dict):
    """Result of :func:`run_ensemble` (dict-like): ``members`` (DataFrame, the rows of
    ``ensemble.csv``), ``summary`` (:class:`hcc.ensemble.EnsembleSummary`), ``failures``
    (dict seed → one-line error), ``sources`` (dict seed → "built", "cache", "shipped",
    "resumed"), ``seconds`` (dict seed → task seconds; wall clock, never written to the
    files), ``wall`` (seconds of the whole run), ``out`` (folder or None)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: *scheduler*, else ``DASK_SCHEDULER_ADDRESS``, else None (a
    LocalCluster)."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


def _shipped_matches(seed: int, budget: int, chains: int, cutoff: str) -> bool:
    from hcc.paths import DATA_DIR

    try:
        m = json.loads((Path(DATA_DIR) / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return (m.get("seed") == seed and m.get("budget_moves_per_chain") == budget
            and m.get("chains") == chains and m.get("search_start_cutoff") == cutoff)


def build_member(seed: int, budget: int, chains: int, cutoff: str, cache: bool = True) -> dict:
    """The Dask task: reconstruct *seed* (or load it from the cache, or — for the default
    seed at the shipped settings — read the shipped files) and compute its quantities.

    Returns a dict with ``row`` (one row of ``ensemble.csv``), ``source`` and ``seconds``.
    """
    os.environ["HCC_CHAINS_IN_PROCESS"] = "1"  # see the module docstring
    from hcc.ensemble import cohort_quantities
    from hcc.reconstruct import generator
    from hcc.reconstruct.output import _read_files

    t0 = time.perf_counter()
    if seed == DEFAULT_SEED and _shipped_matches(seed, budget, chains, cutoff):
        from hcc.paths import DATA_DIR

        folder = Path(DATA_DIR)
        files = _read_files(folder)
        source = "shipped"
    else:
        rec = generator.reconstruct(seed=seed, out=None, progress=False, cache=cache,
                                    chains=chains, budget=budget, cutoff=cutoff)
        files = {"cohort": rec.cohort, "raw": rec.raw, "ae": rec.ae, "manifest": rec.manifest}
        source = "cache" if rec.cached else "built"
    man = files["manifest"]
    q = cohort_quantities(files["cohort"], files["ae"], raw=files["raw"])
    fid = man.get("fidelity", {})
    row = {"seed": seed, "generator_version": man.get("generator_version"),
           "calibration_version": int(generator.CALIBRATION_VERSION), "budget": budget,
           "chains": chains, "search_cutoff": cutoff,
           "data_cutoff": man.get("data_cutoff"),
           "generator_in_tolerance": fid.get("in_tolerance"),
           "generator_scored": fid.get("scored_items")}
    row.update(q.row())
    return {"row": row, "source": source, "seconds": time.perf_counter() - t0}


def _read_rows(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    df.to_csv(tmp, index=False)
    tmp.replace(path)


def _members_frame(rows: dict) -> pd.DataFrame:
    from hcc.ensemble import EXACT_PREFIX

    df = pd.DataFrame([rows[s] for s in sorted(rows)])
    front = [c for c in df.columns if not c.startswith(EXACT_PREFIX)]
    return df[front + [c for c in df.columns if c.startswith(EXACT_PREFIX)]]


def _client(scheduler: str | None, workers: int):
    from dask.distributed import Client, LocalCluster

    address = scheduler_address(scheduler)
    if address:
        return Client(address, timeout="30s"), None
    import warnings

    # no dashboard; the scheduler's small HTTP server (health, metrics) listens on 127.0.0.1,
    # on port 8787 or, when another cluster holds it, any free port (distributed warns then)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                               silence_logs=40)
    return Client(cluster), cluster


def run_ensemble(n: int | None = None, out=None, seed_start: int = DEFAULT_SEED, *,
                 seeds=None, scheduler: str | None = None, workers: int = 2,
                 budget: int | None = None, chains: int | None = None,
                 cutoff: str | None = None, cache: bool = True, progress: bool = True,
                 default: bool = True) -> EnsembleRun:
    """Build an ensemble of reconstructions as Dask tasks and summarise it.

    Parameters
    ----------
    n : int
        Number of seeds: ``seed_start, seed_start + 1, ..., seed_start + n - 1``.
    out : path-like, optional
        Folder for ``ensemble.csv`` (one row per seed, rewritten as each task finishes),
        ``failures.csv`` (when a seed failed), ``summary.csv`` and ``manifest.json``.
        Rows already there for the same build settings are kept (resume).
    seed_start : int
        First seed (default ``hcc.paths.DEFAULT_SEED``, whose member is the shipped cohort
        when budget and chains are the defaults).
    seeds : iterable of int, optional
        Explicit seeds instead of *n* / *seed_start*.
    scheduler : str, optional
        Address of a running Dask scheduler; default ``DASK_SCHEDULER_ADDRESS``, else a
        LocalCluster with *workers* processes of one thread.
    budget, chains, cutoff
        As :func:`hcc.reconstruct.reconstruct` (defaults: the generator's).
    cache : bool
        Use the reconstruction cache (False rebuilds every seed; for determinism checks).
    progress : bool
        One updating line on stderr: members done, from the cache, failed, elapsed.
    default : bool
        Compute the shipped cohort's quantities for the summary's ``default`` column when the
        default seed is not a member at the shipped settings.

    Returns
    -------
    EnsembleRun
    """
    from hcc.ensemble import summarize_ensemble
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import generator

    seeds = _seed_list(n, seed_start, seeds, workers)
    budget = generator.DEFAULT_BUDGET if budget is None else int(budget)
    chains = generator.DEFAULT_CHAINS if chains is None else int(chains)
    cutoff = cutoff or cal.CUTOFF_START
    out = Path(out) if out is not None else None
    ident = {"generator_version": generator.GENERATOR_VERSION,
             "calibration_version": int(generator.CALIBRATION_VERSION), "budget": budget,
             "chains": chains, "search_cutoff": cutoff}
    book = _Ledger(seeds, out, progress)
    book.resume(ident)
    todo = [s for s in seeds if s not in book.rows]
    book.report()
    if todo:
        _run_tasks(book, todo, scheduler, int(workers), (budget, chains, cutoff, cache))
    book.save()
    book.report(final=True)
    if not book.rows:
        raise DataError("every seed of the ensemble failed: " + "; ".join(
            f"{s}: {e}" for s, e in book.failures.items()))
    members = _members_frame(book.rows)
    default_row = _default_row(book.rows, budget, chains, cutoff, default)
    summary = summarize_ensemble(members, default=default_row)
    if out is not None:
        summary.summary.to_csv(out / "summary.csv")
        _write_manifest(out, book, (budget, chains, cutoff), default_row)
    return EnsembleRun(members=members, summary=summary, failures=book.failures,
                       sources=book.sources, seconds=book.seconds,
                       wall=time.perf_counter() - book.t_start, out=out)


def _seed_list(n, seed_start, seeds, workers) -> list[int]:
    """The seeds of a run (explicit, or *n* from *seed_start*), checked."""
    if seeds is None:
        if n is None or int(n) < 1:
            raise DataError("an ensemble needs at least one seed (--n 1 or more)")
        seeds = range(int(seed_start), int(seed_start) + int(n))
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise DataError("the seeds of an ensemble must be distinct")
    if int(workers) < 1:
        raise DataError("an ensemble needs at least one worker (--workers 1 or more)")
    return seeds


class _Ledger:
    """What a run has so far — rows, their sources, task seconds, failures — with the
    progress line and the files rewritten as each task finishes."""

    def __init__(self, seeds: list[int], out: Path | None, progress: bool):
        self.seeds, self.out, self.progress = seeds, out, progress
        self.rows: dict[int, dict] = {}
        self.sources: dict[int, str] = {}
        self.seconds: dict[int, float] = {}
        self.failures: dict[int, str] = {}
        self.t_start = time.perf_counter()

    def resume(self, ident: dict) -> None:
        """Keep the rows of ``out/ensemble.csv`` built with the same settings *ident*."""
        if self.out is None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        old = _read_rows(self.out / "ensemble.csv")
        if old is None or not all(c in old.columns for c in ("seed",) + IDENTITY):
            return
        for rec in old.to_dict("records"):
            s = int(rec["seed"])
            if s in self.seeds and all(str(rec[k]) == str(v) for k, v in ident.items()):
                self.rows[s] = rec
                self.sources[s] = "resumed"

    def done(self, s: int, res: dict) -> None:
        self.rows[s] = res["row"]
        self.sources[s] = res["source"]
        self.seconds[s] = res["seconds"]

    def failed(self, s: int, exc: BaseException) -> None:
        msg = str(exc).splitlines()[0] if str(exc) else ""
        self.failures[s] = f"{type(exc).__name__}: {msg}".rstrip(": ")

    def report(self, final: bool = False) -> None:
        if not self.progress:
            return
        done = len(self.rows) + len(self.failures)
        cached = sum(v in ("cache", "resumed", "shipped") for v in self.sources.values())
        sys.stderr.write(f"\rensemble: {done}/{len(self.seeds)} done ({cached} from cache or "
                         f"earlier runs, {len(self.failures)} failed)  "
                         f"{time.perf_counter() - self.t_start:6.1f}s")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def save(self) -> None:
        if self.out is None:
            return
        if self.rows:
            _write_csv(_members_frame(self.rows), self.out / "ensemble.csv")
        if self.failures:
            _write_csv(pd.DataFrame({"seed": list(self.failures),
                                     "error": list(self.failures.values())}),
                       self.out / "failures.csv")
        elif (self.out / "failures.csv").exists():
            (self.out / "failures.csv").unlink()


def _run_tasks(book: _Ledger, todo: list[int], scheduler, workers: int, settings: tuple) -> None:
    """One Dask task per seed of *todo* (:func:`build_member` with *settings* = (budget,
    chains, cutoff, cache)); each result or failure goes into *book* as it arrives."""
    from dask.distributed import as_completed

    client, cluster = _client(scheduler, workers)
    try:
        futures = {client.submit(build_member, s, *settings, pure=False): s for s in todo}
        for fut in as_completed(futures):
            s = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # reported, the others kept
                book.failed(s, exc)
            else:
                book.done(s, res)
            fut.release()
            book.save()
            book.report()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _default_row(rows: dict, budget: int, chains: int, cutoff: str, default: bool):
    """The summary's ``default`` column: None when the default seed's member is the shipped
    cohort, else the shipped cohort's quantities (or nothing without *default*)."""
    from hcc.ensemble import cohort_quantities
    from hcc.reconstruct.output import _read_files

    if DEFAULT_SEED in rows and _shipped_matches(DEFAULT_SEED, budget, chains, cutoff):
        return None
    if not default:
        return {}
    from hcc.paths import DATA_DIR

    files = _read_files(Path(DATA_DIR))
    return cohort_quantities(files["cohort"], files["ae"], raw=files["raw"]).row()


def _write_manifest(out: Path, book: _Ledger, settings: tuple, default_row) -> None:
    from hcc.reconstruct import generator

    budget, chains, cutoff = settings
    manifest = {"written_by": "hcc ensemble (hcc.reconstruct.ensemble.run_ensemble)",
                "generator_version": generator.GENERATOR_VERSION,
                "calibration_version": generator.CALIBRATION_VERSION,
                "budget_moves_per_chain": budget, "chains": chains,
                "search_start_cutoff": cutoff, "seeds": sorted(book.rows),
                "n_members": len(book.rows),
                "failures": {str(k): v for k, v in book.failures.items()},
                "default_seed": DEFAULT_SEED,
                "default_column": ("the default seed's member" if default_row is None
                                   else "the shipped cohort (hcc/data, the default seed)")}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
