"""Fidelity report: every number the paper prints beside the same number computed by the
statistics core on a cohort (by default the shipped synthetic reconstruction).

Tolerances follow issue 2's acceptance:

* counts (arm and regimen sizes, Table 1 cells, events, response categories, AE patients,
  immune-related AEs, discontinuations): **exact**;
* Table 1 P-values, age median/quartiles and P, KM medians and 95% CIs (R ``conf.type =
  "log"``), median follow-up, ORR/DCR and AE percentages and P-values: **printed rounding**
  (:meth:`hcc.paper.Printed.matches`; P-values at 4 decimals as the paper prints them, times at
  :data:`hcc.paper.MEDIAN_DECIMALS`);
* Cox (Efron ties, Wald CI and P): HR within **3%**, CI bounds within **5%**, P within
  **±0.01** (below 0.001 where printed "<0.001"); the P < 0.1 screen must select exactly the
  paper's terms. Column ``exact_2dp`` says whether an HR or CI limit is equal at the printed
  two decimals.

Items the paper cannot consistently print (:data:`hcc.paper.COX_FLAGGED`) are shown with
``ok = NaN``, tolerance "excluded" and the reason in ``note``; they do not count.
The book keeps the standard PFS definition (a death without earlier progression is a PFS
event), which is why the Table 3 TACE row is excluded (METHODS.md §5).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hcc import drugs, paper, paths
from hcc._results import Result
from hcc.errors import DataError

SECTIONS = ("Table 1", "Survival", "Table 2", "Table 3", "Fig. 3", "Response", "Safety")
COLUMNS = ["item", "section", "kind", "paper", "ours", "tolerance", "ok", "exact_2dp",
           "as_printed", "note"]
HR_TOL, CI_TOL, P_TOL = 0.03, 0.05, 0.01
PFS_DEFINITION = ("PFS uses the standard definition: progression, or death without earlier "
                  "progression, is an event. With it, the Table 3 TACE row cannot match "
                  "together with Table 2's (METHODS.md §5), so it is excluded.")


# --------------------------------------------------------------------------- tolerance checks
def _printed_ok(pr: paper.Printed, x: float, decimals: int | None = None) -> bool:
    try:
        return bool(pr.matches(float(x), decimals))
    except (TypeError, ValueError):
        return False


def _rel_ok(pr: paper.Printed, x: float, tol: float) -> bool:
    """Within *tol* (relative) of the printed value — or printing as the paper prints it
    at two decimals: for a small limit such as 0.06 the printed rounding (0.055–0.065) is
    wider than 5%, and a value that prints as the paper's is never a miss."""
    if x is None or not np.isfinite(x):
        return False
    return abs(x / pr.value - 1.0) <= tol + 1e-12 or _printed_ok(pr, x, 2)


def _p_ok(pr: paper.Printed, x: float) -> bool:
    if x is None or not np.isfinite(x):
        return False
    if pr.bound == "<":
        return x < pr.value
    return abs(x - pr.value) <= P_TOL + 1e-12


def _p_tolerance(pr: paper.Printed) -> str:
    return f"<{pr.value:g}" if pr.bound == "<" else f"±{P_TOL:g}"


