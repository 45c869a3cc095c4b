"""Small-cell suppression of a chapter's tables: counts ``0 < n < k`` read ``"<k"``, and
complementary suppression (``"*"``) until no hidden cell can be worked out.

Applies only to a non-synthetic cohort and only when ``suppress_below > 0`` (the decision is
:func:`hcc.pipeline.privacy.decide`; a chapter passes its :class:`hcc.pipeline.privacy.Mask`).
Counts equal to 0 are shown. Masked cells are complemented (see
:func:`suppress_small_counts`) so that a masked cell cannot be recovered from an Overall
column or from the other levels of a variable. :class:`MaskedTable` displays the result.
"""
from __future__ import annotations

import html
import math
import numbers
import re

import numpy as np
import pandas as pd

from hcc._results import escape_frame_html
from hcc.errors import ParameterError

#: Column names (last level) that hold counts even when stored as floats.
_COUNT_COLUMNS = {"n", "events", "n_risk", "n_event", "n_censor", "responders", "observed"}
#: Text cells that are counts: "3" or "3 (8.1%)" (optionally followed by a CI in brackets).
_COUNT_TEXT = re.compile(r"^\s*(\d+)\s*(?:\(|$)")
#: A group size in a column label, as Table 1 prints it: "TKI (n=37)".
_GROUP_SIZE = re.compile(r"\(n=(\d+)\)")
#: Columns that sit beside a count column "<prefix> n" and reveal it.
_SIBLING_SUFFIXES = (" %", " lower", " upper")


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
    """The :class:`hcc.pipeline.privacy.Mask` a helper applies: *mask* when given (what a chapter gets
    from :func:`setup`), else the one the keyword pair ``suppress_below``/``synthetic`` means."""
    from hcc.pipeline.privacy import Mask, resolve

    if mask is not None:
        if not isinstance(mask, Mask):
            raise ParameterError(f"mask must be an hcc.pipeline.privacy.Mask, not {type(mask).__name__}")
        return mask
    if _check_threshold(suppress_below) == 0 and synthetic:
        return resolve(None)  # nothing said: the chapter's mask (hcc.pipeline.privacy.activate), if any
    return Mask.from_flags(suppress_below, synthetic)


def _label(column) -> str:
    return " ".join(str(c) for c in column) if isinstance(column, tuple) else str(column)


def _last(column) -> str:
    return str(column[-1]) if isinstance(column, tuple) else str(column)


def _is_paper_column(column) -> bool:
    """Published numbers are public: any column whose label starts with "paper"."""
    return _label(column).strip().lower().startswith("paper")


def _is_count_column(column) -> bool:
    """A column of counts by its name (last level): :data:`_COUNT_COLUMNS` or "<prefix> n"."""
    name = _last(column)
    return name in _COUNT_COLUMNS or name.endswith(" n")


def _is_small(value, k: int, count_column: bool) -> bool:
    """A count 1..k-1: an integer, a text count, or an integer-valued float of a count column."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and not count_column:
        return False
    c = _count_of(value)
    return c is not None and 0 < c < k


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
    page : hcc.pipeline.privacy.Page, optional
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
    :mod:`hcc.pipeline.privacy` ("What masking covers").
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
        counting = _is_count_column(col)
        small.iloc[:, j] = [_is_small(v, k, counting or bool(c)) for v, c in zip(out.iloc[:, j], count_rows)]
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


def _arm_columns(frame: pd.DataFrame) -> list:
    """(position, group, rest of the label) of the count columns of an arm: "TKI n", "TKI any
    n", "TKI (n=37)" → group "TKI", "TKI-ICI" or "Overall", rest " n", " any n", " (n=)"."""
    out = []
    for j, c in enumerate(frame.columns):
        m = None if _is_paper_column(c) else _GROUP_COLUMN.match(_label(c).strip())
        rest = _GROUP_SIZE.sub("(n=)", m.group(2)) if m else ""
        if m and (rest.endswith(" n") or "(n=)" in rest or rest.strip() == ""):
            out.append((j, m.group(1), rest))
    return out


