"""A small deterministic simulator of a plausible cohort, and implausible variants of it.

The causal model (simple on purpose; every number below is a modelling choice, not a fit):

* patients: the paper's regimen counts (hcc.paper.REGIMENS); baseline covariates drawn with
  roughly the paper's frequencies; BCLC B exactly when ECOG 0, no PVTT, no metastases;
* best response: the paper's counts per arm (hcc.paper.RESPONSE), permuted;
* treatment start: uniform between the day every drug of the regimen was available
  (hcc.drugs.regimen_available_from) and the end of enrolment (May 2021), never before May
  2018; data cut-off 31 August 2021;
* scans every 8 weeks (jitter −7..+14 days), the first at day 56 ± 7: PD patients progress at
  the first scan; CR/PR/SD patients have a latent Weibull progression time after the first
  scan (scale by arm, Child–Pugh and response; a smaller benefit of TKI-ICI in BCLC B, as the
  paper's HR 0.49) found at the next scan;
* REG 10% shorter times than LEN (its larger share of PD-1 combinations alone would make REG
  look significantly better than LEN, which the paper does not report);
* survival after progression: Weibull (scale by arm and Child–Pugh); death without
  progression: a rare exponential;
* follow-up: the last visit 0–45 days before the cut-off; 4% lost to follow-up earlier;
* adverse events: for each drug of the regimen (and each arm), a share of patients (exact
  counts, chosen at random) with its typical terms (hcc.drugs.SIGNATURE_AES and the paper's most common AEs),
  the paper's immune-related AEs and discontinuations in the TKI-ICI arm.

``simulate(seed)`` returns a :class:`Fixture` (analysis frame, raw export, AE table); the
``variant_*`` functions take a Fixture and return an implausible copy built for one check.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from hcc import drugs, paper
from hcc.cohort.derive import derive_analysis

CUTOFF = pd.Timestamp("2021-08-31")
#: A seed whose cohort passes every check (seeds 4, 6, 8, 9, 12, 15 of 1..15 do; the others
#: fail one of the paper's claims or the responder check by chance: see the module tests).
DEFAULT_SEED = 8
ENROL_START, ENROL_END = pd.Timestamp("2018-05-01"), pd.Timestamp("2021-05-31")
DATES = ("start_date", "progression_date", "death_date", "last_contact_date")


@dataclass(frozen=True)
class Fixture:
    cohort: pd.DataFrame
    raw: pd.DataFrame
    ae: pd.DataFrame

    def with_raw(self, raw: pd.DataFrame) -> "Fixture":
        """A copy with new raw dates (the analysis frame re-derived from them)."""
        return replace(self, raw=raw, cohort=derive_analysis(raw))


# --------------------------------------------------------------------------- baseline
def _baseline(rng, n_by_regimen) -> pd.DataFrame:
    regs = [r for arm in paper.ARMS for r, k in n_by_regimen[arm].items() for _ in range(k)]
    n = len(regs)
    arm = ["TKI" if "+" not in r else "TKI-ICI" for r in regs]
    age = np.rint(rng.normal(57, 10, n))
    while ((age < 25) | (age > 85)).any():  # redraw out-of-range ages (no clipping pile-up)
        bad = (age < 25) | (age > 85)
        age[bad] = np.rint(rng.normal(57, 10, int(bad.sum())))
    b = lambda p: (rng.random(n) < p).astype(int)  # noqa: E731
    ecog, pvtt, mets = b(0.65), b(0.40), b(0.44)
    return pd.DataFrame({
        "patient_id": [f"F{i + 1:03d}" for i in range(n)], "arm": arm, "regimen": regs,
        "age": age.astype(int), "sex": np.where(rng.random(n) < 0.85, "Male", "Female"),
        "ecog": ecog, "etiology": rng.choice(["HBV", "HCV", "HBV+HCV"], n, p=[.91, .05, .04]),
        "surgery": b(0.23), "tace": b(0.96), "ablation": b(0.67), "tumor_number_gt3": b(0.68),
        "tumor_size_gt5": b(0.25), "pvtt": pvtt, "metastases": mets, "afp_gt400": b(0.41),
        "child_pugh": np.where(rng.random(n) < 0.31, "B7", "A"),
        "bclc": np.where((ecog == 0) & (pvtt == 0) & (mets == 0), "B", "C"),
    })


def _responses(rng, arm: np.ndarray) -> np.ndarray:
    out = np.empty(arm.size, dtype=object)
    for a in paper.ARMS:
        idx = np.flatnonzero(arm == a)
        cats = np.concatenate([[c] * k for c, k in paper.RESPONSE[a].items()])
        if cats.size != idx.size:  # other arm sizes: draw with the paper's shares
            p = np.array(list(paper.RESPONSE[a].values()), float)
            cats = rng.choice(list(paper.RESPONSE[a]), idx.size, p=p / p.sum())
        out[idx] = rng.permutation(cats)
    return out


def _starts(rng, regimens) -> np.ndarray:
    out = []
    for r in regimens:
        lo = max(pd.Timestamp(drugs.regimen_available_from(r)), ENROL_START)
        out.append(lo + pd.Timedelta(days=int(rng.integers(0, (ENROL_END - lo).days + 1))))
    return np.array(out, dtype="datetime64[ns]")


# --------------------------------------------------------------------------- outcomes
def _weibull(rng, shape, scale):
    return scale * rng.weibull(shape, np.size(scale))


def _scan_detect(rng, first, latent):
    """Day of the first scan at or after *latent* (first scan at *first*, then every 8
    weeks with jitter)."""
    day = first
    while day < latent:
        day += 56 + int(rng.integers(-7, 15))
    return day


def _outcomes(rng, base, resp, knobs) -> pd.DataFrame:
    n = len(base)
    ici = (base["arm"] == "TKI-ICI").to_numpy()
    b7 = (base["child_pugh"] == "B7").to_numpy()
    pfs_scale = np.where(ici, 300.0, 130.0) * np.where(b7, 0.75, 1.0)  # days after 1st scan
    pfs_scale *= np.where(np.isin(resp, ["CR", "PR"]), 2.2, 1.0)
    tki_b = ((base["bclc"] == "B") & ~pd.Series(ici, index=base.index)).to_numpy()
    pfs_scale *= np.where(tki_b, 2.0, 1.0)  # a smaller benefit in BCLC B (paper: HR 0.49)
    pps_scale = np.where(ici, 330.0, 190.0) * np.where(b7, 0.75, 1.0)
    reg = base["regimen"].str.startswith("REG").to_numpy()  # REG a little weaker than LEN:
    pfs_scale, pps_scale = (x * np.where(reg, 0.9, 1.0) for x in (pfs_scale, pps_scale))
    if knobs.get("scale_hook"):
        pfs_scale, pps_scale = knobs["scale_hook"](base, resp, pfs_scale, pps_scale)
    first = 56 + rng.integers(-7, 8, n)
    latent = first + _weibull(rng, 1.3, pfs_scale)
    prog = np.array([f if r == "PD" else _scan_detect(rng, f, l)
                     for f, l, r in zip(first, latent, resp)], float)
    if knobs.get("prog_hook"):
        prog = knobs["prog_hook"](rng, resp, prog)
    death_np = first + 30 + rng.exponential(5000.0, n)  # rare death without progression
    death = np.minimum(prog + np.maximum(_weibull(rng, 1.2, pps_scale), 10), death_np)
    return pd.DataFrame({"prog": np.rint(prog), "death": np.rint(death), "first": first})


def _follow_up(rng, start, out: pd.DataFrame, lost_share: float) -> pd.DataFrame:
    start = pd.DatetimeIndex(start)
    n = len(out)
    last_visit = (CUTOFF - start).days.to_numpy() - rng.integers(0, 46, n)
    lost = rng.random(n) < lost_share
    drop = np.rint(out["first"].to_numpy() + 20 + rng.random(n) * (last_visit - out["first"]))
    cens = np.where(lost, np.minimum(drop, last_visit), last_visit).astype(float)
    died = out["death"].to_numpy() <= cens
    progressed = out["prog"].to_numpy() < np.where(died, out["death"], cens + 1)
    day = lambda d: start + pd.to_timedelta(d, unit="D")  # noqa: E731
    return pd.DataFrame({
        "start_date": start,
        "progression_date": day(np.where(progressed, out["prog"], np.nan)),
        "death_date": day(np.where(died, out["death"], np.nan)),
        "last_contact_date": day(np.where(died, out["death"], cens)),
    })


# --------------------------------------------------------------------------- adverse events
#: drug → (CTCAE term, share of the drug's patients); exact counts round(share × n).
AE_PLAN = {
    "REG": [("Palmar-plantar erythrodysesthesia syndrome", 0.45), ("Hypertension", 0.30),
            ("Diarrhea", 0.35), ("Aspartate aminotransferase increased", 0.12),
            ("Fatigue", 0.15)],
    "LEN": [("Hypertension", 0.45), ("Diarrhea", 0.33), ("Proteinuria", 0.18),
            ("Palmar-plantar erythrodysesthesia syndrome", 0.14),
            ("Aspartate aminotransferase increased", 0.10), ("Fatigue", 0.12)],
    "TKI": [("Rash maculo-papular", 0.32), ("Nausea", 0.12), ("Vomiting", 0.08)],
    "TKI-ICI": [("Rash maculo-papular", 0.32), ("Nausea", 0.22), ("Vomiting", 0.10)],
    "PD1": [("Hypothyroidism", 0.12)],
}


def _pick(rng, ids, share):
    ids = list(ids)
    return list(rng.choice(ids, int(round(share * len(ids))), replace=False)) if ids else []


def _adverse_events(rng, base: pd.DataFrame) -> pd.DataFrame:
    rows = []
    on = {d: [p for p, r in zip(base["patient_id"], base["regimen"])
              if d in drugs.REGIMEN_DRUGS[r]] for d in drugs.APPROVALS}
    groups = {"REG": on["REG"], "LEN": on["LEN"], "PD1": on["CAM"] + on["SIN"],
              **{a: list(base.loc[base["arm"] == a, "patient_id"]) for a in paper.ARMS}}
    for g, plan in AE_PLAN.items():
        for term, share in plan:
            for p in _pick(rng, groups[g], share):
                rows.append((p, term, int(rng.choice([1, 2, 3], p=[.5, .35, .15])), 0, 0))
    ici = [p for p, a in zip(base["patient_id"], base["arm"]) if a == "TKI-ICI"]
    tki = [p for p, a in zip(base["patient_id"], base["arm"]) if a == "TKI"]
    chosen = list(rng.choice(ici, 8, replace=False))
    immune = (["Alanine aminotransferase increased"] * 5 + ["Myocarditis", "Pneumonitis"])
    for i, (p, term) in enumerate(zip(chosen, immune)):
        rows.append((p, term, 3, 1, int(i == 0)))  # the first immune hepatitis stops treatment
    rows.append((chosen[7], "Hypertension", 3, 0, 1))
    rows.append((str(rng.choice(tki)), "Encephalopathy", 3, 0, 1))
    return pd.DataFrame(rows, columns=["patient_id", "term", "grade", "immune_related",
                                       "led_to_discontinuation"])


# --------------------------------------------------------------------------- public
def simulate(seed: int = DEFAULT_SEED, n_by_regimen=None, lost_share: float = 0.04, **knobs) -> Fixture:
    """A plausible cohort (analysis frame, raw export with dates, AE table)."""
    rng = np.random.default_rng(seed)
    base = _baseline(rng, n_by_regimen or paper.REGIMENS)
    if knobs.get("base_hook"):
        base = knobs["base_hook"](rng, base)
    resp = _responses(rng, base["arm"].to_numpy())
    start = _starts(rng, base["regimen"])
    out = _outcomes(rng, base, resp, knobs)
    dates = _follow_up(rng, start, out, lost_share)
    raw = pd.concat([base.assign(best_response=resp), dates], axis=1)
    ae = _adverse_events(rng, base)
    return Fixture(cohort=derive_analysis(raw), raw=raw, ae=ae)


# --------------------------------------------------------------------------- variants
def _shift_days(raw, mask, col, days):
    raw = raw.copy()
    raw.loc[mask, col] = raw.loc[mask, col] + pd.to_timedelta(days, unit="D")
    return raw


def variant_plateau_cliff(fx: Fixture) -> Fixture:
    """TKI-ICI OS: 2 deaths in the first 10 months with ~50 at risk, then 13 deaths in the
    next 4 months; everyone else in the arm alive at the last visit."""
    raw = fx.raw.copy()
    ici = raw.index[raw["arm"] == "TKI-ICI"]
    long = [i for i in ici if (CUTOFF - raw.at[i, "start_date"]).days > 500]
    rng = np.random.default_rng(5)
    dying = list(rng.choice(long, 15, replace=False))
    days = [80, 250] + list(np.rint(np.linspace(305, 420, 13)))
    for i in ici:
        if i in dying:
            d = raw.at[i, "start_date"] + pd.Timedelta(days=int(days[dying.index(i)]))
            raw.at[i, "death_date"] = raw.at[i, "last_contact_date"] = d
            if pd.notna(raw.at[i, "progression_date"]) and raw.at[i, "progression_date"] > d:
                raw.at[i, "progression_date"] = pd.NaT  # death is the PFS event
        elif pd.notna(raw.at[i, "death_date"]):
            raw.at[i, "death_date"] = pd.NaT
            raw.at[i, "last_contact_date"] = CUTOFF - pd.Timedelta(days=int(i % 40))
    return fx.with_raw(raw)


def variant_pd_outlives(seed: int = DEFAULT_SEED) -> Fixture:
    """PD patients live long after progression and CR/PR/SD patients die soon after it."""
    def hook(base, resp, pfs_scale, pps_scale):
        return pfs_scale, np.where(resp == "PD", pps_scale * 6, pps_scale / 6)
    return simulate(seed, scale_hook=hook)


def variant_early_progression(seed: int = DEFAULT_SEED) -> Fixture:
    """PD patients progress at days 10–30, before any first scan."""
    def hook(rng, resp, prog):
        pd_ = resp == "PD"
        prog = prog.copy()
        prog[pd_] = rng.integers(10, 31, int(pd_.sum()))
        return prog
    return simulate(seed, prog_hook=hook)


def variant_reversed_subgroup(seed: int = DEFAULT_SEED) -> Fixture:
    """Child–Pugh B7: TKI-ICI patients do much worse than TKI patients (reversed effect)."""
    def hook(base, resp, pfs_scale, pps_scale):
        bad = ((base["child_pugh"] == "B7") & (base["arm"] == "TKI-ICI")).to_numpy()
        good = ((base["child_pugh"] == "B7") & (base["arm"] == "TKI")).to_numpy()
        pfs_scale = np.where(bad, 40.0, np.where(good, 500.0, pfs_scale))
        pps_scale = np.where(bad, 60.0, np.where(good, 500.0, pps_scale))
        return pfs_scale, pps_scale
    return simulate(seed, scale_hook=hook)


def variant_reg_worse(seed: int = DEFAULT_SEED) -> Fixture:
    """REG patients (with or without a PD-1 inhibitor) do far worse than LEN patients."""
    def hook(base, resp, pfs_scale, pps_scale):
        reg = base["regimen"].str.startswith("REG").to_numpy()
        return np.where(reg, 30.0, pfs_scale), np.where(reg, 40.0, pps_scale)
    return simulate(seed, scale_hook=hook)


def variant_sin_better(seed: int = DEFAULT_SEED) -> Fixture:
    """Sintilimab patients live three times longer than camrelizumab patients."""
    def hook(base, resp, pfs_scale, pps_scale):
        sin = base["regimen"].str.endswith("SIN").to_numpy()
        cam = base["regimen"].str.endswith("CAM").to_numpy()
        k = np.where(sin, 3.0, np.where(cam, 0.4, 1.0))
        return pfs_scale * k, pps_scale * k
    return simulate(seed, scale_hook=hook)


def variant_clipped_ages(fx: Fixture, lo: int = 45, hi: int = 70) -> Fixture:
    """Ages clipped to [lo, hi]: piles of patients at the bounds."""
    raw = fx.raw.assign(age=fx.raw["age"].clip(lo, hi))
    return fx.with_raw(raw)


def variant_young(fx: Fixture) -> Fixture:
    raw = fx.raw.copy()
    raw.loc[0, "age"] = 16
    return fx.with_raw(raw)


def variant_start_before_approval(fx: Fixture) -> Fixture:
    """One camrelizumab patient starts in January 2019 (approved 29 May 2019), every date of
    that patient moved with the start."""
    raw = fx.raw.copy()
    i = raw.index[raw["regimen"].str.endswith("CAM")][0]
    shift = (pd.Timestamp("2019-01-15") - raw.at[i, "start_date"]).days
    for c in DATES:
        raw.at[i, c] = raw.at[i, c] + pd.Timedelta(days=shift) if pd.notna(raw.at[i, c]) \
            else pd.NaT
    return fx.with_raw(raw)


def variant_same_last_contact(fx: Fixture) -> Fixture:
    """Every living patient's last contact is the cut-off day."""
    raw = fx.raw.copy()
    alive = raw["death_date"].isna()
    raw.loc[alive, "last_contact_date"] = CUTOFF
    return fx.with_raw(raw)


