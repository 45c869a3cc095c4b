"""Tests of hcc.pipeline (hcc build) on a tiny temporary book (three small notebooks, one page).

References: the contract of ``hcc build`` in issue 4/5 and ARCHITECTURE.md — exit codes,
one-line failure messages, the previous site kept byte for byte (compared with the file
hashes taken before the build), executions counted by the notebooks themselves (each
appends its name to ``executions.log``), papermill's own ``injected-parameters`` cell.
"""
from __future__ import annotations

import ast
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("papermill")
pytest.importorskip("jupyter_book")

from corpus.hostile import BOOK_CASES  # noqa: E402
from corpus.hostile import build as build_case  # noqa: E402
from hcc.errors import BuildError  # noqa: E402
from hcc.pipeline import site, stamps  # noqa: E402
from hcc.pipeline.project import Project, notebook_order  # noqa: E402
from hcc.pipeline.run import _BuildLock, run_build  # noqa: E402
from hcc.pipeline.runlog import read_run_log  # noqa: E402
from hcc.pipeline.site import _swap_in  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

PARAMS_CELL = ("data = None\nadverse_events = None\nseed = 20221128\nconf_type = 'log'\n"
               "ties = 'efron'\nthreshold = 0.1\nalpha = 0.05\nsuppress_below = 0\nsynthetic = True")
COUNT = ("from pathlib import Path\n"
         "with open(Path('..') / 'executions.log', 'a') as fh:\n"
         "    fh.write('{name}\\n')")


def _nb(path: Path, name: str, *code: str, title: str | None = None) -> None:
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    params = new_code_cell(PARAMS_CELL)
    params.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell(f"# {title or name}\n\nThe estimate $\\hat S(t)$."), params,
             new_code_cell(COUNT.format(name=name))]
    cells += [new_code_cell(c) for c in code]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def make_project(root: Path) -> Path:
    """A tiny book using the real _config.yml and params.yml."""
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    shutil.copy(REPO / "params.yml", root / "params.yml")
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n- file: book/01_a\n- file: book/02_b\n"
        "- file: book/references\n- file: book/08_reproducibility\n")
    (root / "book" / "intro.md").write_text("# Tiny book\n\nSee {doc}`01_a` and $S(t)$.\n")
    (root / "book" / "references.md").write_text("# References\n\n{cite:p}`km1958`\n\n"
                                                 "```{bibliography}\n```\n")
    (root / "book" / "references.bib").write_text(
        "@article{km1958, author={Kaplan, E. L. and Meier, Paul}, title={Nonparametric "
        "estimation from incomplete observations}, journal={JASA}, year={1958}, "
        "volume={53}, pages={457--481}}\n")
    _nb(root / "notebooks" / "01_a.ipynb", "01_a",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])\nplt.show()",
        "print('params:', repr(data), seed, conf_type, synthetic)")
    _nb(root / "notebooks" / "02_b.ipynb", "02_b",
        "import pandas as pd\npd.DataFrame({'x': [1, 2]})")
    _nb(root / "notebooks" / "08_reproducibility.ipynb", "08_reproducibility",
        "from hcc.pipeline.runlog import read_run_log\nlog = read_run_log()\n"
        "print('logged:', [r['name'] for r in log['notebooks']])")
    return root


def executions(root: Path) -> list[str]:
    log = root / "executions.log"
    return log.read_text().split() if log.exists() else []


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def frozen_package(tmp_path_factory):
    """Hash a fixed copy of the package list: other work on hcc/ must not look like a change."""
    files = stamps._package_files()
    snap = tmp_path_factory.mktemp("pkg")
    copies = []
    for i, f in enumerate(files):
        c = snap / f"{i}_{f.name}"
        c.write_bytes(f.read_bytes())
        copies.append(c)
    mp = pytest.MonkeyPatch()
    mp.setattr(stamps, "_package_files", lambda: copies)
    yield copies
    mp.undo()


