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
this module existed). Masked cells are complemented (see :func:`suppress_small_counts`) so
that a masked cell cannot be recovered from an Overall column or from the other levels of a
variable.
"""
from __future__ import annotations

import html
import math
import numbers
import re
from pathlib import Path

import numpy as np
import pandas as pd

from hcc._results import Result, escape_frame_html
from hcc.errors import ParameterError

__all__ = ["setup", "Chapter", "SETUP_PARAMETERS", "synthetic_banner", "show_table", "save_table", "suppress_small_counts",
           "masking_summary",
           "suppression_active", "table_display", "compare_with_paper", "format_number", "plot_km", "plot_forest",
           "MaskedTable", "RowsUsed", "rows_used", "rows_used_table", "table_one_rows_used",
           "screen_rows_used"]

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


def _mask(suppress_below: int = 0, synthetic: bool = True, mask=None):
    """The :class:`hcc.privacy.Mask` a helper applies: *mask* when given (what a chapter gets
    from :func:`setup`), else the one the keyword pair ``suppress_below``/``synthetic`` means."""
    from hcc.privacy import Mask, resolve

    if mask is not None:
        if not isinstance(mask, Mask):
            raise ParameterError(f"mask must be an hcc.privacy.Mask, not {type(mask).__name__}")
        return mask
    if _check_threshold(suppress_below) == 0 and synthetic:
        return resolve(None)  # nothing said: the chapter's mask (hcc.privacy.activate), if any
    return Mask.from_flags(suppress_below, synthetic)


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


def suppress_small_counts(frame: pd.DataFrame, k: int, *, page=None) -> pd.DataFrame:
    """Mask counts below *k* as the text ``"<k"``.

    Parameters
    ----------
    frame : DataFrame
        A result table (``Result.summary``) or any frame of counts.
    k : int
        Threshold: counts with ``0 < n < k`` are masked. ``k = 0`` (or 1) masks nothing.
    page : hcc.privacy.Page, optional
        The ledger of the page (``mask.page`` of a chapter): counts that other tables of the
        page hid are hidden here too, percentages of small or hidden counts of the page's
        group sizes are hidden, and what this table hides is recorded.

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

        Then complementary (secondary) suppression (see :func:`_complementary`), shown as
        ``"*"`` (:data:`COMPLEMENTARY_MARK`): in a row,
        the ``Overall`` cell (else the other arm) when one arm alone is masked; in a column, the next smallest level of a variable when one level alone is masked — so no
        masked count follows from a total shown beside it. Also hidden ("*"): a count of an
        arm column whose complement in the arm (size − count) is 1 to k − 1 (34 of 37), and
        ``events`` whose complement in the row's ``n`` (the censored) is 1 to k − 1;
        the cells of the sums a result declares in ``frame.attrs["hcc_row_sums"]`` (the
        response table: CR + PR = ORR, CR + PR + SD = DCR, all categories = the arm); and,
        with a *page*, the counts other tables of the page hid and the percentages of small
        or hidden counts.

    Notes
    -----
    Complementary suppression knows the arm/Overall columns, the levels of one variable and
    the row sums a result declares; what it does not search is listed in
    :mod:`hcc.privacy` ("What masking covers").
    """
    k = _check_threshold(k)
    out = frame.copy()
    if k <= 1 or out.empty:
        return out
    small = pd.DataFrame(False, index=out.index, columns=out.columns)
    # a table of mixed items (the fidelity report) says which rows are counts
    count_rows = (out["kind"].astype(str).eq("count").to_numpy() if "kind" in out.columns
                  else np.zeros(len(out), bool))
    for j, col in enumerate(out.columns):
        if _is_paper_column(col):
            continue
        name = _last(col)
        counting = name in _COUNT_COLUMNS or name.endswith(" n")
        values = out.iloc[:, j]
        small.iloc[:, j] = [_is_small(v, k, counting or bool(c)) for v, c in zip(values, count_rows)]
    primary = small.copy()
    source = _fingerprint(out) if page is not None else None
    _complements(out, small, k, page)
    if page is not None:
        _page_hidden(out, small, page, source)
    if "kind" in out.columns and primary.to_numpy().any():
        # its percent rows do not say their denominator: hidden whole (they may be c / n)
        pct = out["kind"].astype(str).eq("percent").to_numpy()
        for j, col in enumerate(out.columns):
            if not _is_paper_column(col):
                numeric = np.array([isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
                                    for v in out.iloc[:, j]])
                small.iloc[:, j] = small.iloc[:, j].to_numpy() | (pct & numeric)
    _complementary(out, small, page)
    _siblings(out, primary)
    _siblings(out, small)
    if page is not None:
        _page_percentages(out, small, page, source)
        counting = _count_positions(out)
        page.record([c for i, j in zip(*np.nonzero(small.to_numpy()))
                     if counting[j] and (c := _count_of(out.iat[i, j]))], source)
    secondary = small & ~primary
    masked = out.astype(object).mask(primary, f"<{k}") if primary.to_numpy().any() else out
    if secondary.to_numpy().any():
        masked = masked.mask(secondary, COMPLEMENTARY_MARK)
    labels = [_mask_label(c, k) for c in masked.columns]
    if isinstance(masked.columns, pd.MultiIndex):
        masked.columns = pd.MultiIndex.from_tuples(labels, names=out.columns.names)
    else:
        masked.columns = pd.Index(labels, name=out.columns.name)
    return masked


def _fingerprint(frame: pd.DataFrame) -> str:
    """Which table this is (its labels and cells), so that the ledger of a page tells a
    table's own hidden counts (the CSV and the display of one table) from other tables'."""
    import hashlib

    text = frame.to_csv() if not frame.empty else repr(list(frame.columns))
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def _group_sizes(frame: pd.DataFrame, page) -> dict:
    """Group → size: the "(n=37)" of a column label, else the page's denominators."""
    sizes = dict(page.denominators) if page is not None else {}
    for c in frame.columns:
        m = _GROUP_COLUMN.match(_label(c).strip())
        g = _GROUP_SIZE.search(_label(c))
        if m and g:
            sizes[m.group(1)] = int(g.group(1))
    return sizes


