"""Fidelity reached by other seeds: one row per seed (items in tolerance, items at the
printed rounding, HR/CI equal at two decimals, score, time). Prints a table.

Usage: ``.venv/bin/python benchmarks/seed_fidelity.py [--n 10] [--budget MOVES]``
(seeds DEFAULT_SEED + 1 .. DEFAULT_SEED + n; results are cached like any reconstruction).
"""
from __future__ import annotations

import argparse
import time


def main() -> None:
    from hcc.paths import DEFAULT_SEED
    from hcc.reconstruct import reconstruct
    from hcc.reconstruct.generator import DEFAULT_BUDGET

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--budget", type=int, default=DEFAULT_BUDGET)
    ap.add_argument("--default", action="store_true", help="include the default seed")
    a = ap.parse_args()
    seeds = ([DEFAULT_SEED] if a.default else []) + [DEFAULT_SEED + i for i in range(1, a.n + 1)]
    print(f"{'seed':>10} {'in tol':>8} {'printed':>8} {'HR/CI 2dp':>10} {'all ok':>7} "
          f"{'score':>9} {'cut-off':>11} {'LTFU':>5} {'s':>6}")
    for seed in seeds:
        t0 = time.perf_counter()
        res = reconstruct(seed=seed, progress=False, budget=a.budget)
        dt = time.perf_counter() - t0
        f = res.manifest["fidelity"]
        hrci = [r for r in f["items"] if r["scored"] and r["kind"] in ("HR", "lower", "upper")]
        eq = sum(r["printed_rounding"] for r in hrci)
        allok = f["in_tolerance"] == f["scored_items"]
        print(f"{seed:>10} {f['in_tolerance']:>4}/{f['scored_items']:<3} "
              f"{f['printed_rounding']:>4}/{f['scored_items']:<3} {eq:>5}/{len(hrci):<4} "
              f"{'yes' if allok else 'no':>7} {f['score']:>9.3f} {res.manifest['data_cutoff']:>11} "
              f"{f['lost_to_follow_up']:>5} {dt:>6.1f}{' (cached)' if res.cached else ''}",
              flush=True)


if __name__ == "__main__":
    main()