@pytest.fixture(scope="module")
def built(tmp_path_factory, frozen_package):
    root = make_project(tmp_path_factory.mktemp("book") / "proj")
    code = run_build(root=root, strict=True, jobs=2, progress=False)
    assert code == 0, (root / "_build" / "sphinx.log").read_text()[-3000:]
    return root


@pytest.fixture
def project(built, tmp_path):
    """A private copy of the built tiny book."""
    dest = tmp_path / "proj"
    shutil.copytree(built, dest, symlinks=True)
    return dest


def run(root: Path, **kw) -> int:
    kw.setdefault("jobs", 2)
    kw.setdefault("strict", True)
    return run_build(root=root, **kw)


# ---------------------------------------------------------------------------------------
def test_build_produces_site_with_outputs_and_run_log(project):
    html = project / "_build" / "html"
    assert (html / "index.html").is_file()
    for page in ("intro", "01_a", "02_b", "references", "08_reproducibility"):
        assert (html / "book" / f"{page}.html").is_file(), page
    nb = nbformat.read(str(project / "book" / "01_a.ipynb"), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(injected[0].source).body}
    assert values["synthetic"] is True and values["seed"] == 20221128
    # figures are kept (inline backend, no MPLBACKEND=Agg)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert list((html / "_images").glob("*.png"))
    # the reproducibility notebook ran last and read the run log of the others
    rep = nbformat.read(str(project / "book" / "08_reproducibility.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in rep.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "logged: ['01_a', '02_b']" in text
    log = read_run_log(project / "book" / "_executed" / "run_log.json")
    assert log["available"] and log["format"] == 1 and log["synthetic"] is True
    assert [r["name"] for r in log["notebooks"]] == ["01_a", "02_b"]
    assert all(r["seconds"] > 0 for r in log["notebooks"])
    assert log["data"]["data"]["source"] == "shipped synthetic cohort"
    assert {"python", "numpy", "pandas", "papermill"} <= set(log["packages"])
    assert sorted(executions(project)) == ["01_a", "02_b", "08_reproducibility"]


def test_math_is_served_locally(project):
    page = (project / "_build" / "html" / "book" / "01_a.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in page
    assert "cdn.jsdelivr" not in page
    assert (project / "_build" / "html" / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_nothing_changed_executes_nothing(project, capsys):
    before = executions(project)
    assert run(project) == 0
    assert executions(project) == before
    out = capsys.readouterr().out
    assert "Site unchanged" in out
    for name in ("01_a", "02_b", "08_reproducibility"):
        assert any(ln.split()[:2] == [name, "cached"] for ln in out.splitlines()), out


def test_changed_notebook_reexecutes_it_and_the_reproducibility_page(project, capsys):
    nb_path = project / "notebooks" / "02_b.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    nbformat.write(nb, str(nb_path))
    n0 = len(executions(project))
    assert run(project) == 0
    new = executions(project)[n0:]
    assert "01_a" not in new and "02_b" in new
    out = capsys.readouterr().out
    assert "Building the site" in out
    # progress: one line per notebook with name, status and seconds
    line = next(ln for ln in out.splitlines() if ln.split()[:1] == ["02_b"])
    assert line.split()[1] == "executed" and line.rstrip().endswith(" s")
    assert float(line.split()[2]) > 0


def test_changed_parameter_reexecutes_everything(project):
    n0 = len(executions(project))
    assert run(project, overrides={"conf_type": "plain"}) == 0
    assert sorted(executions(project)[n0:]) == ["01_a", "02_b", "08_reproducibility"]


def test_other_seed_reconstructs_once_before_the_notebooks(project, monkeypatch):
    # reference: the contract of hcc.pipeline.inputs.get_cohort(None, seed) (built on first use, cached);
    # notebooks run in parallel, so the build asks for it once beforehand
    import hcc.pipeline.inputs

    calls = []
    monkeypatch.setattr(hcc.pipeline.inputs, "get_cohort",
                        lambda data=None, seed=None, progress=False: calls.append((data, seed)))
    assert run(project, overrides={"seed": "5"}) == 0
    assert calls == [(None, 5)]
    calls.clear()
    assert run(project) == 0  # the default seed: the shipped cohort, nothing to prepare
    assert calls == []


def test_changed_package_source_reexecutes(project, frozen_package, monkeypatch):
    extra = project / "fake_module.py"
    extra.write_text("x = 1\n")
    monkeypatch.setattr(stamps, "_package_files", lambda: list(frozen_package) + [extra])
    assert run(project) == 0
    n0 = len(executions(project))
    extra.write_text("x = 2\n")
    assert run(project) == 0
    assert sorted(executions(project)[n0:]) == ["01_a", "02_b", "08_reproducibility"]


def _valid_cohort(path: Path, age: int | None = None) -> Path:
    """A cohort file the book can use (the corpus's valid toy cohort); *age* edits row 1."""
    from corpus.hostile import cohort

    df = cohort()
    if age is not None:
        df.loc[0, "age"] = age
    df.to_csv(path, index=False)
    return path


def test_changed_data_file_reexecutes(project, tmp_path):
    # reference: a data file's bytes are an input; privacy mode follows (not synthetic)
    data = _valid_cohort(tmp_path / "cohort.csv")
    assert run(project, data=str(data)) == 0
    n0 = len(executions(project))
    assert run(project, data=str(data)) == 0
    assert executions(project)[n0:] == []
    _valid_cohort(data, age=44)
    assert run(project, data=str(data)) == 0
    assert sorted(executions(project)[n0:]) == ["01_a", "02_b", "08_reproducibility"]
    nb = nbformat.read(str(project / "book" / "01_a.ipynb"), as_version=4)
    src = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "synthetic = False" in src
    log = read_run_log(project / "book" / "_executed" / "run_log.json")
    assert log["synthetic"] is False
    assert log["parameters"]["data"] == "cohort.csv"  # file name only, never the full path
    assert log["data"]["data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()


def test_only_executes_the_named_notebook_and_builds(project, capsys):
    n0 = len(executions(project))
    site_before = tree_hashes(project / "_build" / "html")
    assert run(project, only=["02"]) == 0
    assert executions(project)[n0:] == ["02_b"]
    assert tree_hashes(project / "_build" / "html") != site_before  # the site was rebuilt
    assert run(project, only=["notebooks/01_a.ipynb"]) == 0
    assert executions(project)[n0:] == ["02_b", "01_a"]
    capsys.readouterr()
    assert run(project, only=["99_nope"]) == 2
    err = capsys.readouterr().err
    assert "99_nope" in err and "01_a" in err


def test_failing_notebook_one_line_exit_1_copy_kept_site_untouched(project, capsys):
    site = project / "_build" / "html"
    before = tree_hashes(site)
    book_copy = (project / "book" / "02_b.ipynb").read_bytes()
    nb_path = project / "notebooks" / "02_b.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("total = 0\nratio = 1 / total"))
    failing_cell = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell("print('never')"))
    nbformat.write(nb, str(nb_path))
    capsys.readouterr()
    assert run(project) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    line = err[0]
    assert "02_b" in line and f"cell {failing_cell}" in line and "'total = 0'" in line
    assert "ZeroDivisionError: division by zero" in line
    failed = project / "book" / "_failed" / "02_b.ipynb"
    assert failed.is_file() and "book/_failed/02_b.ipynb" in line
    kept = nbformat.read(str(failed), as_version=4)
    assert any(o.get("ename") == "ZeroDivisionError" for c in kept.cells if c.cell_type == "code"
               for o in c.get("outputs", []))
    assert tree_hashes(site) == before
    assert (project / "book" / "02_b.ipynb").read_bytes() == book_copy
    assert not list((project / "_build").glob(".staging-*"))


def test_sphinx_failure_keeps_previous_site(project, capsys):
    site = project / "_build" / "html"
    before = tree_hashes(site)
    (project / "book" / "intro.md").write_text("# Tiny book\n\nSee {doc}`no_such_page`.\n")
    capsys.readouterr()
    assert run(project) == 1
    err = capsys.readouterr().err
    assert "jupyter-book failed" in err and "_build/sphinx.log" in err
    assert "no_such_page" in err  # the Sphinx warning itself is shown
    assert tree_hashes(site) == before
    assert not list((project / "_build").glob(".staging-*"))


def test_bad_jobs_value(project, capsys):
    assert run(project, jobs=0) == 2
    assert "--jobs" in capsys.readouterr().err


def test_invalid_parameters_exit_2_before_anything_runs(project, capsys):
    n0 = len(executions(project))
    assert run(project, overrides={"conf_type": '"); open("PWNED", "w"); ("', "alpha": "7"}) == 2
    err = capsys.readouterr().err
    assert "conf_type" in err and "alpha" in err
    assert len(executions(project)) == n0
    assert not list(project.rglob("PWNED"))


def test_hostile_file_name_reaches_the_notebook_as_text(project, tmp_path):
    hostile = _valid_cohort(tmp_path / '"); open("PWNED", "w"); ("')
    assert run(project, data=str(hostile), only=["01_a"]) == 0
    nb = nbformat.read(str(project / "book" / "01_a.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert f"params: {str(hostile)!r}" in text
    assert not list(project.rglob("PWNED")) and not list(tmp_path.rglob("PWNED*"))


@pytest.mark.parametrize("case", [c for c in BOOK_CASES if c.exit], ids=lambda c: c.name)
def test_data_the_book_cannot_use_is_refused_before_any_notebook_runs(case, project, tmp_path,
                                                                       capsys):
    # reference: issue 13 — `hcc build` runs hcc validate's checks first and stops with that
    # list: exit 1, one line per problem naming the chapter and the column, no traceback,
    # nothing already built lost
    site = project / "_build" / "html"
    before, copies = tree_hashes(site), tree_hashes(project / "book")
    n0 = len(executions(project))
    path, extra = build_case(case, tmp_path)
    capsys.readouterr()
    assert run(project, data=str(path), adverse_events=extra[1] if extra else None) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    problems = [ln for ln in err if " cannot run: " in ln]
    assert problems and all(ln.startswith("error: ") for ln in problems), err
    assert any(f"column '{case.column}'" in ln for ln in problems), err
    assert all(ln.split(": ", 2)[2][:2].isdigit() for ln in problems), err  # "07_discussion ..."
    assert "nothing was built" in err[-1] and "Traceback" not in "\n".join(err)
    assert len(executions(project)) == n0
    assert tree_hashes(site) == before and tree_hashes(project / "book") == copies


def test_second_build_is_refused_while_one_holds_the_lock(project, capsys):
    lock = _BuildLock(Project(project).lock_file)
    lock.acquire()
    try:
        n0 = len(executions(project))
        assert run(project) == 1
        err = capsys.readouterr().err
        assert f"another build is running (pid {os.getpid()})" in err
        assert len(executions(project)) == n0
    finally:
        lock.release()
    assert run(project) == 0


def _spawn_build(root: Path) -> subprocess.Popen:
    code = ("import sys; from hcc.pipeline.run import run_build; "
            "sys.exit(run_build(root=sys.argv[1], jobs=2, progress=False))")
    return subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=str(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"build ended before the kill point: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("kill point not reached")


def _slow_notebook(root: Path) -> Path:
    """Make 02_b announce its start then sleep, so that a build can be stopped inside it."""
    marker = root / "started.marker"
    nb_path = root / "notebooks" / "02_b.ipynb"
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import time\nopen({str(marker)!r}, 'w').close()\ntime.sleep(120)"))
    nbformat.write(nb, str(nb_path))
    return marker


def test_kill_9_during_papermill_keeps_previous_site_and_copies(project):
    site = project / "_build" / "html"
    before = tree_hashes(site)
    copy_before = (project / "book" / "02_b.ipynb").read_bytes()
    marker = _slow_notebook(project)
    proc = _spawn_build(project)
    _wait_for(marker.exists, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert tree_hashes(site) == before
    assert (project / "book" / "02_b.ipynb").read_bytes() == copy_before
    # the lock died with the process; the next build cleans up and succeeds
    (project / "notebooks" / "02_b.ipynb").write_bytes((project / "notebooks" / "02_b.ipynb")
                                                       .read_bytes().replace(b"time.sleep(120)",
                                                                             b"time.sleep(0)"))
    assert run(project) == 0
    time.sleep(3)  # give an orphaned worker time to misbehave, if it could
    assert not list((project / "book" / "_executed").rglob("*.ipynb"))
    assert not list((project / "book" / "_executed").glob("run-*"))


def test_kill_9_during_sphinx_keeps_previous_site(project):
    site = project / "_build" / "html"
    before = tree_hashes(site)
    (project / "book" / "intro.md").write_text("# Tiny book, edited\n\nSee {doc}`01_a`.\n")
    proc = _spawn_build(project)
    staged = project / "_build"
    _wait_for(lambda: any((s / "_build").exists() for s in staged.glob(".staging-*")), proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert tree_hashes(site) == before
    assert run(project) == 0
    assert "edited" in (site / "book" / "intro.html").read_text(encoding="utf-8")
    assert not list(staged.glob(".staging-*"))


def test_sigterm_stops_the_build_cleanly(project):
    site = project / "_build" / "html"
    before = tree_hashes(site)
    marker = _slow_notebook(project)
    proc = _spawn_build(project)
    _wait_for(marker.exists, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert b"interrupted" in err
    assert tree_hashes(site) == before
    assert not list((project / "book" / "_executed").rglob("*.ipynb"))
    assert not list((project / "_build").glob(".staging-*"))


def test_concurrent_build_in_another_process_is_refused(project):
    marker = _slow_notebook(project)
    proc = _spawn_build(project)
    try:
        _wait_for(marker.exists, proc)
        second = _spawn_build(project)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert f"another build is running (pid {proc.pid})".encode() in err
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


# ---------------------------------------------------------------------------------------
def test_swap_replaces_site_atomically(tmp_path):
    proj = Project(tmp_path)
    proj.html_dir.mkdir(parents=True)
    (proj.html_dir / "index.html").write_text("old")
    new = tmp_path / "_build" / ".staging-x"
    new.mkdir()
    (new / "index.html").write_text("new")
    _swap_in(new, proj)
    assert (proj.html_dir / "index.html").read_text() == "new"
    assert not new.exists()
    assert sorted(p.name for p in (tmp_path / "_build").iterdir()) == ["html"]


def test_recover_restores_a_site_moved_aside(tmp_path):
    # the fallback swap (two renames) leaves the old site aside for an instant; a build
    # killed right then finds it restored by the next build
    proj = Project(tmp_path)
    aside = proj.build_dir / ".html-previous-123"
    aside.mkdir(parents=True)
    (aside / "index.html").write_text("old")
    site._recover(proj)
    assert (proj.html_dir / "index.html").read_text() == "old"


def test_toc_order_and_missing_pages(tmp_path):
    root = make_project(tmp_path / "p")
    assert notebook_order(root) == ["01_a", "02_b", "08_reproducibility"]
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: book/99_x\n")
    with pytest.raises(BuildError, match="99_x"):
        notebook_order(root)


def test_serve_serves_the_site(project):
    import urllib.request

    code = ("import sys; from hcc.pipeline.site import serve; "
            "serve(port=0, root=sys.argv[1])")
    proc = subprocess.Popen([sys.executable, "-u", "-c", code, str(project)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split("at ", 1)[1].split()[0]
        body = urllib.request.urlopen(url + "book/01_a.html", timeout=10).read().decode()
        assert "01_a" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
