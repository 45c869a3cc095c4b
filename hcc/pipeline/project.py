"""Where a book lives (:class:`Project`), which notebooks it executes and in which order
(``_toc.yml``), and the small file helpers every stage shares.

Tests build tiny books in temporary folders with ``Project(tmp)``; :func:`copy_sources`
copies the real book's sources there.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hcc.errors import BuildError
from hcc.paths import PROJ_ROOT

#: Notebooks whose name contains this run after all others (they read the run log).
_RUN_LAST_MARK = "reproducibility"


@dataclass(frozen=True)
class Project:
    """Where a book lives. Tests build tiny books in temporary folders with ``Project(tmp)``."""

    root: Path

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def build_dir(self) -> Path:
        return self.root / "_build"

    @property
    def html_dir(self) -> Path:
        return self.build_dir / "html"

    @property
    def executed_dir(self) -> Path:
        return self.book_dir / "_executed"

    @property
    def failed_dir(self) -> Path:
        return self.book_dir / "_failed"

    @property
    def stamps_dir(self) -> Path:
        return self.book_dir / ".stamps"

    @property
    def run_log(self) -> Path:
        return self.executed_dir / "run_log.json"

    @property
    def params_file(self) -> Path:
        return self.root / "params.yml"

    @property
    def lock_file(self) -> Path:
        return self.build_dir / ".lock"

    @property
    def site_stamp(self) -> Path:
        return self.build_dir / ".site-stamp.json"


def _project(root: str | os.PathLike | None) -> Project:
    return Project(Path(root).resolve() if root is not None else PROJ_ROOT)

def _toc_files(project: Project) -> list[str]:
    """Every ``file:`` of ``_toc.yml`` (root first), as written (no suffix)."""
    import yaml

    toc_path = project.root / "_toc.yml"
    try:
        toc = yaml.safe_load(toc_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise BuildError(f"no table of contents: {toc_path} is missing") from None
    except yaml.YAMLError as exc:
        raise BuildError(f"{toc_path} is not valid YAML: {exc}") from None
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    out.append(node[key])
            for key in ("parts", "chapters", "sections", "subtrees", "entries"):
                if isinstance(node.get(key), list):
                    for child in node[key]:
                        walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return out


def notebook_order(root: str | os.PathLike | None = None) -> list[str]:
    """Names (``"01_cohort"``...) of the notebooks to execute, in table-of-contents order.

    A toc entry ``book/NAME`` is a notebook when ``notebooks/NAME.ipynb`` exists; an entry
    with neither a notebook nor a page in ``book/`` is an error.
    """
    project = _project(root)
    names: list[str] = []
    missing: list[str] = []
    for entry in _toc_files(project):
        stem = Path(entry).stem if Path(entry).suffix in (".md", ".ipynb") else Path(entry).name
        if (project.notebooks_dir / f"{stem}.ipynb").is_file():
            if stem not in names:
                names.append(stem)
            continue
        page = project.root / entry
        if not any(page.with_name(page.name + sfx).is_file() or page.with_suffix(sfx).is_file()
                   for sfx in (".md", ".ipynb")) and not page.is_file():
            missing.append(entry)
    if missing:
        raise BuildError("_toc.yml lists pages that exist neither as notebooks/NAME.ipynb nor "
                         "as book pages: " + ", ".join(missing))
    return names


def _runs_last(name: str) -> bool:
    return _RUN_LAST_MARK in name


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json_atomic(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(content, fh, indent=2, sort_keys=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise



def copy_sources(dest: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Copy a book's sources (config, toc, params, lock file, notebooks/, book/ pages) to
    *dest*, without executed copies, stamps or the built site; return *dest*.

    Tests and benchmarks build the real book there, leaving the repository's site alone.
    """
    src = _project(root)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml", "params.yml", "requirements.lock"):
        if (src.root / name).is_file():
            shutil.copy2(src.root / name, dest / name)
    shutil.copytree(src.notebooks_dir, dest / "notebooks", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    skip = {"_executed", "_failed", ".stamps", ".ipynb_checkpoints", "__pycache__"}

    def ignore(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == src.book_dir
        return [n for n in names if n in skip or (top and n.endswith(".ipynb"))]

    if src.book_dir.is_dir():
        shutil.copytree(src.book_dir, dest / "book", ignore=ignore, dirs_exist_ok=True)
    return dest
