"""The book pipeline: papermill executes the notebooks, Jupyter Book renders the site.

``hcc build`` (:func:`run_build`) does, in order:

1. validate the parameters (:func:`hcc.params.load_params`) before anything runs;
2. take the build lock (``_build/.lock``, ``fcntl.flock``): a second build fails at once;
3. execute every notebook of ``notebooks/`` named in ``_toc.yml`` with papermill, in
   parallel (``jobs`` worker processes), into ``book/_executed/`` and, on success, move the
   executed copy to ``book/NN_name.ipynb``; a notebook whose inputs (its file, the
   parameters, the data file bytes, the ``hcc`` sources, the lock file) are unchanged is
   not executed again (stamp files in ``book/.stamps/``);
4. write the run log ``book/_executed/run_log.json`` (read by :func:`read_run_log`), then
   execute the reproducibility notebook(s) last;
5. run ``jupyter-book build`` into a staging folder under ``_build/`` and, only on
   success, exchange it atomically with ``_build/html`` (``renameat2(RENAME_EXCHANGE)``).
   When no page changed since the last site, the Sphinx stage is skipped.

A failing notebook stops the build with one line naming the notebook, the cell and the
error; its executed copy is kept in ``book/_failed/``; the previous site is untouched.
An interrupted build (Ctrl+C, SIGTERM, even ``kill -9``) leaves the previous site as it
was: nothing is written into ``_build/html`` except by the final exchange.

This module imports nothing heavy at import time (papermill, nbformat, yaml are imported
where used) so that a build with nothing to do takes well under a second of Python time.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import HCCError, ParameterError
from .paths import PROJ_ROOT

__all__ = ["run_build", "serve", "read_run_log", "run_log_tables", "notebook_order", "copy_sources",
           "Project", "BuildError", "RUN_LOG_FORMAT"]

#: Version of the run log layout (see :func:`read_run_log`).
RUN_LOG_FORMAT = 1
#: Bump to invalidate every stamp (change of what a stamp means).
_STAMP_VERSION = "1"
#: Notebooks whose name contains this run after all others (they read the run log).
_RUN_LAST_MARK = "reproducibility"
#: Seconds one cell may run before the notebook counts as failed (a hang never blocks a build).
_CELL_TIMEOUT = 1200
#: Packages whose versions the run log records.
_VERSIONED = ("numpy", "scipy", "pandas", "lifelines", "statsmodels", "matplotlib",
              "seaborn", "numba", "papermill", "ipykernel", "nbclient", "jupyter-book",
              "sphinx", "myst-nb", "pyyaml", "openpyxl", "pyarrow")


class BuildError(HCCError):
    """The build could not complete; the message is one line for the user."""


class _Interrupted(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# --------------------------------------------------------------------------------------
# project layout
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# table of contents
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# hashing
# --------------------------------------------------------------------------------------
from hcc.paths import sha256_file as _sha256_file  # noqa: E402


def _package_files() -> list[Path]:
    pkg = Path(__file__).resolve().parent
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
    pkg = Path(__file__).resolve().parent
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


# --------------------------------------------------------------------------------------
# lock
# --------------------------------------------------------------------------------------
class _BuildLock:
    """``fcntl.flock`` on ``_build/.lock``; the holder's pid is written in the file.

    The kernel releases the lock when the process dies, even by ``kill -9``.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            try:
                pid = self.path.read_text().strip() or "?"
            except OSError:
                pid = "?"
            raise BuildError(f"another build is running (pid {pid}); wait for it to finish "
                             f"(lock: {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            import fcntl

            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------------------
# atomic exchange of two directories
# --------------------------------------------------------------------------------------
def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def _swap_in(new_html: Path, project: Project) -> None:
    """Make *new_html* the site at ``_build/html``; the old site is removed afterwards."""
    target = project.html_dir
    if target.is_symlink() or target.is_file():
        target.unlink()
    if target.exists():
        if _exchange(new_html, target):
            shutil.rmtree(new_html, ignore_errors=True)  # now holds the previous site
            return
        aside = project.build_dir / f".html-previous-{os.getpid()}"
        os.rename(target, aside)  # tiny window; _recover() puts it back after a crash
        os.rename(new_html, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(new_html, target)


def _recover(project: Project) -> None:
    """Clean what a killed build left behind (called with the lock held)."""
    build = project.build_dir
    if not project.html_dir.exists():
        previous = sorted(build.glob(".html-previous-*"), key=lambda p: p.stat().st_mtime)
        if previous:
            os.rename(previous[-1], project.html_dir)
    for stale in list(build.glob(".html-previous-*")) + list(build.glob(".staging-*")):
        shutil.rmtree(stale, ignore_errors=True)
    if project.executed_dir.is_dir():
        for stale in project.executed_dir.glob("run-*"):
            shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------------------
# run log (the privacy decision itself is hcc.privacy.decide)
# --------------------------------------------------------------------------------------
def _check_inputs(params: dict[str, Any]) -> int:
    """Run :func:`hcc.readiness.check_inputs` on the build's files: print every problem as one
    line on stderr (warnings too) and return 1 when the book cannot run (2: a file cannot be
    read), else 0."""
    from .errors import ValidationError
    from .readiness import check_inputs, errors

    try:
        problems = check_inputs(params.get("data"), params.get("adverse_events"), params.get("seed"))
    except ValidationError as exc:
        for p in exc.problems:
            print(f"error: {_one_line(str(p), 400)}", file=sys.stderr)
        print("error: nothing was built; the previous site is untouched", file=sys.stderr)
        return 2
    for p in problems:
        kind = "error" if p.severity != "warning" else "warning"
        text = _one_line(str(p), 400).replace(": warning: ", ": ", 1)
        print(f"{kind}: {text}", file=sys.stderr, flush=True)
    if errors(problems):
        print("error: nothing was built (the book cannot run on this data; `hcc validate` "
              "lists the same problems); the previous site is untouched", file=sys.stderr)
        return 1
    return 0


def _prepare_cohort(params: dict[str, Any], out, progress: bool = False) -> None:
    """Reconstruct the synthetic cohort of a non-default seed once, before the notebooks
    run in parallel (each would otherwise start the same reconstruction at the same time),
    with the reconstruction's progress line on stderr when *progress*. The result is
    cached by :func:`hcc.data.get_cohort` under ``.cache/``."""
    from .paths import DEFAULT_SEED

    if params.get("data") is not None or params.get("seed") in (None, DEFAULT_SEED):
        return
    t = time.monotonic()
    try:
        from .data import get_cohort

        get_cohort(None, params["seed"], progress=progress)
    except HCCError as exc:
        raise BuildError(f"the synthetic cohort for seed {params['seed']} could not be "
                         f"reconstructed: {_one_line(str(exc))}") from None
    seconds = time.monotonic() - t
    if seconds > 1:
        out("cohort", f"seed {params['seed']}", seconds)


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
    from . import paths

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


def _public_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (Path(v).name if k in ("data", "adverse_events") and v else v)
            for k, v in params.items()}


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
        "user_inputs", "masked_below", "reason"}`` (:meth:`hcc.privacy.Decision.as_record`),
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


