"""Benchmark of the reconstruction: numba compile time, cost of one evaluation, full
reconstruction time (cold compile cache, warm compile cache) and a cache hit.

Prints figures; asserts nothing about time. Usage::

    .venv/bin/python benchmarks/bench_reconstruct.py [--seed N] [--budget MOVES]

The compiled functions are cached by numba next to the sources
(``hcc/reconstruct/__pycache__``); the "cold" run points ``NUMBA_CACHE_DIR`` at an
empty temporary folder so that it includes compilation.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time, tempfile
t0 = time.perf_counter()
from hcc.reconstruct import reconstruct
res = reconstruct(seed={seed}, out=tempfile.mkdtemp(), progress=False, cache=False,
                  budget={budget})
print(f"RESULT {{time.perf_counter() - t0:.2f}} {{res.manifest['fidelity']['in_tolerance']}} "
      f"{{res.manifest['fidelity']['scored_items']}} {{res.manifest['fidelity']['printed_rounding']}} "
      f"{{len(res.manifest['chain_scores'])}}")
for c, (a, r) in zip(res.manifest["chain_scores"], res.timing["chains"]):
    print(f"CHAIN {{c['chain']}} {{a:.1f}} {{r:.1f}} {{c['n_acc_annealed']}} {{c['n_acc']}}")
"""

EVAL = r"""
import time, numpy as np
t0 = time.perf_counter()
from hcc.reconstruct import calibrate as cal, generator as g
import hcc.reconstruct.fastnum
t_import = time.perf_counter() - t0
rng = np.random.default_rng(1)
st = g.start_state(rng, cal.CUTOFF_START, draws=1)
n = 93
args = (cal.patients(st), cal.workspace(n), cal.model_terms(), 1e-9, 3)
t0 = time.perf_counter(); cal.full_eval(*args); t_first = time.perf_counter() - t0
t0 = time.perf_counter()
for _ in range(2000):
    cal.full_eval(*args)
per = (time.perf_counter() - t0) / 2000
print(f"EVAL {t_import:.2f} {t_first:.2f} {per * 1e6:.1f}")
"""


def run(code: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True)
    return out.stdout


def main() -> None:
    from hcc.paths import DEFAULT_SEED
    from hcc.reconstruct.generator import DEFAULT_BUDGET, DEFAULT_CHAINS

    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    a = ap.parse_args()
    env = dict(os.environ)
    print(f"machine: {os.cpu_count()} cores; seed {a.seed}; {a.budget:,d} moves per chain, {DEFAULT_CHAINS} chains")
    with tempfile.TemporaryDirectory() as tmp:
        cold = dict(env, NUMBA_CACHE_DIR=tmp)
        line = run(EVAL, cold).split()
        print(f"cold: import {float(line[1]):.2f} s, compile + first full evaluation {float(line[2]):.2f} s")
        t0 = time.perf_counter()
        res = run(CHILD.format(seed=a.seed, budget=a.budget), cold).split()
        print(f"cold compile cache: full reconstruction {time.perf_counter() - t0:.1f} s wall "
              f"(in-process {res[1]} s); {res[2]}/{res[3]} in tolerance, {res[4]} at printed "
              f"rounding; {res[5]} chains run (waves of 2, stopping at the first chain with "
              f"every item in tolerance)")
    line = run(EVAL, env).split()
    print(f"warm: import {float(line[1]):.2f} s, first evaluation {float(line[2]):.3f} s; "
          f"one full evaluation (31 Cox fits, 4 KM curves + CI, 2 log-rank, follow-up) "
          f"{float(line[3]):.1f} us")
    t0 = time.perf_counter()
    out = run(CHILD.format(seed=a.seed, budget=a.budget), env)
    res = out.split()
    print(f"warm compile cache: full reconstruction {time.perf_counter() - t0:.1f} s wall "
          f"(in-process {res[1]} s); per chain (annealing s, repair s, items in tolerance "
          f"after annealing -> after repair; two chains share the 2 cores at a time):")
    for line in out.splitlines():
        if line.startswith("CHAIN"):
            _, c, an, rp, na, nr = line.split()
            print(f"  chain {c}: {an} s + {rp} s, {na} -> {nr}")
    from hcc.reconstruct import reconstruct

    reconstruct(seed=a.seed, progress=False, budget=a.budget)  # make sure it is cached
    t0 = time.perf_counter()
    reconstruct(seed=a.seed, progress=False, budget=a.budget)
    print(f"cache hit (seed already built): {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