# --------------------------------------------------------------------------- result
class FidelityResult(Result):
    """The paper's numbers beside ours.

    Attributes
    ----------
    summary : DataFrame, one row per published number: ``item, section, kind, paper, ours,
        tolerance, ok, exact_2dp, note``. ``ok`` is True/False, or NaN for excluded rows.
    score : dict section → ``{"passed", "total", "excluded"}`` (plus ``"all"``).
    passed : True when every non-excluded row is within tolerance.
    """

    title = "Fidelity: the paper's numbers and ours"

    def __init__(self, rows: list[dict], notes: tuple[str, ...]):
        table = pd.DataFrame(rows, columns=COLUMNS)
        table["ok"] = table["ok"].astype(object)
        table["exact_2dp"] = table["exact_2dp"].astype(object)
        self._table = table
        self.notes = notes

    @property
    def score(self) -> dict[str, dict[str, int]]:
        t = self._table
        out = {}
        for sec in [s for s in SECTIONS if s in set(t["section"])] + ["all"]:
            sub = t if sec == "all" else t[t["section"] == sec]
            counted = sub[sub["ok"].map(lambda v: isinstance(v, (bool, np.bool_)))]
            out[sec] = {"passed": int(counted["ok"].astype(bool).sum()),
                        "total": int(len(counted)),
                        "excluded": int(len(sub) - len(counted))}
        return out

    @property
    def passed(self) -> bool:
        s = self.score["all"]
        return s["passed"] == s["total"]

    @property
    def failures(self) -> pd.DataFrame:
        """The rows outside tolerance."""
        t = self._table
        return t[t["ok"].map(lambda v: v is False or v is np.False_)].copy()

    @property
    def exact_2dp(self) -> tuple[int, int]:
        """(HR/CI values equal at the printed two decimals, HR/CI values compared), over
        the non-excluded Cox and Fig. 3 rows."""
        t = self._table
        sub = t[t["exact_2dp"].map(lambda v: isinstance(v, (bool, np.bool_)))]
        return int(sub["exact_2dp"].astype(bool).sum()), int(len(sub))

    def as_printed(self) -> pd.DataFrame:
        """Cox numbers (HR, CI limits, P of Tables 2–3 and the BCLC-B subgroup) that print as
        the paper prints them — HR and limits at 2 decimals, P at its printed decimals —
        per section and in all (``equal``, ``compared``); flagged (excluded) rows are not
        compared."""
        t = self._table
        sub = t[t["as_printed"].map(lambda v: isinstance(v, (bool, np.bool_)))]
        g = sub.groupby("section", sort=False)["as_printed"]
        out = pd.DataFrame({"equal": g.sum().astype(int), "compared": g.size()})
        out.loc["all"] = [int(out["equal"].sum()), int(out["compared"].sum())]
        return out

    def cox_terms(self, section: str) -> pd.DataFrame:
        """The Cox rows of *section* ("Table 2", "Table 3", "Fig. 3") one term per row, as a
        reader compares a table: the printed HR (CI) and P beside ours (ours with the
        paper's decimals), the HR's relative difference, ``in tolerance`` (all four numbers
        within the report's tolerance), ``as printed`` (all four print as the paper prints
        them) and the paper's inconsistency that excludes the term (``flag``).
        Indexed by the item's prefix ("OS univariate: Age (> 60 y vs ≤ 60 y)")."""
        from hcc._format import format_hr, format_p

        t = self._table
        t = t[(t["section"] == section) & t["kind"].isin(("hr", "ci", "p"))]
        out = {}
        for start in range(0, len(t), 4):  # _hr_rows writes HR, lower, upper, P per term
            hr, lo, hi, p = (t.iloc[start + k] for k in range(4))
            term = hr["item"][: -len(" HR")]
            excluded = hr["tolerance"] == "excluded"
            flags = [r["ok"] for r in (hr, lo, hi, p)]
            printed = [r["as_printed"] for r in (hr, lo, hi, p)]
            p_printed = paper.Printed(p["paper"])
            out[term] = {
                "Paper HR (CI)": f"{hr['paper']} ({lo['paper']}–{hi['paper']})",
                "Paper P": p["paper"],
                "Our HR (CI)": format_hr(hr["ours"], lo["ours"], hi["ours"]),
                "Our P": format_p(p["ours"], digits=p_printed.decimals),
                "HR diff (%)": round(100 * (hr["ours"] / paper.Printed(hr["paper"]).value - 1), 1),
                "in tolerance": np.nan if excluded else all(bool(v) for v in flags),
                "as printed": np.nan if excluded else all(bool(v) for v in printed),
                "flag": hr["note"].split(":")[0] if excluded else ""}
        return pd.DataFrame(out).T.rename_axis("term")

    def score_frame(self) -> pd.DataFrame:
        """``score`` as a table (sections as rows)."""
        return pd.DataFrame(self.score).T[["passed", "total", "excluded"]]

    def plot(self, ax=None, **kwargs):
        """Horizontal bars: share of items within tolerance per section."""
        import matplotlib.pyplot as plt

        sc = {k: v for k, v in self.score.items() if k != "all"}
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.45 * len(sc) + 1))
        names = list(sc)
        frac = [100 * v["passed"] / v["total"] if v["total"] else np.nan for v in sc.values()]
        ax.barh(names, frac, **kwargs)
        for i, v in enumerate(sc.values()):
            label = f"{v['passed']}/{v['total']}" + (f" ({v['excluded']} excluded)"
                                                     if v["excluded"] else "")
            ax.text(1, i, label, va="center", ha="left", color="white" if frac[i] > 20 else "black")
        ax.set_xlim(0, 100)
        ax.set_xlabel("Items within tolerance (%)")
        ax.invert_yaxis()
        return ax


