"""Scaling of the Dask ensemble (issue 12): cohorts per minute with 1 and 2 workers.

Builds the same N small-budget reconstructions (fresh seeds, reconstruction cache off so that
every cohort is really built) on a LocalCluster of 1 worker, then of 2 workers, and prints
the cohorts per minute of each (wall clock of the whole run, cluster start-up included, and
of the tasks alone) and the ratio. Asserts nothing about time. Usage::

    .venv/bin/python benchmarks/ensemble_scaling.py [--n 4] [--budget 1000] [--chains 1]
                                                     [--workers 1 2] [--seed-start 930000]

On a machine shared with other jobs the ratio is below what the cores allow: say so when
quoting it.
"""
from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=1)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed-start", type=int, default=930_000)
    a = ap.parse_args()
    from hcc.reconstruct.ensemble import run_ensemble

    print(f"ensemble scaling: {a.n} cohorts per run, budget {a.budget}, chains {a.chains}, "
          f"{os.cpu_count()} CPUs on this machine")
    print(f"{'workers':>7} {'wall s':>8} {'cohorts/min':>11} {'task s (mean)':>13} "
          f"{'cohorts/min (tasks)':>19}")
    rates = {}
    for k in a.workers:
        t0 = time.perf_counter()
        run = run_ensemble(seeds=range(a.seed_start, a.seed_start + a.n), workers=k,
                           budget=a.budget, chains=a.chains, cache=False, progress=False,
                           default=False)
        wall = time.perf_counter() - t0
        task = sum(run.seconds.values()) / max(1, len(run.seconds))
        rates[k] = 60 * len(run.members) / wall
        print(f"{k:>7} {wall:>8.1f} {rates[k]:>11.2f} {task:>13.1f} "
              f"{60 * k / task:>19.2f}" + (f"  failures: {run.failures}" if run.failures else ""))
    if len(rates) > 1:
        lo, hi = min(rates), max(rates)
        print(f"ratio {hi} vs {lo} workers: {rates[hi] / rates[lo]:.2f} (ideal {hi / lo:.0f})")


if __name__ == "__main__":
    main()
