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
reference the criterion rests on. Thresholds are the numbered constants below, each with
the reason for its value. Checks that need dates run only on a raw export (dates), checks of
adverse events only with an adverse-event table.

It runs on any cohort with the data dictionary's columns; a check that cannot be computed
(a subgroup without events, an arm without patients) is reported, never raised.
"""
from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from hcc import drugs, paper
from hcc._results import Result
from hcc.errors import DataError, HCCError

__all__ = ["plausibility_report", "PlausibilityResult", "weibull_fit", "compensator",
           "hazard_smoothness"]

COLUMNS = ["check", "section", "criterion", "ours", "p_value", "ok", "reference"]
SECTIONS = ("hazard", "response", "post-progression", "scan schedule", "subgroups",
            "adverse events", "dates", "censoring", "ages", "paper claims")

# --------------------------------------------------------------------------- thresholds
#: 1. Level of every test against a statistical null (hazard smoothness, subgroup HRs and
#: interactions, age pile-ups; each Bonferroni-combined within its check): a dozen checks are
#: tests, so 0.01 each keeps the chance that a real cohort fails one of them by chance to a
#: few per cent (measured for the hazard check: see MEASURED_NULL_PASS_RATE).
ALPHA = 0.01
#: 2. Monte Carlo draws of the null distributions (fixed seed: the report is
#: deterministic); 4000 gives a P-value near 0.01 to ±0.0016 (one binomial SE).
MC_DRAWS = 4000
MC_SEED = 20221128
#: 3. Scan window of the hazard check: 1/6 of the transformed time axis (with ~30 events,
#: 5 are expected in it: wide enough to see a cliff of 13 deaths in 4 months, narrow enough
#: not to average it away).
SCAN_FRACTION = 1 / 6
#: 4. Fewer events than this on a curve: the hazard check is not applicable (a Weibull fit
#: and a largest gap mean nothing with a handful of events).
MIN_EVENTS_HAZARD = 8
#: 5. PFS hazard is checked after the first assessment window only (day 91 = 13 weeks, the
#: end of the first scan at 6–12 weeks + 1): before it progressions pile up at the first scan
#: by design (check 4 looks at that window).
PFS_LANDMARK_DAYS = 91
#: 6. Measured pass rate of the hazard check (all 4 curves of a cohort) on cohorts drawn from
#: plain Weibull curves (tests/plausibility_fixtures.plain_weibull_cohort: shape 0.8–1.6, the
#: paper's medians, staggered entry over 36 months, 5% random losses, whole days): 1000 of 1000
#: cohorts pass (seed 2024; per curve, P < 0.05 in 2.3%): the test is conservative, because
#: the fitted Weibull follows the data and the three statistics are Bonferroni-combined.
#: tests/test_plausibility.py re-measures it on 300 cohorts.
MEASURED_NULL_PASS_RATE = 1.0
#: 7. OS by best response (Lencioni et al. 2017: mRECIST response predicts OS in HCC): PD vs
#: disease control HR at least 1.5 (a clear excess of deaths after progression at the first
#: scan); responders (CR/PR) vs SD HR at most 1.2 (responders not worse; 1.2 leaves room for
#: the noise of ~15 responders).
HR_PD_VS_DC_MIN = 1.5
HR_RESP_VS_SD_MAX = 1.2
#: 8. Fewer patients than this in a response group: the comparison is not applicable; a
#: median compared with fewer deaths than MIN_DEATHS_MEDIAN is the time of one or two deaths
#: (9 PD patients with 3 deaths in a plausible cohort gave a median longer than the DC one).
MIN_GROUP = 3
MIN_DEATHS_MEDIAN = 6
#: 9. Post-progression survival: KM median between 2 and 15 months (after sorafenib and a
#: second line, survival after progression is months, not days and not years; Kuzuya et al.
#: 2018, the paper's ref. 8); at most 10% of post-progression deaths within 7 days of the
#: progression (a scan does not usually find progression days before death).
PPS_MEDIAN_RANGE = (2.0, 15.0)
PPS_EARLY_DAYS = 7
PPS_EARLY_MAX = 0.10
#: 10. Scan schedule (mRECIST every 2–3 months, hcc.paper.TEXT_FACTS; first scan at 6–12
#: weeks): best response PD means progression at the first scan, so ≥ 75% of PD patients
#: progress at days 42–91 and none before day 21 (3 weeks: earlier than any first scan); a
#: CR/PR/SD patient was assessed progression-free at the first scan, so none progresses,
#: dies or leaves before day 42.
FIRST_SCAN_DAYS = (42, 91)
PD_IN_WINDOW_MIN = 0.75
PD_EARLIEST_DAY = 21
DC_FREE_UNTIL_DAY = 42
#: 11. Subgroups (the paper's Fig. 3: "advantage ... in almost all subgroups"): a level with
#: at least 10 events fails when its TKI-ICI HR is more than a factor 3 from the overall HR
#: *and* that distance is beyond chance: |log(HR_level / HR_all)| / SE_level above the
#: two-sided Bonferroni critical value at ALPHA over the levels tested (~20 levels: z > 3.5).
#: The factor alone is not evidence: of 30 cohorts from the plausible fixture model (no
#: treatment × covariate interaction beyond BCLC B) 33% had such a level (25% of the 60
#: endpoint analyses), none beyond chance; the old shipped cohort's PFS Child–Pugh B7 HR
#: 0.08 vs 0.34 has z −2.05, within that range
#: (tests/test_plausibility.py::test_factor_three_alone_is_not_evidence).
MIN_EVENTS_SUBGROUP = 10
HR_FACTOR_MAX = 3.0
#: 12. Treatment × subgroup interaction: likelihood-ratio test (Efron ties; better than Wald
#: when a cell has few events) for each variable, failing below ALPHA Bonferroni-corrected
#: over the variables of an endpoint (10). Uncorrected 0.05 over 20 tests would fail about
#: two real cohorts in three by chance alone.
#: 13. Censoring: at most 20% of the living patients share one last-contact date (real
#: follow-up visits spread over weeks); at most 15% of patients lost to follow-up (alive, last
#: contact more than 90 days — one scan interval and a half — before the cut-off).
SAME_LAST_CONTACT_MAX = 0.20
LOST_DAYS = 90
LOST_MAX = 0.15
#: 14. Ages: inclusion "age > 18 years" (whole years: 18 is allowed); the most frequent age
#: and the number of patients at the minimum and maximum age no larger than a smooth age
#: distribution gives (normal with the sample's median and IQR, whole years; P ≥ ALPHA).
#: For 93 normal ages (SD 10.4, the paper's IQR) the most frequent age holds 7 patients on
#: average and 10 at the 99th percentile: a fixed 6% (5 patients) would fail 93% of real
#: cohorts (20000 simulated).
AGE_MIN = 18
#: 15. Paper claims: the paper's own significance level (no P < 0.05 where it reports none),
#: and "almost all subgroups" read as at least 80% of the subgroup levels.
CLAIM_ALPHA = 0.05
FAVOURED_SHARE_MIN = 0.80

LENCIONI = ("Lencioni et al. 2017, J Hepatol 66:1166 (the paper's ref. 25): mRECIST response "
            "predicts OS in HCC")
NULL_REF = ("statistical null: a smooth (Weibull) hazard; transformed event times are "
            "uniform given their number")
SCAN_REF = "the paper, Methods: mRECIST every 2–3 months (hcc.paper.TEXT_FACTS)"
FIG3_REF = "the paper, Fig. 3 and text: benefit 'in almost all subgroups'"


# --------------------------------------------------------------------------- result
class PlausibilityResult(Result):
    """The plausibility checks of a cohort.

    Attributes
    ----------
    summary : DataFrame, one row per check: ``check, section, criterion, ours, p_value, ok,
        reference``; ``ok`` is True/False, or None when the check does not apply (the reason
        is in ``ours``); ``p_value`` is NaN for checks that are not tests.
    passed : True when no check is False.
    failed : names of the checks that are False.
    """

    title = "Plausibility: does the cohort look like a real study?"

    def __init__(self, rows: list[dict], notes: tuple[str, ...] = ()):
        table = pd.DataFrame(rows, columns=COLUMNS)
        table["ok"] = [None if v is None else bool(v) for v in table["ok"]]
        table["ok"] = table["ok"].astype(object)
        table["p_value"] = pd.to_numeric(table["p_value"], errors="coerce").astype(float)
        self._table = table
        self.notes = tuple(notes)

    @property
    def summary(self) -> pd.DataFrame:
        return self._table.copy()

    @property
    def failed(self) -> list[str]:
        return [c for c, ok in zip(self._table["check"], self._table["ok"]) if ok is False]

    @property
    def passed(self) -> bool:
        return not self.failed

    def row(self, check: str) -> pd.Series:
        """The summary row of one check."""
        t = self._table
        hit = t[t["check"] == check]
        if hit.empty:
            raise KeyError(f"no check named {check!r}")
        return hit.iloc[0]

    def section(self, name: str) -> pd.DataFrame:
        """The rows of one section."""
        return self._table[self._table["section"] == name].copy()


# --------------------------------------------------------------------------- small helpers
def _row(rows, check, section, criterion, ours, ok, reference, p=np.nan):
    rows.append({"check": check, "section": section, "criterion": criterion, "ours": ours,
                 "p_value": p, "ok": ok, "reference": reference})


#: What a check may raise on data it cannot use (reported as "not applicable", not raised).
_NOT_COMPUTABLE = (HCCError, ValueError, ArithmeticError, np.linalg.LinAlgError, KeyError,
                   IndexError)


def _guarded(rows, check, section, criterion, reference, fn):
    """Run *fn* → (ours, ok[, p]) and add its row; what it cannot compute becomes ok=None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
    except _NOT_COMPUTABLE as exc:
        out = (f"not computable: {_reason(exc)}", None)
    ours, ok, p = (tuple(out) + (np.nan,))[:3]
    _row(rows, check, section, criterion, ours, ok, reference, p)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def _na(reason: str):
    return (f"not applicable: {reason}", None)