def _count_columns(frame: pd.DataFrame) -> dict:
    """Column position → its group ("TKI", "TKI-ICI", "Overall") for the count columns of
    an arm: "TKI n", "TKI any n", "TKI (n=37)"."""
    out = {}
    for j, c in enumerate(frame.columns):
        if _is_paper_column(c):
            continue
        m = _GROUP_COLUMN.match(_label(c).strip())
        if m:
            rest = _GROUP_SIZE.sub("(n=)", m.group(2))
            if rest.endswith(" n") or "(n=)" in rest or rest.strip() == "":
                out[j] = m.group(1)
    return out


#: Count columns nested in another count column of the same row: events of n patients.
_NESTED_COLUMNS = (("events", "n"), ("n_event", "n_risk"))


def _complements(frame: pd.DataFrame, small: pd.DataFrame, k: int, page) -> None:
    """A count whose complement is small: of an arm (34 of 37 leaves 3), or events of the
    row's patients (34 events among 37 leaves 3 censored): hidden (in place on *small*)."""
    names = {_last(c): j for j, c in enumerate(frame.columns) if not _is_paper_column(c)}
    for part, whole in _NESTED_COLUMNS:
        if part in names and whole in names:
            jp, jw = names[part], names[whole]
            for i in range(len(frame)):
                e, n = _count_of(frame.iat[i, jp]), _count_of(frame.iat[i, jw])
                if e is not None and n is not None and 0 < n - e < k and e > 0:
                    small.iat[i, jp] = True
    sizes = _group_sizes(frame, page)
    for i, g in _level_rows(frame).items():  # "Cause = HBV, TKI": a level within an arm
        n = sizes.get(g)
        for j, ok in enumerate(_count_positions(frame) if n else ()):
            c = _count_of(frame.iat[i, j]) if ok and not isinstance(frame.iat[i, j], (bool, np.bool_)) else None
            if c is not None and 0 < n - c < k:
                small.iat[i, j] = True
    for j, g in _count_columns(frame).items():
        n = sizes.get(g)
        if not n:
            continue
        for i in range(len(frame)):
            c = _count_of(frame.iat[i, j])
            if c is not None and 0 < n - c < k and not small.iat[i, j]:
                small.iat[i, j] = True


def _count_positions(frame: pd.DataFrame) -> list:
    """Per column: whether its cells can be counts (not a published column, not a
    percentage, a CI limit or a P-value column)."""
    out = []
    for c in frame.columns:
        label = _label(c).strip()
        out.append(not _is_paper_column(c) and "%" not in label
                   and not label.endswith((" lower", " upper")) and label not in ("P", "p"))
    return out


def _page_hidden(frame: pd.DataFrame, small: pd.DataFrame, page, source) -> None:
    """Counts other tables of the page hid: hidden here too (in place on *small*)."""
    hidden = page.hidden_elsewhere(source)
    if not hidden:
        return
    positions = _count_positions(frame)
    arm_counts = _count_columns(frame)
    for j, col in enumerate(frame.columns):
        if not positions[j]:
            continue
        name = _last(col)
        counting = name in _COUNT_COLUMNS or name.endswith(" n") or j in arm_counts
        for i in range(len(frame)):
            v = frame.iat[i, j]
            if isinstance(v, (bool, np.bool_)):
                continue
            if isinstance(v, str) or isinstance(v, numbers.Integral) or counting:
                c = _count_of(v)
                if c is not None and c in hidden:
                    small.iat[i, j] = True


#: A percentage printed as text: "8.1", "8.1%".
_PERCENT_TEXT = re.compile(r"^\s*(\d+(?:\.(\d+))?)\s*%?\s*$")


def _percent_value(value):
    """(value, decimals) of a cell that can be a percentage, else None."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return None
        text = repr(v)
        return v, (len(text.split(".")[1]) if "." in text and "e" not in text else 0)
    if isinstance(value, str):
        m = _PERCENT_TEXT.match(value)
        if m:
            return float(m.group(1)), len(m.group(2) or "")
    return None


def _page_percentages(frame: pd.DataFrame, small: pd.DataFrame, page, source) -> None:
    """Percentages (column or row labelled with "%") of a small or hidden count of one of
    the page's group sizes: hidden (in place on *small*)."""
    rows_pct = ["%" in _label(r) for r in frame.index]
    for j, col in enumerate(frame.columns):
        if _is_paper_column(col):
            continue
        col_pct = "%" in _label(col)
        for i in range(len(frame)):
            if small.iat[i, j] or not (col_pct or rows_pct[i]):
                continue
            pv = _percent_value(frame.iat[i, j])
            if pv is not None and page.percent_of_hidden(pv[0], pv[1], source):
                small.iat[i, j] = True


#: What a cell hidden by complementary suppression shows (its count is not small).
COMPLEMENTARY_MARK = "*"
COMPLEMENTARY_NOTE = ("* hidden as well, so that a count shown as \"<k\" cannot be worked out "
                      "from a total or the other cells.")