# --------------------------------------------------------------------------- helpers
def _row(rows, item, section, kind, printed, ours, tolerance, ok, exact=np.nan, note="",
         as_printed=np.nan):
    rows.append({"item": item, "section": section, "kind": kind, "paper": str(printed),
                 "ours": ours, "tolerance": tolerance, "ok": ok, "exact_2dp": exact,
                 "as_printed": as_printed, "note": note})


def cox_design(cohort: pd.DataFrame) -> pd.DataFrame:
    """0/1 columns named as the paper's Cox terms (:data:`hcc.paper.COX_CODING`; age > 60
    derived from ``age``), plus the four outcome columns. Missing covariates stay missing."""
    d = cohort[["os_months", "os_event", "pfs_months", "pfs_event"]].copy()
    for term, (col, level) in paper.COX_CODING.items():
        s = cohort[col]
        if level == "> 60":
            v = (pd.to_numeric(s) > 60).astype(float)
        else:
            v = (s == level).astype(float)
        d[term] = v.where(s.notna())
    for extra in ("bclc", "arm"):
        d["_" + extra] = cohort[extra]
    return d


def _count_rows(rows, cohort):
    arms = paper.ARMS
    n = len(cohort)
    _row(rows, "Patients analysed", "Table 1", "count", paper.FLOW["included"], n, "exact",
         n == paper.FLOW["included"])
    for a in arms:
        k = int((cohort["arm"] == a).sum())
        _row(rows, f"{a}: patients", "Table 1", "count", paper.ARM_N[a], k, "exact",
             k == paper.ARM_N[a])
        for reg, want in paper.REGIMENS[a].items():
            k = int(((cohort["arm"] == a) & (cohort["regimen"] == reg)).sum())
            _row(rows, f"{a}: regimen {reg}", "Table 1", "count", want, k, "exact", k == want)
    for var, levels in paper.TABLE1_COUNTS.items():
        label = paper.TABLE1_LABELS.get(var, var)
        for level, per_arm in levels.items():
            for a, want in zip(arms, per_arm):
                k = int(((cohort["arm"] == a) & (cohort[var] == level)).sum())
                _row(rows, f"{label} = {level}, {a}", "Table 1", "count", want, k, "exact",
                     k == want)


def _table1_stats(rows, cohort):
    from hcc.tables import quantile_type7, table_one

    variables = list(paper.TABLE1_P)
    t1 = table_one(cohort, by="arm", variables=variables, nonnormal=["age"], test="yates")
    pv = t1.pvalues
    for var, pr in paper.TABLE1_P.items():
        ours = float(pv.get(var, np.nan))
        kind = "p (Kruskal–Wallis)" if var == "age" else "p (Yates chi-square)"
        _row(rows, f"{paper.TABLE1_LABELS.get(var, var)}: P", "Table 1", kind, pr, ours,
             "printed rounding (4 dp)", _printed_ok(pr, ours, 4))
    for group, printed in paper.AGE.items():
        x = cohort["age"] if group == "Overall" else cohort.loc[cohort["arm"] == group, "age"]
        qs = quantile_type7(x, [0.5, 0.25, 0.75])
        for name, pr, v in zip(("median", "Q1", "Q3"), printed, qs):
            _row(rows, f"Age {name}, {group}", "Table 1", f"age {name} (type 7)", pr,
                 float(v), "printed rounding", _printed_ok(pr, v, 1))


