"""The plausibility report's thresholds and references: numbered constants, each with the
reason for its value (ARCHITECTURE.md, "Plausibility report")."""
from __future__ import annotations

__all__ = ["AGE_MIN", "ALPHA", "CLAIM_ALPHA", "COLUMNS", "DC_FREE_UNTIL_DAY",
           "FAVOURED_SHARE_MIN", "FIG3_REF", "FIRST_SCAN_DAYS", "HR_FACTOR_MAX",
           "HR_PD_VS_DC_MIN", "HR_RESP_VS_SD_MAX", "LENCIONI", "LOST_DAYS", "LOST_MAX",
           "MC_DRAWS", "MC_SEED", "MEASURED_NULL_PASS_RATE", "MIN_DEATHS_MEDIAN",
           "MIN_EVENTS_HAZARD", "MIN_EVENTS_SUBGROUP", "MIN_GROUP", "NULL_REF",
           "PD_EARLIEST_DAY", "PD_IN_WINDOW_MIN", "PFS_LANDMARK_DAYS", "PPS_EARLY_DAYS",
           "PPS_EARLY_MAX", "PPS_MEDIAN_RANGE", "SAME_LAST_CONTACT_MAX", "SCAN_FRACTION",
           "SCAN_REF", "SECTIONS"]

COLUMNS = ["check", "section", "criterion", "ours", "p_value", "ok", "reference"]
SECTIONS = ("hazard", "response", "post-progression", "scan schedule", "subgroups",
            "adverse events", "dates", "censoring", "ages", "paper claims")

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
#: 10. Scan schedule (mRECIST every 2–3 months, the paper's Methods; first scan at 6–12
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
SCAN_REF = "the paper, Methods: mRECIST every 2–3 months"
FIG3_REF = "the paper, Fig. 3 and text: benefit 'in almost all subgroups'"