def _siblings(out: pd.DataFrame, small: pd.DataFrame) -> None:
    """Siblings of a masked "<prefix> n" cell: its percentage and CI reveal it (in place)."""
    positions = {_label(c): j for j, c in enumerate(out.columns)}
    for j, col in enumerate(out.columns):
        label = _label(col)
        if label.endswith(" n") and small.iloc[:, j].any():
            for suffix in _SIBLING_SUFFIXES:
                s = positions.get(label[:-2] + suffix)
                if s is not None and not _is_paper_column(out.columns[s]):
                    small.iloc[:, s] = small.iloc[:, s].to_numpy() | small.iloc[:, j].to_numpy()


#: "TKI any n" / "TKI (n=37)" → ("TKI", " any n") / ("TKI", " (n=)"): the group, the rest.
_GROUP_COLUMN = re.compile(r"^(Overall|TKI-ICI|TKI)(\b.*)$")


def _count_of(value):
    """The count a cell shows (int, integer-valued float, "3 (8.1%)"), else None."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        v = float(value)
        return int(v) if math.isfinite(v) and v.is_integer() else None
    if isinstance(value, str):
        m = _COUNT_TEXT.match(value)
        return int(m.group(1)) if m else None
    return None


def _row_relations(frame: pd.DataFrame) -> list:
    """The sums a result declares in ``frame.attrs["hcc_row_sums"]``: a list of
    ``(total_row, [part rows])`` (``total_row`` None: the parts add up to the arm, whose
    size the page states). Returned as ``(total position or None, [part positions])``."""
    out = []
    pos = {r: i for i, r in enumerate(frame.index)}
    for total, parts in frame.attrs.get("hcc_row_sums", ()) if hasattr(frame, "attrs") else ():
        if total is not None and total not in pos:
            continue
        cells = [pos[r] for r in parts if r in pos]
        if len(cells) + (total is not None) >= 2:
            out.append((None if total is None else pos[total], cells))
    return out


def _complementary(frame: pd.DataFrame, small: pd.DataFrame, page=None) -> None:
    """Secondary suppression, in place on *small*, until no masked count can be derived.

    * Arms and their total: in a row, "Overall …" = "TKI …" + "TKI-ICI …" (same rest of the
      label). When one cell alone of such a triple is masked, the Overall cell is masked too
      (else the other arm): two shown cells of the three would reveal the third. A table
      without its Overall column states no such sum.
    * Levels of one variable (rows sharing the first index level, as Table 1 prints them)
      add up to the group size of the column: when exactly one level is masked in a column,
      the next smallest shown count of that variable is masked too.
    * Sums a result declares (``frame.attrs["hcc_row_sums"]``, e.g. ORR = CR + PR): in each
      count column, when exactly one cell of a sum is masked, the smallest other is too.
    * Then an exact check on all of these sums together (:func:`_hide_one_derivable`): as
      long as a hidden cell can be solved from the shown cells by any combination of the
      sums (DCR − SD = CR + PR = ORR), one more cell is hidden.
    """
    labels = [_GROUP_COLUMN.match(_label(c).strip()) for c in frame.columns]
    triples: dict[str, dict[str, int]] = {}
    for j, m in enumerate(labels):
        if m and not _is_paper_column(frame.columns[j]):
            rest = _GROUP_SIZE.sub("(n=)", m.group(2))
            if rest.endswith(" n") or "(n=)" in rest or rest.strip() == "":  # counts only
                triples.setdefault(rest, {})[m.group(1)] = j
    # a row's total must be printed for the arms to reveal each other: Overall present
    triples = {r: t for r, t in triples.items() if {"Overall", "TKI", "TKI-ICI"} <= set(t)}
    groups = None
    if isinstance(frame.index, pd.MultiIndex) and frame.index.nlevels > 1:
        groups = pd.Series(range(len(frame))).groupby(frame.index.get_level_values(0).to_numpy()).indices
    relations = _row_relations(frame)
    count_cols = [j for j, c in enumerate(frame.columns) if not _is_paper_column(c)
                  and (_last(c) in _COUNT_COLUMNS or _last(c).endswith(" n"))]
    equations = _equations(frame, triples, groups, relations, count_cols)
    equations += _nested_equations(frame, count_cols, page)
    equations += _label_equations(frame)
    changed = True
    while changed:
        changed = False
        for j in count_cols:  # declared sums: total = sum of parts, in each count column
            for total, parts in relations:
                cells = parts + ([total] if total is not None else [])
                masked = [i for i in cells if small.iat[i, j]]
                shown = [(c, i) for i in cells if not small.iat[i, j]
                         and (c := _count_of(frame.iat[i, j])) not in (None, 0)]
                if len(masked) == 1 and shown:
                    small.iat[min(shown)[1], j] = changed = True
        for t in triples.values():
            cells = [t[g] for g in ("Overall", "TKI", "TKI-ICI") if g in t]  # Overall first
            for i in range(len(frame)):
                if sum(bool(small.iat[i, j]) for j in cells) != 1:
                    continue  # none masked, or two: a + b = total no longer reveals one
                for j in cells:  # mask the Overall, else the other arm
                    if not small.iat[i, j] and _count_of(frame.iat[i, j]) not in (None, 0):
                        small.iat[i, j] = changed = True
                        break
        for j in range(frame.shape[1] if groups is not None else 0):
            if _is_paper_column(frame.columns[j]):
                continue
            for rows in groups.values():
                if len(rows) < 2:
                    continue
                masked = [i for i in rows if small.iat[i, j]]
                shown = [(c, i) for i in rows if not small.iat[i, j]
                         and (c := _count_of(frame.iat[i, j])) not in (None, 0)]
                if len(masked) == 1 and shown:
                    small.iat[min(shown)[1], j] = changed = True
        if not changed:  # the simple rules are met: does a combination of sums still solve a cell?
            changed = _hide_one_derivable(frame, small, equations)


def _equations(frame, triples, groups, relations, count_cols) -> list:
    """The sums a table states, as equations over its count cells: a list of
    ``{(row, column): coefficient}`` whose weighted sum is known to a reader (a total shown
    in the table, or a group size the page states). Cells that hold no count drop the
    equation (it cannot be used to solve anything)."""
    eqs = []
    n = len(frame)

    def add(eq):
        if len(eq) >= 2 and all(_count_of(frame.iat[i, j]) is not None for i, j in eq):
            eqs.append(eq)

    for t in triples.values():  # Overall = TKI + TKI-ICI, per row
        if "Overall" in t:
            for i in range(n):
                add({(i, t["Overall"]): 1.0, (i, t["TKI"]): -1.0, (i, t["TKI-ICI"]): -1.0})
    cols = sorted(set(count_cols) | {j for t in triples.values() for j in t.values()})
    for j in cols:
        for total, parts in relations:  # declared: total - parts = 0, or parts = the arm
            eq = {(i, j): -1.0 for i in parts}
            if total is not None:
                eq[(total, j)] = 1.0
            add(eq)
        if groups is not None:  # the levels of a variable add up to the group
            for rows in groups.values():
                add({(i, j): 1.0 for i in rows})
    return eqs


def _nested_equations(frame, count_cols, page) -> list:
    """Rows that are parts of a group of the page (regimens of an arm): in each count
    column their sum is taken as known (the arm's n and events are printed by another table
    of the page), so that one hidden regimen does not follow from the others."""
    parents = getattr(page, "parents", None) or {}
    if not parents:
        return []
    labels = [str(r[-1] if isinstance(r, tuple) else r) for r in frame.index]
    outer = [r[:-1] if isinstance(r, tuple) else () for r in frame.index]
    by_parent: dict = {}
    for i, (lab, up) in enumerate(zip(labels, outer)):
        if lab in parents:
            by_parent.setdefault((up, parents[lab]), []).append(i)
    eqs = []
    for rows in by_parent.values():
        for j in count_cols:
            eq = {(i, j): 1.0 for i in rows}
            if len(eq) >= 2 and all(_count_of(frame.iat[i, j]) is not None for i, j in eq):
                eqs.append(eq)
    return eqs


#: Row labels of the comparison tables that name a level of a variable within an arm:
#: "Sex = Male, TKI" (Table 1 counts) and "TKI: regimen REG", "TKI: best response CR".
_LEVEL_LABELS = (re.compile(r"^(?P<var>.+?) = (?P<level>.+), (?P<group>Overall|TKI-ICI|TKI)$"),
                 re.compile(r"^(?P<group>Overall|TKI-ICI|TKI): (?P<var>.+) (?P<level>\S+)$"))


def _row_labels(frame) -> list:
    """Row labels: the ``item`` column when there is one, else the (last level of the) index."""
    return (frame["item"].astype(str).tolist() if "item" in frame.columns
            else [str(r[-1] if isinstance(r, tuple) else r) for r in frame.index])


def _level_rows(frame) -> dict:
    """Row position → its arm, for rows labelled as a level within an arm (:data:`_LEVEL_LABELS`)."""
    out = {}
    for i, lab in enumerate(_row_labels(frame)):
        for pattern in _LEVEL_LABELS:
            m = pattern.match(lab.strip())
            if m:
                out[i] = m.group("group")
                break
    return out


def _label_equations(frame) -> list:
    """Tables of items (the fidelity report, the comparisons with the paper) list the levels
    of a variable within an arm row by row; those rows add up to the arm, whose size the
    page prints: one equation per (variable, arm) and count column. Labels from the ``item``
    column when there is one, else the index."""
    labels = _row_labels(frame)
    keys: dict = {}
    for i, lab in enumerate(labels):
        for pattern in _LEVEL_LABELS:
            m = pattern.match(lab.strip())
            if m:
                keys.setdefault((m.group("var"), m.group("group")), []).append(i)
                break
    if not keys:
        return []
    positions = _count_positions(frame)
    eqs = []
    for rows in keys.values():
        if len(rows) < 2:
            continue
        for j, ok in enumerate(positions):
            if ok and _last(frame.columns[j]) not in ("item", "kind", "section"):
                eq = {(i, j): 1.0 for i in rows}
                if all(_count_of(frame.iat[i, j]) is not None for i in rows):
                    eqs.append(eq)
    return eqs


def _hide_one_derivable(frame, small, equations) -> bool:
    """If a hidden cell can be solved from the equations and the cells shown, hide one more
    cell (the smallest shown count of an equation with that cell) and return True.

    Exact linear disclosure: a hidden cell is determined when its unit vector lies in the
    row space of the equations restricted to the hidden cells (rank test).
    """
    if not equations:
        return False
    hidden = sorted({c for eq in equations for c in eq if small.iat[c]})
    if not hidden:
        return False
    col = {c: h for h, c in enumerate(hidden)}
    a = np.zeros((len(equations), len(hidden)))
    for r, eq in enumerate(equations):
        for c, coef in eq.items():
            if c in col:
                a[r, col[c]] = coef
    rank = np.linalg.matrix_rank(a)
    for c in hidden:
        e = np.zeros(len(hidden))
        e[col[c]] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) > rank:
            continue  # not determined
        near = [(v, d) for eq in equations if c in eq for d in eq
                if not small.iat[d] and (v := _count_of(frame.iat[d])) not in (None, 0)]
        if not near:
            near = [(v, d) for eq in equations for d in eq
                    if not small.iat[d] and (v := _count_of(frame.iat[d])) not in (None, 0)]
        if near:
            small.iat[min(near)[1]] = True
            return True
    return False


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
        extra = (COMPLEMENTARY_NOTE.replace("<k", f"<{k}"),) \
            if (frame.astype(str) == COMPLEMENTARY_MARK).to_numpy().any() else ()
        self.notes = tuple(notes) + (f"Counts from 1 to {k - 1} are shown as \"<{k}\".",) + extra

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
    ``summary`` table, masked, with the result's title and notes.
    """
    from IPython.display import display

    save_table(result_or_frame, name, suppress_below=suppress_below, synthetic=synthetic,
               directory=directory, mask=mask)
    display(table_display(result_or_frame, suppress_below=suppress_below, synthetic=synthetic, mask=mask))


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


