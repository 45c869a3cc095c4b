"""Display helpers shared by the book's notebooks.

Every chapter shows the same things: a banner saying which data the page analyses, result
tables that are also offered as CSV downloads, the paper's value beside ours, and — for a
user's real cohort — tables and plots with small counts masked. These helpers used to be
copied into each notebook; they live here so that the rule is written once.

All HTML produced here escapes data values and labels (a label in a user's file may contain
markup such as ``<script>``): tables go through :func:`hcc._results.escape_frame_html` or
pandas' escaping ``to_html``, and interpolated text through :func:`html.escape`.

Notes
-----
Small-cell suppression applies only to a non-synthetic cohort and only when
``suppress_below > 0`` (the ``suppress_below`` notebook parameter); the synthetic
reconstruction is shown as it is. Counts equal to 0 are shown (as in the notebooks before
this module existed). The masking is primary suppression only: a masked cell may still be
recoverable from a row or column total shown beside it.
"""
from __future__ import annotations

import html
import math
import numbers
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hcc._results import escape_frame_html
from hcc.errors import ParameterError

__all__ = ["synthetic_banner", "show_table", "save_table", "suppress_small_counts",
           "suppression_active", "table_display", "compare_with_paper", "format_number", "plot_km", "plot_forest",
           "MaskedTable"]

#: Where the notebooks write their CSV downloads, relative to the working directory (the
#: executed notebook's folder): the pages link them as ``{download}`tables/NAME.csv```.
TABLES_DIR = "tables"

#: Column names (last level) that hold counts even when stored as floats.
_COUNT_COLUMNS = {"n", "events", "n_risk", "n_event", "n_censor", "responders", "observed"}
#: Text cells that are counts: "3" or "3 (8.1%)" (optionally followed by a CI in brackets).
_COUNT_TEXT = re.compile(r"^\s*(\d+)\s*(?:\(|$)")
#: A group size in a column label, as Table 1 prints it: "TKI (n=37)".
_GROUP_SIZE = re.compile(r"\(n=(\d+)\)")
#: Columns that sit beside a count column "<prefix> n" and reveal it.
_SIBLING_SUFFIXES = (" %", " lower", " upper")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------- small counts
def _check_threshold(k) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or k < 0:
        raise ParameterError(f"suppress_below must be a whole number of 0 or more, not {k!r}")
    return int(k)


def suppression_active(suppress_below: int = 0, synthetic: bool = True) -> bool:
    """Whether small counts are masked: a real (non-synthetic) cohort and ``suppress_below > 0``.

    Parameters
    ----------
    suppress_below : int
        Counts ``0 < n < suppress_below`` are masked; 0 turns masking off.
    synthetic : bool
        True for the synthetic reconstruction, which is never masked.

    Returns
    -------
    bool
    """
    return (not synthetic) and _check_threshold(suppress_below) > 0


def _label(column) -> str:
    return " ".join(str(c) for c in column) if isinstance(column, tuple) else str(column)


def _last(column) -> str:
    return str(column[-1]) if isinstance(column, tuple) else str(column)


def _is_paper_column(column) -> bool:
    """Published numbers are public: any column whose label starts with "paper"."""
    return _label(column).strip().lower().startswith("paper")


def _is_small(value, k: int, count_column: bool) -> bool:
    if value is None or isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Integral):
        return 0 < int(value) < k
    if isinstance(value, numbers.Real):
        v = float(value)
        return count_column and math.isfinite(v) and v.is_integer() and 0 < v < k
    if isinstance(value, str):
        m = _COUNT_TEXT.match(value)
        return bool(m) and 0 < int(m.group(1)) < k
    return False


def _mask_label(label, k: int):
    def one(text):
        if not isinstance(text, str):
            return text
        return _GROUP_SIZE.sub(lambda m: f"(n=<{k})" if 0 < int(m.group(1)) < k else m.group(0), text)
    return tuple(one(t) for t in label) if isinstance(label, tuple) else one(label)


