"""The paper's Cox tables: the univariate screen then multivariate model (Tables 2 and 3) and
the treatment hazard ratio by subgroup with interaction P (Fig. 3).

Public functions
----------------
cox_screen(df, time, event, candidates, threshold=0.1, ...) -> ScreenResult
subgroup_hr(df, time, event, treatment, subgroups, ...) -> SubgroupResult

Every model is fitted by :func:`hcc.coxph.cox` / its design and library fit (lifelines for
Efron ties, statsmodels for Breslow), so each number matches R ``coxph``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc._checks import codes_levels, group_codes, outcome
from hcc._format import format_hr, format_p
from hcc._results import Result
from hcc.coxph import (_check_alpha, _check_columns, _check_ties, _chi2_p, _Design, _fit_design,
                       _solve, _wald_table, cox)
from hcc.errors import ConvergenceError, DataError

__all__ = ["cox_screen", "ScreenResult", "subgroup_hr", "SubgroupResult"]


# --------------------------------------------------------------------------- screening
def _fmt_p(p) -> str:
    """Cox tables: 3 decimals, "<0.001", "–" when missing."""
    return format_p(p, digits=3, missing="–")


class ScreenResult(Result):
    """Univariate screen then multivariate Cox model (the paper's Tables 2 and 3).

    Attributes
    ----------
    univariate : DataFrame indexed by term: ``candidate, n, events, HR, lower, upper, p``
        (one univariate model per candidate; ``n`` and ``events`` are the patients and events
        that model used — R's ``na.omit`` drops patients with that candidate missing).
    candidate_p : Series, candidate → the P used for selection.
    selected : list of candidates with univariate P < threshold, in candidate order.
    multivariate : CoxResult on the selected candidates, or None.
    summary : side-by-side table (see ``summary``).
    """

    def __init__(self, univariate, candidate_p, selected, multivariate, labels, threshold,
                 notes, title, alpha=0.05):
        self.alpha = alpha
        self.univariate = univariate
        self.candidate_p = candidate_p
        self.selected = selected
        self.multivariate = multivariate
        self.labels = labels
        self.threshold = threshold
        self.notes = tuple(notes)
        self.title = title

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term, indexed by its label: ``candidate, term`` then numeric
        ``uni_HR, uni_lower, uni_upper, uni_p, multi_HR, multi_lower, multi_upper, multi_p``
        and text ``"Univariate HR (95% CI)", "Univariate P", "Multivariate HR (95% CI)",
        "Multivariate P"`` ("–" / NaN where a term was not selected)."""
        u = self.univariate
        m = self.multivariate.summary if self.multivariate is not None else None
        rows = []
        for term, r in u.iterrows():
            cand = r["candidate"]
            lab = self.labels.get(cand, cand)
            if term != cand:
                lab = f"{lab} {term[len(cand):]}" if term.startswith(cand) else term
            mr = m.loc[term] if (m is not None and term in m.index) else None
            rows.append({
                "label": lab, "candidate": cand, "term": term,
                "uni_HR": r["HR"], "uni_lower": r["lower"], "uni_upper": r["upper"], "uni_p": r["p"],
                "multi_HR": mr["HR"] if mr is not None else np.nan,
                "multi_lower": mr["lower"] if mr is not None else np.nan,
                "multi_upper": mr["upper"] if mr is not None else np.nan,
                "multi_p": mr["p"] if mr is not None else np.nan,
            })
        out = pd.DataFrame(rows).set_index("label")
        out.index.name = None
        ci = f"{100 * (1 - self.alpha):g}% CI"
        out[f"Univariate HR ({ci})"] = [format_hr(a, b, c) for a, b, c in
                                       zip(out.uni_HR, out.uni_lower, out.uni_upper)]
        out["Univariate P"] = [_fmt_p(x) for x in out.uni_p]
        out[f"Multivariate HR ({ci})"] = [format_hr(a, b, c) for a, b, c in
                                         zip(out.multi_HR, out.multi_lower, out.multi_upper)]
        out["Multivariate P"] = [_fmt_p(x) for x in out.multi_p]
        return out

    def plot(self, ax=None, which: str = "multivariate", **kwargs):
        """Forest plot of the univariate or (default) multivariate hazard ratios."""
        from hcc.forest import forest_plot

        s = self.summary
        pre = "multi_" if which == "multivariate" else "uni_"
        s = s[np.isfinite(s[pre + "HR"])]
        return forest_plot(s, ax=ax, hr=pre + "HR", lower=pre + "lower", upper=pre + "upper",
                           p=pre + "p", n=None, **kwargs)


def cox_screen(df: pd.DataFrame, time: str, event: str, candidates, threshold: float = 0.1,
               ties: str = "efron", labels: dict | None = None, alpha: float = 0.05,
               reference: dict | None = None) -> ScreenResult:
    """Univariate Cox screen, then one multivariate model of the candidates with P < threshold.

    Parameters
    ----------
    df, time, event : as :func:`cox`.
    candidates : list of str
        Covariate columns, each fitted alone.
    threshold : float
        Candidates with univariate P strictly below it enter the multivariate model.
    ties, alpha, reference : as :func:`cox`.
    labels : dict, optional
        Column → row label of the summary table.

    Returns
    -------
    ScreenResult

    Notes
    -----
    The selection P of a candidate is its Wald P (for a factor with more than two levels the
    multi-df Wald test of all its terms), as R ``summary(coxph)``.  Each univariate model uses
    the patients with that candidate known; the multivariate model the patients with all
    selected candidates known (R's ``na.omit`` per model).  A candidate whose univariate model
    cannot be fitted (infinite HR) gets NaN and a note, and is not selected.
    """
    ties = _check_ties(ties)
    alpha = _check_alpha(alpha)
    if isinstance(candidates, str):
        candidates = [candidates]
    candidates = list(candidates)
    if not candidates:
        raise DataError("give at least one candidate covariate")
    if not (0 < threshold <= 1):
        raise DataError(f"threshold must be between 0 and 1, not {threshold!r}")
    labels = dict(labels or {})
    reference = dict(reference or {})
    _check_columns(df, time, event, candidates)
    rows, cand_p, notes = [], {}, []
    for c in candidates:
        ref = {c: reference[c]} if c in reference else None
        try:
            r = cox(df, time, event, [c], ties=ties, alpha=alpha, reference=ref)
        except ConvergenceError as exc:
            notes.append(f"'{c}': univariate model not fitted ({exc}).")
            rows.append({"term": c, "candidate": c, "n": np.nan, "events": np.nan,
                         "HR": np.nan, "lower": np.nan, "upper": np.nan, "p": np.nan})
            cand_p[c] = np.nan
            continue
        s = r.summary
        for term, sr in s.iterrows():
            rows.append({"term": term, "candidate": c, "n": r.n, "events": r.events,
                         "HR": sr["HR"], "lower": sr["lower"], "upper": sr["upper"],
                         "p": sr["p"]})
        cand_p[c] = r.term_test(c)[2] if len(s) > 1 else float(s["p"].iloc[0])
        notes.extend(n for n in r.notes if n.startswith("'") or "left out" in n)
    uni = pd.DataFrame(rows).set_index("term")
    uni.index.name = None
    cand_p = pd.Series(cand_p, dtype=float)
    selected = [c for c in candidates if np.isfinite(cand_p[c]) and cand_p[c] < threshold]
    multi = None
    if selected:
        multi = cox(df, time, event, selected, ties=ties, alpha=alpha,
                    reference={k: v for k, v in reference.items() if k in selected} or None)
    else:
        notes.append(f"No candidate had univariate P < {threshold:g}; no multivariate model.")
    notes.append(f"Selection: univariate Wald P < {threshold:g}; ties: {ties}.")
    res = ScreenResult(uni, cand_p, selected, multi, labels, threshold,
                       list(dict.fromkeys(notes)),
                       f"Univariate and multivariate Cox models of {time}", alpha)
    return res


# --------------------------------------------------------------------------- subgroups
class SubgroupResult(Result):
    """Treatment hazard ratio within each level of each subgroup variable.

    ``summary`` is indexed by (subgroup, level) with columns ``n, events, HR, lower, upper,
    p, p_interaction`` (the interaction P is repeated on every level of its variable; the
    first row, ("All patients", ""), is the whole cohort)."""

    def __init__(self, table, treatment, ref, level, notes, title):
        self._table = table
        self.treatment, self.reference, self.level = treatment, ref, level
        self.notes = tuple(notes)
        self.title = title

    @property
    def p_interaction(self) -> pd.Series:
        t = self._table
        t = t[t.index.get_level_values(0) != "All patients"]
        return t.groupby(level=0, sort=False)["p_interaction"].first()

    def plot(self, ax=None, **kwargs):
        """Forest plot (the paper's Fig. 3 style); returns the Axes."""
        from hcc.forest import forest_plot

        kwargs.setdefault("favours", (f"Favours {self.level}", f"Favours {self.reference}"))
        kwargs.setdefault("title", self.title)
        return forest_plot(self._table, ax=ax, **kwargs)


def subgroup_hr(df: pd.DataFrame, time: str, event: str, treatment: str, subgroups,
                ties: str = "efron", alpha: float = 0.05, reference=None,
                labels: dict | None = None, overall: bool = True) -> SubgroupResult:
    """Hazard ratio of *treatment* within subgroups, with interaction P (Fig. 3).

    Parameters
    ----------
    df, time, event : as :func:`cox`.
    treatment : str
        Two-level column; the HR is second level vs *reference* (default: first in sorted
        order).
    subgroups : list of str
        Categorical columns (0/1 indicators count as two levels).
    ties, alpha : as :func:`cox`.
    reference : optional reference level of *treatment*.
    labels : dict, optional
        Subgroup column → label used in the summary index.
    overall : bool
        Add a first row for all patients.

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Within each level: R ``coxph(Surv(time, event) ~ treatment, subset = level)``.
    Interaction P: Wald test of the treatment × subgroup terms of
    ``coxph(Surv(time, event) ~ treatment * subgroup)`` on all patients with the subgroup
    known: ``b' solve(V) b`` over the interaction coefficients and their block of
    ``vcov(fit)``, chi-square with (levels - 1) df.  A level whose model cannot be fitted
    (one arm absent or without events: infinite HR) gets NaN and a note, not an error; so
    does an interaction P that cannot be estimated.
    """
    ties = _check_ties(ties)
    alpha = _check_alpha(alpha)
    if isinstance(subgroups, str):
        subgroups = [subgroups]
    subgroups = list(subgroups)
    labels = dict(labels or {})
    _check_columns(df, time, event, [treatment], role="treatment")
    _check_columns(df, time, event, subgroups, role="subgroup")
    if treatment in subgroups:
        raise DataError(f"'{treatment}' is the treatment; it cannot also be a subgroup")
    t_all, e_all = outcome(df, time, event)
    z, ref, level = _treatment_indicator(df, treatment, reference)
    notes = [f"HR of {treatment} {level} vs {ref}; ties: {ties}; Wald CI and P."]
    rows = []

    def one(mask, key):
        return _level_hr(t_all[mask], e_all[mask], z[mask], key, treatment, ties, alpha, notes)

    if overall:
        rows.append((("All patients", ""), one(np.ones(len(df), bool), "All patients")))
    for sg in subgroups:
        name = labels.get(sg, sg)
        col = df[sg]
        known = col.notna().to_numpy()
        if (~known).any():
            notes.append(f"'{sg}': {int((~known).sum())} patient(s) with a missing value left out.")
        slv = codes_levels(col)[1]
        if len(slv) < 2:
            raise DataError(f"subgroup '{sg}' has the same value for every patient")
        vals = col.to_numpy()
        p_int = _interaction_p(t_all[known], e_all[known], z[known], vals[known], slv, treatment,
                               sg, ties, notes)
        for l in slv:
            mask = np.asarray(known & (vals == l), bool)
            rec = one(mask, f"{name} = {l}")
            rec["p_interaction"] = p_int
            rows.append(((name, l), rec))
    index = pd.MultiIndex.from_tuples([r[0] for r in rows], names=["subgroup", "level"])
    table = pd.DataFrame([r[1] for r in rows], index=index,
                         columns=["n", "events", "HR", "lower", "upper", "p", "p_interaction"])
    return SubgroupResult(table, treatment, ref, level, notes,
                          f"{treatment}: {level} vs {ref} by subgroup ({time})")


def _treatment_indicator(df, treatment, reference):
    """(1.0 for the second level / 0.0 for the reference, reference, second level)."""
    _, lv = group_codes(df, treatment)  # the one wording for a missing group value
    if len(lv) != 2:
        raise DataError(f"treatment column '{treatment}' must have exactly two groups; found "
                        f"{len(lv)} ({', '.join(map(str, lv))})")
    ref = lv[0] if reference is None else reference
    if ref not in lv:
        raise DataError(f"reference level '{ref}' of '{treatment}' does not occur in the data")
    level = [x for x in lv if x != ref][0]
    return (df[treatment].to_numpy() == level).astype(float), ref, level


def _level_hr(t, e, zz, key, treatment, ties, alpha, notes) -> dict:
    """The treatment HR among one level's patients; NaN and a note when not estimable."""
    n = int(len(t))
    ev = int(e.sum())
    rec = {"n": n, "events": ev, "HR": np.nan, "lower": np.nan, "upper": np.nan,
           "p": np.nan, "p_interaction": np.nan}
    if ev == 0 or zz.min() == zz.max():
        notes.append(f"{key}: HR not estimable (" + ("no events" if ev == 0 else
                     "only one treatment group") + ").")
        return rec
    des = _Design(time=t, event=e, X=zz[:, None], terms=[treatment], assign={treatment: [0]},
                  levels={})
    try:
        _, fit = _fit_design(des, ties)
    except ConvergenceError:
        notes.append(f"{key}: HR not estimable (no events in one treatment group).")
        return rec
    s = _wald_table(fit.beta, fit.var, [treatment], alpha).iloc[0]
    rec.update(HR=s["HR"], lower=s["lower"], upper=s["upper"], p=s["p"])
    return rec


def _interaction_p(t, e, zk, vals, slv, treatment, sg, ties, notes) -> float:
    """Wald P of the treatment × subgroup terms of treatment + dummies + treatment × dummies
    (patients with the subgroup known); NaN and a note when not estimable."""
    sref = slv[0]
    dummies = [(vals == l).astype(float) for l in slv[1:]]
    X = np.column_stack([zk, *dummies, *[zk * d for d in dummies]])
    k = len(dummies)
    terms = [treatment] + [f"{sg}[{l} vs {sref}]" for l in slv[1:]] + \
            [f"{treatment}:{sg}[{l} vs {sref}]" for l in slv[1:]]
    des = _Design(time=t, event=e, X=X, terms=terms, assign={}, levels={})
    try:
        _, fit = _fit_design(des, ties)
        idx = list(range(1 + k, 1 + 2 * k))
        b = fit.beta[idx]
        stat = float(b @ _solve(fit.var[np.ix_(idx, idx)], b))
        return _chi2_p(stat, k)
    except (ConvergenceError, DataError) as exc:
        notes.append(f"'{sg}': interaction P not estimable ({exc}).")
        return np.nan
