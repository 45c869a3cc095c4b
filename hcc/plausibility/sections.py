"""Sections 2–9 of the plausibility report: response, post-progression, scan schedule,
subgroups, adverse events by drug, dates, censoring, ages."""
from __future__ import annotations


import numpy as np
import pandas as pd

from hcc import drugs, paper
from hcc._format import format_time
from hcc.errors import DataError
from hcc.plausibility.thresholds import (AGE_MIN, DC_FREE_UNTIL_DAY, FIG3_REF, FIRST_SCAN_DAYS,
    HR_FACTOR_MAX, HR_PD_VS_DC_MIN, HR_RESP_VS_SD_MAX, LENCIONI, LOST_DAYS, LOST_MAX, MC_DRAWS,
    MC_SEED, MIN_DEATHS_MEDIAN, MIN_EVENTS_SUBGROUP, MIN_GROUP, PD_EARLIEST_DAY, PD_IN_WINDOW_MIN,
    PPS_EARLY_DAYS, PPS_EARLY_MAX, PPS_MEDIAN_RANGE, SAME_LAST_CONTACT_MAX, SCAN_REF)
from hcc.plausibility.hazard import _upper_p
from hcc.plausibility._common import (_NOT_COMPUTABLE, _days, _guarded, _median, _na, _num, _reason,
    _regimen_drugs, _row)


# =========================================================================== 2. response
def _strat_cox_hr(df: pd.DataFrame, flag: str) -> tuple[float, float, int]:
    """HR (and Wald P) of the 0/1 column *flag* for OS, stratified by arm (lifelines
    ``CoxPHFitter(strata=["arm"])``, Efron ties as R ``coxph(... + strata(arm))``)."""
    from lifelines import CoxPHFitter

    d = df[["os_months", "os_event", flag, "arm"]].dropna()
    if d[flag].nunique() < 2 or int(d["os_event"].sum()) == 0:
        raise DataError("one group only, or no deaths")
    if int(d.loc[d[flag] == 1, "os_event"].sum()) == 0 or \
            int(d.loc[d[flag] == 0, "os_event"].sum()) == 0:
        raise DataError("no deaths in one of the groups")
    fit = CoxPHFitter().fit(d, "os_months", "os_event", strata=["arm"])
    s = fit.summary.loc[flag]
    return float(s["exp(coef)"]), float(s["p"]), int(d["os_event"].sum())


def _response_rows(rows, cohort):
    d = cohort.copy()
    br = d["best_response"]
    d["pd"] = (br == "PD").astype(float).where(br.notna())
    d["responder"] = br.isin(["CR", "PR"]).astype(float).where(br.isin(["CR", "PR", "SD"]))

    def pd_vs_dc():
        n = d["pd"].value_counts()
        if n.get(1.0, 0) < MIN_GROUP or n.get(0.0, 0) < MIN_GROUP:
            return _na(f"fewer than {MIN_GROUP} patients with PD or with disease control")
        hr, p, ev = _strat_cox_hr(d, "pd")
        return f"HR {hr:.2f} (P {p:.3g}, {ev} deaths)", hr >= HR_PD_VS_DC_MIN

    def resp_vs_sd():
        n = d["responder"].value_counts()
        if n.get(1.0, 0) < MIN_GROUP or n.get(0.0, 0) < MIN_GROUP:
            return _na(f"fewer than {MIN_GROUP} responders or SD patients")
        hr, p, ev = _strat_cox_hr(d, "responder")
        return f"HR {hr:.2f} (P {p:.3g}, {ev} deaths)", hr <= HR_RESP_VS_SD_MAX

    _guarded(rows, "OS by response [PD vs DC]", "response",
             f"OS hazard ratio of PD vs disease control (CR/PR/SD), stratified by arm, at least "
             f"{HR_PD_VS_DC_MIN:g}", LENCIONI, pd_vs_dc)
    _guarded(rows, "OS by response [CR/PR vs SD]", "response",
             f"OS hazard ratio of responders (CR/PR) vs SD, stratified by arm, at most "
             f"{HR_RESP_VS_SD_MAX:g} (responders not worse)", LENCIONI, resp_vs_sd)
    for arm in paper.ARMS:
        sub = d[d["arm"] == arm]

        def medians(sub=sub):
            pdg, dc = sub[sub["pd"] == 1], sub[sub["pd"] == 0]
            deaths = (int(pdg["os_event"].sum()), int(dc["os_event"].sum()))
            if min(deaths) < MIN_DEATHS_MEDIAN:
                return _na(f"{deaths[0]} deaths with PD, {deaths[1]} with disease control "
                           f"(a median needs at least {MIN_DEATHS_MEDIAN})")
            m_pd, m_dc = (_median(g, "os_months", "os_event") for g in (pdg, dc))
            if np.isinf(m_pd) and np.isinf(m_dc):
                return _na("neither median is reached")
            return f"median OS PD {format_time(m_pd)} vs DC {format_time(m_dc)} months", m_pd < m_dc
        _guarded(rows, f"OS by response [median PD < DC, {arm}]", "response",
                 f"{arm}: median OS of PD patients shorter than of disease-control patients",
                 LENCIONI, medians)


