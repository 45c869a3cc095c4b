"""The rows-used statements issue 5 asks of every analysis: "This analysis used N of M
patients; K were left out: missing <column> (k)" (:class:`RowsUsed`), masked for a user's
cohort like every count a page prints.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from hcc._results import Result
from hcc.chapter.suppress import COMPLEMENTARY_MARK, _mask
from hcc.errors import ParameterError

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
