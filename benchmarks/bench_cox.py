"""Benchmark: Cox fit time (10 covariates, Efron ties): hcc.cox (lifelines CoxPHFitter,
tightened) against R coxph in the same run; prints figures, asserts nothing.

Data: n rows, 10 covariates (5 normal, 5 binary), exponential survival times rounded up to
whole days (so many tied times), about 30% censored.  Each fit is timed alone, best of
``--repeat`` runs (the machine is shared: the minimum is the least disturbed run):
R with ``system.time`` around ``coxph`` only (not reading the CSV; R's coxph also computes
the concordance, so it is compared with hcc's fit + ``.concordance``), Python with
``time.perf_counter`` around the call; "cpu" is the process CPU time of the same runs.
Peak memory: the process's maximum resident set (``resource.getrusage``) right after the hcc
fits, before R's CSV is written.
Goal: hcc fit + concordance <= 0.5 x R coxph at 1,000,000 rows; peak < 2 GB.

"lifelines fit s" is the library call alone, as a reader would write it on the same frame
(``CoxPHFitter().fit(df, "time", "event", fit_options=LIFELINES_FIT_OPTIONS)``, timed after
hcc's peak is read): the floor of hcc's time while its Efron fit runs on lifelines, and
"lifelines / R" that floor against R.

``--baseline DIR`` also times the hcc of another checkout (e.g. ``/work/main``, the code before
a change) in a child process on the same data, so before and after sit in one run with R.

Run: ``.venv/bin/python benchmarks/bench_cox.py [--sizes 1000000 ...] [--repeat 3] [--no-r]
[--baseline DIR]``
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COVS = [f"x{i}" for i in range(10)]


def make_data(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=(n, 5)), rng.integers(0, 2, size=(n, 5))])
    beta = np.array([0.3, -0.2, 0.1, 0.0, 0.25, 0.4, -0.3, 0.2, 0.0, 0.1])
    t = rng.exponential(300 * np.exp(-X @ beta))
    c = rng.exponential(700, n)
    time_ = np.ceil(np.minimum(t, c))
    df = pd.DataFrame(X, columns=COVS)
    df["time"] = time_
    df["event"] = (t <= c).astype(int)
    return df


def time_hcc(df, repeat: int):
    """Best-of-*repeat* wall and CPU seconds of ``cox`` and of its ``.concordance``."""
    from hcc.coxph import cox

    cox(df.iloc[:6000], "time", "event", COVS).concordance  # warm-up: imports, numba cache
    fit = conc = cpu = np.inf
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        r = cox(df, "time", "event", COVS)
        t1 = time.perf_counter()
        _ = r.concordance
        t2, c2 = time.perf_counter(), time.process_time()
        if t2 - t0 < fit + conc:
            fit, conc = t1 - t0, t2 - t1
        cpu = min(cpu, c2 - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    return fit, conc, cpu, peak, r


def time_library(df, repeat: int) -> float:
    """Best-of-*repeat* wall seconds of lifelines' ``CoxPHFitter.fit`` alone on *df*."""
    import warnings

    from lifelines import CoxPHFitter

    from hcc.coxph import LIFELINES_FIT_OPTIONS

    frame = df[["time", "event", *COVS]]
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CoxPHFitter().fit(frame, "time", "event", fit_options=dict(LIFELINES_FIT_OPTIONS))
        best = min(best, time.perf_counter() - t0)
    return best


def time_r(df, repeat: int):
    if shutil.which("Rscript") is None:
        return None, None, None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        df.to_csv(csv, index=False)
        code = f"""suppressMessages(library(survival))
d <- read.csv("{csv}")
best <- c(Inf, Inf)
for (i in seq_len({repeat})) {{
  st <- system.time(f <- coxph(Surv(time, event) ~ {' + '.join(COVS)}, data = d))
  best <- pmin(best, c(st[["elapsed"]], st[["user.self"]] + st[["sys.self"]]))
}}
cat(sprintf('{{"t": %.6f, "cpu": %.6f, "coef": [%s]}}', best[1], best[2],
            paste(sprintf("%.15g", coef(f)), collapse = ",")))
"""
        res = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
        if res.returncode != 0:
            print("R failed:", res.stderr[:300])
            return None, None, None
        out = json.loads(res.stdout.strip().splitlines()[-1])
        return out["t"], out["cpu"], np.array(out["coef"])


def time_baseline(root: str, n: int, repeat: int) -> dict | None:
    """The same hcc timing with the package of checkout *root* (child process)."""
    env = dict(os.environ, PYTHONPATH=str(Path(root).resolve()))
    res = subprocess.run([sys.executable, __file__, "--child", str(n), str(repeat)],
                         capture_output=True, text=True, env=env)
    if res.returncode != 0:
        print("baseline failed:", res.stderr[-300:])
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def child(n: int, repeat: int) -> None:
    fit, conc, cpu, peak, r = time_hcc(make_data(n), repeat)
    print(json.dumps({"fit": fit, "conc": conc, "cpu": cpu, "peak": peak,
                      "coef": r.coef.tolist(), "hcc": str(Path(sys.modules["hcc"].__file__).parent)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--baseline", metavar="DIR", help="also time the hcc of this checkout")
    ap.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(*a.child)
    sys.path.insert(0, str(ROOT))
    rows = []

    def row(label, n, df, fit, conc, cpu, peak, coef, rt, rcpu, rcoef, lib=None):
        return {
            "hcc": label, "n": n, "censored %": round(100 * (1 - df.event.mean()), 1),
            "distinct times": df.time.nunique(),
            "hcc fit s": round(fit, 3), "hcc +C s": round(fit + conc, 3),
            "hcc cpu s": round(cpu, 3), "peak RSS MiB": round(peak),
            "R coxph s": None if rt is None else round(rt, 3),
            "R cpu s": None if rcpu is None else round(rcpu, 3),
            "hcc+C / R": None if rt is None else round((fit + conc) / rt, 3),
            "lifelines fit s": None if lib is None else round(lib, 3),
            "lifelines / R": None if lib is None or rt is None else round(lib / rt, 3),
            "cpu / R cpu": None if rcpu is None else round(cpu / rcpu, 3),
            "max |coef - R|": None if rcoef is None else float(np.abs(np.asarray(coef) - rcoef).max()),
        }

    for n in a.sizes:
        df = make_data(n)
        base = time_baseline(a.baseline, n, a.repeat) if a.baseline else None
        fit, conc, cpu, peak, r = time_hcc(df, a.repeat)
        lib = time_library(df, a.repeat)
        rt, rcpu, rcoef = (None, None, None) if a.no_r else time_r(df, a.repeat)
        if base:
            rows.append(row(f"baseline {a.baseline}", n, df, base["fit"], base["conc"], base["cpu"],
                            base["peak"], base["coef"], rt, rcpu, rcoef))
        rows.append(row("this checkout", n, df, fit, conc, cpu, peak, r.coef.to_numpy(), rt, rcpu,
                        rcoef, lib))
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    from hcc.coxph import LIFELINES_FIT_OPTIONS

    print(f"\nCox fit, 10 covariates, Efron ties: hcc.cox = lifelines {type(r.fitter).__name__}"
          f"(fit_options={LIFELINES_FIT_OPTIONS}); wall-clock s, best of {a.repeat}; 'cpu' = process "
          "CPU time; goal hcc+C / R <= 0.5, peak < 2048 MiB")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