# =========================================================================== 3. post-progression
def _progression_frame(cohort, raw) -> pd.DataFrame:
    """Patients with documented progression: ``prog_day``, ``end_day`` (death or last
    contact), ``died``. From raw dates when given (progression_date), else a PFS event
    earlier than OS."""
    if raw is not None and "progression_date" in raw:
        r = raw[raw["progression_date"].notna()]
        end = r["death_date"].where(r["death_date"].notna(), r["last_contact_date"])
        return pd.DataFrame({"prog_day": (r["progression_date"] - r["start_date"]).dt.days,
                             "end_day": (end - r["start_date"]).dt.days,
                             "died": r["death_date"].notna().astype(int),
                             "arm": r["arm"]}).dropna()
    c = cohort
    pfs, os_ = _days(c["pfs_months"]), _days(c["os_months"])
    m = (c["pfs_event"].to_numpy() == 1) & (pfs < os_)
    return pd.DataFrame({"prog_day": pfs[m], "end_day": os_[m],
                         "died": c["os_event"].to_numpy()[m].astype(int),
                         "arm": c["arm"].to_numpy()[m]})


def _pps_rows(rows, cohort, raw):
    pr = _progression_frame(cohort, raw)
    pr = pr.assign(pps=(pr["end_day"] - pr["prog_day"]).clip(lower=0) / 30.0)
    src = "raw dates" if raw is not None and "progression_date" in raw else \
        "PFS events before OS"
    lo, hi = PPS_MEDIAN_RANGE

    def median():
        if len(pr) < MIN_GROUP or pr["died"].sum() == 0:
            return _na("too few progressions or no deaths after progression")
        m = _median(pr, "pps", "died")
        if np.isinf(m):
            longest = float(pr["pps"].max())
            if longest < hi:
                return _na(f"median not reached within {longest:.1f} months of follow-up")
            return f"median not reached ({len(pr)} progressions, from {src})", False
        return f"median {m:.2f} months ({len(pr)} progressions, from {src})", lo <= m <= hi

    def early():
        dead = pr[pr["died"] == 1]
        if dead.empty:
            return _na("no deaths after progression")
        k = int(((dead["end_day"] - dead["prog_day"]) <= PPS_EARLY_DAYS).sum())
        share = k / len(dead)
        return f"{k} of {len(dead)} ({100 * share:.1f}%)", share <= PPS_EARLY_MAX

    ref = "Kuzuya et al. 2018 (the paper's ref. 8): post-progression survival after sorafenib"
    _guarded(rows, "post-progression survival [median]", "post-progression",
             f"KM median survival after progression between {lo:g} and {hi:g} months", ref,
             median)
    _guarded(rows, "post-progression survival [deaths within 7 days]", "post-progression",
             f"at most {100 * PPS_EARLY_MAX:g}% of deaths after progression within "
             f"{PPS_EARLY_DAYS} days of it", ref, early)


