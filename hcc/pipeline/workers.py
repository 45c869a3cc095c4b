"""Notebook execution: one worker process per notebook (papermill), ``jobs`` at a time.

The build (:func:`hcc.pipeline.run.run_build`) starts ``python -m hcc.pipeline.workers
--worker SPEC.json`` per notebook; the worker executes it with papermill (parameters
written by :func:`repr` and re-parsed, :func:`hcc.pipeline.params.check_injectable`),
then redacts the injected cell (:func:`hcc.pipeline.privacy.redact_injected_cell`). A
worker dies with the build (``PR_SET_PDEATHSIG``), so no orphan writes afterwards.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from hcc.errors import BuildError, ParameterError
from hcc.paths import sha256_file as _sha256_file
from hcc.pipeline.privacy import redact_injected_cell
from hcc.pipeline.project import Project, _read_json, _write_json_atomic

#: Seconds one cell may run before the notebook counts as failed (a hang never blocks a build).
_CELL_TIMEOUT = 1200
#: The folder holding the ``hcc`` package: the kernels must import the same ``hcc``.
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


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
    env["PYTHONPATH"] = _PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
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
            [sys.executable, "-m", "hcc.pipeline.workers", "--worker", str(job.spec_path)],
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

    from hcc.pipeline.params import check_injectable

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
    redact_injected_cell(Path(spec["output"]), spec["parameters"])
    _write_json_atomic(result_path, {"ok": True})
    return 0




if __name__ == "__main__":  # worker entry: python -m hcc.pipeline.workers --worker SPEC.json
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2:]))
    print("usage: python -m hcc.pipeline.workers --worker SPEC.json (internal; use `hcc build`)",
          file=sys.stderr)
    sys.exit(2)