def variant_many_lost(fx: Fixture, share: float = 0.3) -> Fixture:
    """A third of the patients leave follow-up early (alive, last contact long before the
    cut-off)."""
    raw = fx.raw.copy()
    early = raw["start_date"] < CUTOFF - pd.Timedelta(days=LOST_GAP + 80)
    alive = raw.index[raw["death_date"].isna() & early]
    k = int(share * len(raw)) + 1
    rng = np.random.default_rng(3)
    for i in rng.choice(alive, min(k, len(alive)), replace=False):
        lc = max(raw.at[i, "start_date"] + pd.Timedelta(days=70),
                 raw.at[i, "progression_date"] if pd.notna(raw.at[i, "progression_date"])
                 else raw.at[i, "start_date"])
        raw.at[i, "last_contact_date"] = min(lc, CUTOFF - pd.Timedelta(days=LOST_GAP))
        if pd.notna(raw.at[i, "progression_date"]) and \
                raw.at[i, "progression_date"] > raw.at[i, "last_contact_date"]:
            raw.at[i, "progression_date"] = pd.NaT
    return fx.with_raw(raw)


LOST_GAP = 120


def variant_instant_deaths(fx: Fixture) -> Fixture:
    """Most deaths after progression happen 0–3 days after it."""
    raw = fx.raw.copy()
    m = raw["progression_date"].notna() & raw["death_date"].notna()
    idx = raw.index[m][: int(0.6 * m.sum())]
    for k, i in enumerate(idx):
        d = raw.at[i, "progression_date"] + pd.Timedelta(days=k % 4)
        raw.at[i, "death_date"] = raw.at[i, "last_contact_date"] = d
    return fx.with_raw(raw)