# --------------------------------------------------------------------------- chapter setup
#: The notebook parameters :func:`setup` reads (``synthetic`` is injected by ``hcc build``).
SETUP_PARAMETERS = ("data", "adverse_events", "seed", "suppress_below", "alpha", "synthetic")


def _denominators(cohort: pd.DataFrame) -> dict:
    """The group sizes a page states: the cohort and each arm."""
    sizes = {"Overall": len(cohort)}
    if "arm" in cohort.columns:
        sizes.update({str(a): int(n) for a, n in cohort["arm"].value_counts().items()})
    return sizes


def _parents(cohort: pd.DataFrame) -> dict:
    """Subgroups nested in an arm, as the page's tables may print them: regimen → arm."""
    if not {"regimen", "arm"} <= set(cohort.columns):
        return {}
    pairs = cohort[["regimen", "arm"]].dropna().drop_duplicates()
    return {str(r): str(a) for r, a in zip(pairs["regimen"], pairs["arm"])}


class Chapter:
    """What a chapter needs, made by :func:`setup`.

    Attributes
    ----------
    cohort : DataFrame
        The cohort (shipped, a seed's reconstruction, or the user's file).
    ae : DataFrame or None
        The adverse events (read on first use; None when a user's cohort has none).
    decision : hcc.privacy.Decision
        What is synthetic and what is masked: injected by ``hcc build``, read here.
    mask : hcc.privacy.Mask
        Pass it to every display helper: ``show_table(result, "name", mask=mask)``.
    synthetic : bool
    banner : IPython.display.HTML
        The admonition at the top of the page.
    tables : Path
        Folder of the CSV downloads (``tables/``, created).
    ci : str
        ``"95% CI"`` for the chapter's alpha.
    """

    def __init__(self, params: dict, decision, cohort: pd.DataFrame, tables: Path):
        self.params = params
        self.decision = decision
        self.synthetic = decision.synthetic
        self.mask = decision.mask.for_page(_denominators(cohort), _parents(cohort))  # one ledger per page
        self.cohort = cohort
        self.tables = tables
        self.ci = f"{100 * (1 - float(params.get('alpha') or 0.05)):g}% CI"
        self._ae = None
        self._ae_loaded = False
        self.banner = synthetic_banner(decision.synthetic, n_patients=len(cohort),
                                       suppress_below=decision.suppress_below,
                                       own_cohort="data" in decision.user_inputs
                                       or "adverse_events" not in decision.user_inputs)

    def _folder(self):
        """Folder of a synthetic cohort's files (shipped or a seed's), else None."""
        from hcc import paths
        from hcc.data import _is_default_seed, _reconstructed

        if self.params.get("data") is not None:
            return None
        seed = self.params.get("seed")
        return paths.DATA_DIR if _is_default_seed(seed) else _reconstructed(int(seed))

    @property
    def data_file(self):
        """The file the cohort came from, with dates where there are any: the user's file,
        or the synthetic cohort's raw export (``cohort_raw.csv``)."""
        folder = self._folder()
        return self.params.get("data") if folder is None else folder / "cohort_raw.csv"

    @property
    def manifest(self) -> dict | None:
        """The generator's manifest of a synthetic cohort (seed, data cut-off, fidelity);
        None for a user's file."""
        import json

        folder = self._folder()
        return None if folder is None else json.loads((folder / "manifest.json").read_text())

    @property
    def ae(self):
        if not self._ae_loaded:
            from hcc.data import get_adverse_events

            p = self.params
            self._ae = get_adverse_events(data=p.get("data"), seed=p.get("seed"),
                                          path=p.get("adverse_events"))
            self._ae_loaded = True
        return self._ae


