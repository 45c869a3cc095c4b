"""Adverse events by arm: patients with any AE, with severe AEs, per term, immune-related
and leading to discontinuation.

Counts are of *patients* (a patient with three rash events counts once for rash);
denominators are all patients of each arm in the cohort table, including those without
any adverse event. P compares patients with vs without across arms with the test chosen
(Yates-corrected chi-square by default, as the paper).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc._format import format_p
from hcc._results import Result, escape_frame_html, notes_html
from hcc.errors import DataError, ParameterError
from hcc.tables import TESTS, compare_categorical, test_phrase

AE_COLUMNS = ("term", "grade")
OPTIONAL_FLAGS = ("immune_related", "led_to_discontinuation")


def _patients_with(mask: np.ndarray, ae_pid: np.ndarray, pid_arm: pd.Series, arms: list) -> pd.Series:
    pids = pd.unique(ae_pid[mask])
    return pid_arm.loc[pids].value_counts().reindex(arms, fill_value=0)


def _p_across(yes: pd.Series, n: pd.Series, test: str) -> float:
    if len(n) < 2:
        return float("nan")
    table = np.vstack([yes.to_numpy(), (n - yes).to_numpy()])
    if (table.sum(axis=1) == 0).any() or (table.sum(axis=0) == 0).any():
        return float("nan")
    return compare_categorical(table, test)


class SafetyResult(Result):
    """Adverse-event summary.

    Attributes
    ----------
    summary : DataFrame
        Rows "Any AE", "Grade ≥ 3 AE", "Immune-related AE", "AE leading to discontinuation";
        columns ``"<arm> n"``, ``"<arm> %"`` per arm, ``"Overall n"``, ``"Overall %"``, ``"P"``.
    by_term : DataFrame
        Index term, sorted by the number of patients (any grade, all arms): per arm
        ``"<arm> any n"``, ``"<arm> any %"``, ``"<arm> severe n"``, ``"<arm> severe %"``,
        then ``"Overall any n"``, ``"P any"``, ``"P severe"``.
    immune_related, discontinuations : DataFrame
        Patients per term and arm (n), for events flagged immune-related / leading to
        discontinuation.
    n : Series
        Patients per arm (denominators).
    """

    def __init__(self, summary, by_term, immune, disc, n, grade_min_severe, test, arm, notes):
        self._summary = summary
        self.by_term = by_term
        self.immune_related = immune
        self.discontinuations = disc
        self.n = n
        self.grade_min_severe = grade_min_severe
        self.test = test
        self.arms = list(n.index)
        self.arm_col = arm
        self.notes = tuple(notes)
        self.title = f"Adverse events by {arm}"

    @property
    def summary(self) -> pd.DataFrame:
        return self._summary

    def _repr_html_(self) -> str:
        def fmt(frame: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
            shown = pd.DataFrame(index=frame.index)
            for a in self.arms + ["Overall"]:
                for kind in kinds:
                    ncol = f"{a} {kind}n".replace("  ", " ")
                    pcol = f"{a} {kind}%".replace("  ", " ")
                    if ncol in frame:
                        label = f"{a} (n={int(self.n.sum() if a == 'Overall' else self.n[a])})" + (
                            f" {kind.strip()}" if kind.strip() else "")
                        if pcol in frame:
                            shown[label] = [f"{int(n_)} ({p_:.1f}%)" for n_, p_ in zip(frame[ncol], frame[pcol])]
                        else:
                            shown[label] = frame[ncol].astype(int)
            for c in frame.columns:
                if c.startswith("P"):
                    shown[c] = [format_p(p) for p in frame[c]]
            return shown

        body = escape_frame_html(fmt(self._summary, [""]), caption=self.title)
        if len(self.by_term):
            body += escape_frame_html(fmt(self.by_term, ["any ", "severe "]),
                                      caption=f"By term (any grade; grade ≥ {self.grade_min_severe})")
        return body + notes_html(self.notes + (f"Patients counted once per row; P: "
                                               f"{test_phrase(self.test)}.",))

    def plot(self, ax=None, top: int | None = 15, severe: bool = False, colors=None, mask=None):
        """Horizontal bars (seaborn) of the percentage of patients per term by arm; returns the Axes.

        ``severe=True`` plots grade ≥ ``grade_min_severe`` instead of any grade; ``top`` keeps
        the most frequent terms. With an active ``mask`` (:class:`hcc.pipeline.privacy.Mask`) a bar
        is not drawn where the masked table (:func:`hcc.chapter.suppress.suppress_small_counts` of
        ``by_term``) hides its count — fewer than ``mask.k`` patients, or all but fewer than
        ``mask.k`` of the arm — and the axis label says so.
        """
        import matplotlib.pyplot as plt
        import seaborn as sns

        from hcc.plots import group_colors

        kind = "severe" if severe else "any"
        bt = self.by_term if top is None else self.by_term.head(top)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * max(len(bt), 3) + 1.2))
        hide = mask is not None and mask.active
        if hide:  # hide what the masked table hides (small counts and the cells hidden with them)
            from hcc.chapter.suppress import suppress_small_counts

            shown = suppress_small_counts(self.by_term, mask.k, page=mask.page)
        long = pd.DataFrame([{"term": t, "arm": a,
                              "pct": np.nan if hide and isinstance(shown.loc[t, f"{a} {kind} n"], str)
                              else bt.loc[t, f"{a} {kind} %"]}
                             for t in bt.index for a in self.arms])
        if len(long) == 0:
            ax.text(0.5, 0.5, "No adverse events", ha="center", va="center", transform=ax.transAxes)
            return ax
        sns.barplot(data=long, y="term", x="pct", hue="arm", hue_order=self.arms,
                    palette=group_colors(self.arms, colors), orient="h", saturation=1, ax=ax)
        ax.set_xlabel("Patients (%)" + (f", grade ≥ {self.grade_min_severe}" if severe else ", any grade")
                      + (f"\nbars for fewer than {mask.k} patients (or all but fewer) are not drawn" if hide else ""))
        ax.set_ylabel("")
        ax.legend(title=self.arm_col, frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
        return ax


def safety_table(ae: pd.DataFrame, df: pd.DataFrame, arm: str, patient_id: str = "patient_id",
                 test: str = "yates", grade_min_severe: int = 3) -> SafetyResult:
    """Adverse events per arm.

    Parameters
    ----------
    ae : DataFrame
        One row per adverse event: *patient_id*, ``term``, ``grade`` (1–5), optionally
        ``immune_related`` and ``led_to_discontinuation`` (0/1).
    df : DataFrame
        The cohort, one row per patient, with *patient_id* and *arm* (the denominators).
    arm : str
    patient_id : str
    test : {"yates", "chi2", "fisher"}
    grade_min_severe : int
        Lowest grade counted as severe (3: grade ≥ 3).

    Returns
    -------
    SafetyResult

    Raises
    ------
    DataError
        Unknown or duplicated patient ids, grades outside 1–5, flags other than 0/1.

    Notes
    -----
    R parity: per row ``chisq.test(rbind(with, without))`` (Yates on 2×2) or
    ``fisher.test``, as for Table 1.
    """
    grade, flags, notes = _checked(ae, df, arm, patient_id, test, grade_min_severe)
    pid_arm = df.set_index(df[patient_id].astype(str))[arm]
    arms = sorted(df[arm].unique(), key=str)
    n = pid_arm.value_counts().reindex(arms, fill_value=0)
    ae_pid = ae[patient_id].astype(str).to_numpy()
    term = ae["term"].astype(str).to_numpy()

    def row(mask):
        return _count_row(_patients_with(mask, ae_pid, pid_arm, arms), n, arms, test)

    severe = grade >= grade_min_severe
    rows = {"Any AE": row(np.ones(len(ae), dtype=bool)), f"Grade ≥ {grade_min_severe} AE": row(severe)}
    if flags["immune_related"] is not None:
        rows["Immune-related AE"] = row(flags["immune_related"])
    if flags["led_to_discontinuation"] is not None:
        rows["AE leading to discontinuation"] = row(flags["led_to_discontinuation"])
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "adverse events"
    by_term = _by_term(term, severe, row, arms)
    immune = _flag_table(flags["immune_related"], term, ae_pid, pid_arm, arms)
    disc = _flag_table(flags["led_to_discontinuation"], term, ae_pid, pid_arm, arms)
    return SafetyResult(summary, by_term, immune, disc, n, grade_min_severe, test, arm, notes)


def _checked(ae, df, arm, patient_id, test, grade_min_severe):
    """The inputs' problems as DataError / ParameterError; (grades as ints, flag → bool array
    or None when the column is absent, notes)."""
    if test not in TESTS:
        raise ParameterError(f"test must be one of {', '.join(TESTS)}; got {test!r}.")
    if grade_min_severe not in (1, 2, 3, 4, 5):
        raise ParameterError("grade_min_severe must be a CTCAE grade from 1 to 5.")
    for name, frame, cols in (("adverse-event table", ae, (patient_id,) + AE_COLUMNS),
                              ("cohort table", df, (patient_id, arm))):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"The {name} must be a pandas DataFrame.")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"The {name} has no column(s) {', '.join(missing)}.")
    if len(df) == 0:
        raise DataError("The cohort table is empty: there are no patients to count.")
    if df[patient_id].isna().any() or df[patient_id].duplicated().any():
        dup = df.loc[df[patient_id].duplicated(), patient_id].astype(str).unique()[:5]
        raise DataError("Every patient must appear once in the cohort table with an id; "
                        f"duplicated or missing ids: {', '.join(dup) or 'missing'}.")
    if df[arm].isna().any():
        raise DataError(f"{int(df[arm].isna().sum())} patient(s) have no value in '{arm}'.")
    unknown = sorted(set(ae[patient_id].astype(str)) - set(df[patient_id].astype(str)))
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DataError(f"{len(unknown)} patient id(s) in the adverse-event table are not in the cohort: "
                        f"{', '.join(unknown[:10])}{more}.")
    grade = pd.to_numeric(ae["grade"], errors="coerce")
    bad_grade = grade.isna() | ~grade.isin([1, 2, 3, 4, 5])
    if bad_grade.any():
        vals = ", ".join(repr(v) for v in ae.loc[bad_grade, "grade"].unique()[:5])
        raise DataError(f"Adverse-event grades must be whole numbers from 1 to 5 (CTCAE); found {vals}.")
    if ae["term"].isna().any():
        raise DataError(f"{int(ae['term'].isna().sum())} adverse event(s) have no term.")
    notes, flags = [], {}
    for flag in OPTIONAL_FLAGS:
        if flag in ae.columns:
            v = pd.to_numeric(ae[flag], errors="coerce")
            if not v.isin([0, 1]).all():
                raise DataError(f"Column '{flag}' of the adverse-event table must be 0 or 1.")
            flags[flag] = v.to_numpy(dtype=int) == 1
        else:
            flags[flag] = None
            notes.append(f"The adverse-event table has no '{flag}' column; that table is empty.")
    return grade.to_numpy(dtype=int), flags, notes


def _count_row(yes: pd.Series, n: pd.Series, arms, test: str) -> dict:
    """Patients with the event per arm: n and % of the arm, Overall, and the P across arms."""
    rec = {}
    for a in arms:
        rec[f"{a} n"] = int(yes[a])
        rec[f"{a} %"] = 100 * yes[a] / n[a] if n[a] else np.nan
    rec["Overall n"] = int(yes.sum())
    rec["Overall %"] = 100 * yes.sum() / n.sum()
    rec["P"] = _p_across(yes, n, test)
    return rec


def _by_term(term: np.ndarray, severe: np.ndarray, row, arms) -> pd.DataFrame:
    """Any grade and severe per term, most frequent first (*row* counts one event mask)."""
    term_rows = {}
    for t in pd.unique(term):
        r = {"any": row(term == t), "severe": row((term == t) & severe)}
        term_rows[t] = ({f"{a} {kind} {x}": r[kind][f"{a} {x}"] for a in arms for kind in r for x in ("n", "%")}
                        | {f"Overall {kind} n": r[kind]["Overall n"] for kind in r}
                        | {f"P {kind}": r[kind]["P"] for kind in r})
    by_term = pd.DataFrame.from_dict(term_rows, orient="index")
    if len(by_term):
        by_term = by_term.rename_axis("term").reset_index()
        by_term = by_term.sort_values(["Overall any n", "term"], ascending=[False, True]).set_index("term")
    return by_term


def _flag_table(mask, term, ae_pid, pid_arm, arms) -> pd.DataFrame:
    """Patients per term and arm among the flagged events (immune-related, discontinuation)."""
    if mask is None or not mask.any():
        return pd.DataFrame(columns=arms, dtype=int).rename_axis("term")
    rec = {}
    for t in pd.unique(term[mask]):
        rec[t] = _patients_with(mask & (term == t), ae_pid, pid_arm, arms)
    out = pd.DataFrame(rec).T.rename_axis("term")
    return out.loc[out.sum(axis=1).sort_values(ascending=False, kind="stable").index]
