"""The skip decision: is a notebook's executed copy, or the site, still current?

A stamp (``book/.stamps/NAME.json``) records the hash of everything a notebook's execution
read — its file, the parameters, the data file bytes, the ``hcc`` sources and
``requirements.lock`` — and the sha256 of the executed copy. :func:`notebook_status`
decides, for each notebook, whether it runs, is kept (``--only`` names others) or is cached
(:func:`plan` for a group of notebooks); :func:`site_is_current` decides whether the Sphinx
stage can be skipped.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Iterable

from hcc.paths import PROJ_ROOT
from hcc.paths import sha256_file as _sha256_file
from hcc.pipeline.project import Project, _read_json

#: Bump to invalidate every stamp (change of what a stamp means).
_STAMP_VERSION = "1"
#: The ``hcc`` package whose sources every stamp hashes.
_PACKAGE = Path(__file__).resolve().parents[1]


def _package_files() -> list[Path]:
    pkg = _PACKAGE
    files = [p for p in pkg.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts
             and p.suffix in (".py", ".csv", ".json", ".parquet", ".yml", ".yaml")]
    return sorted(files)


def _common_inputs(project: Project, params: dict[str, Any]) -> str:
    """Hash of everything every notebook depends on besides its own file."""
    h = hashlib.sha256()
    h.update(f"stamp {_STAMP_VERSION} python {sys.version}\n".encode())
    h.update(json.dumps(params, sort_keys=True).encode())
    for name in ("data", "adverse_events"):
        if params.get(name):
            h.update(f"\n{name} {_sha256_file(Path(params[name]))}".encode())
    pkg = _PACKAGE
    for path in _package_files():
        label = path.relative_to(pkg).as_posix() if path.is_relative_to(pkg) else path.name
        h.update(f"\n{label} {_sha256_file(path)}".encode())
    lock = project.root / "requirements.lock"
    if not lock.is_file():
        lock = PROJ_ROOT / "requirements.lock"
    if lock.is_file():
        h.update(f"\nlock {_sha256_file(lock)}".encode())
    return h.hexdigest()


def _notebook_key(common: str, nb_path: Path, extra: bytes = b"") -> str:
    h = hashlib.sha256(common.encode())
    h.update(b"\nnotebook ")
    h.update(nb_path.read_bytes())
    h.update(extra)
    return h.hexdigest()


def _site_inputs(project: Project) -> str:
    """Hash of everything the Sphinx stage reads: config, toc, every file under book/."""
    h = hashlib.sha256(f"site {_STAMP_VERSION}\n".encode())
    for name in ("_config.yml", "_toc.yml"):
        p = project.root / name
        if p.is_file():
            h.update(f"{name} {_sha256_file(p)}\n".encode())
    skip = {project.executed_dir, project.failed_dir, project.stamps_dir}
    if project.book_dir.is_dir():
        for p in sorted(project.book_dir.rglob("*")):
            if not p.is_file() or any(s == p or s in p.parents for s in skip):
                continue
            if ".ipynb_checkpoints" in p.parts or "__pycache__" in p.parts:
                continue
            h.update(f"{p.relative_to(project.root).as_posix()} {_sha256_file(p)}\n".encode())
    with contextlib.suppress(Exception):
        from importlib.metadata import version
        h.update(f"jupyter-book {version('jupyter-book')}\n".encode())
    return h.hexdigest()



def _cached(project: Project, name: str, key: str) -> bool:
    stamp = _read_json(project.stamps_dir / f"{name}.json")
    dest = project.book_dir / f"{name}.ipynb"
    if not stamp or stamp.get("key") != key or not dest.is_file():
        return False
    return stamp.get("sha256") == _sha256_file(dest)


def notebook_status(project: Project, name: str, key: str, forced: Iterable[str]) -> str:
    """The skip decision for one notebook: ``"run"``, ``"kept"`` or ``"cached"``.

    Without ``--only`` (*forced* empty) a notebook runs unless its stamp is current
    (:func:`_cached`: same inputs *key*, executed copy unchanged), else it is ``"cached"``.
    With ``--only``, the named notebooks run, and so does any other without an executed
    copy; the rest keep their executed copies (``"kept"``, or ``"cached"`` when current).
    """
    forced = set(forced)
    fresh = _cached(project, name, key)
    have_copy = (project.book_dir / f"{name}.ipynb").is_file()
    if name in forced or (not forced and not fresh) or (forced and not have_copy):
        return "run"
    return "cached" if fresh else "kept"


def plan(project: Project, names: Iterable[str], common: str, forced: Iterable[str],
         extra: bytes = b"") -> list[tuple[str, Path, str, str]]:
    """``(name, source notebook, key, status)`` per notebook of *names* (the status:
    :func:`notebook_status`); *common* is :func:`_common_inputs`, *extra* what only these
    notebooks read (the run log, for the reproducibility page)."""
    out = []
    for name in names:
        src = project.notebooks_dir / f"{name}.ipynb"
        key = _notebook_key(common, src, extra)
        out.append((name, src, key, notebook_status(project, name, key, forced)))
    return out


def site_is_current(project: Project, strict: bool) -> tuple[bool, str]:
    """Can the Sphinx stage be skipped? True when nothing it reads changed since the last site
    (:func:`_site_inputs`), that site was built at least as strictly, and it is still there.
    Returns the decision and the key to stamp a new site with."""
    key = _site_inputs(project)
    stamp = _read_json(project.site_stamp) or {}
    current = (stamp.get("key") == key and stamp.get("strict", False) >= strict
               and (project.html_dir / "index.html").is_file())
    return current, key