def _survival_rows(rows, cohort):
    from hcc.survival import km, logrank, median_followup

    for ep, label in (("os", "OS"), ("pfs", "PFS")):
        t, e = f"{ep}_months", f"{ep}_event"
        fit = km(cohort, t, e, group="arm", conf_type="log").summary
        for a, want in zip(paper.ARMS, paper.EVENTS[ep]):
            k = int(fit.loc[a, "events"]) if a in fit.index else 0
            _row(rows, f"{label} events, {a}", "Survival", "count", want, k, "exact", k == want)
        for a in paper.ARMS:
            med, lo, hi = paper.MEDIANS[ep][a]
            for name, pr, col in (("median", med, "median"), ("95% CI lower", lo, "lower"),
                                  ("95% CI upper", hi, "upper")):
                v = float(fit.loc[a, col]) if a in fit.index else np.nan
                if v is not None and np.isnan(v) and pr.text == "NR":
                    v = math.inf
                _row(rows, f"{label} {name}, {a}", "Survival",
                     "median" if name == "median" else "ci", pr, v,
                     "printed rounding (2 dp)", _printed_ok(pr, v, paper.MEDIAN_DECIMALS))
        p = float(logrank(cohort, t, e, "arm").p)
        pr = paper.LOGRANK_P[ep]
        _row(rows, f"{label} log-rank P", "Survival", "p", pr, p, "<0.001", _p_ok(pr, p))
    fu = float(median_followup(cohort, "os_months", "os_event").median)
    _row(rows, "Median follow-up (reverse KM)", "Survival", "median", paper.MEDIAN_FOLLOWUP,
         fu, "printed rounding", _printed_ok(paper.MEDIAN_FOLLOWUP, fu))


def _hr_rows(rows, section, prefix, term_label, printed, ours, flag_note):
    """Four rows (HR, lower, upper, p) for one Cox term."""
    for key, kind in (("HR", "hr"), ("lower", "ci"), ("upper", "ci"), ("p", "p")):
        pr = printed[key]
        v = float(ours.get(key, np.nan)) if ours is not None else np.nan
        name = {"HR": "HR", "lower": "95% CI lower", "upper": "95% CI upper", "p": "P"}[key]
        if key == "HR":
            tol, ok = "3%", _rel_ok(pr, v, HR_TOL)
        elif key in ("lower", "upper"):
            tol, ok = "5%", _rel_ok(pr, v, CI_TOL)
        else:
            tol, ok = _p_tolerance(pr), _p_ok(pr, v)
        exact = _printed_ok(pr, v, 2) if kind in ("hr", "ci") else np.nan
        # as printed: HR and CI limits at 2 decimals, P at its printed decimals (issue 9)
        as_printed = bool(_printed_ok(pr, v, 2 if kind in ("hr", "ci") else None))
        note = ""
        if flag_note:
            tol, ok, note = "excluded", np.nan, flag_note
            exact = as_printed = np.nan
        _row(rows, f"{prefix}: {term_label} {name}", section, kind, pr, v, tol, ok, exact, note,
             as_printed)


def _cox_rows(rows, design):
    from hcc.cox_tables import cox_screen
    from hcc.coxph import cox

    terms = list(paper.COX_TERMS)
    for ep, section in (("os", "Table 2"), ("pfs", "Table 3")):
        t, e = f"{ep}_months", f"{ep}_event"
        scr = cox_screen(design, t, e, terms, threshold=paper.SCREEN_THRESHOLD, ties="efron")
        uni = scr.univariate
        for term in terms:
            r = uni[uni["candidate"] == term]
            ours = r.iloc[0].to_dict() if len(r) else None
            key = paper.COX_FLAGGED.get((ep, "univariate", term))
            note = f"{key}: {paper.INCONSISTENCIES[key]}" if key else ""
            _hr_rows(rows, section, f"{ep.upper()} univariate", paper.COX_TERMS[term],
                     paper.COX_UNIVARIATE[ep][term], ours, note)
        want = list(paper.SCREEN_SELECTED[ep])
        got = list(scr.selected)
        _row(rows, f"{ep.upper()} screen (univariate P < {paper.SCREEN_THRESHOLD:g}) selects",
             section, "selection", ", ".join(want), ", ".join(got), "exact",
             set(got) == set(want))
        # the multivariate model of the paper's terms (so every printed row has a number even
        # when our screen selected differently; the selection row above reports that)
        multi = scr.multivariate if set(got) == set(want) else cox(design, t, e, want)
        ms = multi.summary
        for term, printed in paper.COX_MULTIVARIATE[ep].items():
            ours = ms.loc[term].to_dict() if term in ms.index else None
            key = paper.COX_FLAGGED.get((ep, "multivariate", term))
            note = f"{key}: {paper.INCONSISTENCIES[key]}" if key else ""
            _hr_rows(rows, section, f"{ep.upper()} multivariate", paper.COX_TERMS[term],
                     printed, ours, note)


