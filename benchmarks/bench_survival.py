"""Speed of the statistics core on large data; prints a table (no assertions).

Goals: Kaplan–Meier + log-rank on 1,000,000 rows (two groups; lifelines KaplanMeierFitter and
multivariate_logrank_test under hcc.km / hcc.logrank, with R's median and CI on top) <= 0.5 s;
table_one with 15 variables on 1,000,000 rows <= 2 s; peak memory (process maximum resident
set, ``resource.getrusage``) < 2 GB. When Rscript is available the same KM + log-rank is timed
inside R (survfit + summary + survdiff, ``system.time``) on the same data, in the same run.

Usage: python benchmarks/bench_survival.py [n_rows]
"""
from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hcc.survival import km, logrank  # noqa: E402
from hcc.tables import table_one  # noqa: E402


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.4, "TKI", "TKI-ICI")
    rate = np.where(arm == "TKI", 1 / 8, 1 / 20)
    days = np.maximum(1, np.round(rng.exponential(1 / rate) * 30)).astype(int)
    cens = np.round(rng.uniform(60, 900, n)).astype(int)
    data = {"arm": arm, "os_months": np.minimum(days, cens) / 30, "os_event": (days <= cens).astype(int),
            "age": rng.integers(30, 85, n), "bmi": np.round(rng.normal(24, 3, n), 1),
            "sex": np.where(rng.random(n) < 0.85, "Male", "Female"),
            "etiology": rng.choice(["HBV", "HCV", "HBV+HCV"], n, p=[0.9, 0.05, 0.05])}
    for i in range(11):
        data[f"flag{i}"] = rng.integers(0, 2, n)
    return pd.DataFrame(data)


def timed(fn, repeat: int = 3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def r_timing(df: pd.DataFrame) -> str:
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        df[["arm", "os_months", "os_event"]].to_csv(path, index=False)
        code = (f'suppressMessages(library(survival)); d <- read.csv("{path.as_posix()}"); '
                "t <- system.time({f <- survfit(Surv(os_months, os_event) ~ arm, data = d); "
                "s <- summary(f)$table; l <- survdiff(Surv(os_months, os_event) ~ arm, data = d)}); "
                "cat(sprintf('%.9f', c(t[['elapsed']], l$chisq, s[, 'median'])), '\\n')")
        res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
        if res.returncode != 0:
            return "R failed: " + res.stderr.strip()[:200]
        return res.stdout.strip()


def main(n: int = 1_000_000) -> None:
    print(f"Generating {n:,} rows ...")
    df = make_data(n)
    rows = []

    def km_lr():
        res = km(df, "os_months", "os_event", "arm")
        summary = res.summary
        lr = logrank(df, "os_months", "os_event", "arm")
        return summary, lr

    t_km, (summary, lr) = timed(km_lr)
    rows.append(("km + summary + logrank, 2 groups", n, t_km, 0.5, peak_mib(km_lr)))
    variables = [c for c in df.columns if c not in ("arm", "os_event")][:15]
    t_tab, _ = timed(lambda: table_one(df, "arm", variables=variables), repeat=2)
    rows.append((f"table_one, {len(variables)} variables", n, t_tab, 2.0,
                 peak_mib(lambda: table_one(df, "arm", variables=variables))))
    print()
    print(f"{'task':<38}{'rows':>11}{'seconds':>10}{'goal':>7}{'peak MiB':>10}")
    for task, rn, sec, goal, mib in rows:
        print(f"{task:<38}{rn:>11,}{sec:>10.3f}{goal:>7.1f}{mib:>10.0f}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS (peak memory, goal < 2048): {maxrss:.0f} MiB")
    print(f"ours: log-rank chi-square {lr.statistic:.6f}; medians {summary['median'].round(6).tolist()}")
    out = r_timing(df)
    parts = out.split()
    if len(parts) == 4:
        print(f"R survfit + summary + survdiff (system.time): {float(parts[0]):.3f} s "
              f"(hcc / R = {t_km / float(parts[0]):.2f}); "
              f"chi-square {float(parts[1]):.6f}; medians {[round(float(p), 6) for p in parts[2:]]}")
    else:
        print(f"R: {out}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