def _days(months) -> np.ndarray:
    """Whole days from months (the cohort stores whole days / 30)."""
    return np.rint(np.asarray(months, dtype=float) * 30.0).astype(int)


def _fmt(x: float, d: int = 2) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "NR"
    return "inf" if np.isinf(x) else f"{x:.{d}f}"


def _median(df: pd.DataFrame, time: str, event: str) -> float:
    """KM median (R's rule, hcc.km); inf when not reached."""
    from hcc.survival import km

    m = float(km(df, time, event).summary["median"].iloc[0])
    return np.inf if np.isnan(m) else m


def _logrank_p(df: pd.DataFrame, time: str, event: str, group: str) -> float:
    from hcc.survival import logrank

    return float(logrank(df, time, event, group).p)


def _arms(cohort: pd.DataFrame) -> list[str]:
    present = set(cohort["arm"].dropna())
    return [a for a in paper.ARMS if a in present]


def _regimen_drugs(regimen) -> tuple[str, ...]:
    if not isinstance(regimen, str):
        return ()
    return drugs.REGIMEN_DRUGS.get(regimen, tuple(regimen.split("+")))


# =========================================================================== 1. hazard
def weibull_fit(time, event, entry=None) -> tuple[float, float]:
    """Maximum-likelihood Weibull (shape ρ, scale λ; H(t) = (t/λ)^ρ) for right-censored,
    optionally left-truncated times.

    The scale has a closed form given the shape (λ^ρ = Σ(t^ρ − a^ρ)/d), so the fit is a
    one-dimensional maximisation of the profile likelihood in log ρ (same MLE as lifelines'
    ``WeibullFitter``; tests/test_plausibility.py compares them).
    """
    from scipy.optimize import minimize_scalar

    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    a = np.zeros_like(t) if entry is None else np.asarray(entry, float)
    d = int(e.sum())
    if d == 0:
        raise DataError("no events: a Weibull hazard cannot be fitted")
    logt = np.log(t[e])

    def negll(lr):
        r = np.exp(lr)
        s = float(np.sum(t ** r - a ** r))
        return -(d * lr + (r - 1) * logt.sum() - d * np.log(s / d) - d)

    opt = minimize_scalar(negll, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                          options={"xatol": 1e-10})
    rho = float(np.exp(opt.x))
    lam = float((np.sum(t ** rho - a ** rho) / d) ** (1 / rho))
    return rho, lam