# =========================================================================== 4. scan schedule
def _scan_rows(rows, cohort):
    day = pd.Series(_days(cohort["pfs_months"]), index=cohort.index)  # PFS end, whole days
    ev = cohort["pfs_event"] == 1
    br = cohort["best_response"]
    pd_mask, dc_mask = br == "PD", br.isin(["CR", "PR", "SD"])
    lo, hi = FIRST_SCAN_DAYS

    def window():
        n = int(pd_mask.sum())
        if n == 0:
            return _na("no PD patients")
        k = int((pd_mask & ev & day.between(lo, hi)).sum())
        return (f"{k} of {n} PD patients ({100 * k / n:.1f}%) progress at days {lo}–{hi}",
                k / n >= PD_IN_WINDOW_MIN)

    def earliest():
        if int(pd_mask.sum()) == 0:
            return _na("no PD patients")
        k = int((pd_mask & ev & (day < PD_EARLIEST_DAY)).sum())
        first = int(day[pd_mask & ev].min()) if (pd_mask & ev).any() else None
        return f"{k} before day {PD_EARLIEST_DAY} (earliest day {first})", k == 0

    def dc_free():
        n = int(dc_mask.sum())
        if n == 0:
            return _na("no CR/PR/SD patients")
        k = int((dc_mask & (day < DC_FREE_UNTIL_DAY)).sum())
        return (f"{k} of {n} CR/PR/SD patients progress, die or leave before day "
                f"{DC_FREE_UNTIL_DAY}", k == 0)

    _guarded(rows, "scan schedule [PD at the first scan]", "scan schedule",
             f"at least {100 * PD_IN_WINDOW_MIN:g}% of PD patients progress at days {lo}–{hi}",
             SCAN_REF, window)
    _guarded(rows, "scan schedule [no PD before day 21]", "scan schedule",
             f"no PD patient progresses before day {PD_EARLIEST_DAY}", SCAN_REF, earliest)
    _guarded(rows, "scan schedule [CR/PR/SD free at the first scan]", "scan schedule",
             f"every CR/PR/SD patient is progression-free (and followed) until day "
             f"{DC_FREE_UNTIL_DAY}", SCAN_REF, dc_free)


# =========================================================================== 5. subgroups
def _subgroup_table(design, ep) -> tuple[pd.DataFrame, dict, list[str]]:
    """hcc.subgroup_hr per variable (one failing variable does not stop the others) and the
    likelihood-ratio interaction P per variable."""
    from hcc.cox_tables import subgroup_hr

    t, e = f"{ep}_months", f"{ep}_event"
    parts, p_int, skipped = [], {}, []
    for var in paper.SUBGROUP_VARIABLES:
        try:
            res = subgroup_hr(design, t, e, "_arm", [var], reference="TKI",
                              overall=not parts)
        except _NOT_COMPUTABLE as exc:
            skipped.append(f"{var} ({_reason(exc)})")
            continue
        parts.append(res.summary)
        ps, why = interaction_ps(design, t, e, "_arm", [var])
        p_int.update(ps)
        skipped += why
    table = pd.concat(parts) if parts else pd.DataFrame()
    return table, p_int, skipped


def interaction_ps(df: pd.DataFrame, time: str, event: str, treatment: str,
                   variables) -> tuple[dict, list[str]]:
    """:func:`interaction_lr` for each of *variables*: {variable: P}, and a line per variable
    where it is not estimable (with the reason) — check 12's P-values, also what the
    generator's last stage watches (``hcc.reconstruct.printed.interaction_check``)."""
    p_int, skipped = {}, []
    for var in variables:
        try:
            p_int[var] = interaction_lr(df, time, event, treatment, var)
        except _NOT_COMPUTABLE as exc:
            skipped.append(f"{var} interaction ({_reason(exc)})")
    return p_int, skipped


def bonferroni_min(p_int: dict) -> float:
    """Check 12's combined P: the smallest finite P times the number of finite P-values
    (capped at 1; NaN when none is finite). The check fails below ``ALPHA``."""
    finite = [v for v in p_int.values() if np.isfinite(v)]
    return min(1.0, min(finite) * len(finite)) if finite else float("nan")