def setup(params, *, tables=TABLES_DIR, style: bool = True) -> Chapter:
    """The one call a chapter's setup cell makes: ``ctx = hcc.book.setup(globals())``.

    Parameters
    ----------
    params : mapping
        The notebook's namespace (or any mapping) holding the parameters
        :data:`SETUP_PARAMETERS`; other names are ignored. ``synthetic`` is the pipeline's
        decision (:func:`hcc.privacy.decide`, injected by ``hcc build``) and is only read.
        When it is absent (a notebook executed outside ``hcc build``) the same
        :func:`hcc.privacy.decide` is asked here.
    tables : path
        Folder of the CSV downloads (created).
    style : bool
        Set the book's matplotlib and pandas display options.

    Returns
    -------
    Chapter

    Notes
    -----
    The chapter's mask carries the page's ledger (:class:`hcc.privacy.Page`: the cohort's
    and arms' sizes, regimen → arm, what the page's tables hid) and becomes the active mask
    (:func:`hcc.privacy.activate`), so a helper called without ``mask=`` applies it. A
    masked chapter (with *style*) embeds its figures as SVG whose text stays text.
    """
    from hcc.data import get_cohort
    from hcc.privacy import Decision, decide

    p = {name: params.get(name) for name in SETUP_PARAMETERS}
    k = _check_threshold(p["suppress_below"] or 0)
    if p["synthetic"] is None:
        decision = decide(p["data"], p["adverse_events"], p["seed"], k)
    else:  # the pipeline decided; which files were the user's only words the banner
        given = tuple(n for n in ("data", "adverse_events") if p[n] is not None)
        decision = Decision(synthetic=bool(p["synthetic"]), suppress_below=k,
                            user_inputs=() if p["synthetic"] else given)
    if style:
        import matplotlib.pyplot as plt

        plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False,
                             "axes.spines.right": False})
        pd.set_option("display.precision", 4)
    folder = Path(tables)
    folder.mkdir(parents=True, exist_ok=True)
    cohort = get_cohort(data=p["data"], seed=p["seed"])
    chapter = Chapter(p, decision, cohort, folder)
    from hcc.privacy import activate

    activate(chapter.mask if chapter.mask.active or chapter.mask.hide_rows else None)
    if style and chapter.mask.active:
        _figures_as_text()
    return chapter


