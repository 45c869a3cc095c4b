"""What a chapter shows: result tables (also offered as CSV downloads), the banner saying
which data the page analyses, the paper's value beside ours, and figures — each masked for a
user's real cohort (:mod:`hcc.chapter.suppress`, :func:`hcc.pipeline.privacy.km_steps`).

All HTML produced here escapes data values and labels (a label in a user's file may contain
markup such as ``<script>``): tables go through :func:`hcc._results.escape_frame_html` or
pandas' escaping ``to_html``, and interpolated text through :func:`html.escape`. Tables are
shown with their full text (no ``"..."`` cut at pandas' 50 characters: :func:`show_table`).
"""
from __future__ import annotations

import html
import math
import numbers
import re
from pathlib import Path

import pandas as pd

from hcc.chapter.suppress import (COMPLEMENTARY_MARK, MaskedTable, _check_threshold, _mask,
                                  suppress_small_counts)
from hcc.errors import ParameterError

#: Where the notebooks write their CSV downloads, relative to the working directory (the
#: executed notebook's folder): the pages link them as ``{download}`tables/NAME.csv```.
TABLES_DIR = "tables"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------- tables
def _table_of(result_or_frame) -> pd.DataFrame:
    table = getattr(result_or_frame, "summary", result_or_frame)
    if isinstance(table, pd.Series):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"cannot show a table of a {type(result_or_frame).__name__}: "
                             "give a result object or a DataFrame")
    return table


def _csv_path(name: str, directory) -> Path:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ParameterError(f"table name {name!r} must be letters, digits, '_', '-' or '.', "
                             "without a folder (it becomes tables/NAME.csv)")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.csv"


def save_table(result_or_frame, name: str, suppress_below: int = 0, synthetic: bool = True,
               directory=TABLES_DIR, index: bool = True, *, mask=None) -> Path:
    """Write a result's table as ``<directory>/<name>.csv``, small counts masked for real data.

    Parameters
    ----------
    result_or_frame : Result or DataFrame
        A result object (its ``summary`` is written) or a DataFrame (or Series).
    name : str
        File name without ``.csv``; letters, digits, ``_``, ``-``, ``.``.
    suppress_below : int
        Mask counts below this number (see :func:`suppress_small_counts`) when the cohort
        is not synthetic; 0 turns masking off.
    synthetic : bool
        True for the synthetic reconstruction (never masked).
    directory : str or Path
        Folder of the CSV downloads, relative to the working directory (the notebooks link
        ``tables/NAME.csv`` next to the executed page).
    index : bool
        Write the row labels (as ``DataFrame.to_csv``).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ParameterError
        A name with a folder or odd characters, a negative threshold, or an object without a
        table.
    """
    table = _table_of(result_or_frame)
    m = _mask(suppress_below, synthetic, mask)
    if m.active:
        table = suppress_small_counts(table, m.k, page=m.page)
    path = _csv_path(name, directory)
    table.to_csv(path, index=index)
    _write_tally(path, table, m)
    return path


#: Folder (inside the CSV folder) of the per-table masking tallies read by the
#: reproducibility page (:func:`masking_summary`); not linked, so never published.
TALLY_DIR = ".masking"


def _write_tally(path: Path, table: pd.DataFrame, mask) -> None:
    """How many cells of the CSV at *path* were hidden (``tables/.masking/NAME.json``); a
    table written unmasked removes an older tally of the same name."""
    import json

    tally = path.parent / TALLY_DIR / f"{path.stem}.json"
    if not mask.active:
        tally.unlink(missing_ok=True)
        return
    cells = table.astype(str).to_numpy()
    record = {"table": path.stem, "small": int((cells == f"<{mask.k}").sum()),
              "hidden": int((cells == COMPLEMENTARY_MARK).sum()), "k": mask.k}
    tally.parent.mkdir(parents=True, exist_ok=True)
    tally.write_text(json.dumps(record), encoding="utf-8")


