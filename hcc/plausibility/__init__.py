"""Plausibility report: does a cohort look like data from a real study?

The fidelity report (:mod:`hcc.fidelity`) asks whether a cohort reproduces the numbers the
paper prints. This report asks the other question a reader of a reconstruction asks: would a
clinician or a statistician believe these patients existed? It checks what a real
second-line HCC cohort must look like although the paper prints no number for it — smooth
hazards, overall survival that follows the mRECIST response, progression found at the
scheduled scans, a treatment effect consistent across subgroups, each drug's own adverse
events, dates that respect the drugs' approvals and the enrolment window, a censoring
pattern and an age distribution without artefacts — and the paper's qualitative claims
(section "paper claims").

Every check is one row of :attr:`PlausibilityResult.summary`: the criterion in words, our
value, a P-value where the check is a statistical test (NaN otherwise), ``ok`` (True/False,
or None when the check cannot be computed on these data: the reason is in ``ours``) and the
reference the criterion rests on. Thresholds are the numbered constants of
:mod:`hcc.plausibility.thresholds`, each with the reason for its value. Checks that need
dates run only on a raw export (dates), checks of adverse events only with an adverse-event
table.

It runs on any cohort with the data dictionary's columns; a check that cannot be computed
(a subgroup without events, an arm without patients) is reported, never raised.
"""
from __future__ import annotations

from hcc.plausibility.hazard import compensator, hazard_smoothness, weibull_fit
from hcc.plausibility.report import PlausibilityResult, plausibility_report
from hcc.plausibility.sections import interaction_lr
from hcc.plausibility.thresholds import *  # noqa: F403 - the numbered thresholds
from hcc.plausibility.thresholds import __all__ as _THRESHOLDS

__all__ = ["plausibility_report", "PlausibilityResult", "weibull_fit", "compensator",
           "hazard_smoothness", "interaction_lr", *_THRESHOLDS]