def interaction_lr(df: pd.DataFrame, time: str, event: str, treatment: str,
                   subgroup: str) -> float:
    """Likelihood-ratio P of treatment × subgroup in a Cox model (hcc.cox, Efron ties).

    Null hypothesis: the treatment hazard ratio is the same in every level of *subgroup*
    (model ``treatment + subgroup``); alternative ``treatment * subgroup``. P = chi-square
    upper tail of twice the log partial-likelihood difference on (levels − 1) df, on the
    patients with *subgroup* known (as R ``anova(fit0, fit1)``).
    """
    from scipy.stats import chi2

    from hcc.coxph import cox

    d = df[[time, event, treatment, subgroup]].dropna()
    z = (d[treatment] == sorted(d[treatment].unique())[-1]).astype(float)
    levels = sorted(d[subgroup].unique(), key=str)
    if len(levels) < 2 or z.nunique() < 2:
        raise DataError(f"'{subgroup}' or the treatment has a single value")
    x = pd.DataFrame({f"_x{k}": (d[subgroup] == lev).astype(float)
                      for k, lev in enumerate(levels[1:])}, index=d.index)
    zx = x.mul(z, axis=0).add_prefix("_z")
    full = pd.concat([d[[time, event]], z.rename("_z"), x, zx], axis=1)
    f0 = cox(full, time, event, ["_z", *x.columns])
    f1 = cox(full, time, event, ["_z", *x.columns, *zx.columns])
    stat = max(0.0, 2.0 * (f1.loglik[1] - f0.loglik[1]))
    return float(chi2.sf(stat, len(zx.columns)))


def _design(cohort) -> pd.DataFrame:
    from hcc.fidelity import cox_design

    d = cox_design(cohort)
    for col in ("sex", "child_pugh", "bclc"):  # subgroup levels by their labels (B7, B, ...)
        d[col] = cohort[col].to_numpy()
    if d["_arm"].nunique() != 2:
        raise DataError("both arms are needed for a treatment hazard ratio")
    return d


def _level_name(var, level) -> str:
    return f"{var}={level:g}" if isinstance(level, (int, float, np.floating)) else \
        f"{var}={level}"


def _level_outliers(table: pd.DataFrame, alpha: float) -> tuple[float, list, list, int]:
    """Overall HR; levels (≥ MIN_EVENTS_SUBGROUP events) outside the factor band; those of
    them beyond chance (Bonferroni z); number of levels tested."""
    from scipy.stats import norm

    hr0 = float(table.loc[("All patients", ""), "HR"])
    lv = table.drop(index=("All patients", ""))
    lv = lv[(lv["events"] >= MIN_EVENTS_SUBGROUP) & np.isfinite(lv["HR"])]
    zcrit = norm.isf(alpha / (2 * max(len(lv), 1)))
    outside, bad = [], []
    for key, r in lv.iterrows():
        dist = np.log(r["HR"] / hr0)
        if abs(dist) <= np.log(HR_FACTOR_MAX):
            continue
        se = (np.log(r["upper"]) - np.log(r["lower"])) / (2 * norm.isf(0.025))
        z = dist / se if se > 0 else np.inf
        label = f"{_level_name(*key)} HR {r['HR']:.2f} (z {z:.1f})"
        outside.append(label)
        if abs(z) > zcrit:
            bad.append(label)
    return hr0, outside, bad, len(lv)


