"""Fidelity and plausibility reached by other seeds: one row per seed — the published
numbers within tolerance by the fidelity report (``hcc fidelity``, the statistics core),
the generator's own scored items in tolerance, the Cox numbers as printed (of 132), the
plausibility checks passed (``hcc plausibility``), chains run, seconds, the items and
checks still missed. Prints a table.

Usage: ``.venv/bin/python benchmarks/seed_fidelity.py [--n 10] [--budget MOVES] [--default]
[--seeds S ...]``
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
    ap.add_argument("--seeds", type=int, nargs="*", help="these seeds instead")
    a = ap.parse_args()
    seeds = ([DEFAULT_SEED] if a.default else []) + [DEFAULT_SEED + i for i in range(1, a.n + 1)]
    seeds = a.seeds or seeds
    from hcc.fidelity import fidelity_report

    from hcc.plausibility import plausibility_report

    print(f"{'seed':>10} {'report':>8} {'generator':>10} {'as printed':>10} {'plausible':>9} "
          f"{'chains':>6} {'s':>6}  missed")
    for seed in seeds:
        t0 = time.perf_counter()
        res = reconstruct(seed=seed, progress=False, budget=a.budget)
        dt = time.perf_counter() - t0
        f = res.manifest["fidelity"]
        rep = fidelity_report(res.cohort, res.ae)
        ok = rep.score["all"]
        ap_ = rep.as_printed().loc["all"]
        pl = plausibility_report(res.path / "cohort_raw.csv", ae=res.ae).summary
        n_pl, n_app = int((pl["ok"] == True).sum()), int(pl["ok"].notna().sum())  # noqa: E712
        missed = ", ".join(list(rep.failures["item"]) + list(pl.loc[pl["ok"] == False, "check"]))  # noqa: E712
        print(f"{seed:>10} {ok['passed']:>4}/{ok['total']:<3} "
              f"{f['in_tolerance']:>5}/{f['scored_items']:<4} "
              f"{ap_['equal']:>6}/{ap_['compared']:<3} {n_pl:>5}/{n_app:<3} "
              f"{len(res.manifest['chain_scores']):>6} {dt:>6.1f}"
              f"{' (cached)' if res.cached else ''}  {missed}", flush=True)


if __name__ == "__main__":
    main()