def variant_no_hfsr_on_reg(fx: Fixture) -> Fixture:
    reg = set(fx.cohort.loc[fx.cohort["regimen"].str.startswith("REG"), "patient_id"])
    ae = fx.ae[~(fx.ae["patient_id"].isin(reg)
                 & (fx.ae["term"] == "Palmar-plantar erythrodysesthesia syndrome"))]
    return replace(fx, ae=ae.reset_index(drop=True))


def variant_immune_in_tki(fx: Fixture) -> Fixture:
    p = fx.cohort.loc[fx.cohort["arm"] == "TKI", "patient_id"].iloc[0]
    extra = pd.DataFrame([(p, "Pneumonitis", 2, 1, 0)], columns=fx.ae.columns)
    return replace(fx, ae=pd.concat([fx.ae, extra], ignore_index=True))


def variant_wrong_top_aes(fx: Fixture) -> Fixture:
    """Fatigue in 70% of patients: the most common AE is no longer one the paper names."""
    ids = fx.cohort["patient_id"].iloc[: int(0.7 * len(fx.cohort))]
    extra = pd.DataFrame({"patient_id": ids, "term": "Fatigue", "grade": 1,
                          "immune_related": 0, "led_to_discontinuation": 0})
    return replace(fx, ae=pd.concat([fx.ae, extra], ignore_index=True))