def masking_summary(directory=TABLES_DIR) -> pd.DataFrame:
    """What the chapters hid, by table: the tallies :func:`save_table` wrote.

    Parameters
    ----------
    directory : str or Path
        The CSV folder of the executed chapters (``tables``, beside the executed pages).

    Returns
    -------
    DataFrame
        Indexed by ``table`` (the CSV download's name): ``shown as "<k"`` (counts 1 to
        k − 1) and ``hidden as "*"`` (complementary suppression); only tables with a hidden
        cell, sorted by name. Empty when nothing was masked.
    """
    import json

    rows = []
    for p in sorted((Path(directory) / TALLY_DIR).glob("*.json")):
        r = json.loads(p.read_text(encoding="utf-8"))
        if r["small"] or r["hidden"]:
            rows.append({"table": r["table"], f'shown as "<{r["k"]}"': r["small"],
                         'hidden as "*"': r["hidden"]})
    return pd.DataFrame(rows).set_index("table") if rows else pd.DataFrame()


def table_display(result_or_frame, suppress_below: int = 0, synthetic: bool = True, *, mask=None):
    """What :func:`show_table` displays: the object itself, or its masked table.

    Parameters
    ----------
    result_or_frame : Result or DataFrame
    suppress_below, synthetic
        As :func:`show_table`.

    Returns
    -------
    object
        *result_or_frame* unchanged (its own escaped HTML: ``Result._repr_html_`` or pandas'
        escaping ``to_html``), or a :class:`MaskedTable` when small counts are masked.
    """
    m = _mask(suppress_below, synthetic, mask)
    if not m.active:
        return result_or_frame
    masked = suppress_small_counts(_table_of(result_or_frame), m.k, page=m.page)
    return MaskedTable(masked, m.k, title=getattr(result_or_frame, "title", None),
                       notes=getattr(result_or_frame, "notes", ()))


def show_table(result_or_frame, name: str, suppress_below: int = 0, synthetic: bool = True,
               directory=TABLES_DIR, *, mask=None) -> None:
    """Display a result (or DataFrame) and save its table as ``tables/<name>.csv``.

    Parameters
    ----------
    result_or_frame : Result or DataFrame
        What to show. A result object is displayed with its own (escaped) HTML.
    name : str
        CSV file name without ``.csv``; the page links it as ``{download}`tables/NAME.csv```.
    suppress_below : int
        For a non-synthetic cohort, counts below this number are masked as ``"<k"`` in both
        the display and the CSV (see :func:`suppress_small_counts`); 0 turns it off.
    synthetic : bool
        True for the synthetic reconstruction, shown unmasked.
    directory : str or Path
        Folder of the CSV downloads (default ``"tables"``, relative to the working directory).

    Returns
    -------
    None
        Like ``IPython.display.display`` (so that a call ending a cell is not shown twice);
        :func:`table_display` gives the object displayed.

    Notes
    -----
    With masking the result's own formatting (``"n (%)"`` cells, "NR") is replaced by its
    ``summary`` table, masked, with the result's title and notes. Text is never cut
    (:func:`full_text`).
    """
    from IPython.display import display

    save_table(result_or_frame, name, suppress_below=suppress_below, synthetic=synthetic,
               directory=directory, mask=mask)
    with full_text():
        display(table_display(result_or_frame, suppress_below=suppress_below, synthetic=synthetic,
                              mask=mask))


def full_text():
    """Within this block pandas shows every cell's full text: its default cuts text longer
    than 50 characters to "..." (``display.max_colwidth``), which would hide the end of an
    inconsistency, a dictionary description, a fidelity note or a "why" column.
    :func:`show_table` displays inside it; :func:`hcc.chapter.setup` sets it for the page."""
    return pd.option_context("display.max_colwidth", None)


