"""Time to load the shipped cohort (goal: < 0.2 s). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_load.py [PATH]

* cold process: wall time of ``python -c "import hcc; hcc.load_cohort()"`` (includes the
  interpreter start and the pandas import), and the same with only ``import pandas`` for
  comparison;
* in-process: first ``load_cohort()`` after import (validation included) and a repeated call
  (served from the in-process cache).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def wall(code: str, repeat: int = 5) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                       capture_output=True)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    from hcc import paths

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else paths.COHORT_CSV
    if not path.exists():
        print(f"{path} does not exist yet (run `hcc reconstruct`); nothing to time")
        return
    arg = "" if len(sys.argv) == 1 else repr(str(path))
    cold = wall(f"import hcc; hcc.load_cohort({arg})")
    base = wall("import pandas")
    start = wall("pass")
    print(f"file: {path} ({path.stat().st_size} bytes)")
    print(f"cold process, import hcc + load_cohort(): median {statistics.median(cold):.3f} s "
          f"(min {min(cold):.3f})")
    print(f"  of which interpreter start {statistics.median(start):.3f} s, "
          f"import pandas {statistics.median(base) - statistics.median(start):.3f} s")

    t = time.perf_counter()
    import hcc
    import hcc.cohort.load  # noqa: F401  (pandas, numpy, the data dictionary)
    t_import = time.perf_counter() - t
    target = path if arg else None
    t = time.perf_counter()
    df = hcc.load_cohort(target)
    first = time.perf_counter() - t
    uncached = []
    for _ in range(10):
        hcc.cohort.load._cache.clear()
        t = time.perf_counter()
        hcc.load_cohort(target)
        uncached.append(time.perf_counter() - t)
    cached = []
    for _ in range(20):
        t = time.perf_counter()
        hcc.load_cohort(target)
        cached.append(time.perf_counter() - t)
    print(f"in-process: import hcc + hcc.cohort.load (pandas) {t_import:.3f} s")
    print(f"  load_cohort(): first {first * 1000:.1f} ms; read + validate + type, median of 10 "
          f"{statistics.median(uncached) * 1000:.1f} ms; cached {statistics.median(cached) * 1000:.2f} ms "
          f"({len(df)} rows)")
    print("goal: < 0.2 s to load")


if __name__ == "__main__":
    main()
