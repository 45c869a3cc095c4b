"""Run R for the parity tests: live when Rscript is present, else from frozen references.

``run_r(code, **frames)`` writes each DataFrame to a temporary CSV, makes it available in
R as a data.frame of the same name, runs *code* (which must assign a list to ``out``)
and returns ``out`` parsed from JSON (doubles written with 17 significant digits).

Frozen references (statsmodels' habit: the R script beside its results)
-----------------------------------------------------------------------
Every call is keyed by a hash of its R code and its input CSVs. ``tests/r/r_results.json``
holds, per key, R's output, the test that asked for it and the input hashes;
``tests/r/<test module>.R`` holds the complete R script of each key (the same text run live,
``read.csv`` lines included), so a reference can be re-made by hand with ``Rscript``.

* R present: the call runs live; if a frozen reference exists for the key it must equal
  the live output (else the reference is stale and the test fails), so the assertions hold
  against both.
* R absent (or ``HCC_NO_R=1``): the frozen output is returned, so the R tests still assert.
  Only an input with no reference (e.g. a rebuilt shipped cohort) skips, with the reason.
* ``HCC_FREEZE_R=1 pytest ...`` (R present) records every call of the run into the json and
  rewrites the ``.R`` files (written at the end of the session, see ``conftest.py``);
  ``HCC_FREEZE_R=prune pytest`` (the whole suite) keeps only the calls of that run.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

R_DIR = Path(__file__).resolve().parent / "r"
FROZEN = R_DIR / "r_results.json"
FREEZE = os.environ.get("HCC_FREEZE_R") in ("1", "prune")
PRUNE = os.environ.get("HCC_FREEZE_R") == "prune"
_RECORDED: dict[str, dict] = {}

HEADER = "suppressMessages({library(survival); library(jsonlite)})"


@lru_cache(maxsize=1)
def r_status() -> str | None:
    """None when R with survival and jsonlite is usable, else the reason it is not."""
    if os.environ.get("HCC_NO_R") == "1":
        return "HCC_NO_R=1 (live R switched off)"
    if shutil.which("Rscript") is None:
        return "Rscript not found (install r-base-core r-cran-survival r-cran-jsonlite)"
    res = subprocess.run(["Rscript", "-e", HEADER], capture_output=True, text=True)
    if res.returncode != 0:
        return "R packages survival/jsonlite missing: " + res.stderr.strip()[:200]
    return None


#: Marks a test that compares with R (live or frozen); it no longer skips on its own.
requires_r = pytest.mark.r


@lru_cache(maxsize=1)
def _frozen() -> dict:
    return json.loads(FROZEN.read_text()) if FROZEN.exists() else {}


def _key(code: str, csvs: dict[str, str]) -> str:
    h = hashlib.sha256(code.encode())
    for name in sorted(csvs):
        h.update(b"\0" + name.encode() + b"\0" + csvs[name].encode())
    return h.hexdigest()[:20]


def _script(code: str, paths: dict[str, str]) -> str:
    lines = [HEADER]
    for name, path in paths.items():
        lines.append(f'{name} <- read.csv("{path}", stringsAsFactors = FALSE)')
    lines.append(code)
    return "\n".join(lines)


def _same(a, b, path="out") -> str | None:
    """None when two JSON values agree (floats to 1e-12 relative), else where they differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(set(a) ^ set(b))}"
        for k in a:
            if (d := _same(a[k], b[k], f"{path}.{k}")) is not None:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if (d := _same(x, y, f"{path}[{i}]")) is not None:
                return d
        return None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300):
            return None
        return f"{path}: {a!r} vs {b!r}"
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def run_r(code: str, **frames: pd.DataFrame):
    csvs = {name: df.to_csv(index=False) for name, df in frames.items()}
    key = _key(code, csvs)
    frozen = _frozen().get(key)
    reason = r_status()
    if reason is not None:
        if frozen is None:
            pytest.skip(f"{reason}; and no frozen R reference for this input in {FROZEN.name}")
        return frozen["out"]
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        paths = {}
        for name, text in csvs.items():
            path = tmpd / f"{name}.csv"
            path.write_text(text)
            paths[name] = path.as_posix()
        script = tmpd / "script.R"
        script.write_text(_script(code, paths) + "\n" +
                          f'writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), '
                          f'"{(tmpd / "out.json").as_posix()}")')
        res = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"R failed:\n{res.stderr}")
        out = json.loads((tmpd / "out.json").read_text())
    if frozen is not None and not FREEZE:
        diff = _same(out, frozen["out"])
        assert diff is None, (f"frozen R reference {key} ({frozen['test']}) differs from live R at "
                              f"{diff}; re-freeze with HCC_FREEZE_R=1")
    if FREEZE:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
        _RECORDED[key] = {"test": test, "code": code,
                          "inputs": {n: {"rows": int(len(frames[n])),
                                         "sha256": hashlib.sha256(t.encode()).hexdigest()[:16]}
                                     for n, t in csvs.items()},
                          "out": out}
    return out


def write_frozen() -> int:
    """Merge the calls recorded in this session into r_results.json and rewrite tests/r/*.R."""
    if not _RECORDED:
        return 0
    # HCC_FREEZE_R=prune (a whole-suite run): keep only this run's calls, so references of
    # inputs that no longer exist (a rebuilt shipped cohort) and of renamed tests go
    data = {} if PRUNE else dict(_frozen())
    data.update(_RECORDED)
    data = dict(sorted(data.items(), key=lambda kv: (kv[1]["test"], kv[0])))
    R_DIR.mkdir(exist_ok=True)
    # one reference per line: small diffs when a reference is re-made
    FROZEN.write_text("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                                          for k, v in data.items()) + "\n}\n")
    by_module: dict[str, list] = {}
    for key, entry in data.items():
        module = Path(entry["test"].split("::")[0]).stem or "misc"
        by_module.setdefault(module, []).append((key, entry))
    for module, entries in by_module.items():
        blocks = [f"# R scripts behind the frozen references of tests/{module}.py (written by\n"
                  "# tests/rtools.py with HCC_FREEZE_R=1; R 4.x, survival, jsonlite). Each block is\n"
                  "# the whole script run for one key of r_results.json; its CSV inputs are the\n"
                  "# frames the test builds (hashes in the json). `out` is written as JSON.\n"]
        for key, entry in entries:
            inputs = ", ".join(f"{n} ({v['rows']} rows, sha256 {v['sha256']})"
                               for n, v in entry["inputs"].items()) or "none"
            paths = {n: f"{n}.csv" for n in entry["inputs"]}
            blocks.append(f"## ---- {key}  {entry['test']}\n## inputs: {inputs}\n"
                          + _script(entry["code"], paths) + "\n")
        (R_DIR / f"{module}.R").write_text("\n".join(blocks))
    if PRUNE:
        for old in R_DIR.glob("*.R"):
            if old.stem not in by_module:
                old.unlink()
    return len(_RECORDED)


def r_dataset(name: str) -> pd.DataFrame:
    """Export one of R's own data sets (``lung``, ``veteran``) at run time (frozen without R)."""
    out = run_r(f'd <- {name}; out <- list(cols = names(d), rows = lapply(seq_len(ncol(d)), function(j) d[[j]]))')
    data = {c: col for c, col in zip(out["cols"], out["rows"])}
    return pd.DataFrame(data)
