"""The run log ``book/_executed/run_log.json``: what a build ran on, with which packages,
and how long each notebook took — read by the reproducibility page (:func:`read_run_log`,
:func:`run_log_tables`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hcc.paths import PROJ_ROOT
from hcc.paths import sha256_file as _sha256_file
from hcc.pipeline.privacy import public_params as _public_params
from hcc.pipeline.project import Project, _read_json, _write_json_atomic

#: Version of the run log layout (see :func:`read_run_log`).
RUN_LOG_FORMAT = 1
#: Packages whose versions the run log records.
_VERSIONED = ("numpy", "scipy", "pandas", "lifelines", "statsmodels", "matplotlib",
              "seaborn", "numba", "papermill", "ipykernel", "nbclient", "jupyter-book",
              "sphinx", "myst-nb", "pyyaml", "openpyxl", "pyarrow")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("hcc-book",) + _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _data_record(params: dict[str, Any], synthetic: bool) -> dict[str, Any]:
    from hcc import paths

    record: dict[str, Any] = {}
    for name, shipped in (("data", paths.COHORT_CSV), ("adverse_events", paths.ADVERSE_EVENTS_CSV)):
        value = params.get(name)
        if value is None:
            if name == "data" and params.get("seed") not in (None, paths.DEFAULT_SEED):
                record[name] = {"source": f"synthetic cohort reconstructed with seed {params['seed']}",
                                "file": None, "sha256": None}
            elif shipped.is_file():
                record[name] = {"source": "shipped synthetic cohort", "file": shipped.name,
                                "sha256": _sha256_file(shipped)}
            else:
                record[name] = {"source": "shipped synthetic cohort", "file": None, "sha256": None}
        else:
            p = Path(value)
            # only the file name: a full path could reveal a user name or an institution
            record[name] = {"source": "synthetic file" if synthetic else "user file",
                            "file": p.name, "sha256": _sha256_file(p)}
    return record



def read_run_log(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read the run log that ``hcc build`` writes for the reproducibility page.

    Parameters
    ----------
    path : path, optional
        Default: ``$HCC_RUN_LOG`` (set by the build for the kernels it starts), else
        ``book/_executed/run_log.json``.

    Returns
    -------
    dict
        ``{"format": 1, "available": bool, "built_at": str | None,
        "parameters": {name: value}`` (file parameters as file names only),
        ``"synthetic": bool, "suppress_below": int, "masking": {"synthetic", "suppress_below",
        "user_inputs", "masked_below", "reason"}`` (:meth:`hcc.pipeline.privacy.Decision.as_record`),
        ``"seed": int,
        "data": {"data" | "adverse_events": {"source", "file", "sha256"}},
        "packages": {name: version}, "platform": str,
        "notebooks": [{"name", "seconds", "executed_at"}]}`` — the notebooks executed
        before the reproducibility page, in book order. When no log exists (the notebook
        is run outside ``hcc build``) ``available`` is False and the lists are empty.
    """
    if path is None:
        path = os.environ.get("HCC_RUN_LOG") or (PROJ_ROOT / "book" / "_executed" / "run_log.json")
    log = _read_json(Path(path))
    if not log:
        return {"format": RUN_LOG_FORMAT, "available": False, "built_at": None,
                "parameters": {}, "synthetic": None, "suppress_below": None, "masking": None,
                "seed": None,
                "data": {}, "packages": _versions(), "platform": _platform(), "notebooks": []}
    log.setdefault("available", True)
    return log


def run_log_tables(log: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run log as DataFrames for display: ``notebooks``, ``parameters``, ``data``, ``packages``."""
    import pandas as pd

    log = read_run_log() if log is None else log
    notebooks = pd.DataFrame(log.get("notebooks", []), columns=["name", "seconds", "executed_at"])
    params = pd.DataFrame({"parameter": list(log.get("parameters", {})),
                           "value": [str(v) for v in log.get("parameters", {}).values()]})
    data = pd.DataFrame([{"input": k, **v} for k, v in log.get("data", {}).items()],
                        columns=["input", "source", "file", "sha256"])
    packages = pd.DataFrame({"package": list(log.get("packages", {})),
                             "version": list(log.get("packages", {}).values())})
    return {"notebooks": notebooks, "parameters": params, "data": data, "packages": packages}


def _platform() -> str:
    import platform

    return f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"


def _write_run_log(project: Project, params: dict[str, Any], decision,
                   names: list[str]) -> None:
    synthetic = decision.synthetic
    rows = []
    for name in names:
        stamp = _read_json(project.stamps_dir / f"{name}.json") or {}
        rows.append({"name": name, "seconds": stamp.get("seconds"),
                     "executed_at": stamp.get("executed_at")})
    stamps = [r["executed_at"] for r in rows if r["executed_at"]]
    log = {
        "format": RUN_LOG_FORMAT,
        "available": True,
        "built_at": max(stamps) if stamps else None,  # deterministic: latest execution
        "parameters": _public_params(params),
        "synthetic": synthetic,
        "suppress_below": params.get("suppress_below"),
        "masking": decision.as_record(),
        "seed": params.get("seed"),
        "data": _data_record(params, synthetic),
        "packages": _versions(),
        "platform": _platform(),
        "notebooks": rows,
    }
    old = _read_json(project.run_log)
    if old != log:
        _write_json_atomic(project.run_log, log)