def _count_columns(frame: pd.DataFrame) -> dict:
    """Column position → its group for the count columns of an arm (:func:`_arm_columns`)."""
    return {j: g for j, g, _ in _arm_columns(frame)}


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
    positions = _count_positions(frame)
    for i, (_, g) in _level_rows(frame).items():  # "Cause = HBV, TKI": a level within an arm
        n = sizes.get(g)
        for j, ok in enumerate(positions if n else ()):
            c = _count_of(frame.iat[i, j]) if ok and not isinstance(frame.iat[i, j], (bool, np.bool_)) else None
            if c is not None and 0 < n - c < k:
                small.iat[i, j] = True
    for j, g in _count_columns(frame).items():
        n = sizes.get(g)
        if not n:
            continue
        for i in range(len(frame)):
            c = _count_of(frame.iat[i, j])
            if c is not None and 0 < n - c < k:
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
        counting = _is_count_column(col) or j in arm_counts
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
    triples: dict[str, dict[str, int]] = {}
    for j, group, rest in _arm_columns(frame):
        triples.setdefault(rest, {})[group] = j
    # a row's total must be printed for the arms to reveal each other: Overall present
    triples = {r: t for r, t in triples.items() if {"Overall", "TKI", "TKI-ICI"} <= set(t)}
    groups = None
    if isinstance(frame.index, pd.MultiIndex) and frame.index.nlevels > 1:
        groups = pd.Series(range(len(frame))).groupby(frame.index.get_level_values(0).to_numpy()).indices
    relations = _row_relations(frame)
    count_cols = [j for j, c in enumerate(frame.columns) if not _is_paper_column(c) and _is_count_column(c)]
    equations = _equations(frame, triples, groups, relations, count_cols)
    equations += _nested_equations(frame, count_cols, page)
    equations += _label_equations(frame)
    changed = True
    while changed:
        changed = False
        for j in count_cols:  # declared sums: total = sum of parts, in each count column
            for total, parts in relations:
                changed |= _hide_partner(frame, small, parts + ([total] if total is not None else []), j)
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
                changed |= _hide_partner(frame, small, rows, j)
        if not changed:  # the simple rules are met: does a combination of sums still solve a cell?
            changed = _hide_one_derivable(frame, small, equations)


def _hide_partner(frame, small, cells, j) -> bool:
    """When exactly one of the rows *cells* of column *j* is hidden, hide the smallest shown
    count among them too (in place on *small*); True when it did."""
    masked = [i for i in cells if small.iat[i, j]]
    shown = [(c, i) for i in cells if not small.iat[i, j]
             and (c := _count_of(frame.iat[i, j])) not in (None, 0)]
    if len(masked) == 1 and shown:
        small.iat[min(shown)[1], j] = True
        return True
    return False


def _add_equation(eqs: list, frame, eq: dict) -> None:
    """Keep *eq* when it links two cells or more that all hold counts (else it solves nothing)."""
    if len(eq) >= 2 and all(_count_of(frame.iat[i, j]) is not None for i, j in eq):
        eqs.append(eq)


def _equations(frame, triples, groups, relations, count_cols) -> list:
    """The sums a table states, as equations over its count cells: a list of
    ``{(row, column): coefficient}`` whose weighted sum is known to a reader (a total shown
    in the table, or a group size the page states). Cells that hold no count drop the
    equation (it cannot be used to solve anything)."""
    eqs = []
    for t in triples.values():  # Overall = TKI + TKI-ICI, per row
        for i in range(len(frame)):
            _add_equation(eqs, frame, {(i, t["Overall"]): 1.0, (i, t["TKI"]): -1.0, (i, t["TKI-ICI"]): -1.0})
    cols = sorted(set(count_cols) | {j for t in triples.values() for j in t.values()})
    for j in cols:
        for total, parts in relations:  # declared: total - parts = 0, or parts = the arm
            eq = {(i, j): -1.0 for i in parts}
            if total is not None:
                eq[(total, j)] = 1.0
            _add_equation(eqs, frame, eq)
    return eqs + _sums(frame, groups.values() if groups is not None else (), cols)


def _sums(frame, row_groups, columns) -> list:
    """Equations "these rows add up to a known total", per group of rows and column."""
    eqs = []
    for rows in row_groups:
        for j in columns:
            _add_equation(eqs, frame, {(i, j): 1.0 for i in rows})
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
    return _sums(frame, by_parent.values(), count_cols)


#: Row labels of the comparison tables that name a level of a variable within an arm:
#: "Sex = Male, TKI" (Table 1 counts) and "TKI: regimen REG", "TKI: best response CR".
_LEVEL_LABELS = (re.compile(r"^(?P<var>.+?) = (?P<level>.+), (?P<group>Overall|TKI-ICI|TKI)$"),
                 re.compile(r"^(?P<group>Overall|TKI-ICI|TKI): (?P<var>.+) (?P<level>\S+)$"))


def _row_labels(frame) -> list:
    """Row labels: the ``item`` column when there is one, else the (last level of the) index."""
    return (frame["item"].astype(str).tolist() if "item" in frame.columns
            else [str(r[-1] if isinstance(r, tuple) else r) for r in frame.index])


def _level_rows(frame) -> dict:
    """Row position → (variable, arm), for rows labelled as a level within an arm
    (:data:`_LEVEL_LABELS`)."""
    out = {}
    for i, lab in enumerate(_row_labels(frame)):
        m = next((m for pattern in _LEVEL_LABELS if (m := pattern.match(lab.strip()))), None)
        if m:
            out[i] = (m.group("var"), m.group("group"))
    return out


def _label_equations(frame) -> list:
    """Tables of items (the fidelity report, the comparisons with the paper) list the levels
    of a variable within an arm row by row; those rows add up to the arm, whose size the
    page prints: one equation per (variable, arm) and count column. Labels from the ``item``
    column when there is one, else the index."""
    keys: dict = {}
    for i, key in _level_rows(frame).items():
        keys.setdefault(key, []).append(i)
    columns = [j for j, ok in enumerate(_count_positions(frame))
               if ok and _last(frame.columns[j]) not in ("item", "kind", "section")]
    return _sums(frame, keys.values(), columns)


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

