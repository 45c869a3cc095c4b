"""Benchmark of the book pipeline (prints figures; asserts nothing).

1. a cold build: every notebook executed by papermill (in parallel) and the site built by
   Jupyter Book, in a temporary copy of the project (goal <= 60 s, target <= 30 s on 2 cores);
2. `hcc build` again with nothing changed, timed as a new process, as `make book` runs it
   (goal <= 5 s);
3. the execution seconds of each notebook (from the run log and stamps).

Usage: .venv/bin/python benchmarks/bench_book.py [--jobs N]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hcc.pipeline.project import Project, copy_sources, notebook_order  # noqa: E402
from hcc.pipeline.run import run_build  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None, help="notebooks at a time (default: CPUs)")
    args = ap.parse_args()
    jobs = args.jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="hcc-bench-") as tmp:
        root = copy_sources(Path(tmp) / "book")
        print(f"cpus: {os.cpu_count()}, jobs: {jobs}, notebooks: {len(notebook_order(root))}")

        t0 = time.perf_counter()
        code = run_build(root=root, jobs=jobs, progress=True)
        cold = time.perf_counter() - t0
        if code != 0:
            print(f"cold build failed (exit {code}); see {root}/_build/sphinx.log")
            return 1

        cmd = [sys.executable, "-c",
               "import sys; from hcc.pipeline.run import run_build; "
               "sys.exit(run_build(root=sys.argv[1], progress=False))", str(root)]
        t1 = time.perf_counter()
        warm_code = subprocess.run(cmd).returncode
        warm = time.perf_counter() - t1

        project = Project(root)
        print("\nper-notebook execution (s):")
        for name in notebook_order(root):
            stamp = json.loads((project.stamps_dir / f"{name}.json").read_text())
            print(f"  {name:<24} {stamp['seconds']:6.1f}")
        print(f"\ncold build (execute all + site):   {cold:6.1f} s   (goal <= 60 s, target <= 30 s)")
        print(f"rebuild with nothing changed:      {warm:6.1f} s   (goal <= 5 s; exit {warm_code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