# --------------------------------------------------------------------------------------
# notebook execution (worker processes)
# --------------------------------------------------------------------------------------
@dataclass
class _Job:
    name: str
    source: Path
    key: str
    forced: bool = False
    proc: subprocess.Popen | None = None
    started: float = 0.0
    spec_path: Path | None = None
    result_path: Path | None = None
    out_path: Path | None = None
    stderr_path: Path | None = None
    seconds: float = 0.0


def _kernel_dir(project: Project) -> Path:
    """A kernelspec ``python3`` that runs *this* interpreter (``sys.executable``).

    Put first on ``JUPYTER_PATH`` for the workers, it wins over a ``python3`` kernel a
    user may have installed elsewhere (e.g. in ``~/.local``).
    """
    base = project.build_dir / ".kernel"
    spec_dir = base / "kernels" / "python3"
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python",
            "metadata": {"debugger": False}}
    path = spec_dir / "kernel.json"
    if _read_json(path) != spec:
        _write_json_atomic(path, spec)
    return base


def _worker_env(project: Project) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel's inline backend must draw the figures
    kernels = str(_kernel_dir(project))
    env["JUPYTER_PATH"] = kernels + (os.pathsep + env["JUPYTER_PATH"] if env.get("JUPYTER_PATH") else "")
    env["HCC_RUN_LOG"] = str(project.run_log)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.setdefault("PYTHONHASHSEED", "0")
    # the kernel must import the same hcc as this process
    pkg_parent = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run_dir(project: Project) -> Path:
    """This build's own staging folder: a worker orphaned by a killed build can never
    write into the folder of the next build."""
    return project.executed_dir / f"run-{os.getpid()}"


