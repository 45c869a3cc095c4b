"""The book pipeline: papermill executes the notebooks, Jupyter Book renders the site.

``hcc build`` (:func:`run_build`) does, in order:

1. validate the parameters (:func:`hcc.pipeline.params.load_params`) and, for a user's
   file, check that the book can run on it (:func:`hcc.readiness.check_inputs`), before
   anything runs;
2. take the build lock (``_build/.lock``, ``fcntl.flock``): a second build fails at once;
3. decide once what is synthetic and what is masked (:func:`hcc.pipeline.privacy.decide_params`),
   injected into every notebook as ``synthetic``;
4. execute every notebook of ``notebooks/`` named in ``_toc.yml`` with papermill, in
   parallel (:mod:`hcc.pipeline.workers`), into ``book/_executed/`` and, on success, move the
   executed copy to ``book/NN_name.ipynb``; a notebook whose inputs are unchanged is not
   executed again (the skip decision: :func:`hcc.pipeline.stamps.plan`);
5. write the run log (:mod:`hcc.pipeline.runlog`), then execute the reproducibility
   notebook(s) last;
6. run ``jupyter-book build`` into a staging folder under ``_build/`` and, only on
   success, exchange it atomically with ``_build/html`` (:mod:`hcc.pipeline.site`).
   When no page changed since the last site, the Sphinx stage is skipped.

A failing notebook stops the build with one line naming the notebook, the cell and the
error; its executed copy is kept in ``book/_failed/``; the previous site is untouched.

This module imports nothing heavy at import time (papermill, nbformat, yaml are imported
where used) so that a build with nothing to do takes well under a second of Python time.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from hcc.errors import BuildError, HCCError, ParameterError
from hcc.paths import PROJ_ROOT
from hcc.pipeline import site, stamps
from hcc.pipeline.project import Project, _project, _runs_last, _write_json_atomic, notebook_order
from hcc.pipeline.runlog import _write_run_log
from hcc.pipeline.workers import _Job, _one_line, _run_jobs

__all__ = ["run_build"]


class _Interrupted(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum



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



def _check_inputs(params: dict[str, Any]) -> int:
    """Run :func:`hcc.readiness.check_inputs` on the build's files: print every problem as one
    line on stderr (warnings too) and return 1 when the book cannot run (2: a file cannot be
    read), else 0."""
    from hcc.errors import ValidationError
    from hcc.readiness import check_inputs, errors

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
    cached by :func:`hcc.pipeline.inputs.get_cohort` under ``.cache/``."""
    from hcc.paths import DEFAULT_SEED

    if params.get("data") is not None or params.get("seed") in (None, DEFAULT_SEED):
        return
    t = time.monotonic()
    try:
        from hcc.pipeline.inputs import get_cohort

        get_cohort(None, params["seed"], progress=progress)
    except HCCError as exc:
        raise BuildError(f"the synthetic cohort for seed {params['seed']} could not be "
                         f"reconstructed: {_one_line(str(exc))}") from None
    seconds = time.monotonic() - t
    if seconds > 1:
        out("cohort", f"seed {params['seed']}", seconds)



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



def _read_inputs(project: Project, overrides, params_file, data, adverse_events, only, jobs
                 ) -> tuple[dict[str, Any], list[str], list[str], int]:
    """Parameters, notebooks in book order, the ``--only`` ones and the number of workers;
    raises ParameterError (exit 2) or BuildError (exit 1)."""
    from hcc.pipeline.params import load_params

    merged = dict(overrides or {})
    if data is not None:
        merged["data"] = Path(data)
    if adverse_events is not None:
        merged["adverse_events"] = Path(adverse_events)
    params = load_params(merged, params_file,
                         defaults=project.params_file if project.params_file.is_file()
                         else PROJ_ROOT / "params.yml")
    names = notebook_order(project.root)
    forced = _resolve_only(only, names)
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise _BadJobs(f"--jobs: expected a whole number of at least 1, got {jobs!r}")
    return params, names, forced, jobs or os.cpu_count() or 1


class _BadJobs(ValueError):
    """``--jobs`` is not a whole number of at least 1 (exit 2)."""


