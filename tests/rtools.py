"""Run R live for parity tests.

``run_r(code, **frames)`` writes each DataFrame to a temporary CSV, makes it available in
R as a data.frame of the same name, runs *code* (which must assign a list to ``out``)
and returns ``out`` parsed from JSON (doubles written with 17 significant digits).
Tests that use it are skipped, with the reason, when Rscript or the survival/jsonlite
packages are missing (``.ci/run`` installs them from Debian).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest


@lru_cache(maxsize=1)
def r_status() -> str | None:
    """None when R with survival and jsonlite is usable, else the reason it is not."""
    if shutil.which("Rscript") is None:
        return "Rscript not found (install r-base-core r-cran-survival r-cran-jsonlite)"
    res = subprocess.run(["Rscript", "-e", "suppressMessages({library(survival); library(jsonlite)})"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return "R packages survival/jsonlite missing: " + res.stderr.strip()[:200]
    return None


requires_r = pytest.mark.skipif(r_status() is not None, reason=str(r_status()))


def run_r(code: str, **frames: pd.DataFrame):
    reason = r_status()
    if reason is not None:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        lines = ["suppressMessages({library(survival); library(jsonlite)})"]
        for name, df in frames.items():
            path = tmpd / f"{name}.csv"
            df.to_csv(path, index=False)
            lines.append(f'{name} <- read.csv("{path.as_posix()}", stringsAsFactors = FALSE)')
        lines.append(code)
        lines.append(f'writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), "{(tmpd / "out.json").as_posix()}")')
        script = tmpd / "script.R"
        script.write_text("\n".join(lines))
        res = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"R failed:\n{res.stderr}")
        return json.loads((tmpd / "out.json").read_text())


def r_dataset(name: str) -> pd.DataFrame:
    """Export one of R's own data sets (``lung``, ``veteran``) at run time."""
    out = run_r(f'd <- {name}; out <- list(cols = names(d), rows = lapply(seq_len(ncol(d)), function(j) d[[j]]))')
    data = {c: col for c, col in zip(out["cols"], out["rows"])}
    return pd.DataFrame(data)