def compensator(times, time, entry, rho, lam) -> np.ndarray:
    """Λ̃(s) = ∫₀ˢ Y(u) h(u) du at each s of *times*, with Y the number at risk of the data
    (entry < u ≤ time) and h the Weibull hazard: Σ_i H(min(t_i, s)) − H(min(a_i, s))."""
    s = np.maximum(np.asarray(times, float), 0.0)[:, None]
    hi = np.minimum(np.asarray(time, float)[None, :], s)
    lo = np.minimum(np.asarray(entry, float)[None, :], s)
    return (((hi / lam) ** rho) - ((lo / lam) ** rho)).clip(min=0).sum(axis=1)


@functools.lru_cache(maxsize=512)
def _null_stats(d: int, width: float, draws: int = MC_DRAWS, seed: int = MC_SEED):
    """Null distributions (sorted arrays) of the largest gap and the scan count for *d*
    iid uniforms on [0, 1] (gaps from 0 to the first and between consecutive events)."""
    rng = np.random.default_rng([seed, d])
    u = np.sort(rng.random((draws, d)), axis=1)
    gaps = np.diff(np.concatenate([np.zeros((draws, 1)), u], axis=1), axis=1).max(axis=1)
    return np.sort(gaps), np.sort(_scan_counts(u, width))


def _scan_counts(u: np.ndarray, width: float) -> np.ndarray:
    """Largest number of points in a window [u_i, u_i + width] per row of sorted *u*."""
    draws, d = u.shape
    off = (np.arange(draws) * 4.0)[:, None]  # rows apart by more than any window
    flat = (u + off).ravel()
    ends = np.searchsorted(flat, (u + width + off).ravel(), side="right").reshape(draws, d)
    return (ends - (np.arange(d) + np.arange(draws)[:, None] * d)).max(axis=1)