# --------------------------------------------------------------------------- banner
def synthetic_banner(synthetic: bool, n_patients: int | None = None, suppress_below: int = 0,
                     own_cohort: bool = True):
    """The admonition at the top of every chapter: which data this page analyses.

    Parameters
    ----------
    synthetic : bool
        True: a warning that the cohort is a synthetic reconstruction calibrated to the
        published numbers, not the study's patients. False: a note that the page analyses
        the user's cohort, that row-level data are never shown and (when *suppress_below*
        > 0) that small counts are masked.
    n_patients : int, optional
        Size of the user's cohort, stated in the note.
    suppress_below : int
        The masking threshold, stated in the note.
    own_cohort : bool
        False when only the adverse-event file is the user's (the cohort is ours): the note
        says so.

    Returns
    -------
    IPython.display.HTML
    """
    from IPython.display import HTML

    if synthetic:
        return HTML(
            "<div class='admonition warning'><p class='admonition-title'>Synthetic data</p>"
            "<p>The cohort analysed on this page is a <strong>synthetic reconstruction</strong>: "
            "artificial patients calibrated by a computer search to the numbers published by "
            "Li et al. (2022). It is not the study's patients, and no result here is new evidence "
            "about them.</p></div>")
    size = "" if n_patients is None else f" ({html.escape(str(int(n_patients)))} patients)"
    k = _check_threshold(suppress_below)
    what = (f"This page analyses your cohort{size}, not the synthetic reconstruction"
            if own_cohort else
            f"This page analyses your adverse-event file with the synthetic cohort{size}")
    return HTML(
        "<div class='admonition note'><p class='admonition-title'>"
        + ("Your cohort" if own_cohort else "Your adverse events") + "</p>"
        f"<p>{what}. Row-level data are never shown"
        + (f"; counts below {k} are suppressed" if k else "")
        + ".</p></div>")


# --------------------------------------------------------------------------- paper vs ours
def format_number(x, digits: int = 4) -> str:
    """Our value as text: "NR" when not reached (NaN, infinite or None), else *digits* significant digits.

    Parameters
    ----------
    x : float or int or None
    digits : int

    Returns
    -------
    str
    """
    if isinstance(x, str):  # a value that is text (the terms of the fidelity report)
        return x
    if x is None or x is pd.NA or (isinstance(x, numbers.Real) and not math.isfinite(float(x))):
        return "NR"
    return f"{x:.{digits}g}"


def compare_with_paper(rows, decimals: int | None = None) -> pd.DataFrame:
    """The paper's printed value beside ours: a table ``Paper``, ``This cohort``, ``match``.

    Parameters
    ----------
    rows : DataFrame or iterable of (str, hcc.paper.Printed, float)
        Rows of :func:`hcc.fidelity_report` (``item, paper, ours, ok``: its tolerance
        decides ``match``; what a chapter compares), or item label, the number as the paper
        prints it, and our value.
    decimals : int, optional
        Compare at this many decimals when the paper prints fewer (values printed without
        trailing zeros, e.g. "14" for 14.00); see ``Printed.matches``.

    Returns
    -------
    DataFrame
        Indexed by ``item``; ``Paper`` (printed text), ``This cohort`` (our value via
        :func:`format_number`), ``match`` (bool: our value rounds to the printed one).
    """
    if isinstance(rows, pd.DataFrame):
        records = zip(rows["item"], rows["paper"], map(format_number, rows["ours"]), rows["ok"])
    else:
        records = [(item, printed.text, format_number(ours), bool(printed.matches(ours, decimals)))
                   for item, printed, ours in rows]
    return pd.DataFrame(records, columns=["item", "Paper", "This cohort", "match"]).set_index("item")