def _subgroup_rows(rows, design):
    from hcc.coxph import cox

    for (var, level), printed in paper.SUBGROUP_PFS.items():
        sub = design[design["_" + var] == level]
        ours = None
        note = ""
        try:
            ours = cox(sub, "pfs_months", "pfs_event", ["second_line"]).summary.loc["second_line"]
            ours = ours.to_dict()
        except DataError as exc:  # e.g. no events in the subgroup
            note = f"not estimable: {exc}"
        _hr_rows(rows, "Fig. 3", f"PFS, BCLC {level} patients", "TKI-ICI vs TKI", printed,
                 ours, "")
        if note:
            rows[-1]["note"] = note


def _response_rows(rows, cohort):
    from hcc.response import response_table

    res = response_table(cohort, "arm", response="best_response", test="yates")
    counts = res.counts
    for a in paper.ARMS:
        for cat, want in paper.RESPONSE[a].items():
            k = int(counts.loc[cat, a]) if (cat in counts.index and a in counts.columns) else 0
            _row(rows, f"{a}: best response {cat}", "Response", "count", want, k, "exact",
                 k == want)
    for name, printed, p in (("ORR", paper.ORR, res.p_orr), ("DCR", paper.DCR, res.p_dcr)):
        for a in paper.ARMS:
            pct = 100.0 * float(res.rates.loc[(name, a), "rate"])
            _row(rows, f"{name} (%), {a}", "Response", "percent", printed[a], pct,
                 "printed rounding", _printed_ok(printed[a], pct))
        _row(rows, f"{name} P", "Response", "p (Yates chi-square)", printed["p"], float(p),
             "printed rounding (4 dp)", _printed_ok(printed["p"], p, 4))


# --------------------------------------------------------------------------- the paper's AE names
#: The paper's AE names → the CTCAE v5 terms that record them, besides the name itself and the
#: ``ae_term_map`` of a generator's manifest: immune hepatitis is a liver-enzyme rise flagged
#: immune-related (a name of :data:`IMMUNE_ONLY` counts a coded term only with the flag).
AE_CODING = {"Immune-mediated hepatitis": frozenset(drugs.LIVER_ENZYME_TERMS),
             "Hepatic encephalopathy": frozenset({"Encephalopathy"})}
IMMUNE_ONLY = ("Immune-mediated hepatitis",)


def ae_term_map(ae: pd.DataFrame | None = None) -> dict[str, str]:
    """The paper's AE names → the terms used in *ae* (paper name → CTCAE v5 term).

    Our generator codes the paper's names ("Immune-mediated hepatitis", "Hepatic
    encephalopathy") as CTCAE v5 terms and records the map as ``ae_term_map`` in the
    ``manifest.json`` beside the files; it is read from there (the folder of the file *ae*
    was loaded from, else the shipped cohort's). Names without an entry are used as printed.
    """
    import json

    src = ae.attrs.get("hcc_source") if ae is not None else None
    folder = Path(src["file"]).parent if isinstance(src, dict) and src.get("file") \
        else paths.COHORT_MANIFEST.parent
    try:
        man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    m = man.get("ae_term_map") if isinstance(man, dict) else None
    return {str(k): str(v) for k, v in m.items()} if isinstance(m, dict) else {}


def coded_terms(name: str, term_map: dict) -> set:
    """The terms that record the paper's AE *name*: itself, its manifest coding, :data:`AE_CODING`."""
    return {name, term_map.get(name, name)} | set(AE_CODING.get(name, ()))


