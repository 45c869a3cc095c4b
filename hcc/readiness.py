"""Can the book run on this cohort? The checks beyond the data dictionary (issue 13).

:func:`check_inputs` reads the files (every data-dictionary problem first, as
:func:`hcc.cohort.validate.check_file`), then :func:`check_book` asks what the chapters need:

* both arms present (every chapter compares TKI with TKI-ICI);
* events in each arm and endpoint (log-rank, Cox);
* no covariate of a model with a single level (a Cox model or a subgroup cannot be fitted);
* no Cox model with monotone likelihood (a level without events: infinite hazard ratio);
* enough events for each model (errors where a model cannot be estimated, warnings where it
  will be unstable: fewer than :data:`MIN_EVENTS_PER_COVARIATE` events per covariate);
* every patient of the adverse-event file present in the cohort.

Errors name the chapters that cannot run, warnings the chapters whose results will be
unstable; both name the column. ``hcc validate`` prints them, and ``hcc build`` runs the
same checks before the first notebook and stops on an error.

The models listed here are the book's models (:data:`MODELS`); a test checks that the
chapters still call them with these covariates.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hcc import paper
from hcc.errors import Problem

__all__ = ["check_book", "check_inputs", "errors", "warnings_", "MODELS",
           "DISCUSSION_CONFOUNDERS", "MIN_EVENTS_PER_COVARIATE"]

#: Events per covariate below which a Cox model is reported as unstable (a warning).
MIN_EVENTS_PER_COVARIATE = 5
ENDPOINTS = {"os": ("os_months", "os_event", "overall survival"),
             "pfs": ("pfs_months", "pfs_event", "progression-free survival")}
#: The adjusted treatment model of the reviewer's chapter (07_beyond: adjusted Cox and the
#: propensity model) and of the discussion (its covariates, besides the treatment).
DISCUSSION_CONFOUNDERS = ("ecog", "child_pugh", "pvtt", "metastases", "afp_gt400",
                          "tumor_number_gt3")
#: Chapters that compare the arms with a test or a model (02 and 06 only describe them).
ONE_ARM_CHAPTERS = ("01_cohort", "03_survival", "04_cox", "05_response", "07_beyond",
                    "07_discussion")
#: The book's Cox models: (chapters that fit it, model name, Cox terms of hcc.paper.COX_CODING).
MODELS = (
    [(("04_cox",), "univariate model", (term,)) for term in paper.COX_TERMS]
    + [(("07_beyond", "07_discussion"), "adjusted treatment model",
        ("second_line",) + DISCUSSION_CONFOUNDERS),
       (("07_discussion",), "crude treatment model", ("second_line",))]
)


def _column(term: str) -> str:
    return paper.COX_CODING[term][0]


def _coded(cohort: pd.DataFrame, term: str) -> pd.Series:
    col, level = paper.COX_CODING[term]
    s = cohort[col]
    v = (pd.to_numeric(s, errors="coerce") > 60).astype(float) if level == "> 60" else (s == level).astype(float)
    return v.where(s.notna())


def _chapters(names) -> str:
    names = list(dict.fromkeys(names))
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def _error(file: str, column: str | None, chapters, why: str) -> Problem:
    return Problem(file, column, None, f"{_chapters(chapters)} cannot run: {why}")


def _warning(file: str, column: str | None, chapters, why: str) -> Problem:
    return Problem(file, column, None, f"{_chapters(chapters)}: {why}", severity="warning")


def check_book(cohort: pd.DataFrame, ae: pd.DataFrame | None = None, file: str = "data",
               ae_file: str = "adverse_events") -> list[Problem]:
    """Every reason the book's chapters cannot run (errors) or will be unstable (warnings).

    Parameters
    ----------
    cohort : DataFrame
        The analysis frame (:func:`hcc.load_cohort`), valid against the data dictionary.
    ae : DataFrame, optional
        The adverse events (:func:`hcc.load_adverse_events`).
    file, ae_file : str
        File names for the messages.

    Returns
    -------
    list of Problem
        ``severity`` "error" or "warning"; each message names the chapter(s), each problem
        the column.
    """
    problems: list[Problem] = []
    arms = [a for a in paper.ARMS if (cohort["arm"] == a).any()]
    if len(arms) < 2:
        only = f"only arm {arms[0]!r} is present" if arms else "no patient has an arm"
        problems.append(_error(file, "arm", ONE_ARM_CHAPTERS, f"{only}; the book compares "
                               f"{' with '.join(paper.ARMS)}"))
        return problems  # every other check compares the arms
    _check_events(cohort, file, problems)
    _check_levels(cohort, file, problems)
    if not any(p.severity == "error" and p.column in ("os_event", "pfs_event") for p in problems):
        _check_models(cohort, file, problems)
    if ae is not None:
        _check_ae(cohort, ae, ae_file, problems)
    return errors(problems) + warnings_(problems)  # errors first


def _check_events(cohort, file, problems) -> None:
    for ep, (_, event, name) in ENDPOINTS.items():
        ev = cohort[event].fillna(0)
        if ev.sum() == 0:
            problems.append(_error(file, event, ["01_cohort", "03_survival", "04_cox", "07_beyond",
                                            "07_discussion"],
                                   f"no {name} events: every patient is censored"))
            continue
        for arm in paper.ARMS:
            if ev[cohort["arm"] == arm].sum() == 0:
                problems.append(_error(
                    file, event, ["01_cohort", "07_beyond", "07_discussion"],
                    f"no {name} events in arm {arm}: the treatment hazard ratio is infinite "
                    "(monotone likelihood)"))


def _check_levels(cohort, file, problems) -> None:
    """A covariate with a single level: no P-value in Table 1, no Cox model, no subgroup."""
    seen = set()
    for term in paper.COX_TERMS:
        col = _column(term)
        if col == "arm" or col in seen:
            continue
        seen.add(col)
        levels = _coded(cohort, term).dropna().unique()
        if len(levels) < 2:
            chapters = ["01_cohort", "04_cox"]
            if col in DISCUSSION_CONFOUNDERS:
                chapters += ["07_beyond", "07_discussion"]
            value = cohort[col].dropna()
            first = value.iloc[0].item() if hasattr(value.iloc[0], "item") else value.iloc[0]
            what = (f"every patient has {col} = {first!r}" if len(value.unique()) == 1
                    else f"every patient falls on the same side of the cut-off of {term}")
            problems.append(_error(file, col, chapters, f"{what}: a covariate needs two levels"))


def _check_models(cohort, file, problems) -> None:
    bad_columns = {p.column for p in problems}
    for ep, (_, event, name) in ENDPOINTS.items():
        ev = cohort[event]
        for chapters, model, terms in MODELS:
            cols = [_column(t) for t in terms]
            if bad_columns & set(cols):
                continue
            coded = pd.DataFrame({t: _coded(cohort, t) for t in terms})
            keep = coded.notna().all(axis=1) & ev.notna()
            events = int(ev[keep].sum())
            k = len(terms)
            label = f"the {ep.upper()} {model}" + (f" of {_column(terms[0])}" if model == "univariate model" else "")
            for t in terms:  # a level without events: monotone likelihood
                x = coded.loc[keep, t]
                for level in (0.0, 1.0):
                    if (x == level).any() and ev[keep][x == level].sum() == 0 and t != "second_line":
                        where = _level_text(t, level)
                        why = (f"no {name} events among patients with {where}: {label} has an "
                               "infinite hazard ratio (monotone likelihood)")
                        if model == "univariate model":
                            problems.append(_warning(file, _column(t), list(chapters),
                                                     why + "; its row of the table stays empty"))
                        else:
                            problems.append(_error(file, _column(t), list(chapters), why))
            if k > 1 and not any(p.severity == "error" and p.column in cols for p in problems):
                why = _trial_fit(cohort, coded, ep, terms)
                if why:
                    problems.append(_error(file, event, list(chapters), f"{label} cannot be "
                                           f"fitted ({events} events, {k} covariates): {why}"))
                    continue
            if k > 1 and events < MIN_EVENTS_PER_COVARIATE * k:
                problems.append(_warning(file, event, list(chapters), f"{label} has {events} events "
                                         f"for {k} covariates (fewer than "
                                         f"{MIN_EVENTS_PER_COVARIATE} per covariate): its "
                                         "estimates will be unstable"))


def _trial_fit(cohort, coded, ep: str, terms) -> str | None:
    """Fit the model as the chapter will (R coxph, Efron); the reason it fails, else None."""
    from hcc.coxph import cox
    from hcc.errors import ConvergenceError, DataError

    time, event, _ = ENDPOINTS[ep]
    frame = coded.assign(**{time: cohort[time], event: cohort[event]})
    try:
        cox(frame, time, event, list(terms))
    except (ConvergenceError, DataError) as exc:
        text = str(exc)
        for t in terms:  # name the column, not the design term
            text = text.replace(f"'{t}'", f"'{_column(t)}'")
        return text
    return None


def _level_text(term: str, level: float) -> str:
    col, one = paper.COX_CODING[term]
    if one == "> 60":
        return f"{col} {'> 60' if level else '≤ 60'}"
    if level:
        return f"{col} = {one!r}"
    return f"{col} other than {one!r}"


def _check_ae(cohort, ae, ae_file, problems) -> None:
    ids = set(cohort["patient_id"].astype(str))
    unknown = sorted(set(ae["patient_id"].astype(str)) - ids)
    if unknown:
        n = len(unknown)
        problems.append(_error(ae_file, "patient_id", ["01_cohort", "06_safety"],
                               f"{n} patient{'s' if n > 1 else ''} of the adverse-event file "
                               f"{'are' if n > 1 else 'is'} not in the cohort (first: "
                               f"{unknown[0]!r})"))


def errors(problems) -> list[Problem]:
    return [p for p in problems if p.severity != "warning"]


def warnings_(problems) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]


def check_inputs(data=None, adverse_events=None, seed=None, mapping=None) -> list[Problem]:
    """Every problem of the book's inputs: the data dictionary, then :func:`check_book`.

    Parameters
    ----------
    data, adverse_events : path, optional
        The cohort and adverse-event files (None: ours, or none for a user's cohort).
    seed : int, optional
        The synthetic cohort when *data* is None.
    mapping : optional
        Mapping of the cohort file (:mod:`hcc.cohort.read`).

    Returns
    -------
    list of Problem
        Dictionary problems of either file (then the book checks are skipped), or the book's.

    Raises
    ------
    ValidationError
        A file cannot be read at all (``unreadable=True``).
    """
    from hcc.cohort.load import load_adverse_events, load_cohort
    from hcc.pipeline.inputs import adverse_events_path, get_cohort
    from hcc.errors import ValidationError
    from hcc.cohort.validate import check_file

    problems: list[Problem] = []
    if data is not None:
        problems += check_file(data, mapping, "cohort").problems
    ae_path = adverse_events_path(data, seed, adverse_events) if (data is not None or adverse_events is not None) else None
    if ae_path is not None:
        problems += check_file(ae_path, None, "adverse_events").problems
    if problems:
        return problems
    try:
        cohort = load_cohort(data, mapping) if data is not None else get_cohort(None, seed)
        ae = load_adverse_events(ae_path) if ae_path is not None else None
    except ValidationError as exc:
        return list(exc.problems)
    name = Path(data).name if data is not None else "the synthetic cohort"
    return check_book(cohort, ae, file=name,
                      ae_file=Path(ae_path).name if ae_path is not None else "adverse_events")