def _start(job: _Job, project: Project, params: dict[str, Any], env: dict[str, str]) -> None:
    run_dir = _run_dir(project)
    run_dir.mkdir(parents=True, exist_ok=True)
    job.out_path = run_dir / f"{job.name}.ipynb"
    job.result_path = run_dir / f"{job.name}.result.json"
    job.spec_path = run_dir / f"{job.name}.spec.json"
    for p in (job.out_path, job.result_path):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    _write_json_atomic(job.spec_path, {
        "input": str(job.source), "output": str(job.out_path), "result": str(job.result_path),
        "cwd": str(project.book_dir), "parameters": params,
    })
    job.stderr_path = run_dir / f"{job.name}.stderr.log"
    job.started = time.monotonic()
    with open(job.stderr_path, "wb") as err:
        job.proc = subprocess.Popen(
            [sys.executable, "-m", "hcc.build", "--worker", str(job.spec_path)],
            env=env, cwd=str(project.root), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_die_with_parent(signal.SIGTERM))


def _stop(jobs: Iterable[_Job]) -> None:
    running = [j for j in jobs if j.proc is not None and j.proc.poll() is None]
    for j in running:
        with contextlib.suppress(OSError):
            j.proc.terminate()
    deadline = time.monotonic() + 5
    for j in running:
        try:
            j.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                j.proc.kill()
            j.proc.wait()


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _failure_line(job: _Job, project: Project, result: dict[str, Any] | None, stderr: str) -> str:
    kept = project.failed_dir / f"{job.name}.ipynb"
    where = f"notebook {job.name}"
    if result and result.get("cell") is not None:
        first = _one_line(result.get("first_line") or "", 60)
        where += f", cell {result['cell']} ({first!r})" if first else f", cell {result['cell']}"
        error = result.get("error") or "error"
    elif result and result.get("error"):
        error = result["error"]
    else:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        error = lines[-1] if lines else f"the worker process ended with code {job.proc.returncode}"
    tail = f" — executed copy kept in {kept.relative_to(project.root)}" if kept.exists() else ""
    return _one_line(f"{where} failed: {error}", 400) + tail


def _finish(job: _Job, project: Project) -> None:
    """Move a successful executed copy into book/ and write its stamp."""
    dest = project.book_dir / f"{job.name}.ipynb"
    os.replace(job.out_path, dest)
    with contextlib.suppress(FileNotFoundError):
        (project.failed_dir / f"{job.name}.ipynb").unlink()
    _write_json_atomic(project.stamps_dir / f"{job.name}.json", {
        "key": job.key, "seconds": round(job.seconds, 2),
        "executed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sha256": _sha256_file(dest),
    })


def _cached(project: Project, name: str, key: str) -> bool:
    stamp = _read_json(project.stamps_dir / f"{name}.json")
    dest = project.book_dir / f"{name}.ipynb"
    if not stamp or stamp.get("key") != key or not dest.is_file():
        return False
    return stamp.get("sha256") == _sha256_file(dest)


def _run_jobs(jobs: list[_Job], project: Project, params: dict[str, Any], n_jobs: int,
              report) -> None:
    """Execute *jobs*, at most *n_jobs* at a time; raise BuildError on the first failure."""
    env = _worker_env(project)
    pending = list(jobs)
    running: list[_Job] = []
    try:
        while pending or running:
            while pending and len(running) < n_jobs:
                job = pending.pop(0)
                _start(job, project, params, env)
                running.append(job)
            time.sleep(0.05)
            for job in list(running):
                if job.proc.poll() is None:
                    continue
                running.remove(job)
                job.seconds = time.monotonic() - job.started
                try:
                    stderr = job.stderr_path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    stderr = ""
                for p in (job.spec_path, job.stderr_path):
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
                result = _read_json(job.result_path)
                with contextlib.suppress(FileNotFoundError):
                    job.result_path.unlink()
                if job.proc.returncode == 0 and result and result.get("ok"):
                    _finish(job, project)
                    report(job.name, "executed", job.seconds)
                    continue
                report(job.name, "FAILED", job.seconds)
                if job.out_path.is_file():
                    project.failed_dir.mkdir(parents=True, exist_ok=True)
                    os.replace(job.out_path, project.failed_dir / f"{job.name}.ipynb")
                raise BuildError(_failure_line(job, project, result, stderr))
    finally:
        _stop(running)
        shutil.rmtree(_run_dir(project), ignore_errors=True)