def _subgroup_rows(rows, cohort, tables, alpha):
    for ep, label in (("os", "OS"), ("pfs", "PFS")):
        def hr_consistent(ep=ep):
            table, _, _ = tables(ep)
            if table.empty or ("All patients", "") not in table.index:
                return _na("no subgroup could be fitted")
            hr0, outside, bad, n = _level_outliers(table, alpha)
            if n == 0:
                return _na(f"no subgroup level has {MIN_EVENTS_SUBGROUP} events or more")
            ours = (f"overall HR {hr0:.2f}; {n} levels with ≥ {MIN_EVENTS_SUBGROUP} events; "
                    f"beyond a factor {HR_FACTOR_MAX:g}: {', '.join(outside) or 'none'}; "
                    f"of them beyond chance: {', '.join(bad) or 'none'}")
            return ours, not bad

        def interaction(ep=ep):
            _, p_int, skipped = tables(ep)
            finite = {k: v for k, v in p_int.items() if np.isfinite(v)}
            if not finite:
                return _na("no interaction P is estimable")
            level = alpha / len(finite)
            var, pmin = min(finite.items(), key=lambda kv: kv[1])
            bad = [f"{k} P {v:.3g}" for k, v in finite.items() if v < level]
            ours = (f"smallest P {pmin:.3g} ({var}); Bonferroni level {level:.4g} over "
                    f"{len(finite)} variables; below: {', '.join(bad) or 'none'}"
                    + (f"; not estimable: {', '.join(skipped)}" if skipped else ""))
            return ours, not bad, bonferroni_min(finite)

        _guarded(rows, f"subgroup HR [{label}]", "subgroups",
                 f"{label}: no subgroup level with ≥ {MIN_EVENTS_SUBGROUP} events has a "
                 f"TKI-ICI HR more than a factor {HR_FACTOR_MAX:g} from the overall HR beyond "
                 f"chance (Bonferroni z at {alpha:g})", FIG3_REF, hr_consistent)
        _guarded(rows, f"subgroup interaction [{label}]", "subgroups",
                 f"{label}: no treatment × subgroup interaction (likelihood ratio, Efron), "
                 f"P ≥ {alpha:g} Bonferroni-corrected over the subgroup variables",
                 FIG3_REF, interaction)


# =========================================================================== 6. AEs by drug
def _on_drug(cohort, drug) -> set:
    return {pid for pid, reg in zip(cohort["patient_id"].astype(str), cohort["regimen"])
            if drug in _regimen_drugs(reg)}


def _signature_hits(ae, sig: drugs.SignatureAE) -> set:
    """Patients with the signature AE (any grade); the liver-enzyme row counts AST/ALT rises
    that are not immune-related."""
    if sig.term.startswith("Liver enzyme increased"):
        m = ae["term"].isin(drugs.LIVER_ENZYME_TERMS) & (_num(ae["immune_related"]) == 0)
    else:
        m = ae["term"] == sig.term
    return set(ae.loc[m, "patient_id"].astype(str))


def _ae_rows(rows, cohort, ae):
    if ae is None:
        for sig in drugs.SIGNATURE_AES:
            _row(rows, f"signature AE [{sig.drug}: {sig.term}]", "adverse events",
                 f"at least {100 * sig.min_share:g}% of {sig.drug} patients", *_na(
                     "no adverse-event table"), sig.source)
        _row(rows, "immune-related AEs only with a PD-1 inhibitor", "adverse events",
             "immune-related AEs only in patients whose regimen has CAM or SIN",
             *_na("no adverse-event table"), "mechanism of PD-1 inhibitors")
        return
    for sig in drugs.SIGNATURE_AES:
        def share(sig=sig):
            pts = _on_drug(cohort, sig.drug)
            if not pts:
                return _na(f"no patient on {sig.drug}")
            k = len(_signature_hits(ae, sig) & pts)
            return (f"{k} of {len(pts)} ({100 * k / len(pts):.1f}%; trial "
                    f"{100 * sig.trial_share:g}%)", k / len(pts) >= sig.min_share)
        _guarded(rows, f"signature AE [{sig.drug}: {sig.term}]", "adverse events",
                 f"at least {100 * sig.min_share:g}% of {sig.drug} patients have {sig.term} "
                 "(any grade)", sig.source, share)

    def immune_only():
        pd1 = set().union(*(_on_drug(cohort, d) for d in drugs.PD1_INHIBITORS))
        ir = set(ae.loc[_num(ae["immune_related"]) == 1, "patient_id"].astype(str))
        known = set(cohort["patient_id"].astype(str))
        bad = sorted((ir & known) - pd1)
        return (f"{len(ir & known)} patients with immune-related AEs; without a PD-1 "
                f"inhibitor: {len(bad)}" + (f" ({', '.join(bad[:5])})" if bad else ""),
                not bad)
    _guarded(rows, "immune-related AEs only with a PD-1 inhibitor", "adverse events",
             "immune-related AEs only in patients whose regimen has CAM or SIN",
             "mechanism of PD-1 inhibitors (drugs.PD1_INHIBITORS)", immune_only)