def suppress_small_counts(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """Mask counts below *k* as the text ``"<k"``.

    Parameters
    ----------
    frame : DataFrame
        A result table (``Result.summary``) or any frame of counts.
    k : int
        Threshold: counts with ``0 < n < k`` are masked. ``k = 0`` (or 1) masks nothing.

    Returns
    -------
    DataFrame
        A copy (object columns where something was masked). Masked are

        - whole numbers (integer cells; integer-valued floats in count columns named ``n``,
          ``events``, ``n_risk``, ``n_event``, ``n_censor``, ``responders``, ``observed``
          or ending in ``" n"``);
        - text cells that start with a count: ``"3"``, ``"3 (8.1%)"``;
        - the columns beside a masked ``"<prefix> n"`` cell that reveal it, in the same row:
          ``"<prefix> %"``, ``"<prefix> lower"``, ``"<prefix> upper"``;
        - group sizes in column labels, ``"TKI (n=3)"`` → ``"TKI (n=<k)"``.

        Never masked: columns whose label starts with "Paper" (the published numbers are
        public), zero counts, booleans, P-values and other non-integer numbers, and text
        such as ``"57 [50, 64]"`` (a median with its quartiles).

    Raises
    ------
    ParameterError
        *k* is not a whole number of 0 or more.

    Notes
    -----
    Primary suppression only: a masked count can still be derived from a total shown in the
    same table (for instance ``Overall n`` minus the other arm).
    """
    k = _check_threshold(k)
    out = frame.copy()
    if k <= 1 or out.empty:
        return out
    small = pd.DataFrame(False, index=out.index, columns=out.columns)
    for j, col in enumerate(out.columns):
        if _is_paper_column(col):
            continue
        name = _last(col)
        counting = name in _COUNT_COLUMNS or name.endswith(" n")
        values = out.iloc[:, j]
        small.iloc[:, j] = [_is_small(v, k, counting) for v in values]
    # siblings of "<prefix> n": its percentage and CI reveal it
    positions = {_label(c): j for j, c in enumerate(out.columns)}
    for j, col in enumerate(out.columns):
        label = _label(col)
        if label.endswith(" n") and small.iloc[:, j].any():
            for suffix in _SIBLING_SUFFIXES:
                s = positions.get(label[:-2] + suffix)
                if s is not None and not _is_paper_column(out.columns[s]):
                    small.iloc[:, s] = small.iloc[:, s].to_numpy() | small.iloc[:, j].to_numpy()
    masked = out.astype(object).mask(small, f"<{k}") if small.to_numpy().any() else out
    labels = [_mask_label(c, k) for c in masked.columns]
    if isinstance(masked.columns, pd.MultiIndex):
        masked.columns = pd.MultiIndex.from_tuples(labels, names=out.columns.names)
    else:
        masked.columns = pd.Index(labels, name=out.columns.name)
    return masked


class MaskedTable:
    """A result table after small-cell suppression, ready to display.

    Renders the masked frame (escaped, via :func:`hcc._results.escape_frame_html`) with the
    result's title and notes and a note saying what was masked.

    Parameters
    ----------
    frame : DataFrame
        The masked table.
    k : int
        The threshold used.
    title : str, optional
    notes : sequence of str
    """

    def __init__(self, frame: pd.DataFrame, k: int, title: str | None = None, notes=()):
        self.frame = frame
        self.k = k
        self.title = title or None
        self.notes = tuple(notes) + (f"Counts from 1 to {k - 1} are shown as \"<{k}\".",)

    def _repr_html_(self) -> str:
        body = escape_frame_html(self.frame, caption=self.title)
        return body + "".join(f"<p class='hcc-note'>{html.escape(n)}</p>" for n in self.notes)

    def __repr__(self) -> str:
        head = self.title + "\n" if self.title else ""
        return head + self.frame.to_string() + "\n" + "\n".join(self.notes)


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
               directory=TABLES_DIR, index: bool = True) -> Path:
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
    if suppression_active(suppress_below, synthetic):
        table = suppress_small_counts(table, suppress_below)
    path = _csv_path(name, directory)
    table.to_csv(path, index=index)
    return path