def _die_with_parent(sig: int = signal.SIGTERM):
    """A ``preexec_fn``: Linux sends *sig* to the child when the build process dies, even by
    ``kill -9``, so that no orphan writes into a staging folder afterwards."""
    parent = os.getpid()

    def preexec() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(128 + int(sig))

    return preexec if sys.platform.startswith("linux") else None


# ---- inside the worker process ---------------------------------------------------------


def _install_safe_translator() -> None:
    """Papermill writes parameters with :func:`repr` (never a hand-made quoting)."""
    from papermill.translators import PythonTranslator, papermill_translators

    from .params import check_injectable

    class SafePythonTranslator(PythonTranslator):
        @classmethod
        def translate_str(cls, val):
            return repr(str(val))

        @classmethod
        def translate_float(cls, val):
            return repr(float(val))

        @classmethod
        def codify(cls, parameters, comment="Parameters"):
            source = super().codify(parameters, comment)
            check_injectable(dict(parameters), source)
            return source

    for name in ("python", "python3"):
        papermill_translators.register(name, SafePythonTranslator)


def _failing_cell(source_nb: Path, exc) -> tuple[int | None, str]:
    """1-based position of the failing cell in the *source* notebook and its first line."""
    src = getattr(exc, "source", "") or ""
    first = next((ln for ln in src.splitlines() if ln.strip()), "")
    try:
        import nbformat

        nb = nbformat.read(str(source_nb), as_version=4)
        for i, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code" and cell.source == src:
                return i, first
    except Exception:
        pass
    idx = getattr(exc, "cell_index", None)
    return (idx if idx is None else int(idx)), first


def _worker_main(argv: list[str]) -> int:
    # stop at once: no output notebook is written after a stop (the kernel notices that its
    # parent is gone and exits by itself: ipykernel's parent poller)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result_path = Path(spec["result"])
    try:
        import logging

        logging.getLogger("papermill").setLevel(logging.ERROR)
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        _install_safe_translator()
        pm.execute_notebook(spec["input"], spec["output"], parameters=spec["parameters"],
                            kernel_name="python3", language="python", cwd=spec["cwd"],
                            progress_bar=False, log_output=False, request_save_on_cell_execute=True,
                            execution_timeout=_CELL_TIMEOUT)
    except PapermillExecutionError as exc:
        cell, first = _failing_cell(Path(spec["input"]), exc)
        evalue = (exc.evalue or "").strip().splitlines()
        error = f"{exc.ename}: {evalue[0]}" if evalue else str(exc.ename)
        _write_json_atomic(result_path, {"ok": False, "cell": cell, "first_line": first,
                                         "error": error})
        return 1
    except ParameterError as exc:
        _write_json_atomic(result_path, {"ok": False, "cell": None, "error": f"ParameterError: {exc}"})
        return 1
    except Exception as exc:  # kernel died, notebook unreadable, ...
        msg = str(exc).strip().splitlines()
        _write_json_atomic(result_path, {"ok": False, "cell": None,
                                         "error": f"{type(exc).__name__}: {msg[-1] if msg else ''}"})
        return 1
    _tag_injected_cell(Path(spec["output"]), spec["parameters"])
    _write_json_atomic(result_path, {"ok": True})
    return 0