# =========================================================================== 7. dates
_DATE_REF = "hcc.drugs.APPROVALS (NMPA) and the paper's enrolment May 2018 – May 2021"


def _enrolment() -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = paper.ENROLMENT
    start = pd.Timestamp(f"{lo}-01")
    return start, pd.Timestamp(f"{hi}-01") + pd.offsets.MonthEnd(0)


def _cutoff_of(raw, cutoff) -> pd.Timestamp:
    if cutoff is not None:
        return pd.Timestamp(cutoff)
    return pd.Series([raw[c].max() for c in ("start_date", "progression_date", "death_date",
                                             "last_contact_date") if c in raw]).max()


def _date_rows(rows, raw, cutoff):
    checks = [("dates [after approval]", "every start_date is on or after the approval date "
               "of each drug of the regimen"),
              ("dates [enrolment window]", "every start_date within the enrolment window "
               f"{paper.ENROLMENT[0]} – {paper.ENROLMENT[1]}"),
              ("dates [not after the cut-off]", "no date after the data cut-off"),
              ("dates [order]", "start ≤ progression ≤ death; last contact ≤ death; "
               "progression ≤ last contact")]
    if raw is None:
        for name, crit in checks:
            _row(rows, name, "dates", crit, *_na("no dates (analysis columns only)"), _DATE_REF)
        return
    st = raw["start_date"]
    fns = [lambda: _approval(raw), lambda: _window(st),
           lambda: _after_cutoff(raw, cutoff), lambda: _order(raw)]
    for (name, crit), fn in zip(checks, fns):
        _guarded(rows, name, "dates", crit, _DATE_REF, fn)


def _approval(raw):
    bad = []
    for pid, reg, st in zip(raw["patient_id"], raw["regimen"], raw["start_date"]):
        for d in _regimen_drugs(reg):
            ap = drugs.APPROVALS.get(d)
            if ap is not None and pd.notna(st) and st.date() < ap.date:
                bad.append(f"{pid} {d} {st.date()} < {ap.date}")
    return f"{len(bad)} starts before approval" + (f" ({'; '.join(bad[:3])})" if bad else ""), \
        not bad


def _window(st):
    lo, hi = _enrolment()
    out = st[(st < lo) | (st > hi)]
    return (f"{len(out)} outside; first start {st.min().date()}, last {st.max().date()}",
            out.empty)


def _after_cutoff(raw, cutoff):
    cut = _cutoff_of(raw, cutoff)
    n = 0
    for c in ("start_date", "progression_date", "death_date", "last_contact_date"):
        if c in raw:
            n += int((raw[c] > cut).sum())
    given = "given" if cutoff is not None else "latest date in the file"
    return f"cut-off {cut.date()} ({given}); {n} dates after it", n == 0


def _order(raw):
    nat = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    st, pr, de, lc = (raw[c] if c in raw else nat for c in
                      ("start_date", "progression_date", "death_date", "last_contact_date"))
    bad = ((pr < st) | (de < st) | (lc < st) | (de < pr) | (lc > de)
           | (de.isna() & (pr > lc)))
    return f"{int(bad.sum())} patients with dates out of order", not bool(bad.any())