def _upper_p(null_sorted: np.ndarray, x: float) -> float:
    """Monte Carlo P(null ≥ x) with the +1 correction."""
    k = null_sorted.size - np.searchsorted(null_sorted, x - 1e-12, side="left")
    return (k + 1) / (null_sorted.size + 1)


def _day_pileup_p(t_days, e, entry_days, rho, lam) -> tuple[int, float]:
    """Most events on one day and P(max ≥ that) for independent Poisson counts per day whose
    means are the compensator's increments over the day (events recorded on day j occurred
    in (j − 1, j])."""
    from scipy.stats import poisson

    ev = np.asarray(t_days)[np.asarray(e, bool)]
    m = int(np.bincount(ev.astype(int)).max())
    days = np.arange(int(np.min(entry_days)), int(np.max(t_days)) + 1)
    grid = compensator(np.r_[days, days[-1] + 1] - 1.0, t_days, entry_days, rho, lam)
    mu = np.diff(grid).clip(min=0)
    p = 1.0 - float(np.exp(np.sum(poisson.logcdf(m - 1, mu))))
    return m, max(p, 0.0)


def hazard_smoothness(time_days, event, entry_days=None, seed: int = MC_SEED,
                      same_day: bool = True) -> dict:
    """Test a survival curve for event-free stretches and pile-ups beyond chance.

    Null hypothesis: the events follow a smooth hazard (a Weibull, fitted by maximum
    likelihood with censoring and left truncation) acting on the patients at risk. Then, by
    the random time-change theorem, the event times mapped through the compensator
    Λ̃(t) = ∫₀ᵗ Y(s) h(s) ds (Y = number at risk in the data, h the fitted hazard) form a
    unit-rate Poisson process: given their number d they are iid uniform on [0, Λ̃(τ)]
    (= d at the MLE). Event times known to the day are spread uniformly within their day
    (fixed seed) before the mapping.

    Statistics and P-values: (1) the largest gap between consecutive transformed events,
    including 0 to the first (not the last to the end: a late plateau of long-term survivors
    is real); (2) the scan statistic, the largest number of transformed events in a window of
    width SCAN_FRACTION of the axis. P = Monte Carlo P(null ≥ observed) over MC_DRAWS sets of
    d uniforms (fixed seed). (3) The most events on one calendar day against independent
    Poisson day counts with the compensator's daily increments as means (exact); skipped
    with ``same_day=False`` (PFS: progressions are found at scans, which a protocol schedules
    on the same day after the start). The curve's P is the Bonferroni minimum k·min(p) over
    the k statistics (capped at 1).
    """
    t = np.asarray(time_days, float)
    e = np.asarray(event, bool)
    a = np.zeros_like(t) if entry_days is None else np.asarray(entry_days, float)
    keep = t > a
    t, e, a = t[keep], e[keep], a[keep]
    d = int(e.sum())
    if d < MIN_EVENTS_HAZARD:
        raise DataError(f"{d} events (fewer than {MIN_EVENTS_HAZARD})")
    rng = np.random.default_rng(seed)
    te = t.copy()
    te[e] = np.maximum(t[e] - rng.random(d), a[e] + 1e-6)  # within their day
    tt = np.maximum(te, 1e-3)
    rho, lam = weibull_fit(tt, e, a)
    total = float(compensator([tt.max()], tt, a, rho, lam)[0])
    u = np.sort(compensator(np.sort(tt[e]), tt, a, rho, lam) / total)
    gap = float(np.diff(np.r_[0.0, u]).max())
    scan = int(_scan_counts(u[None, :], SCAN_FRACTION)[0])
    null_gap, null_scan = _null_stats(d, SCAN_FRACTION)
    p_gap, p_scan = _upper_p(null_gap, gap), _upper_p(null_scan, scan)
    day_max, p_day = _day_pileup_p(t, e, a, rho, lam) if same_day else (None, np.nan)
    ps = [p for p in (p_gap, p_scan, p_day) if np.isfinite(p)]
    return {"events": d, "shape": rho, "scale": lam, "gap": gap, "p_gap": p_gap,
            "scan": scan, "p_scan": p_scan, "day_max": day_max, "p_day": p_day,
            "p": min(1.0, len(ps) * min(ps))}