def _figures_as_text() -> None:
    """Masked pages embed their figures as SVG with real text elements (not glyph paths), so
    that every number a figure prints can be read back (and checked) from the page."""
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")
    except Exception:  # noqa: BLE001 - outside a kernel there is no inline backend
        pass


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
def plot_km(result, ax=None, suppress_below: int = 0, synthetic: bool = True, *, mask=None, **kwargs):
    """``KMResult.plot``, drawn under the masking rule of :func:`hcc.privacy.km_steps` for real data.

    Parameters
    ----------
    result : hcc.survival.KMResult
    ax : matplotlib Axes, optional
    suppress_below, synthetic
        As :func:`show_table`; without them (and without *mask*) the chapter's mask.
    mask : hcc.privacy.Mask, optional
    **kwargs
        Passed to ``KMResult.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    With masking: numbers at risk of 1 to k − 1 read ``"<k"``; no censor ticks (each marks
    one patient); each curve and its band are redrawn by :func:`hcc.privacy.km_steps` —
    steps that pool at least k events, the curve stopped (open circle) at the last time with
    at least k patients at risk, a curve with fewer than k events not drawn — and a note
    under the figure says so. The medians drawn are the estimates of the table.
    """
    from hcc.privacy import km_steps

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


# --------------------------------------------------------------------------- rows used
def _check_frame(df, columns) -> list:
    from hcc.errors import DataError

    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a table of patients (a pandas DataFrame), got {type(df).__name__}.")
    if isinstance(columns, str):
        columns = [columns]
    columns = list(dict.fromkeys(columns))
    unknown = [c for c in columns if c not in df.columns]
    if unknown:
        raise DataError(f"no column {', '.join(map(repr, unknown))} in the data")
    return columns


def _plural(n, one: str, many: str) -> str:
    return one if n == 1 else many