# =========================================================================== 8. censoring
def _censoring_rows(rows, cohort, raw, cutoff):
    names = [("censoring [last contacts spread]", f"at most {100 * SAME_LAST_CONTACT_MAX:g}% "
              "of the living patients share one last-contact date"),
             ("censoring [lost to follow-up]", f"at most {100 * LOST_MAX:g}% of patients alive "
              f"with last contact more than {LOST_DAYS} days before the cut-off"),
             ("censoring [median follow-up]", "reverse-KM median follow-up is computed (reported "
              "beside the median time from start to the cut-off) and no longer than the longest "
              "time from start to the cut-off")]
    ref = "standard practice: follow-up visits and losses in a retrospective cohort"
    if raw is None:
        for name, crit in names:
            _row(rows, name, "censoring", crit, *_na("no dates (analysis columns only)"), ref)
        return
    alive = raw[raw["death_date"].isna()] if "death_date" in raw else raw
    cut = _cutoff_of(raw, cutoff)

    def spread():
        if len(alive) < 5:
            return _na(f"{len(alive)} living patients (fewer than 5)")
        top = alive["last_contact_date"].value_counts()
        share = float(top.iloc[0]) / len(alive)
        return (f"{int(top.iloc[0])} of {len(alive)} ({100 * share:.1f}%) on "
                f"{top.index[0].date()}", share <= SAME_LAST_CONTACT_MAX)

    def lost():
        k = int((alive["last_contact_date"] < cut - pd.Timedelta(days=LOST_DAYS)).sum())
        return f"{k} of {len(raw)} ({100 * k / len(raw):.1f}%)", k / len(raw) <= LOST_MAX

    def followup():
        from hcc.survival import median_followup

        fu = float(median_followup(cohort, "os_months", "os_event").median)
        potential = float(np.median((cut - raw["start_date"]).dt.days)) / 30.0
        longest = float((cut - raw["start_date"]).dt.days.max()) / 30.0
        ours = (f"reverse-KM median {format_time(fu)} months; median potential follow-up (start to "
                f"cut-off) {potential:.2f}, longest {longest:.2f} months")
        if not np.isfinite(fu):
            return _na(ours)
        return ours, fu <= longest

    for (name, crit), fn in zip(names, (spread, lost, followup)):
        _guarded(rows, name, "censoring", crit, ref, fn)


# =========================================================================== 9. ages
def _age_null(n: int, median: float, sd: float, draws: int = MC_DRAWS):
    """Null distributions of (most patients at one age, patients at the minimum, at the
    maximum) for *n* whole-year ages from a normal distribution."""
    rng = np.random.default_rng([MC_SEED, n])
    ages = np.rint(rng.normal(median, sd, (draws, n))).astype(int)
    ages -= ages.min(axis=1, keepdims=True)
    width = int(ages.max()) + 1
    counts = np.zeros((draws, width), int)
    np.add.at(counts, (np.repeat(np.arange(draws), n), ages.ravel()), 1)
    at_max = counts[np.arange(draws), ages.max(axis=1)]
    return np.sort(counts.max(axis=1)), np.sort(counts[:, 0]), np.sort(at_max)


def _age_rows(rows, cohort, alpha):
    age = pd.to_numeric(cohort["age"], errors="coerce").dropna()
    ref_inc = "the paper, Methods: inclusion criterion 'age > 18 years'"
    ref_null = ("statistical null: whole-year ages from a smooth (normal) distribution with the "
                "sample's median and IQR")

    def minimum():
        if age.empty:
            return _na("no ages")
        return f"youngest {age.min():g} years", bool(age.min() >= AGE_MIN)

    def pileups():
        if len(age) < 20:
            return _na(f"{len(age)} ages (fewer than 20)")
        a = np.rint(age.to_numpy()).astype(int)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        sd = max((q3 - q1) / 1.349, 1.0)
        counts = pd.Series(a).value_counts()
        mode_n, at_min, at_max = int(counts.iloc[0]), int((a == a.min()).sum()), \
            int((a == a.max()).sum())
        nm, nlo, nhi = _age_null(len(a), float(med), float(sd))
        ps = [_upper_p(nm, mode_n), _upper_p(nlo, at_min), _upper_p(nhi, at_max)]
        p = min(1.0, 3 * min(ps))
        return (f"{mode_n} patients ({100 * mode_n / len(a):.1f}%) aged {counts.index[0]} "
                f"(P {ps[0]:.3f}); {at_min} at the minimum {a.min()} (P {ps[1]:.3f}); "
                f"{at_max} at the maximum {a.max()} (P {ps[2]:.3f})", p >= alpha, p)

    _guarded(rows, "ages [minimum]", "ages", f"youngest patient at least {AGE_MIN} years",
             ref_inc, minimum)
    _guarded(rows, "ages [no pile-up]", "ages",
             f"no age, and neither the minimum nor the maximum age, holds more patients than "
             f"a smooth age distribution gives (P ≥ {alpha:g})", ref_null, pileups)