def paper_ae_name(term: str, immune: int, term_map: dict) -> str:
    """The paper's name (immune-related AEs, discontinuations) of an event recorded as *term*."""
    for name in list(paper.IMMUNE_RELATED) + [t for ts in paper.DISCONTINUATIONS.values() for t in ts]:
        if term in coded_terms(name, term_map) and (name not in IMMUNE_ONLY or immune == 1
                                                     or term == name):
            return name
    return term


def immune_related_patients(ae: pd.DataFrame, arm_of: dict, term_map: dict) -> tuple[dict, int]:
    """Patients of the TKI-ICI arm with each of the paper's immune-related AEs, and patients
    of the TKI arm with any immune-related AE."""
    ir = ae[pd.to_numeric(ae["immune_related"], errors="coerce") == 1]
    arm = ir["patient_id"].astype(str).map(arm_of)
    got = {name: int(ir.loc[ir["term"].isin(coded_terms(name, term_map)) & (arm == "TKI-ICI"),
                            "patient_id"].nunique()) for name in paper.IMMUNE_RELATED}
    return got, int(ir.loc[arm == "TKI", "patient_id"].nunique())


def discontinued(ae: pd.DataFrame, arm_of: dict, term_map: dict) -> dict[str, list]:
    """Arm → the paper's names of the AEs that led to discontinuation (once per patient), sorted."""
    d = ae[pd.to_numeric(ae["led_to_discontinuation"], errors="coerce") == 1]
    immune = pd.to_numeric(d["immune_related"], errors="coerce")
    d = d.assign(_arm=d["patient_id"].astype(str).map(arm_of),
                 _name=[paper_ae_name(t, int(i) if pd.notna(i) else 0, term_map)
                        for t, i in zip(d["term"], immune)]).drop_duplicates(["patient_id", "_name"])
    return {a: sorted(d.loc[d["_arm"] == a, "_name"]) for a in paper.ARMS}


def _safety_rows(rows, cohort, ae):
    from hcc.safety import safety_table

    summ = safety_table(ae, cohort, "arm", test="yates", grade_min_severe=3).summary
    terms = ae_term_map(ae)

    def coded(name: str) -> str:
        t = terms.get(name, name)
        return "" if t == name else f"coded as CTCAE term '{t}'"
    for name, key, counts, pcts in (("any AE", "Any AE", paper.AE_ANY, paper.AE_ANY_PCT),
                                    ("grade 3/4 AE", "Grade ≥ 3 AE", paper.AE_GRADE34,
                                     paper.AE_GRADE34_PCT)):
        r = summ.loc[key]
        for a in paper.ARMS:
            k = int(r[f"{a} n"])
            _row(rows, f"Patients with {name}, {a}", "Safety", "count", counts[a], k, "exact",
                 k == counts[a])
            if a in pcts:
                pct = float(r[f"{a} %"])
                _row(rows, f"Patients with {name} (%), {a}", "Safety", "percent", pcts[a], pct,
                     "printed rounding", _printed_ok(pcts[a], pct))
        if "Overall" in pcts:
            pct = float(r["Overall %"])
            _row(rows, f"Patients with {name} (%), overall", "Safety", "percent",
                 pcts["Overall"], pct, "printed rounding", _printed_ok(pcts["Overall"], pct))
        _row(rows, f"Patients with {name}: P", "Safety", "p (Yates chi-square)", counts["p"],
             float(r["P"]), "printed rounding (4 dp)", _printed_ok(counts["p"], r["P"], 4))
    deaths = int(ae.loc[pd.to_numeric(ae["grade"]) == 5, "patient_id"].nunique())
    _row(rows, "Treatment-related deaths (grade 5)", "Safety", "count",
         paper.TREATMENT_RELATED_DEATHS, deaths, "exact",
         deaths == paper.TREATMENT_RELATED_DEATHS)
    arm_of = dict(zip(cohort["patient_id"].astype(str), cohort["arm"]))
    immune, in_tki = immune_related_patients(ae, arm_of, terms)
    for term, want in paper.IMMUNE_RELATED.items():  # the paper's name or its CTCAE coding
        _row(rows, f"Immune-related {term}, TKI-ICI", "Safety", "count", want, immune[term],
             "exact", immune[term] == want, note=coded(term))
    _row(rows, "Immune-related AEs, TKI", "Safety", "count", 0, in_tki, "exact", in_tki == 0)
    got = discontinued(ae, arm_of, terms)
    for a in paper.ARMS:
        want = sorted(paper.DISCONTINUATIONS[a])
        _row(rows, f"Discontinuations for AEs, {a}", "Safety", "terms", ", ".join(want),
             ", ".join(got[a]), "exact", got[a] == want,
             note="; ".join(n for n in map(coded, want) if n))


