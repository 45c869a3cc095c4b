"""What one cohort decides: the quantities of an ensemble of reconstructions.

Every number the paper prints is pinned by the reconstruction; everything else (the
12-month OS rate, the RMST difference, the IPTW hazard ratio, OS subgroup HRs, the PH test,
OS by best response, follow-up per arm) is chosen by the generator's seed. This module
computes those quantities on one cohort (:func:`cohort_quantities`) and summarises them
across an ensemble of cohorts (:func:`summarize_ensemble`); the Dask driver that builds the
cohorts is :mod:`hcc.reconstruct.ensemble`. The shipped ensemble (``make ensemble``) is read
by :func:`read_ensemble`.

Nothing here is new statistics: each quantity is one call of the book's functions
(``hcc.survival_rates``, ``hcc.rmst``, ``hcc.cox``, ``hcc.iptw``, ``hcc.subgroup_hr``,
``hcc.landmark``, ``hcc.median_followup``, ``hcc.fidelity_report``,
``hcc.plausibility_report``), all matching R 4.x as documented there. Intervals across the
ensemble are R's ``quantile(x, c(0.025, 0.5, 0.975), type = 7)`` (:func:`hcc.tables.quantile_type7`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hcc import paths
from hcc._checks import require_frame
from hcc._results import Result
from hcc.errors import DataError, HCCError

__all__ = ["cohort_quantities", "QuantitiesResult", "summarize_ensemble", "EnsembleSummary",
           "read_ensemble", "ENSEMBLE_DIR", "RATE_TIMES", "LANDMARK_MONTHS", "RMST_TAU",
           "META_COLUMNS", "EXACT_PREFIX"]

#: Where ``make ensemble`` writes the shipped ensemble (``ensemble.csv``, ``summary.csv``,
#: ``manifest.json``); written only by :func:`hcc.reconstruct.ensemble.run_ensemble`.
ENSEMBLE_DIR = paths.PROJ_ROOT / "hcc" / "data" / "ensemble"
#: Months of the survival rates (as chapter 07_beyond).
RATE_TIMES = (6, 12, 24)
#: Landmark of the OS-by-response model (params.yml ``landmark_months``).
LANDMARK_MONTHS = 3.0
#: RMST horizons (months) per endpoint: fixed, so that every cohort is compared over the
#: same window (the default τ rule of ``hcc.rmst`` moves with each cohort's follow-up).
RMST_TAU = {"os": 24.0, "pfs": 6.0}
#: Confounders of the adjusted and IPTW models (chapter 07_discussion / 07_beyond).
CONFOUNDERS = ("ecog", "child_pugh", "pvtt", "metastases", "afp_gt400", "tumor_number_gt3")
#: Columns of ``ensemble.csv`` before the quantities (one row per seed).
META_COLUMNS = ("seed", "generator_version", "calibration_version", "budget", "chains",
                "search_cutoff", "data_cutoff", "generator_in_tolerance", "generator_scored",
                "fidelity_in_tolerance", "fidelity_compared", "as_printed_equal",
                "as_printed_compared", "exact_equal", "exact_compared", "plausibility_passed",
                "plausibility_applicable")
#: Prefix of the per-printed-number columns (1 = reproduced exactly, 0 = not, blank = not
#: compared).
EXACT_PREFIX = "exact: "
#: Fidelity tolerances under which "in tolerance" already means "prints as the paper".
_EXACT_TOLERANCES = ("exact", "printed rounding", "printed rounding (2 dp)",
                     "printed rounding (4 dp)", "<0.001")


class QuantitiesResult(Result):
    """The ensemble's quantities on one cohort.

    Attributes
    ----------
    summary : DataFrame indexed by quantity: ``group``, ``value`` (NaN where a model could
        not be fitted on this cohort; the reason is in ``note``), ``note``.
    values : dict quantity → float.
    exact : dict printed item → 1.0 / 0.0 / NaN (reproduced exactly / not / not compared).
    meta : dict of the fidelity and plausibility counts (keys of :data:`META_COLUMNS`).
    """

    title = "Quantities the reconstruction decides (one cohort)"

    def __init__(self, rows: list[tuple[str, str, float, str]], exact: dict, meta: dict):
        self._rows = rows
        self.values = {q: v for q, _, v, _ in rows}
        self.exact = exact
        self.meta = meta

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows, columns=["quantity", "group", "value", "note"]).set_index("quantity")

    def row(self) -> dict:
        """One flat row for ``ensemble.csv`` (meta, quantities, exact items)."""
        out = dict(self.meta)
        out.update(self.values)
        out.update({EXACT_PREFIX + k: v for k, v in self.exact.items()})
        return out

    def plot(self, ax=None, group: str = "hazard ratio", **kwargs):
        """Dots of one group's values (a single cohort; see :class:`EnsembleSummary` for
        intervals)."""
        import matplotlib.pyplot as plt

        s = self.summary[self.summary["group"] == group]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(s) + 1))
        ax.plot(s["value"], range(len(s)), "o", **kwargs)
        ax.set_yticks(range(len(s)), s.index)
        ax.invert_yaxis()
        return ax


def _exact_flags(table: pd.DataFrame) -> dict:
    """Per printed item: does ours print as the paper's? Cox numbers: ``as_printed`` (HR and
    limits at 2 dp, P at its printed decimals); medians and limits: ``exact_2dp``; items whose
    tolerance is the printed rounding (counts, Table 1 P, ages): ``ok``; excluded: NaN."""
    out = {}
    for _, r in table.iterrows():
        v = np.nan
        for col in ("as_printed", "exact_2dp"):
            if isinstance(r[col], (bool, np.bool_)):
                v = float(r[col])
                break
        else:
            if r["tolerance"] in _EXACT_TOLERANCES and isinstance(r["ok"], (bool, np.bool_)):
                v = float(r["ok"])
        out[str(r["item"])] = v
    return out


def _safe(rows, name, group, fn):
    try:
        value = float(fn())
        note = "" if not math.isnan(value) else "not estimable on this cohort (a median not reached)"
    except (HCCError, ValueError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        value, note = math.nan, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    rows.append((name, group, value, note))


def cohort_quantities(cohort: pd.DataFrame, ae: pd.DataFrame | None = None, *,
                      ties: str = "efron", fidelity: bool = True,
                      plausibility: bool = True, raw: pd.DataFrame | None = None) -> QuantitiesResult:
    """Compute every quantity of the ensemble on one cohort.

    Parameters
    ----------
    cohort : DataFrame
        Analysis frame (data dictionary: ``arm``, ``os_months``, ``os_event``, ``pfs_months``,
        ``pfs_event``, ``best_response`` and the covariates).
    ae : DataFrame, optional
        Adverse events (for the fidelity and plausibility reports' safety rows).
    ties : {"efron", "breslow"}
        Cox ties (IPTW models are Efron only, as ``cox(weights=)``).
    fidelity, plausibility : bool
        Also run ``hcc.fidelity_report`` (items in tolerance, as printed, and per printed
        number whether it is reproduced exactly) and ``hcc.plausibility_report`` (checks passed).
    raw : DataFrame, optional
        The raw export with dates (plausibility's date and censoring checks).

    Returns
    -------
    QuantitiesResult
        Quantities by group: "survival rate" (OS/PFS at :data:`RATE_TIMES` months per arm,
        Kaplan–Meier as R ``summary(survfit, times=)``), "RMST" (difference TKI-ICI − TKI up
        to :data:`RMST_TAU`, R ``survmean``), "hazard ratio" (TKI-ICI vs TKI: crude, adjusted
        for :data:`CONFOUNDERS`, IPTW with stabilised weights and R's robust SE; OS HR of PD
        vs disease control at the :data:`LANDMARK_MONTHS` landmark), "subgroup HR" (OS and
        PFS, treatment HR within each level of ``paper.SUBGROUP_VARIABLES``), "PH test P"
        (R ``cox.zph``: crude treatment model per endpoint and the OS multivariable model's
        GLOBAL test), "follow-up" (reverse-KM median per arm and overall). A model that
        cannot be fitted on this cohort gives NaN with the reason in ``note``.

    Notes
    -----
    Every value is one call of the book's R-matching functions; nothing is computed by hand.
    """
    from hcc.fidelity import cox_design

    require_frame(cohort, {"treatment arm": "arm", "OS time": "os_months", "OS event": "os_event",
                           "PFS time": "pfs_months", "PFS event": "pfs_event",
                           "best response": "best_response"})
    design = cox_design(cohort)
    rows: list = []
    _rate_rows(rows, cohort)
    _hazard_ratio_rows(rows, cohort, design, ties)
    _subgroup_rows(rows, cohort, design, ties)
    _ph_and_followup_rows(rows, cohort, design, ties)
    exact, meta = _report_counts(cohort, ae, raw, fidelity, plausibility)
    return QuantitiesResult(rows, exact, meta)


def _rate_rows(rows: list, cohort) -> None:
    """OS/PFS survival at RATE_TIMES per arm, and the RMST difference up to RMST_TAU."""
    from hcc import paper
    from hcc.landmark_analysis import survival_rates
    from hcc.restricted_mean import rmst

    for ep in ("os", "pfs"):
        t, e, EP = f"{ep}_months", f"{ep}_event", ep.upper()
        try:
            sr = survival_rates(cohort, t, e, "arm", list(RATE_TIMES)).summary
        except HCCError as exc:
            sr = None
            reason = str(exc)
        for arm in paper.ARMS:
            for m in RATE_TIMES:
                name = f"{EP} rate {m} mo: {arm}"
                if sr is None:
                    rows.append((name, "survival rate", math.nan, reason))
                else:
                    val = sr.loc[float(m), f"{arm} S"]
                    rows.append((name, "survival rate", float(val), "" if pd.notna(val)
                                 else "after the arm's last follow-up"))
    for ep in ("os", "pfs"):
        t, e, EP = f"{ep}_months", f"{ep}_event", ep.upper()
        _safe(rows, f"{EP} RMST difference (τ {RMST_TAU[ep]:g} mo)", "RMST",
              lambda: rmst(cohort, t, e, "arm", tau=RMST_TAU[ep]).difference["difference"].iloc[0])


def _hazard_ratio_rows(rows: list, cohort, design, ties: str) -> None:
    """Treatment HR crude, adjusted, IPTW per endpoint; OS HR of PD at the landmark."""
    from hcc.coxph import cox
    from hcc.landmark_analysis import landmark
    from hcc.propensity import iptw

    def tx(fit):
        return fit.summary.loc["second_line", "HR"]

    weighted = None
    try:
        ps = iptw(cohort, "arm", list(CONFOUNDERS))
        weighted = design.assign(_w=ps.weights.to_numpy())
    except HCCError as exc:
        iptw_reason = str(exc)
    for ep in ("os", "pfs"):
        t, e, EP = f"{ep}_months", f"{ep}_event", ep.upper()
        _safe(rows, f"{EP} HR crude", "hazard ratio",
              lambda: tx(cox(design, t, e, ["second_line"], ties=ties)))
        _safe(rows, f"{EP} HR adjusted", "hazard ratio",
              lambda: tx(cox(design, t, e, ["second_line", *CONFOUNDERS], ties=ties)))
        if weighted is None:
            rows.append((f"{EP} HR IPTW", "hazard ratio", math.nan, iptw_reason))
        else:
            _safe(rows, f"{EP} HR IPTW", "hazard ratio",
                  lambda: tx(cox(weighted, t, e, ["second_line"], weights="_w", robust=True)))
    by_resp = cohort.assign(response=np.where(cohort["best_response"] == "PD", "PD", "disease control"))
    _safe(rows, f"OS HR PD vs disease control (landmark {LANDMARK_MONTHS:g} mo)", "hazard ratio",
          lambda: landmark(by_resp, "os_months", "os_event", "response", at=LANDMARK_MONTHS,
                               ties=ties, reference={"response": "disease control"})
          .summary.xs(f"landmark at {LANDMARK_MONTHS:g}", level="analysis")["HR"].iloc[0])


def _subgroup_rows(rows: list, cohort, design, ties: str) -> None:
    """Treatment HR within each level of paper.SUBGROUP_VARIABLES, per endpoint."""
    from hcc import paper
    from hcc.cox_tables import subgroup_hr

    for ep in ("os", "pfs"):
        t, e, EP = f"{ep}_months", f"{ep}_event", ep.upper()
        try:
            sub = subgroup_hr(design.assign(arm=cohort["arm"].to_numpy()), t, e, treatment="arm",
                                  subgroups=list(paper.SUBGROUP_VARIABLES), ties=ties,
                                  reference="TKI", labels=paper.COX_TERMS).summary
            for (label, level), r in sub.iterrows():
                if label == "All patients":
                    continue
                rows.append((f"{EP} subgroup HR: {_level_name(label, level)}", "subgroup HR", float(r["HR"]),
                             "" if pd.notna(r["HR"]) else "no estimate in this level"))
        except HCCError as exc:
            rows.append((f"{EP} subgroup HR", "subgroup HR", math.nan, str(exc)))


def _ph_and_followup_rows(rows: list, cohort, design, ties: str) -> None:
    """PH test P (crude per endpoint, OS multivariable GLOBAL); median follow-up per arm."""
    from hcc import paper
    from hcc.cox_tables import cox_screen
    from hcc.coxph import cox
    from hcc.survival import median_followup

    for ep in ("os", "pfs"):
        t, e, EP = f"{ep}_months", f"{ep}_event", ep.upper()
        _safe(rows, f"{EP} PH test P (crude treatment model)", "PH test P",
              lambda: cox(design, t, e, ["second_line"], ties=ties).ph_test().summary.loc["GLOBAL", "p"])
    _safe(rows, "OS PH test P (multivariable model, GLOBAL)", "PH test P",
          lambda: cox_screen(design, "os_months", "os_event", list(paper.COX_TERMS), ties=ties)
          .multivariate.ph_test().summary.loc["GLOBAL", "p"])
    for arm in list(paper.ARMS) + [None]:
        sub = cohort if arm is None else cohort[cohort["arm"] == arm]
        _safe(rows, f"median follow-up: {arm or 'all'}", "follow-up",
              lambda: median_followup(sub, "os_months", "os_event").median)


def _report_counts(cohort, ae, raw, fidelity: bool, plausibility: bool) -> tuple[dict, dict]:
    """(exact flag per printed item, meta counts) of the fidelity and plausibility reports."""
    meta: dict = {}
    exact: dict = {}
    if fidelity:
        from hcc.fidelity import fidelity_report

        rep = fidelity_report(cohort, ae)
        sc = rep.score["all"]
        ap = rep.as_printed().loc["all"]
        exact = _exact_flags(rep.summary)
        flags = [v for v in exact.values() if not math.isnan(v)]
        meta.update(fidelity_in_tolerance=sc["passed"], fidelity_compared=sc["total"],
                    as_printed_equal=int(ap["equal"]), as_printed_compared=int(ap["compared"]),
                    exact_equal=int(sum(flags)), exact_compared=len(flags))
    if plausibility:
        from hcc.plausibility import plausibility_report

        pl = plausibility_report(cohort, ae, raw=raw).summary
        applicable = pl["ok"].map(lambda v: isinstance(v, (bool, np.bool_)))
        meta.update(plausibility_passed=int(pl.loc[applicable, "ok"].astype(bool).sum()),
                    plausibility_applicable=int(applicable.sum()))
    return exact, meta


def _level_name(label: str, level) -> str:
    """"Age (> 60 y vs ≤ 60 y)", 1 → "Age > 60 y"; level 0 → "Age ≤ 60 y"."""
    head, _, inside = str(label).partition(" (")
    parts = inside.rstrip(")").split(" vs ")
    try:
        code = int(float(level))
    except (TypeError, ValueError):
        return f"{label} = {level}"
    if len(parts) == 2 and code in (0, 1):
        return f"{head} {parts[1 - code]}"
    return f"{label} = {level}"


# ----------------------------------------------------------------------------- summary
class EnsembleSummary(Result):
    """Per quantity across the ensemble: median and the 2.5% / 97.5% quantiles.

    Attributes
    ----------
    summary : DataFrame indexed by quantity: ``group``, ``n`` (cohorts with a value),
        ``median``, ``lower`` (2.5%), ``upper`` (97.5%), ``mean`` (for the 0/1 exact items:
        the share of cohorts reproducing the printed number), ``default`` (the shipped
        cohort's value: the default seed).
    members : DataFrame, the ensemble rows (``ensemble.csv``).
    """

    title = "Across the ensemble: median [2.5%, 97.5%] and the shipped cohort"

    def __init__(self, table: pd.DataFrame, members: pd.DataFrame):
        self._table = table
        self.members = members

    @property
    def summary(self) -> pd.DataFrame:
        return self._table

    def group(self, name: str) -> pd.DataFrame:
        """The rows of one group ("hazard ratio", "survival rate", "exact", ...)."""
        return self._table[self._table["group"] == name]

    def fidelity_table(self) -> pd.DataFrame:
        """Per member (seed): the paper's numbers in tolerance, Cox numbers as printed, printed
        numbers reproduced exactly, the generator's scored items in tolerance and the
        plausibility checks passed (each "k / n")."""
        m = self.members.set_index("seed").sort_index()

        def frac(a, b):
            return m[a].astype("Int64").astype(str) + " / " + m[b].astype("Int64").astype(str)

        return pd.DataFrame({
            "paper's numbers in tolerance": frac("fidelity_in_tolerance", "fidelity_compared"),
            "printed exactly": frac("exact_equal", "exact_compared"),
            "Cox numbers as printed": frac("as_printed_equal", "as_printed_compared"),
            "generator's items in tolerance": frac("generator_in_tolerance", "generator_scored"),
            "plausibility checks passed": frac("plausibility_passed", "plausibility_applicable"),
            "data cut-off": m["data_cutoff"]})

    def conclusions(self, alpha: float = 0.05) -> pd.DataFrame:
        """Which conclusions hold in every member. Hazard ratios: "below 1 in every cohort",
        "above 1 in every cohort" or "direction depends on the cohort" (by the members' range,
        min..max, not the 2.5–97.5% interval: one cohort against is enough); PH tests:
        P < *alpha* in every cohort, in none, or in some. Other quantities: the spread
        (max − min)."""
        rows = []
        m = self.members
        for q, r in self._table.iterrows():
            if r["group"] in ("exact", "fidelity") or q not in m.columns:
                continue
            x = pd.to_numeric(m[q], errors="coerce").dropna()
            if x.empty:
                continue
            lo, hi = float(x.min()), float(x.max())
            if r["group"] in ("hazard ratio", "subgroup HR"):
                verdict = ("below 1 in every cohort" if hi < 1 else "above 1 in every cohort"
                           if lo > 1 else "direction depends on the cohort")
            elif r["group"] == "PH test P":
                k = int((x < alpha).sum())
                verdict = (f"P < {alpha:g} in every cohort" if k == len(x) else
                           f"P ≥ {alpha:g} in every cohort" if k == 0 else
                           f"P < {alpha:g} in {k} of {len(x)} cohorts")
            else:
                verdict = f"spread {hi - lo:.3g} (max − min)"
            rows.append({"quantity": q, "group": r["group"], "cohorts": len(x), "min": lo,
                         "max": hi, "shipped cohort": r["default"], "verdict": verdict})
        return pd.DataFrame(rows).set_index("quantity")

    def plot(self, ax=None, group: str = "hazard ratio", log: bool | None = None,
             startswith: str | None = None, **kwargs):
        """Interval plot of one group (only the quantities starting with *startswith*, e.g.
        "OS", when given): the 2.5–97.5% range across the ensemble (line), its median (dot)
        and the shipped cohort (cross). Hazard ratios on a log axis."""
        import matplotlib.pyplot as plt

        s = self.group(group)
        if startswith is not None:
            s = s[s.index.str.startswith(startswith)]
        s = s[s["n"] > 0]  # e.g. a rate after every member's last follow-up
        if s.empty:
            raise DataError(f"the ensemble summary has no group {group!r}")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.32 * len(s) + 1.2))
        y = np.arange(len(s))
        ax.hlines(y, s["lower"], s["upper"], color="0.4", lw=2, label="2.5–97.5% of the ensemble")
        ax.plot(s["median"], y, "o", color="C0", label="median")
        ax.plot(s["default"], y, "x", color="C3", ms=7, label="shipped cohort (default seed)")
        ax.set_yticks(y, s.index)
        ax.set_ylim(len(s) - 0.5, -0.5)
        if log if log is not None else group in ("hazard ratio", "subgroup HR"):
            ax.set_xscale("log")
            ax.axvline(1, color="0.7", lw=1, ls="--")
        ax.legend(loc="best", fontsize="small")
        ax.set_title(kwargs.pop("title", group))
        return ax


def summarize_ensemble(members: pd.DataFrame, default: dict | None = None) -> EnsembleSummary:
    """Summarise ``ensemble.csv`` rows: per quantity the median and the 2.5% and 97.5%
    quantiles across the cohorts (R ``quantile(type = 7)``), and the default seed's value.

    Parameters
    ----------
    members : DataFrame
        One row per seed (:data:`META_COLUMNS`, then one column per quantity, then
        ``exact: <item>`` columns).
    default : dict, optional
        The shipped cohort's row (:meth:`QuantitiesResult.row`); default: the member whose
        seed is ``hcc.paths.DEFAULT_SEED`` if any, else NaN.

    Returns
    -------
    EnsembleSummary
    """
    if not isinstance(members, pd.DataFrame) or members.empty:
        raise DataError("the ensemble has no members to summarise")
    if default is None:
        d = members[members["seed"] == paths.DEFAULT_SEED]
        default = d.iloc[0].to_dict() if len(d) else {}
    rows = []
    for col in members.columns:
        if col not in META_COLUMNS:
            group = "exact" if col.startswith(EXACT_PREFIX) else _group(col)
            rows.append(_summary_row(col, group, members[col], default))
    for col in ("fidelity_in_tolerance", "as_printed_equal", "exact_equal", "plausibility_passed"):
        if col in members.columns and members[col].notna().any():
            rows.append(_summary_row(col, "fidelity", members[col], default))
    return EnsembleSummary(pd.DataFrame(rows).set_index("quantity"), members)


def _summary_row(col: str, group: str, values: pd.Series, default: dict) -> dict:
    """One quantity across the members: n, R type-7 2.5% / 50% / 97.5% quantiles, mean, default."""
    from hcc.tables import quantile_type7

    x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    lo, med, hi = quantile_type7(x, [0.025, 0.5, 0.975]) if len(x) else [math.nan] * 3
    dv = pd.to_numeric(pd.Series([default.get(col)]), errors="coerce").iloc[0]
    return {"quantity": col, "group": group, "n": int(len(x)), "median": float(med),
            "lower": float(lo), "upper": float(hi), "mean": float(x.mean()) if len(x) else math.nan,
            "default": float(dv)}


def _group(col: str) -> str:
    """The group of a quantity, from its name."""
    for key, group in ((" rate ", "survival rate"), ("RMST", "RMST"), ("subgroup HR", "subgroup HR"),
                       ("PH test", "PH test P")):
        if key in col:
            return group
    if col.startswith("median follow-up"):
        return "follow-up"
    return "hazard ratio" if " HR " in col else "other"


def read_ensemble(path: str | Path | None = None) -> EnsembleSummary:
    """Read an ensemble folder (``ensemble.csv``, ``summary.csv``, ``manifest.json``);
    default: the shipped one (:data:`ENSEMBLE_DIR`, made by ``make ensemble``).

    Returns
    -------
    EnsembleSummary
        With ``.manifest`` (dict: generator version, budget, chains, seeds, failures) and
        ``.members`` (the rows of ``ensemble.csv``).
    """
    import json

    folder = Path(path) if path is not None else ENSEMBLE_DIR
    files = [folder / f for f in ("ensemble.csv", "summary.csv", "manifest.json")]
    for f in files:
        if not f.is_file():
            raise DataError(f"no ensemble at {folder}: {f.name} is missing (run `make ensemble`)")
    members = pd.read_csv(files[0])
    table = pd.read_csv(files[1]).set_index("quantity")
    out = EnsembleSummary(table, members)
    out.manifest = json.loads(files[2].read_text())
    return out