def variant_grade5(fx: Fixture) -> Fixture:
    ae = fx.ae.copy()
    ae.loc[0, "grade"] = 5
    return replace(fx, ae=ae)


def variant_discontinuations(fx: Fixture) -> Fixture:
    ae = fx.ae.copy()
    ae["led_to_discontinuation"] = 0
    return replace(fx, ae=ae)


def plain_weibull_cohort(rng, shapes=(0.8, 1.6)) -> pd.DataFrame:
    """Analysis columns of a cohort whose OS and PFS are plain Weibull curves per arm
    (shape uniform in *shapes*, medians of the paper), staggered entry over 36 months,
    cut-off 3 months after the last entry, 5% random losses; whole days."""
    n = {"TKI": 37, "TKI-ICI": 56}
    med = {("os", "TKI"): 229, ("os", "TKI-ICI"): 577, ("pfs", "TKI"): 89,
           ("pfs", "TKI-ICI"): 259}
    parts = []
    for arm, k in n.items():
        pot = rng.uniform(90, 1170, k)
        lost = np.where(rng.random(k) < 0.05, rng.uniform(30, 1170, k), np.inf)
        cens = np.rint(np.minimum(pot, lost)).clip(min=1)
        cols = {"arm": [arm] * k}
        for ep in ("os", "pfs"):
            sh = rng.uniform(*shapes)
            lam = med[(ep, arm)] / np.log(2) ** (1 / sh)
            t = np.rint(lam * rng.weibull(sh, k)).clip(min=1)
            cols[f"{ep}_months"] = np.minimum(t, cens) / 30
            cols[f"{ep}_event"] = (t <= cens).astype(int)
        parts.append(pd.DataFrame(cols))
    return pd.concat(parts, ignore_index=True)