# --------------------------------------------------------------------------- public
def fidelity_report(cohort: pd.DataFrame | str | Path | None = None,
                    ae: pd.DataFrame | str | Path | None = None,
                    sections=SECTIONS) -> FidelityResult:
    """Compare every published number with the same statistic computed on *cohort*.

    Parameters
    ----------
    cohort : DataFrame or path, optional
        Analysis frame (data dictionary). Default: the shipped synthetic cohort, with its
        adverse events.
    ae : DataFrame or path, optional
        Adverse events (one row per event). Default: the shipped table when *cohort* is the
        default; for a cohort file, an ``adverse_events.csv`` beside it. Without adverse
        events the Safety rows are left out (noted).
    sections : sequence of str, optional
        Only these of :data:`SECTIONS` (a chapter compares its own section).

    Returns
    -------
    FidelityResult

    Notes
    -----
    Statistics as in R (METHODS.md): Table 1 by Yates-corrected chi-square and Kruskal–Wallis
    (:func:`hcc.table_one`), quantiles type 7, Kaplan–Meier with ``conf.type = "log"``
    (:func:`hcc.km`), log-rank (:func:`hcc.logrank`), reverse-KM follow-up, Cox with Efron
    ties and Wald CI/P (:func:`hcc.cox_screen`, :func:`hcc.cox`); the BCLC-B hazard ratio is a
    Cox model of arm on the BCLC stage B patients; ORR/DCR by :func:`hcc.response_table` and
    AE rows by :func:`hcc.safety_table` (Yates chi-square, as R ``chisq.test``). Months are
    days / 30. Cox terms are coded as :data:`hcc.paper.COX_CODING` (:func:`cox_design`;
    age > 60 derived from ``age``).
    """
    import hcc as _data  # load_cohort, load_adverse_events, get_adverse_events

    notes = [PFS_DEFINITION]
    if cohort is None:
        cohort = _data.load_cohort()
        if ae is None:
            ae = _data.load_adverse_events()
    elif isinstance(cohort, (str, Path)):
        path = cohort
        cohort = _data.load_cohort(path)
        if ae is None:
            ae = _data.get_adverse_events(data=path)
    if isinstance(ae, (str, Path)):
        ae = _data.load_adverse_events(ae)
    if not isinstance(cohort, pd.DataFrame):
        raise DataError("cohort must be a DataFrame or a file path")
    missing = [c for c in ("patient_id", "arm", "regimen", "age", "best_response", "os_months",
                           "os_event", "pfs_months", "pfs_event") + tuple(paper.TABLE1_COUNTS)
               if c not in cohort.columns]
    if missing:
        raise DataError(f"the cohort lacks the column(s) {', '.join(missing)} of the data "
                        "dictionary")
    rows: list[dict] = []
    for section, build in (("Table 1", _count_rows), ("Table 1", _table1_stats),
                           ("Survival", _survival_rows), ("Response", _response_rows)):
        if section in sections:
            build(rows, cohort)
    if {"Table 2", "Table 3", "Fig. 3"} & set(sections):
        design = cox_design(cohort)
        _cox_rows(rows, design)
        _subgroup_rows(rows, design)
    if "Safety" in sections and ae is not None:
        _safety_rows(rows, cohort, ae)
    elif "Safety" in sections:
        notes.append("No adverse-event table: the Safety rows are left out.")
    # sort rows by section order, keeping the order within a section
    order = {s: i for i, s in enumerate(SECTIONS)}
    rows = [r for _, r in sorted(enumerate(rows), key=lambda ir: (order[ir[1]["section"]], ir[0]))
            if r["section"] in sections]
    return FidelityResult(rows, tuple(notes))