class RowsUsed(Result):
    """How many patients one or more analyses used, and why the others were left out.

    Made by :func:`rows_used`, :func:`rows_used_table`, :func:`table_one_rows_used` and
    :func:`screen_rows_used`.

    Attributes
    ----------
    counts : DataFrame
        Unmasked numbers, indexed by analysis: ``used``, ``total``, ``left_out`` and, per
        column, ``missing <column>`` (the patients missing that column, whether or not they
        were also missing another one). Not displayed.
    total : int
        Number of patients in the data.
    sentences : list of str
        One sentence per analysis, counts masked when suppression is active.
    summary : DataFrame
        As displayed and written by ``to_csv``: ``used``, ``of``, ``left out``, ``why``
        (masked counts are the text ``"<k"``).

    Notes
    -----
    A patient missing several of the columns is counted once in ``left out`` and once in
    each column's count, so the per-column counts can add up to more than ``left out``.
    """

    def __init__(self, records, total: int, title: str | None = None, notes=(), k: int = 0):
        self._records = list(records)
        self.total = int(total)
        self.title = title or ""
        self.k = int(k)
        extra = (f"Counts from 1 to {self.k - 1} are shown as \"<{self.k}\".",) if self.k > 1 else ()
        self.notes = tuple(notes) + extra

    # counts ---------------------------------------------------------------
    def _c(self, n: int) -> str:
        return f"<{self.k}" if 0 < n < self.k else str(int(n))

    def _used(self, r) -> str:
        """Patients used, as shown: hidden ("*") when the patients left out are masked, since
        total − used would give them (complementary suppression)."""
        return COMPLEMENTARY_MARK if 0 < r["left_out"] < self.k else self._c(r["used"])

    @property
    def counts(self) -> pd.DataFrame:
        rows = {}
        for r in self._records:
            row = {"used": r["used"], "total": self.total, "left_out": r["left_out"]}
            row.update({f"missing {c}": n for c, n in r["missing"].items()})
            row.update({f"kept missing {c}": n for c, (n, _) in r["kept"].items()})
            rows[r["label"]] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        return out.fillna(0).astype(int)

    # for a single analysis
    @property
    def used(self) -> int:
        """Patients used by the (first) analysis."""
        return int(self._records[0]["used"])

    @property
    def left_out(self) -> int:
        """Patients left out of the (first) analysis."""
        return int(self._records[0]["left_out"])

    @property
    def missing(self) -> dict:
        """Column → patients missing it, for the (first) analysis (columns with none omitted)."""
        return dict(self._records[0]["missing"])

    # text -----------------------------------------------------------------
    def _why(self, r) -> str:
        parts = [f"missing {r['names'][c]} ({self._c(n)})" for c, n in r["missing"].items()]
        parts += [f"missing {r['names'][c]} ({self._c(n)}) {how}" for c, (n, how) in r["kept"].items()]
        return ", ".join(parts)

    def _sentence(self, r, listed: bool = False) -> str:
        if not r["label"]:
            subject = "This analysis"
        else:
            subject = r["label"] + (":" if listed else "")
        if r["left_out"] == 0:
            text = f"{subject} used all {self._c(self.total)} patients"
        elif 0 < r["left_out"] < self.k:  # "used 90 of 93" would give the <k left out
            text = (f"{subject} used all but <{self.k} of {self._c(self.total)} patients, left out "
                    "for " + ", ".join(f"missing {r['names'][c]} ({self._c(n)})"
                                       for c, n in r["missing"].items()))
        else:
            text = (f"{subject} used {self._c(r['used'])} of {self._c(self.total)} patients; "
                    f"{self._c(r['left_out'])} {_plural(r['left_out'], 'was', 'were')} left out: "
                    + ", ".join(f"missing {r['names'][c]} ({self._c(n)})"
                                for c, n in r["missing"].items()))
        kept = [f"{self._c(n)} with missing {r['names'][c]} {how}" for c, (n, how) in r["kept"].items()]
        if kept:
            text += "; " + ", ".join(kept)
        return text + "."

    @staticmethod
    def _incomplete(r) -> bool:
        return bool(r["left_out"] or r["kept"])

    @property
    def sentences(self) -> list:
        """One sentence per analysis (counts masked when suppression is active)."""
        listed = len(self._records) > 1
        return [self._sentence(r, listed) for r in self._records]

    def _lines(self) -> list:
        """The display: a sentence per analysis that left someone out, then one for the rest."""
        if len(self._records) == 1:
            return self.sentences
        lines = [s for s, r in zip(self.sentences, self._records) if self._incomplete(r)]
        rest = sum(not self._incomplete(r) for r in self._records)
        if rest and lines:
            others = "The other analysis" if rest == 1 else f"The other {rest} analyses"
            lines.append(f"{others} used all {self._c(self.total)} patients.")
        elif rest:
            lines.append(f"Each of these {rest} analyses used all {self._c(self.total)} patients.")
        return lines

    @property
    def summary(self) -> pd.DataFrame:
        rows = [{"analysis": r["label"] or "This analysis", "used": self._used(r),
                 "of": self._c(self.total), "left out": self._c(r["left_out"]), "why": self._why(r)}
                for r in self._records]
        return pd.DataFrame(rows, columns=["analysis", "used", "of", "left out", "why"]).set_index("analysis")

    def _repr_html_(self) -> str:
        head = (f"<p class='hcc-caption'><strong>{html.escape(self.title)}</strong></p>"
                if self.title else "")
        lines = self._lines()
        if len(self._records) == 1 or len(lines) == 1:
            body = f"<p class='hcc-note hcc-rows-used'>{html.escape(lines[0])}</p>"
        else:
            body = ("<ul class='hcc-rows-used'>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines)
                    + "</ul>")
        notes = "".join(f"<p class='hcc-note'>{html.escape(n)}</p>" for n in self.notes)
        return head + body + notes

    def __repr__(self) -> str:
        head = [self.title] if self.title else []
        return "\n".join(head + self._lines() + list(self.notes))


def _record(df: pd.DataFrame, label, columns, names: dict, kept: dict) -> dict:
    dropped = [c for c in columns if c not in kept]
    miss = {c: df[c].isna().to_numpy() for c in dropped}
    out = np.logical_or.reduce(list(miss.values())) if miss else np.zeros(len(df), bool)
    kept_counts = {c: (int(df[c].isna().sum()), how) for c, how in kept.items() if c in columns}
    return {"label": None if label is None else str(label),
            "used": int(len(df) - out.sum()), "left_out": int(out.sum()),
            "missing": {c: int(m.sum()) for c, m in miss.items() if m.any()},
            "kept": {c: v for c, v in kept_counts.items() if v[0]},
            "names": {c: str(names.get(c, c)) for c in columns}}


def rows_used_table(df: pd.DataFrame, analyses, labels: dict | None = None, kept: dict | None = None,
                    title: str | None = None, notes=(), suppress_below: int = 0,
                    synthetic: bool = True, *, mask=None) -> RowsUsed:
    """How many patients each of several analyses used, and why the others were left out.

    Parameters
    ----------
    df : DataFrame
        The data the analyses were run on (one row per patient).
    analyses : dict
        Analysis label → the columns it needs (a patient missing any of them is left out).
    labels : dict, optional
        Column → the name shown in "missing <name>" (e.g. ``hcc.paper.TABLE1_LABELS``).
    kept : dict, optional
        Column → how its missing values are counted when the analysis keeps them instead of
        leaving the patient out, e.g. ``{"best_response": "counted as not evaluable (NE)"}``
        (as :func:`hcc.response_table` does).
    title : str, optional
        Caption of the table.
    notes : sequence of str
        Shown under the table (e.g. how the statistics treat missing values).
    suppress_below : int
        For a non-synthetic cohort, counts ``0 < n < suppress_below`` are shown as ``"<k"``
        (the rule of :func:`suppress_small_counts`); 0 turns it off.
    synthetic : bool
        True for the synthetic reconstruction (never masked).

    Returns
    -------
    RowsUsed
        One row per analysis.

    Raises
    ------
    DataError
        *df* is not a DataFrame or a column is not in it.
    ParameterError
        A negative or non-integer *suppress_below*.

    Notes
    -----
    "Left out" is the complete-case rule of R's ``na.omit``, which :func:`hcc.cox` applies:
    the patients with a missing value in any needed column (each counted once). A value is
    missing when pandas ``isna`` says so (blank cells as read by :func:`hcc.load_cohort`).
    """
    if not isinstance(analyses, dict) or not analyses:
        raise ParameterError("give the analyses as a dict: label -> the columns it needs")
    names = dict(labels or {})
    kept = dict(kept or {})
    k = _mask(suppress_below, synthetic, mask).k
    records = [_record(df, label, _check_frame(df, cols), names, kept) for label, cols in analyses.items()]
    return RowsUsed(records, len(df), title=title, notes=notes, k=k)