__all__ = ["Fixture", "simulate", "plain_weibull_cohort", "CUTOFF", "DEFAULT_SEED"]


def variant_long_pps(seed: int = DEFAULT_SEED) -> Fixture:
    """Survival after progression of years (scale × 10)."""
    def hook(base, resp, pfs_scale, pps_scale):
        return pfs_scale, pps_scale * 10
    return simulate(seed, scale_hook=hook)


def variant_dc_early_exit(fx: Fixture) -> Fixture:
    """A CR/PR/SD patient who progresses on day 30, before any scan."""
    raw = fx.raw.copy()
    i = raw.index[raw["best_response"] == "SD"][0]
    raw.at[i, "progression_date"] = raw.at[i, "start_date"] + pd.Timedelta(days=30)
    return fx.with_raw(raw)


def variant_death_before_progression(fx: Fixture) -> Fixture:
    """Dates out of order: a death 10 days before the recorded progression."""
    raw = fx.raw.copy()
    i = raw.index[raw["progression_date"].notna() & raw["death_date"].notna()][0]
    raw.at[i, "death_date"] = raw.at[i, "last_contact_date"] = \
        raw.at[i, "progression_date"] - pd.Timedelta(days=10)
    return replace(fx, raw=raw)  # the analysis frame keeps the coherent times
