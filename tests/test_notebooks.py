"""The book's notebooks: structure (fast) and execution through papermill (slow).

References: issue 4's acceptance (every notebook executes through papermill on the default
cohort and on a second parameter set: another seed, conf_type "log-log", ties "breslow",
threshold 0.2; notebooks in notebooks/ carry no outputs), ``params.yml`` (the shared
parameters and their defaults), STYLE.md (a ``parameters`` cell first; no function longer
than a few lines in a notebook; notebooks only call ``hcc``).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import make_toy_cohort

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]
EXPECTED = ["01_cohort", "02_baseline", "03_survival", "04_cox", "05_response", "06_safety",
            "07_beyond", "07_discussion", "08_ensemble", "08_reproducibility"]
#: Top-level modules a notebook may import: hcc, and table/plot/display setup.
# the field's libraries too: the chapters show the call a reader would write beside hcc's helper
ALLOWED_IMPORTS = {"hcc", "matplotlib", "numpy", "pandas", "seaborn", "IPython", "pathlib",
                   "lifelines", "scipy", "statsmodels"}
MAX_FUNCTION_LINES = 5
SECOND_PARAMETER_SET = {"seed": 7, "conf_type": "log-log", "ties": "breslow", "threshold": 0.2}
DOWNLOAD = re.compile(r"\{download\}`(?:[^`<]*<)?(tables/[^`>]+)>?`")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _parse(cell) -> ast.Module:
    # IPython magics and shell escapes are not Python; the book uses none, but be tolerant
    lines = [("pass  # " + ln) if ln.lstrip().startswith(("%", "!")) else ln
             for ln in cell.source.splitlines()]
    return ast.parse("\n".join(lines))


def test_every_chapter_exists():
    """Issue 4: cohort, baseline, survival, Cox, response, safety, discussion + reproducibility;
    issue 11: "Beyond the paper" (07_beyond, placed before 07_discussion in _toc.yml);
    issue 12: "How much does the reconstruction decide?" (08_ensemble, after 07_discussion)."""
    assert NAMES == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_committed_without_outputs(path):
    """Issue 4: notebooks in notebooks/ carry no outputs (nor execution counts)."""
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(_code_cells(nb)):
        assert cell.outputs == [], f"{path.name}: code cell {i} has outputs"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_first_code_cell_is_the_parameters_cell(path):
    """papermill injects overrides after the cell tagged ``parameters``: it must come first and
    define exactly the shared parameters of params.yml, with the same defaults."""
    cells = _code_cells(_read(path))
    first = cells[0]
    assert "parameters" in first.metadata.get("tags", []), f"{path.name}: first code cell not tagged"
    assert sum("parameters" in c.metadata.get("tags", []) for c in cells) == 1
    from hcc.pipeline.params import CHAPTER_PARAMETERS

    defaults = yaml.safe_load((ROOT / "params.yml").read_text(encoding="utf-8"))
    others = {n for ch, names in CHAPTER_PARAMETERS.items() if ch != path.stem for n in names}
    defaults = {k: v for k, v in defaults.items() if k not in others}
    found = {}
    for node in _parse(first).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, \
            f"{path.name}: the parameters cell may only assign plain values"
        found[node.targets[0].id] = ast.literal_eval(node.value)
    assert found == defaults


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_no_long_functions_in_notebooks(path):
    """STYLE.md: logic lives in hcc/; a notebook defines at most tiny display helpers
    (body of at most 5 lines, not counting the docstring)."""
    for i, cell in enumerate(_code_cells(_read(path))):
        for node in ast.walk(_parse(cell)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                        and isinstance(body[0].value.value, str) and len(body) > 1):
                    body = body[1:]
                lines = node.end_lineno - body[0].lineno + 1
                assert lines <= MAX_FUNCTION_LINES, \
                    f"{path.name}: cell {i} defines {node.name}() with {lines} lines; move it to hcc/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebooks_only_call_hcc(path):
    """ARCHITECTURE.md: notebooks only call hcc (plus table, plot and display setup)."""
    for cell in _code_cells(_read(path)):
        for node in ast.walk(_parse(cell)):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            for m in mods:
                assert m.split(".")[0] in ALLOWED_IMPORTS, f"{path.name} imports {m}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_published_numbers_come_from_hcc_paper(path):
    """One source of truth: a notebook that compares with the paper reads hcc.paper."""
    src = "\n".join(c.source for c in _code_cells(_read(path)))
    if path.stem != "08_reproducibility":
        assert "paper." in src, f"{path.name} never reads hcc.paper"


# --------------------------------------------------------------------------- execution
def _execute(path: Path, out_dir: Path, parameters: dict) -> nbformat.NotebookNode:
    papermill = pytest.importorskip("papermill")
    out = out_dir / path.name
    papermill.execute_notebook(str(path), str(out), parameters=parameters, kernel_name="python3",
                               language="python", cwd=str(out_dir), progress_bar=False,
                               log_output=False)
    return _read(out)


def _outputs_text(nb) -> str:
    parts = []
    for cell in _code_cells(nb):
        for o in cell.outputs:
            parts.append(o.get("text", ""))
            for key in ("text/plain", "text/html", "text/markdown"):
                parts.append(str(o.get("data", {}).get(key, "")))
    return "\n".join(parts)


def _check_executed(path: Path, nb, out_dir: Path) -> None:
    errors = [o for c in _code_cells(nb) for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"
    assert any(c.outputs for c in _code_cells(nb)), f"{path.name} produced no output"
    # every CSV the page links with {download} must have been written next to it
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for rel in DOWNLOAD.findall(cell.source):
                assert (out_dir / rel).is_file(), f"{path.name} links {rel}, which was not written"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_executes_on_default_parameters(path, tmp_path):
    """Issue 4: every notebook executes on the default cohort (params.yml defaults); the
    synthetic-data banner is shown on every page that analyses the cohort."""
    nb = _execute(path, tmp_path, {})
    _check_executed(path, nb, tmp_path)
    if path.stem != "08_reproducibility":
        assert "synthetic reconstruction" in _outputs_text(nb)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_executes_on_second_parameter_set(path, tmp_path):
    """Issue 4: another seed, conf_type "log-log", ties "breslow", threshold 0.2."""
    nb = _execute(path, tmp_path, dict(SECOND_PARAMETER_SET))
    _check_executed(path, nb, tmp_path)
    injected = [c for c in _code_cells(nb) if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "log-log" in injected[0].source


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_cohort", "02_baseline", "03_survival", "04_cox", "05_response",
                                  "06_safety"])
def test_real_data_shows_no_rows_and_masks_small_counts(name, tmp_path):
    """A user's cohort (not in a synthetic manifest): no banner, no patient identifiers in
    any output, and with suppress_below the tables mask small counts."""
    toy = make_toy_cohort(120, seed=5)
    toy["patient_id"] = [f"SECRET-{i:04d}" for i in range(len(toy))]
    data = tmp_path / "my_cohort.csv"
    toy.to_csv(data, index=False)
    nb = _execute(NOTEBOOK_DIR / f"{name}.ipynb", tmp_path,
                  {"data": str(data), "suppress_below": 5})
    _check_executed(NOTEBOOK_DIR / f"{name}.ipynb", nb, tmp_path)
    text = _outputs_text(nb)
    assert "SECRET-" not in text
    assert "Synthetic data" not in text
    if name in ("02_baseline", "03_survival", "04_cox", "05_response"):  # counts by regimen / subgroup
        assert "&lt;5" in text or "<5" in text
    if name in ("03_survival", "05_response"):  # masked figures: SVG with their text as text
        svgs = [o["data"]["image/svg+xml"] for c in _code_cells(nb) for o in c.get("outputs", [])
                if "image/svg+xml" in o.get("data", {})]
        assert svgs and any(("Masked figure" if name == "03_survival" else "hidden") in "".join(s)
                            for s in svgs)


#: Baseline values blanked in the missing-values test: column -> row positions of the shipped
#: cohort. Patient 1 misses both AFP and Child–Pugh.
BLANKED = {"afp_gt400": {0, 1}, "child_pugh": {1, 2}, "ecog": {3}}


@pytest.mark.slow
def test_each_analysis_states_the_patients_it_used(tmp_path):
    """Issue 5: on a cohort with blank baseline covariates, chapters 2 and 4 say per analysis how
    many patients were used and why the others were left out. Expected counts follow the
    complete-case rule (R na.omit) from the blanks above: 93 − |blank rows of the columns used|."""
    import hcc
    from hcc import paper
    from hcc.fidelity import cox_design

    cohort = hcc.get_cohort()
    n = len(cohort)
    blanked = cohort.copy()
    for col, rows in BLANKED.items():
        blanked[col] = blanked[col].astype(object)
        blanked.loc[blanked.index[sorted(rows)], col] = None
    data = tmp_path / "with_blanks.csv"
    blanked.to_csv(data, index=False)

    texts = {}
    for name in ("02_baseline", "04_cox"):
        nb = _execute(NOTEBOOK_DIR / f"{name}.ipynb", tmp_path, {"data": str(data)})
        _check_executed(NOTEBOOK_DIR / f"{name}.ipynb", nb, tmp_path)
        texts[name] = _outputs_text(nb)
    # Table 1: one P per variable on complete cases
    t1 = texts["02_baseline"]
    assert f"ECOG: used {n - 1} of {n} patients; 1 was left out: missing ECOG (1)." in t1
    assert f"Child–Pugh: used {n - 2} of {n} patients; 2 were left out: missing Child–Pugh (2)." in t1
    assert f"AFP &gt; 400 ng/mL: used {n - 2} of {n} patients" in t1
    assert "P use complete cases" in t1
    # Cox: each univariate model, then the multivariable model (its own n)
    cx = texts["04_cox"]
    for label, col in (("ECOG", "ecog"), ("Child–Pugh", "child_pugh"), ("AFP", "afp_gt400")):
        k = len(BLANKED[col])
        assert f"Univariate: {label}: used {n - k} of {n} patients" in cx
    short = {t: lab.split(" (")[0] for t, lab in paper.COX_TERMS.items()}
    design = cox_design(hcc.get_cohort(data=str(data)))
    for ep in ("os", "pfs"):
        selected = hcc.cox_screen(design, f"{ep}_months", f"{ep}_event", list(paper.COX_TERMS)).selected
        out = set().union(*(BLANKED.get(c, set()) for c in selected))
        head = "Multivariable: " + ", ".join(short[c] for c in selected) + ": "
        if out:
            assert f"{head}used {n - len(out)} of {n} patients; {len(out)} " in cx
        else:
            assert f"{head}used all {n} patients." in cx
    # the paper's OS model (Child–Pugh and AFP among its covariates) drops patients 0, 1 and 2
    if {"child_pugh", "afp_gt400"} <= set(hcc.cox_screen(design, "os_months", "os_event",
                                                         list(paper.COX_TERMS)).selected):
        assert f"used {n - 3} of {n}" in cx