def _tag_injected_cell(path: Path, parameters: dict[str, Any]) -> None:
    """Fold away papermill's injected-parameters cell on the site; for real data, remove it
    and redact file paths to bare file names.

    For a user's own cohort the injected values include the path of their data file, which
    may name a hospital or a person: neither the rendered page nor the downloadable
    notebook may show it (privacy mode).
    """
    import nbformat

    synthetic = bool(parameters.get("synthetic", False))
    paths = {v: Path(v).name for v in parameters.values()
             if isinstance(v, str) and os.sep in v}
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.get("metadata", {}).setdefault("tags", [])
        if "injected-parameters" not in tags:
            continue
        want = "hide-input" if synthetic else "remove-cell"
        if want not in tags:
            tags.append(want)
            changed = True
        if not synthetic:
            for full, name in paths.items():
                if full in cell.source:
                    cell.source = cell.source.replace(full, name)
                    changed = True
    # papermill's metadata records absolute paths and the raw parameter values
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if isinstance(pm_meta.get(key), str):
            pm_meta[key] = Path(pm_meta[key]).name
            changed = True
    if not synthetic:
        for key, value in list(pm_meta.get("parameters", {}).items()):
            if isinstance(value, str) and value in paths:
                pm_meta["parameters"][key] = paths[value]
                changed = True
    if changed:
        tmp = path.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# Sphinx stage
# --------------------------------------------------------------------------------------
_JB_MAIN = ("import sys; from jupyter_book.cli.main import main; "
            "sys.argv[0] = 'jupyter-book'; sys.exit(main())")