def _catch_signals() -> dict:
    """SIGINT/SIGTERM raise :class:`_Interrupted` from now on (main thread only), so that
    every exit of the build cleans up; returns the handlers to restore."""
    import threading

    def on_signal(signum, _frame):
        raise _Interrupted(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    return previous


def _execute(project: Project, params: dict[str, Any], names: list[str], forced: list[str],
             n_jobs: int, out: _Printer) -> None:
    """Steps 3–5: the privacy decision, the notebooks (the reproducibility page last, after
    the run log)."""
    from hcc.pipeline.privacy import decide_params

    site._recover(project)
    decision = decide_params(params)  # the one decision; notebooks only read it
    nb_params = {**params, "synthetic": decision.synthetic}
    _prepare_cohort(params, out, progress=out.enabled)
    common = stamps._common_inputs(project, nb_params)
    first = [n for n in names if not _runs_last(n)]
    last = [n for n in names if _runs_last(n)]
    out.width = max([len(n) for n in names] + [12])
    unlisted = sorted(p.stem for p in project.notebooks_dir.glob("*.ipynb") if p.stem not in names)
    if unlisted:
        out.say(f"note: not in _toc.yml, not executed: {', '.join(unlisted)}")
    if names:
        out.say(f"Executing notebooks ({n_jobs} at a time; "
                f"{'privacy mode: real data' if not decision.synthetic else 'synthetic cohort'}):")
    _run_jobs(_jobs(project, first, common, forced, out), project, nb_params, n_jobs, out)
    _write_run_log(project, nb_params, decision, first)
    run_log_bytes = project.run_log.read_bytes() if project.run_log.is_file() else b""
    extra = b"\nrun log " + hashlib.sha256(run_log_bytes).hexdigest().encode()
    _run_jobs(_jobs(project, last, common, forced, out, extra), project, nb_params, n_jobs, out)


def _jobs(project: Project, group: list[str], common: str, forced: list[str], out: _Printer,
          extra: bytes = b"") -> list[_Job]:
    """The notebooks of *group* to execute (:func:`hcc.pipeline.stamps.plan`); the others
    are reported as ``kept`` or ``cached``."""
    todo = []
    for name, src, key, status in stamps.plan(project, group, common, forced, extra):
        if status == "run":
            todo.append(_Job(name, src, key, forced=name in forced))
        else:
            out(name, status, None)  # kept: --only, the rest keep their executed copies
    return todo


def _publish(project: Project, strict: bool, state: dict[str, Any], out: _Printer,
             t0: float) -> None:
    """Step 6: the site, unless nothing it reads changed."""
    current, site_key = stamps.site_is_current(project, strict)
    if current:
        out.say(f"Site unchanged: {project.html_dir} ({time.monotonic() - t0:.1f} s)")
        return
    out.say("Building the site (jupyter-book)...")
    t1 = time.monotonic()
    html = site._sphinx(project, strict, state)
    site._swap_in(html, project)
    shutil.rmtree(state.pop("staging"), ignore_errors=True)
    _write_json_atomic(project.site_stamp, {"key": site_key, "strict": strict})
    out.say(f"  {'site':<{out.width}} built     {time.monotonic() - t1:6.1f} s")
    n_warn = site._count_warnings(project)
    if n_warn:
        out.say(f"note: {n_warn} Sphinx warning(s), see {project.build_dir / 'sphinx.log'}")
    out.say(f"Site ready: {project.html_dir / 'index.html'} "
            f"({time.monotonic() - t0:.1f} s in all; `hcc serve` to view it)")


def _clean_up(state: dict[str, Any], lock: _BuildLock, previous: dict) -> None:
    """Whatever way the build ends: stop Sphinx, drop the staging folder, release the lock,
    restore the signal handlers (further signals are ignored meanwhile)."""
    for sig in previous:
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
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


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
    # 1. parameters and a user's files, before anything runs
    try:
        params, names, forced, n_jobs = _read_inputs(project, overrides, params_file, data,
                                                     adverse_events, only, jobs)
    except ParameterError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    except _BadJobs as exc:
        return _fail(str(exc), 2)
    except BuildError as exc:
        return _fail(str(exc))
    if params.get("data") is not None or params.get("adverse_events") is not None:
        code = _check_inputs(params)  # hcc validate's checks: can the book run on the file?
        if code:
            return code
    # 2. lock; signals become exceptions so that every exit cleans up
    lock = _BuildLock(project.lock_file)
    try:
        lock.acquire()
    except BuildError as exc:
        return _fail(str(exc))
    previous = _catch_signals()
    state: dict[str, Any] = {}
    try:
        _execute(project, params, names, forced, n_jobs, out)
        _publish(project, strict, state, out, t0)
        return 0
    except BuildError as exc:
        for line in state.get("sphinx_problems", []):
            print(f"  {line}", file=sys.stderr)
        return _fail(str(exc))
    except _Interrupted as exc:
        name = "SIGINT" if exc.signum == signal.SIGINT else "SIGTERM"
        print(f"error: build interrupted ({name}); the previous site is untouched",
              file=sys.stderr, flush=True)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("error: build interrupted; the previous site is untouched", file=sys.stderr)
        return 130
    finally:
        _clean_up(state, lock, previous)