def rows_used(df: pd.DataFrame, columns, label: str | None = None, labels: dict | None = None,
              kept: dict | None = None, suppress_below: int = 0, synthetic: bool = True, *,
              mask=None) -> RowsUsed:
    """The sentence under an analysis: how many patients it used and why others were left out.

    "This analysis used 90 of 93 patients; 3 were left out: missing ECOG (2), missing AFP (2)."
    or "This analysis used all 93 patients."

    Parameters
    ----------
    df : DataFrame
        The data the analysis was run on.
    columns : str or list of str
        The columns the analysis needs (time, event, group, covariates).
    label : str, optional
        The subject of the sentence ("The multivariable Cox model of OS"); default "This
        analysis".
    labels, kept, suppress_below, synthetic
        As :func:`rows_used_table`.

    Returns
    -------
    RowsUsed
        Displays as one escaped sentence; ``.used``, ``.left_out``, ``.missing`` hold the
        unmasked numbers.

    Notes
    -----
    Agrees with the statistics functions: :func:`hcc.cox` leaves out the patients missing any
    covariate (R ``na.omit``; ``CoxResult.n`` and ``.n_dropped``); :func:`hcc.km` and
    :func:`hcc.logrank` refuse missing times and events (so nothing is left out there);
    :func:`hcc.response_table` keeps a missing response as "NE" (pass ``kept``); for
    :func:`hcc.table_one` see :func:`table_one_rows_used`.
    """
    return rows_used_table(df, {label: columns}, labels=labels, kept=kept,
                           suppress_below=suppress_below, synthetic=synthetic, mask=mask)


def table_one_rows_used(df: pd.DataFrame, by: str, variables, labels: dict | None = None,
                        suppress_below: int = 0, synthetic: bool = True, *, mask=None) -> RowsUsed:
    """Per variable of Table 1: how many patients its P-value uses.

    Parameters
    ----------
    df : DataFrame
    by : str
        The grouping column (as :func:`hcc.table_one`).
    variables : list of str
    labels : dict, optional
        Column → row label (``hcc.paper.TABLE1_LABELS``).
    suppress_below, synthetic
        As :func:`rows_used_table`.

    Returns
    -------
    RowsUsed
        One row per variable.

    Notes
    -----
    :func:`hcc.table_one` shows a missing value as a "Missing" row and computes percentages
    and the P-value on complete cases (patients with both *by* and the variable known); the
    rows here count those patients.
    """
    variables = _check_frame(df, variables)
    _check_frame(df, [by])
    names = dict(labels or {})
    analyses = {str(names.get(v, v)): [by, v] for v in variables}
    return rows_used_table(df, analyses, labels=names, title="Patients used by each P-value of Table 1",
                           notes=("Missing values are shown in Table 1 as a \"Missing\" row; "
                                  "percentages and P use complete cases.",),
                           suppress_below=suppress_below, synthetic=synthetic, mask=mask)


def screen_rows_used(df: pd.DataFrame, time: str, event: str, screen, labels: dict | None = None,
                     title: str | None = None, suppress_below: int = 0,
                     synthetic: bool = True, *, mask=None) -> RowsUsed:
    """Patients used by each univariate Cox model of a screen and by the multivariable model.

    Parameters
    ----------
    df : DataFrame
        The data :func:`hcc.cox_screen` was run on.
    time, event : str
        Its outcome columns.
    screen : ScreenResult or list of str
        The result of :func:`hcc.cox_screen` (its candidates and selected covariates), or the
        list of candidates (no multivariable row).
    labels : dict, optional
        Column → label (``hcc.paper.COX_TERMS``).
    title : str, optional
        Caption; default "Patients used by each Cox model of <time>".
    suppress_below, synthetic
        As :func:`rows_used_table`.

    Returns
    -------
    RowsUsed
        Rows "Univariate: <label>" per candidate and "Multivariable: <labels>" when a
        multivariable model was fitted.

    Notes
    -----
    Each model is R's ``coxph`` with ``na.action = na.omit``: a univariate model uses the
    patients with that candidate known, the multivariable model the patients with every
    selected candidate known — so the models may use different numbers of patients.
    The counts are computed here from the data; they equal ``ScreenResult.univariate["n"]``
    and the multivariable ``CoxResult.n`` (checked in the tests).
    """
    names = dict(labels or {})
    if isinstance(screen, (list, tuple)):
        candidates, selected = list(screen), []
    else:
        candidates = list(screen.candidate_p.index)
        selected = list(screen.selected) if getattr(screen, "multivariate", None) is not None else []
    analyses = {f"Univariate: {names.get(c, c)}": [time, event, c] for c in candidates}
    if selected:
        analyses["Multivariable: " + ", ".join(str(names.get(c, c)) for c in selected)] = \
            [time, event, *selected]
    return rows_used_table(df, analyses, labels=names,
                           title=title or f"Patients used by each Cox model of {time}",
                           notes=("Each model leaves out the patients missing one of its covariates "
                                  "(R's na.omit).",),
                           suppress_below=suppress_below, synthetic=synthetic, mask=mask)