def table_display(result_or_frame, suppress_below: int = 0, synthetic: bool = True):
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
    if not suppression_active(suppress_below, synthetic):
        return result_or_frame
    masked = suppress_small_counts(_table_of(result_or_frame), suppress_below)
    return MaskedTable(masked, suppress_below, title=getattr(result_or_frame, "title", None),
                       notes=getattr(result_or_frame, "notes", ()))


def show_table(result_or_frame, name: str, suppress_below: int = 0, synthetic: bool = True,
               directory=TABLES_DIR) -> None:
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
    ``summary`` table, masked, with the result's title and notes.
    """
    from IPython.display import display

    save_table(result_or_frame, name, suppress_below=suppress_below, synthetic=synthetic,
               directory=directory)
    display(table_display(result_or_frame, suppress_below=suppress_below, synthetic=synthetic))


# --------------------------------------------------------------------------- banner
def synthetic_banner(synthetic: bool, n_patients: int | None = None, suppress_below: int = 0):
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
    return HTML(
        "<div class='admonition note'><p class='admonition-title'>Your cohort</p>"
        f"<p>This page analyses your cohort{size}, not the synthetic "
        "reconstruction. Row-level data are never shown"
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
    if x is None or x is pd.NA or (isinstance(x, numbers.Real) and not math.isfinite(float(x))):
        return "NR"
    return f"{x:.{digits}g}"


def compare_with_paper(rows, decimals: int | None = None) -> pd.DataFrame:
    """The paper's printed value beside ours: a table ``Paper``, ``This cohort``, ``match``.

    Parameters
    ----------
    rows : iterable of (str, hcc.paper.Printed, float)
        Item label, the number as the paper prints it, and our value.
    decimals : int, optional
        Compare at this many decimals when the paper prints fewer (values printed without
        trailing zeros, e.g. "14" for 14.00); see ``Printed.matches``.

    Returns
    -------
    DataFrame
        Indexed by ``item``; ``Paper`` (printed text), ``This cohort`` (our value via
        :func:`format_number`), ``match`` (bool: our value rounds to the printed one).
    """
    records = [(item, printed.text, format_number(ours), bool(printed.matches(ours, decimals)))
               for item, printed, ours in rows]
    return pd.DataFrame(records, columns=["item", "Paper", "This cohort", "match"]).set_index("item")


# --------------------------------------------------------------------------- plots
def plot_km(result, ax=None, suppress_below: int = 0, synthetic: bool = True, **kwargs):
    """``KMResult.plot`` with the number-at-risk row masked below *suppress_below* for real data.

    Parameters
    ----------
    result : hcc.survival.KMResult
    ax : matplotlib Axes, optional
    suppress_below, synthetic
        As :func:`show_table`; masked numbers at risk read ``"<k"``.
    **kwargs
        Passed to ``KMResult.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Censor ticks and the steps of the curve still show individual events.
    """
    if suppression_active(suppress_below, synthetic):
        kwargs.setdefault("at_risk_format",
                          lambda n: f"<{suppress_below}" if 0 < n < suppress_below else str(n))
    return result.plot(ax=ax, **kwargs)


def plot_forest(result, ax=None, suppress_below: int = 0, synthetic: bool = True, **kwargs):
    """``SubgroupResult.plot`` (forest plot) without the patient counts when they are masked.

    Parameters
    ----------
    result : hcc.cox.SubgroupResult
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
    if suppression_active(suppress_below, synthetic):
        small = suppress_small_counts(result.summary[["n"]], suppress_below) \
            if "n" in result.summary else None
        if small is not None and small["n"].astype(str).str.startswith("<").any():
            kwargs["n"] = None
    return result.plot(ax=ax, **kwargs)
