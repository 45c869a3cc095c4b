"""The site: Jupyter Book renders ``book/`` into a staging folder, swapped atomically with
``_build/html`` on success (:func:`swap_in`); :func:`serve` serves it; and the Sphinx
extension ``hcc.pipeline.site`` (``_config.yml``: ``sphinx.extra_extensions``) cleans each
page's script list.

An interrupted build (Ctrl+C, SIGTERM, even ``kill -9``) leaves the previous site as it
was: nothing is written into ``_build/html`` except by the final exchange.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hcc.errors import BuildError
from hcc.pipeline.project import Project, _project
from hcc.pipeline.workers import _PACKAGE_PARENT, _die_with_parent


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
    # Sphinx loads the hcc.pipeline.site extension
    env["PYTHONPATH"] = _PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
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
    """Sphinx extension hook: ``hcc.pipeline.site`` cleans the pages' script list."""
    app.connect("html-page-context", _dedupe_scripts, priority=900)