# --------------------------------------------------------------------------- plots
def plot_km(result, ax=None, suppress_below: int = 0, synthetic: bool = True, *, mask=None, **kwargs):
    """``KMResult.plot``, drawn under the masking rule of :func:`hcc.pipeline.privacy.km_steps` for real data.

    Parameters
    ----------
    result : hcc.survival.KMResult
    ax : matplotlib Axes, optional
    suppress_below, synthetic
        As :func:`show_table`; without them (and without *mask*) the chapter's mask.
    mask : hcc.pipeline.privacy.Mask, optional
    **kwargs
        Passed to ``KMResult.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    With masking: numbers at risk of 1 to k − 1 read ``"<k"``; no censor ticks (each marks
    one patient); each curve and its band are redrawn by :func:`hcc.pipeline.privacy.km_steps` —
    steps that pool at least k events, the curve stopped (open circle) at the last time with
    at least k patients at risk, a curve with fewer than k events not drawn — and a note
    under the figure says so. The medians drawn are the estimates of the table.
    """
    from hcc.pipeline.privacy import km_steps

    m = _mask(suppress_below, synthetic, mask)
    if not m.active:
        return result.plot(ax=ax, **kwargs)
    kwargs.setdefault("at_risk_format", m.count)
    kwargs["censors"] = False  # a tick marks one patient
    old_lines = set(ax.lines) if ax is not None else set()
    old_bands = set(ax.collections) if ax is not None else set()
    ax = result.plot(ax=ax, **kwargs)
    bands = [c for c in ax.collections if c not in old_bands]
    for band in bands:
        band.remove()
    not_drawn = []
    for i, g in enumerate(result.groups):
        label = str(g) if result.group_col else "All patients"
        line = next((ln for ln in ax.lines if ln not in old_lines and ln.get_label() == label), None)
        if line is None:
            continue
        c = result.curves[g]
        steps = km_steps(c["time"], c["n_risk"], c["n_event"], c["surv"], c["lower"], c["upper"], k=m.k)
        if steps["time"].size == 0:
            line.set_data([], [])
            not_drawn.append(label)
            continue
        line.set_data(steps["time"], steps["surv"])
        color = line.get_color()
        if kwargs.get("ci", True) and bands:
            ax.fill_between(steps["time"], steps["lower"], steps["upper"], step="post", color=color,
                            alpha=0.15, lw=0)
        if steps["end"] is not None:
            ax.plot([steps["end"]], [steps["surv"][-1]], ls="none", marker="o", ms=4.5, mfc="white",
                    mec=color, mew=1.2, label="_curve end")
    note = (f"Masked figure: each step pools at least {m.k} events; a curve stops (○) where fewer "
            f"than {m.k} patients remain at risk; no censor marks.")
    if kwargs.get("medians", True):
        note += " Dashed lines: the medians of the table (estimated from every step)."
    if not_drawn:
        note += f" Not drawn (fewer than {m.k} events): {', '.join(not_drawn)}."
    import textwrap

    note = textwrap.fill(note, 80)
    rows = len(result.groups) if kwargs.get("at_risk", True) else -1
    ax.annotate(note, xy=(0, -0.23 - 0.07 * rows if rows >= 0 else -0.14), xycoords="axes fraction",
                fontsize=7.5, style="italic", ha="left", va="top", color="0.3")
    return ax


def plot_forest(result, ax=None, suppress_below: int = 0, synthetic: bool = True, *, mask=None,
                **kwargs):
    """``SubgroupResult.plot`` (forest plot) without the patient counts when they are masked.

    Parameters
    ----------
    result : hcc.cox_tables.SubgroupResult
    ax : matplotlib Axes, optional
    suppress_below, synthetic
        As :func:`show_table`. When masking is active the ``n`` column is left out of the
        plot (and the squares get one size), because a subgroup's size is a count.
    **kwargs
        Passed to ``SubgroupResult.plot`` / :func:`hcc.forest.forest_plot`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    m = _mask(suppress_below, synthetic, mask)
    if m.active:
        small = suppress_small_counts(result.summary[["n"]], m.k) \
            if "n" in result.summary else None
        if small is not None and small["n"].astype(str).str.startswith("<").any():
            kwargs["n"] = None
    return result.plot(ax=ax, **kwargs)