def _sphinx(project: Project, strict: bool, state: dict[str, Any]) -> Path:
    """Build the site into a staging folder; return the staged html folder."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=project.build_dir))
    state["staging"] = staging
    cmd = [sys.executable, "-c", _JB_MAIN, "build", str(project.root),
           "--path-output", str(staging), "--builder", "html"]
    if strict:
        cmd += ["--warningiserror", "--keep-going"]
    log_path = project.build_dir / "sphinx.log"
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    pkg_parent = str(Path(__file__).resolve().parents[1])  # Sphinx loads the hcc.build extension
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=str(project.root), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env,
                                preexec_fn=_die_with_parent(signal.SIGKILL))
        state["sphinx"] = proc
        rc = proc.wait()
        state["sphinx"] = None
    html = staging / "_build" / "html"
    if rc != 0 or not (html / "index.html").is_file():
        import re

        text = re.sub(r"\x1b\[[0-9;]*m", "", log_path.read_text(encoding="utf-8", errors="replace"))
        problems = [ln for ln in text.splitlines()
                    if "WARNING" in ln or "ERROR" in ln or "Error" in ln or "error:" in ln]
        state["sphinx_problems"] = problems[:20]
        raise BuildError(f"jupyter-book failed (exit {rc}); the site was not updated "
                         f"(full log: {log_path.relative_to(project.root)})")
    return html


def _count_warnings(project: Project) -> int:
    try:
        text = (project.build_dir / "sphinx.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return sum(1 for ln in text.splitlines() if "WARNING:" in ln)


# --------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------
def _resolve_only(only: Iterable[str] | None, names: list[str]) -> list[str]:
    if not only:
        return []
    out, unknown = [], []
    for item in only:
        stem = Path(str(item)).name
        stem = stem[:-6] if stem.endswith(".ipynb") else stem
        match = [n for n in names if n == stem] or [n for n in names if n.startswith(stem + "_")]
        if len(match) == 1:
            out.append(match[0])
        else:
            unknown.append(str(item))
    if unknown:
        raise ParameterError(f"--only: unknown notebook {', '.join(unknown)} "
                             f"(known: {', '.join(names)})")
    return out


@dataclass
class _Printer:
    enabled: bool
    width: int = 24
    lines: list[str] = field(default_factory=list)

    def __call__(self, name: str, status: str, seconds: float | None) -> None:
        secs = "" if seconds is None else f"{seconds:6.1f} s"
        line = f"  {name:<{self.width}} {status:<9} {secs}".rstrip()
        self.lines.append(line)
        if self.enabled:
            print(line, flush=True)

    def say(self, text: str) -> None:
        if self.enabled:
            print(text, flush=True)


def run_build(overrides: dict[str, str] | None = None, params_file: Path | None = None,
              data: str | None = None, only: list[str] | None = None, jobs: int | None = None,
              progress: bool = True, *, root: str | os.PathLike | None = None,
              strict: bool = False, adverse_events: str | None = None) -> int:
    """Execute the notebooks and build the site; return the exit code.

    Parameters
    ----------
    overrides : dict, optional
        ``{NAME: VALUE}`` from ``-p NAME=VALUE`` (values read as YAML scalars).
    params_file : path, optional
        A YAML file of parameters (``--params``).
    data : str, optional
        Cohort file (``--data``); same as ``-p data=PATH``, and wins over it.
    adverse_events : str, optional
        Adverse-event file (``--adverse-events``); same as ``-p adverse_events=PATH``, and
        wins over it. A user's file (cohort or adverse events) is checked by
        :func:`hcc.readiness.check_inputs` before anything runs: any error stops the build
        (exit 1, one line per problem on stderr), warnings are printed.
    only : list of str, optional
        Execute only these notebooks (``03_survival``, ``03`` or a path); the others keep
        their executed copies (executed only if they have none). The site is still built.
    jobs : int, optional
        Notebooks executed at the same time (default ``os.cpu_count()``).
    progress : bool
        Print one line per notebook (name, status, seconds) and the stages.
    root : path, optional
        The project folder (``_config.yml``, ``_toc.yml``, ``notebooks/``, ``book/``,
        ``params.yml``); default: this repository.
    strict : bool
        Sphinx warnings are errors (``--warningiserror --keep-going``), as in the tests.

    Returns
    -------
    int
        0 built (or nothing to do); 1 a notebook or the site build failed, another build is
        running, the book cannot run on the data, or a problem with the project files;
        2 invalid parameters or an unreadable data file;
        130/143 interrupted (SIGINT/SIGTERM). Errors are printed as one line on stderr.
    """
    project = _project(root)
    out = _Printer(progress)
    t0 = time.monotonic()

    def fail(message: str, code: int = 1) -> int:
        print(f"error: {message}", file=sys.stderr, flush=True)
        return code

    # 1. parameters, before anything runs
    from .params import load_params

    merged = dict(overrides or {})
    if data is not None:
        merged["data"] = Path(data)
    if adverse_events is not None:
        merged["adverse_events"] = Path(adverse_events)
    try:
        params = load_params(merged, params_file,
                             defaults=project.params_file if project.params_file.is_file()
                             else PROJ_ROOT / "params.yml")
        names = notebook_order(project.root)
        forced = _resolve_only(only, names)
    except ParameterError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except BuildError as exc:
        return fail(str(exc))
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        return fail(f"--jobs: expected a whole number of at least 1, got {jobs!r}", 2)
    n_jobs = jobs or os.cpu_count() or 1

    # 1b. a user's file: can the book run on it? (hcc validate's checks; nothing runs before)
    if params.get("data") is not None or params.get("adverse_events") is not None:
        code = _check_inputs(params)
        if code:
            return code

    # 2. lock; signals become exceptions so that every exit cleans up
    lock = _BuildLock(project.lock_file)
    try:
        lock.acquire()
    except BuildError as exc:
        return fail(str(exc))
    previous_handlers = {}

    def on_signal(signum, _frame):
        raise _Interrupted(signum)

    import threading

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous_handlers[sig] = signal.signal(sig, on_signal)
    state: dict[str, Any] = {}
    try:
        _recover(project)
        from .privacy import decide_params

        decision = decide_params(params)  # the one decision; notebooks only read it
        synthetic = decision.synthetic
        nb_params = {**params, "synthetic": synthetic}
        _prepare_cohort(params, out, progress)
        common = _common_inputs(project, nb_params)

        first = [n for n in names if not _runs_last(n)]
        last = [n for n in names if _runs_last(n)]
        out.width = max([len(n) for n in names] + [12])

        def plan(group: list[str], extra: bytes = b"") -> list[_Job]:
            todo = []
            for name in group:
                src = project.notebooks_dir / f"{name}.ipynb"
                key = _notebook_key(common, src, extra)
                have_copy = (project.book_dir / f"{name}.ipynb").is_file()
                if name in forced or (not forced and not _cached(project, name, key)) \
                        or (forced and not have_copy):
                    todo.append(_Job(name, src, key, forced=name in forced))
                elif not _cached(project, name, key):
                    out(name, "kept", None)  # --only: the rest keep their executed copies
                else:
                    out(name, "cached", None)
            return todo

        unlisted = sorted(p.stem for p in project.notebooks_dir.glob("*.ipynb") if p.stem not in names)
        if unlisted:
            out.say(f"note: not in _toc.yml, not executed: {', '.join(unlisted)}")
        if names:
            out.say(f"Executing notebooks ({n_jobs} at a time; "
                    f"{'privacy mode: real data' if not synthetic else 'synthetic cohort'}):")
        todo = plan(first)
        _run_jobs(todo, project, nb_params, n_jobs, out)
        _write_run_log(project, nb_params, decision, first)
        run_log_bytes = project.run_log.read_bytes() if project.run_log.is_file() else b""
        todo = plan(last, b"\nrun log " + hashlib.sha256(run_log_bytes).hexdigest().encode())
        _run_jobs(todo, project, nb_params, n_jobs, out)

        # 3. the site
        site_key = _site_inputs(project)
        stamp = _read_json(project.site_stamp) or {}
        if stamp.get("key") == site_key and stamp.get("strict", False) >= strict \
                and (project.html_dir / "index.html").is_file():
            out.say(f"Site unchanged: {project.html_dir} ({time.monotonic() - t0:.1f} s)")
            return 0
        out.say("Building the site (jupyter-book)...")
        t1 = time.monotonic()
        html = _sphinx(project, strict, state)
        _swap_in(html, project)
        shutil.rmtree(state.pop("staging"), ignore_errors=True)
        _write_json_atomic(project.site_stamp, {"key": site_key, "strict": strict})
        out.say(f"  {'site':<{out.width}} built     {time.monotonic() - t1:6.1f} s")
        n_warn = _count_warnings(project)
        if n_warn:
            out.say(f"note: {n_warn} Sphinx warning(s), see {project.build_dir / 'sphinx.log'}")
        out.say(f"Site ready: {project.html_dir / 'index.html'} "
                f"({time.monotonic() - t0:.1f} s in all; `hcc serve` to view it)")
        return 0
    except BuildError as exc:
        for line in state.get("sphinx_problems", []):
            print(f"  {line}", file=sys.stderr)
        return fail(str(exc))
    except _Interrupted as exc:
        name = "SIGINT" if exc.signum == signal.SIGINT else "SIGTERM"
        print(f"error: build interrupted ({name}); the previous site is untouched",
              file=sys.stderr, flush=True)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("error: build interrupted; the previous site is untouched", file=sys.stderr)
        return 130
    finally:
        # ignore further signals while cleaning up
        for sig in previous_handlers:
            signal.signal(sig, signal.SIG_IGN)
        proc = state.get("sphinx")
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if state.get("staging") is not None:
            shutil.rmtree(state["staging"], ignore_errors=True)
        lock.release()
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


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


# --------------------------------------------------------------------------------------
# serve
# --------------------------------------------------------------------------------------
def serve(host: str = "127.0.0.1", port: int = 8000, *,
          root: str | os.PathLike | None = None) -> None:
    """Serve ``_build/html`` on http://HOST:PORT/ until Ctrl+C.

    Raises
    ------
    BuildError
        When there is no site yet (run ``make book`` first).
    """
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    project = _project(root)
    if not (project.html_dir / "index.html").is_file():
        raise BuildError(f"no site in {project.html_dir}: run `make book` (or `hcc build`) first")

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet: one line per request is noise
            pass

    # the folder is given by path, so a site swapped in by a new build is served at once
    handler = functools.partial(Handler, directory=str(project.html_dir))
    with ThreadingHTTPServer((host, port), handler) as httpd:
        print(f"Serving {project.html_dir} at http://{host}:{httpd.server_address[1]}/ "
              "(Ctrl+C to stop)", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


# --------------------------------------------------------------------------------------
# Sphinx side (listed in _config.yml: sphinx.extra_extensions)
# --------------------------------------------------------------------------------------
def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated <script> entries (sphinx-thebe adds its inline config twice, which
    makes the browser throw "Identifier 'THEBE_JS_URL' has already been declared")."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", js) or ""),  # None and "" both mean inline
               tuple(sorted((str(k), str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def setup(app):  # pragma: no cover - exercised by every book build
    """Sphinx extension hook: ``hcc.build`` cleans the pages' script list."""
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # worker entry: python -m hcc.build --worker SPEC.json
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2:]))
    print("usage: python -m hcc.build --worker SPEC.json (internal; use `hcc build`)",
          file=sys.stderr)
    sys.exit(2)
