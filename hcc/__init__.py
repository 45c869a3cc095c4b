"""hcc — the executable book of Li, Ding, Li & Chen (2022), reconstructed.

The statistics core (``tables``, ``survival``, ``coxph``, ``cox_tables``, ``response``,
``safety``, ``plots``) is general and matches R 4.x (``survival`` package, ``chisq.test``);
survival curves, log-rank tests and Cox fits run on lifelines / statsmodels (each result's
``.fitter`` is the library's object);
``paper`` holds the published numbers; ``cohort/`` reads, validates and loads cohorts;
``reconstruct`` builds the synthetic cohort; ``fidelity`` compares the two;
``plausibility`` checks that a cohort looks like a real study; ``chapter/`` is what a
notebook calls; ``pipeline/`` is ``hcc build``.

Names are imported lazily so that ``import hcc`` stays fast and loading the shipped
cohort never imports the calibrator.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # errors
    "HCCError": "errors", "DataError": "errors", "ValidationError": "errors",
    "ConvergenceError": "errors", "ParameterError": "errors", "Problem": "errors",
    "StatisticalWarning": "errors",
    # statistics core
    "table_one": "tables", "TableOneResult": "tables", "compare_categorical": "tables",
    "quantile_type7": "tables",
    "km": "survival", "KMResult": "survival", "logrank": "survival", "LogrankResult": "survival",
    "median_followup": "survival", "FollowupResult": "survival",
    "cox": "coxph", "CoxResult": "coxph", "PHTestResult": "coxph",
    "cox_screen": "cox_tables", "ScreenResult": "cox_tables",
    "subgroup_hr": "cox_tables", "SubgroupResult": "cox_tables",
    "iptw": "propensity", "IPTWResult": "propensity", "weighted_km": "propensity", "WeightedKMResult": "propensity",
    "rmst": "restricted_mean", "RMSTResult": "restricted_mean", "evalue": "sensitivity", "EValueResult": "sensitivity",
    "landmark": "landmark_analysis", "LandmarkResult": "landmark_analysis",
    "survival_rates": "landmark_analysis", "SurvivalRatesResult": "landmark_analysis",
    "schoenfeld_plot": "plots",
    "response_table": "response", "ResponseResult": "response",
    "safety_table": "safety", "SafetyResult": "safety",
    "format_p": "_format", "format_hr": "_format",
    "forest_plot": "forest", "flow_diagram": "plots", "response_bars": "plots", "ae_chart": "plots",
    # data (hcc/cohort/; a seed's cohort: hcc/pipeline/inputs.py)
    "load_cohort": "cohort.load", "load_adverse_events": "cohort.load",
    "is_shipped_cohort": "cohort.load", "derive_analysis": "cohort.derive",
    "get_cohort": "pipeline.inputs", "get_adverse_events": "pipeline.inputs",
    "missing_report": "cohort.missing", "MissingResult": "cohort.missing",
    "validate_file": "cohort.validate", "DATA_DICTIONARY": "cohort.dictionary",
    "read_table": "cohort.read", "dictionary_frame": "cohort.dictionary",
    # paper, fidelity, reconstruction
    "fidelity_report": "fidelity", "FidelityResult": "fidelity",
    "plausibility_report": "plausibility", "PlausibilityResult": "plausibility",
    "load_params": "pipeline.params",
    # chapter display helpers (notebooks; hcc/chapter/)
    "show_table": "chapter.display", "save_table": "chapter.display",
    "suppress_small_counts": "chapter.suppress",
    "synthetic_banner": "chapter.display", "compare_with_paper": "chapter.display",
    "rows_used": "chapter.rows", "rows_used_table": "chapter.rows",
    "table_one_rows_used": "chapter.rows", "screen_rows_used": "chapter.rows",
    "RowsUsed": "chapter.rows",
}

__all__ = sorted(_EXPORTS)


#: Subpackages reached as attributes (``hcc.reconstruct.reconstruct(seed=...)``); a package
#: and a function of one name would swap places once the package is imported.
_SUBPACKAGES = ("reconstruct", "cohort", "chapter", "pipeline")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"hcc.{name}")
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'hcc' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"hcc.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