def _hazard_rows(rows, cohort, alpha):
    for ep, label in (("os", "OS"), ("pfs", "PFS")):
        for arm in paper.ARMS:
            sub = cohort[cohort["arm"] == arm]
            landmark = PFS_LANDMARK_DAYS if ep == "pfs" else 0
            crit = (f"{label}, {arm}: no event-free stretch and no pile-up of events beyond "
                    f"chance under a smooth Weibull hazard (P ≥ {alpha:g})"
                    + (f"; after day {landmark} (first scan window)" if landmark else ""))

            def fn(sub=sub, ep=ep, landmark=landmark):
                if sub.empty:
                    return _na("no patients in this arm")
                t = _days(sub[f"{ep}_months"])
                r = hazard_smoothness(t, sub[f"{ep}_event"].to_numpy() == 1,
                                      np.full(t.size, float(landmark)), same_day=ep == "os")
                ours = (f"{r['events']} events, Weibull shape {r['shape']:.2f}; largest gap "
                        f"{r['gap']:.2f} of the axis (P {r['p_gap']:.3f}); {r['scan']} events "
                        f"in 1/6 (P {r['p_scan']:.3f})" + (
                            f"; {r['day_max']} on one day (P {r['p_day']:.3f})"
                            if ep == "os" else ""))
                return ours, r["p"] >= alpha, r["p"]
            _guarded(rows, f"smooth hazard [{label}, {arm}]", "hazard", crit, NULL_REF, fn)


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
            return f"median OS PD {_fmt(m_pd)} vs DC {_fmt(m_dc)} months", m_pd < m_dc
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
        try:
            p_int[var] = interaction_lr(design, t, e, "_arm", var)
        except _NOT_COMPUTABLE as exc:
            skipped.append(f"{var} interaction ({_reason(exc)})")
    table = pd.concat(parts) if parts else pd.DataFrame()
    return table, p_int, skipped


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
            return ours, not bad, min(1.0, pmin * len(finite))

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


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


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
        ours = (f"reverse-KM median {_fmt(fu)} months; median potential follow-up (start to "
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


# =========================================================================== 10. paper claims
_CLAIM_TEXT = "the paper, Results"
#: The paper's AE names → CTCAE v5 terms that code them (besides the name itself and the
#: ``ae_term_map`` of a generator's manifest); immune hepatitis is an AST/ALT rise flagged
#: immune-related.
CTCAE_CODING = {
    "Immune-mediated hepatitis": frozenset(drugs.LIVER_ENZYME_TERMS),
    "Hepatic encephalopathy": frozenset({"Encephalopathy"}),
    "Pneumonitis": frozenset({"Pneumonitis"}),
    "Myocarditis": frozenset({"Myocarditis"}),
}
_IMMUNE_ONLY = ("Immune-mediated hepatitis",)  # coded terms count only when immune-related


def _two_group_claim(df, group, levels, ep, want_order: bool):
    """Medians of two groups and log-rank P; ok when P ≥ CLAIM_ALPHA (and, with
    *want_order*, median of levels[0] ≥ levels[1])."""
    sub = df[df[group].isin(levels)]
    n = sub[group].value_counts()
    if any(n.get(l, 0) < MIN_GROUP for l in levels):
        return _na(f"fewer than {MIN_GROUP} patients in {' or '.join(levels)}")
    t, e = f"{ep}_months", f"{ep}_event"
    meds = [_median(sub[sub[group] == l], t, e) for l in levels]
    p = _logrank_p(sub, t, e, group)
    ok = p >= CLAIM_ALPHA and (not want_order or meds[0] >= meds[1])
    return (f"median {levels[0]} {_fmt(meds[0])} vs {levels[1]} {_fmt(meds[1])} months; "
            f"log-rank P {p:.3g}", ok, p)


def _drug_claim_rows(rows, cohort):
    d = cohort.assign(_tki=[(_regimen_drugs(r) or ("",))[0] for r in cohort["regimen"]],
                      _pd1=[next((x for x in _regimen_drugs(r) if x in drugs.PD1_INHIBITORS),
                                 "") for r in cohort["regimen"]])
    ici = d[d["arm"] == "TKI-ICI"]
    for ep, label in (("pfs", "PFS"), ("os", "OS")):
        _guarded(rows, f"claim: REG vs LEN [{label}]", "paper claims",
                 f"{label} median of REG ≥ LEN, log-rank P ≥ {CLAIM_ALPHA:g} (all patients)",
                 f"{_CLAIM_TEXT}: 'median PFS and OS tended to be longer in REG than in LEN'",
                 lambda ep=ep: _two_group_claim(d, "_tki", ("REG", "LEN"), ep, True))
    for ep, label in (("os", "OS"), ("pfs", "PFS")):
        _guarded(rows, f"claim: CAM vs SIN [{label}]", "paper claims",
                 f"{label}: log-rank P ≥ {CLAIM_ALPHA:g} between CAM and SIN (TKI-ICI patients)",
                 f"{_CLAIM_TEXT}: 'no significant differences in survival ... between CAM "
                 "and SIN'", lambda ep=ep: _two_group_claim(ici, "_pd1", ("CAM", "SIN"), ep,
                                                            False))


def _pfs_subgroup_claims(rows, tables):
    named = [("child_pugh", "B7"), ("age_gt60", 1.0), ("afp_gt400", 1.0)]

    def favoured():
        table, _, _ = tables("pfs")
        lv = table.drop(index=("All patients", ""), errors="ignore")
        lv = lv[np.isfinite(lv["HR"])]
        if lv.empty:
            return _na("no subgroup HR is estimable")
        share = float((lv["HR"] < 1).mean())
        return (f"HR < 1 in {int((lv['HR'] < 1).sum())} of {len(lv)} levels "
                f"({100 * share:.0f}%)", share >= FAVOURED_SHARE_MIN)

    def named_levels():
        table, _, _ = tables("pfs")
        got = {k: (table.loc[k, "HR"] if k in table.index else np.nan) for k in named}
        missing = [_level_name(*k) for k, v in got.items() if not np.isfinite(v)]
        if missing:
            return _na(f"HR not estimable for {', '.join(missing)}")
        ours = "; ".join(f"{_level_name(*k)} HR {v:.2f}" for k, v in got.items())
        return ours, all(v < 1 for v in got.values())

    def bclc_b():
        table, _, _ = tables("pfs")
        if ("bclc", "B") not in table.index or not np.isfinite(table.loc[("bclc", "B"), "p"]):
            return _na("HR not estimable in BCLC B")
        r = table.loc[("bclc", "B")]
        return (f"HR {r['HR']:.2f} ({r['lower']:.2f}–{r['upper']:.2f}), P {r['p']:.3g}",
                r["p"] >= CLAIM_ALPHA, float(r["p"]))

    ref = f"{_CLAIM_TEXT} and Fig. 3"
    _guarded(rows, "claim: PFS benefit in almost all subgroups", "paper claims",
             f"TKI-ICI PFS HR < 1 in at least {100 * FAVOURED_SHARE_MIN:g}% of the subgroup "
             "levels", ref, favoured)
    _guarded(rows, "claim: PFS benefit in Child–Pugh B7, age > 60, AFP > 400", "paper claims",
             "TKI-ICI PFS HR < 1 in each of Child–Pugh B7, age > 60, AFP > 400 ng/mL", ref,
             named_levels)
    _guarded(rows, "claim: BCLC B not significant", "paper claims",
             f"PFS HR in BCLC stage B with P ≥ {CLAIM_ALPHA:g} (paper: 0.49, P 0.214)", ref,
             bclc_b)


def _paper_term(term: str) -> str:
    """CTCAE term → the name the paper's text uses for the most common AEs."""
    if term.startswith("Rash"):
        return "Rash"
    if term in ("Nausea", "Vomiting"):
        return "Nausea and vomiting"
    return term


def _top_terms_ok(ae, ids: set, want: tuple[str, ...]):
    a = ae[ae["patient_id"].astype(str).isin(ids)]
    counts = (a.assign(_t=a["term"].map(_paper_term)).groupby("_t")["patient_id"]
              .nunique().sort_values(ascending=False))
    if counts.empty:
        return _na("no adverse events in these patients")
    got = {w: int(counts.get(w, 0)) for w in want}
    others = counts.drop(index=[w for w in want if w in counts.index])
    best_other = (others.index[0], int(others.iloc[0])) if len(others) else ("none", 0)
    ok = min(got.values()) >= best_other[1] and min(got.values()) > 0
    ours = ", ".join(f"{w} {k}" for w, k in got.items()) + \
        f"; next: {best_other[0]} {best_other[1]} (patients)"
    return ours, ok


def _coded(name: str, term_map: dict) -> set:
    return {name, term_map.get(name, name)} | set(CTCAE_CODING.get(name, ()))


def _as_paper_name(term: str, immune: int, term_map: dict) -> str:
    for name in list(paper.IMMUNE_RELATED) + [t for ts in paper.DISCONTINUATIONS.values()
                                              for t in ts]:
        if term in _coded(name, term_map) and (name not in _IMMUNE_ONLY or immune == 1
                                               or term == name):
            return name
    return term


def _ae_claim_rows(rows, cohort, ae):
    from hcc.fidelity import ae_term_map

    specs = [("claim: most common AEs overall", "hypertension, diarrhoea, rash, nausea/vomiting "
              "are the four most frequent (patients, any grade; ties allowed)"),
             ("claim: most common AEs in TKI", "hypertension, diarrhoea, rash are the three most "
              "frequent in the TKI arm"),
             ("claim: immune-related AEs as printed", "immune-related AEs as printed: " +
              ", ".join(f"{k} {v}" for k, v in paper.IMMUNE_RELATED.items()) +
              ", all in TKI-ICI"),
             ("claim: discontinuations as printed", "AEs leading to discontinuation: " +
              "; ".join(f"{a}: {', '.join(t)}" for a, t in paper.DISCONTINUATIONS.items())),
             ("claim: no treatment-related deaths", "no grade 5 adverse event")]
    ref = f"{_CLAIM_TEXT}, Safety"
    if ae is None:
        for name, crit in specs:
            _row(rows, name, "paper claims", crit, *_na("no adverse-event table"), ref)
        return
    ids = set(cohort["patient_id"].astype(str))
    tki = set(cohort.loc[cohort["arm"] == "TKI", "patient_id"].astype(str))
    term_map = ae_term_map(ae)
    arm_of = dict(zip(cohort["patient_id"].astype(str), cohort["arm"]))
    fns = [lambda: _top_terms_ok(ae, ids, paper.COMMON_AE_TERMS),
           lambda: _top_terms_ok(ae, tki, paper.COMMON_AE_TERMS[:3]),
           lambda: _immune_claim(ae, arm_of, term_map),
           lambda: _discontinuation_claim(ae, arm_of, term_map),
           lambda: _grade5(ae)]
    for (name, crit), fn in zip(specs, fns):
        _guarded(rows, name, "paper claims", crit, ref, fn)


def _immune_claim(ae, arm_of, term_map):
    ir = ae[_num(ae["immune_related"]) == 1]
    arm = ir["patient_id"].astype(str).map(arm_of)
    got = {}
    for name in paper.IMMUNE_RELATED:
        hit = ir["term"].isin(_coded(name, term_map)) & (arm == "TKI-ICI")
        got[name] = int(ir.loc[hit, "patient_id"].nunique())
    in_tki = int(ir.loc[arm == "TKI", "patient_id"].nunique())
    ours = ", ".join(f"{k} {v}" for k, v in got.items()) + f"; in TKI: {in_tki}"
    return ours, got == dict(paper.IMMUNE_RELATED) and in_tki == 0


def _discontinuation_claim(ae, arm_of, term_map):
    d = ae[_num(ae["led_to_discontinuation"]) == 1]
    d = d.assign(_arm=d["patient_id"].astype(str).map(arm_of),
                 _name=[_as_paper_name(t, int(i) if pd.notna(i) else 0, term_map)
                        for t, i in zip(d["term"], _num(d["immune_related"]))])
    d = d.drop_duplicates(["patient_id", "_name"])
    got = {a: sorted(d.loc[d["_arm"] == a, "_name"]) for a in paper.ARMS}
    want = {a: sorted(t) for a, t in paper.DISCONTINUATIONS.items()}
    ours = "; ".join(f"{a}: {', '.join(got[a]) or 'none'}" for a in paper.ARMS)
    return ours, got == want


def _grade5(ae):
    k = int(ae.loc[_num(ae["grade"]) == 5, "patient_id"].nunique())
    return f"{k} patients with a grade 5 AE", k == paper.TREATMENT_RELATED_DEATHS


# =========================================================================== loading
def _raw_from_file(path: Path) -> pd.DataFrame | None:
    """The typed raw frame (with dates) of a cohort file, or None when it has no dates."""
    from hcc.cohort.load import _typed  # the loader's own typing of a checked frame
    from hcc.errors import ValidationError
    from hcc.cohort.dictionary import ANALYSIS_COLUMNS, DATE_COLUMNS
    from hcc.cohort.validate import check_file

    checked = check_file(path)
    if checked.problems:
        raise ValidationError(checked.problems)
    if not set(DATE_COLUMNS) & set(checked.frame.columns):
        return None
    return _typed(checked.frame, ANALYSIS_COLUMNS + DATE_COLUMNS)


def _as_dates(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.copy()
    for c in ("start_date", "progression_date", "death_date", "last_contact_date"):
        if c in raw:
            s = raw[c]
            if not pd.api.types.is_datetime64_any_dtype(s):
                s = pd.to_datetime(s.where(s.astype(str).str.strip() != ""), errors="coerce")
            raw[c] = s.dt.normalize()
    return raw


def _inputs(cohort, ae, raw):
    """(analysis frame, raw frame or None, AE frame or None) from what the caller gave."""
    import hcc as _data  # load_cohort, load_adverse_events, get_adverse_events, derive_analysis
    from hcc import paths

    if cohort is None:
        cohort = _data.load_cohort()
        ae = _data.load_adverse_events() if ae is None else ae
        if raw is None and paths.COHORT_RAW_CSV.exists():
            raw = _raw_from_file(paths.COHORT_RAW_CSV)
    elif isinstance(cohort, (str, Path)):
        path = Path(cohort)
        cohort = _data.load_cohort(path)
        if raw is None:
            raw = _raw_from_file(path)
        if ae is None:
            ae = _data.get_adverse_events(data=path)
    elif not isinstance(cohort, pd.DataFrame):
        raise DataError("cohort must be a DataFrame or a file path")
    elif "start_date" in cohort.columns and "os_months" not in cohort.columns:
        raw = cohort if raw is None else raw
        cohort = _data.derive_analysis(_as_dates(cohort))
    if isinstance(raw, (str, Path)):
        raw = _raw_from_file(Path(raw))
    if isinstance(ae, (str, Path)):
        ae = _data.load_adverse_events(ae)
    if isinstance(cohort, pd.DataFrame) and raw is None and "start_date" in cohort.columns:
        raw = cohort  # an analysis frame that also carries the dates
    return cohort, _usable_raw(raw), ae


_RAW_NEEDED = ("patient_id", "arm", "regimen", "start_date", "last_contact_date")


def _usable_raw(raw: pd.DataFrame | None) -> pd.DataFrame | None:
    """The raw frame with typed dates (missing progression/death columns as blank), or None
    when it lacks what the date checks need (then they are not applicable)."""
    if raw is None or any(c not in raw.columns for c in _RAW_NEEDED):
        return None
    raw = _as_dates(raw)
    for c in ("progression_date", "death_date"):
        if c not in raw:
            raw[c] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    return raw


_REQUIRED = ("patient_id", "arm", "regimen", "age", "best_response", "os_months", "os_event",
             "pfs_months", "pfs_event") + tuple(
    c for c in paper.SUBGROUP_VARIABLES if c != "age_gt60")
_AE_REQUIRED = ("patient_id", "term", "grade", "immune_related", "led_to_discontinuation")


def _check_columns(cohort, ae):
    missing = [c for c in _REQUIRED if c not in cohort.columns]
    if missing:
        raise DataError(f"the cohort lacks the column(s) {', '.join(missing)} of the data "
                        "dictionary")
    if ae is not None:
        miss = [c for c in _AE_REQUIRED if c not in ae.columns]
        if miss:
            raise DataError(f"the adverse-event table lacks the column(s) {', '.join(miss)}")


# =========================================================================== public
def plausibility_report(cohort: pd.DataFrame | str | Path | None = None,
                        ae: pd.DataFrame | str | Path | None = None,
                        raw: pd.DataFrame | str | Path | None = None,
                        alpha: float = ALPHA, cutoff=None) -> PlausibilityResult:
    """Check that a cohort looks like data from a real study (see the module docstring).

    Parameters
    ----------
    cohort : DataFrame or path, optional
        Analysis columns, or a raw export with dates (then the times are derived and the date
        checks run). Default: the shipped synthetic cohort with its raw export and adverse
        events.
    ae : DataFrame or path, optional
        Adverse events. Default: the shipped table for the default cohort; for a cohort file,
        an ``adverse_events.csv`` beside it. Without one the AE checks are not applicable.
    raw : DataFrame or path, optional
        Raw export with dates for the date and censoring checks, when *cohort* is an
        analysis frame.
    alpha : float
        Level of the checks that are tests against a statistical null (default 0.01).
    cutoff : date-like, optional
        Data cut-off; default the latest date in the raw export.

    Returns
    -------
    PlausibilityResult
    """
    if not (0 < float(alpha) < 1):
        raise DataError(f"alpha must be between 0 and 1, not {alpha!r}")
    cohort, raw, ae = _inputs(cohort, ae, raw)
    _check_columns(cohort, ae)
    if len(cohort) == 0:
        raise DataError("the cohort has no patients")
    rows: list[dict] = []
    _hazard_rows(rows, cohort, alpha)
    _response_rows(rows, cohort)
    _pps_rows(rows, cohort, raw)
    _scan_rows(rows, cohort)
    tables = _subgroup_cache(cohort)
    _subgroup_rows(rows, cohort, tables, alpha)
    _ae_rows(rows, cohort, ae)
    _date_rows(rows, raw, cutoff)
    _censoring_rows(rows, cohort, raw, cutoff)
    _age_rows(rows, cohort, alpha)
    _drug_claim_rows(rows, cohort)
    _pfs_subgroup_claims(rows, tables)
    _ae_claim_rows(rows, cohort, ae)
    notes = [f"Tests against a statistical null at level {alpha:g}; Monte Carlo with "
             f"{MC_DRAWS} draws, seed {MC_SEED} (deterministic)."]
    if raw is None:
        notes.append("No dates: the date and censoring checks do not apply.")
    if ae is None:
        notes.append("No adverse-event table: the AE checks do not apply.")
    return PlausibilityResult(rows, tuple(notes))


def _subgroup_cache(cohort):
    """tables(ep) → (subgroup table, interaction P per variable, skipped), computed once."""
    cache: dict[str, tuple] = {}

    def tables(ep):
        if ep not in cache:
            cache[ep] = _subgroup_table(_design(cohort), ep)
        return cache[ep]
    return tables
