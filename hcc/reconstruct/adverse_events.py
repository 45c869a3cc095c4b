"""Adverse events drawn from the drugs of each patient's regimen, conditioned on the paper.

Model
-----
1. Each drug has a profile (:data:`hcc.drugs.AE_PROFILES`): per CTCAE v5 term the share of
   its patients with the term in the drug's registration trial and the grade 3/4 share of
   those events. A retrospective record finds fewer events than a trial
   (:attr:`hcc.drugs.AEProfile.recorded_share`: × 0.5, constitutional symptoms × 0.25).
2. A patient on a combination has, per term, the union of the drugs' risks,
   ``1 - prod(1 - p)``; every (patient, term) is a Bernoulli draw with that risk, and a
   drawn event is grade 3/4 with the risk-weighted grade 3/4 share of the drugs.
3. The paper's fixed events are placed first, each in a different patient chosen with
   probability proportional to that patient's risk of the term: in the TKI-ICI arm 5
   immune hepatitis (recorded as "Alanine aminotransferase increased",
   ``immune_related = 1``; one grade 3 leading to discontinuation), 1 myocarditis and 1
   pneumonitis (immune-related, PD-1 patients only) and 1 grade 3 hypertension leading to
   discontinuation; in the TKI arm 1 grade 3 hepatic encephalopathy ("Encephalopathy")
   leading to discontinuation. These cells are locked.

Conditioning on the printed numbers (deterministic given the generator)
-----------------------------------------------------------------------
4. Patients with ≥ 1 AE per arm are set to 29/37 and 50/56: surplus patients are cleared
   (chosen in proportion to their odds of having no AE), missing ones get one event (patient
   chosen by the odds of having an AE, term in proportion to its risk).
5. A repair search then flips single (patient, term) cells, never one that changes whether a
   patient has an AE, never one that gives a patient a term none of his drugs causes, and
   accepts a flip only if it lowers the violation score: the :data:`hcc.drugs.SIGNATURE_AES`
   floors, the rank rules (overall the four most common terms, patients any grade, are
   hypertension, diarrhoea, rash and nausea/vomiting, a patient with both counted once; in
   the TKI arm hypertension, diarrhoea and rash; ties at the last place allowed) and the
   per-term arm comparison (Yates chi-square P ≥ 0.05, "no significant difference in the
   incidence of different types of AEs"). Candidate flips are the ones that can reduce a
   violated rule, sampled in proportion to their odds under the model, so the search
   changes cells the drugs make likely first.
6. Grades: patients with a grade ≥ 3 AE per arm are set to 7/37 and 18/56 by demoting (all
   severe events of a patient to grade 2) or promoting (one event of a patient to grade 3)
   in proportion to the model's grade 3/4 shares. No grade 5 ("no treatment-related
   deaths").

Conflicts between the trials and the paper, and the compromise taken
--------------------------------------------------------------------
* Rash vs hand-foot skin reaction. REFLECT and RESORCE report rash in about 1 in 10
  patients, far below palmar-plantar erythrodysaesthesia (27% and 53%), anorexia, fatigue;
  the paper puts rash among the four most common AEs overall and the three most common in
  the TKI arm. Hand-foot skin reaction is kept at or above its SIGNATURE_AES floors (25% of
  regorafenib, 10% of lenvatinib patients) but no higher than rash, and the search adds
  rash in both arms (the TKI arm needs it third; the per-term test keeps the arms
  comparable) and trims the other terms until rash ranks as printed: about 15% of every
  drug's patients have rash against 5% expected from the trials, and hand-foot skin
  reaction sits near its floors (about 26% of regorafenib, 11% of lenvatinib patients).
  The search needs about 30 flips (at most about 55) of the roughly 2,000 cells.
* RCCEP vs "no significant difference". Camrelizumab's RCCEP (67% in Qin et al. 2020,
  about 33% once recorded retrospectively, so about 9 of the 27 camrelizumab patients)
  occurs on no other drug, so every case is in the TKI-ICI arm: with 0 of 37 TKI patients,
  Yates P ≥ 0.05 allows at most 7 of 56 (8/56: P = 0.043). RCCEP is capped at 7 patients
  (26% of camrelizumab patients). CTCAE v5 has no RCCEP term; it is recorded as
  :data:`hcc.drugs.RCCEP_TERM` ("Skin and subcutaneous tissue disorders - Other,
  specify: ..."), with ``immune_related = 0``.
* Immune-related events. The paper lists exactly three kinds (5 + 1 + 1); hypothyroidism
  and RCCEP, often counted as immune-related under a PD-1 inhibitor, are recorded with
  ``immune_related = 0`` so that the printed list stays complete. Immune hepatitis 5/56 vs
  0/37 alone gives Yates P = 0.162 (no conflict); the TKIs' own non-immune ALT rises share
  the term.
* Grade 3/4 share. "Approximately 1 in 5" vs 25 of 93 (26.9%): the exact arm counts 7 and
  18 are met (see :data:`hcc.paper.INCONSISTENCIES`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hcc import drugs, paper
from hcc.cohort import dictionary as schema
from hcc.errors import DataError

__all__ = ["AE_COLUMNS", "AE_TERM_MAP", "draw_adverse_events", "yates_p", "ae_term_pvalues",
           "paper_fact_problems", "term_patients"]

AE_COLUMNS = list(schema.AE_COLUMNS)
ARMS = paper.ARMS  # ("TKI", "TKI-ICI")

#: The paper's AE names (hcc.paper.IMMUNE_RELATED / DISCONTINUATIONS keys) → CTCAE v5 term.
#: CTCAE v5 has no "immune-mediated hepatitis" term; it is graded and recorded as
#: "Alanine aminotransferase increased" with ``immune_related = 1``. Hepatic encephalopathy
#: is recorded as the CTCAE v5 term "Encephalopathy".
AE_TERM_MAP = {
    "Immune-mediated hepatitis": "Alanine aminotransferase increased",
    "Myocarditis": "Myocarditis",
    "Pneumonitis": "Pneumonitis",
    "Hepatic encephalopathy": "Encephalopathy",
    "Hypertension": "Hypertension",
}

RASH = "Rash maculo-papular"
NAUSEA, VOMITING = "Nausea", "Vomiting"
#: Rank group of nausea and vomiting (the paper's "nausea and vomiting": one patient once).
NV_GROUP = "Nausea or vomiting"
#: The paper's most common AEs (COMMON_AE_TERMS) as rank groups, overall and in the TKI arm
#: (Discussion: "Hypertension, diarrhea and rash were the most common AEs ... in TKI group").
TOP_OVERALL = ("Hypertension", "Diarrhea", RASH, NV_GROUP)
TOP_TKI = ("Hypertension", "Diarrhea", RASH)
LIVER_SIGNATURE = "Liver enzyme increased (not immune-related)"
#: chi-square (1 df) 95% point: Yates statistic below it ⇔ P ≥ 0.05. The margin keeps a
#: statistic a rounding error below the point from passing the search but failing R.
CHI2_CRIT = 3.841458820694124
CHI2_MARGIN = 1e-9
P_MIN = 0.05
#: Severe grade given grade ≥ 3: grade 4 is about 1 in 8 grade 3/4 events in the trials.
GRADE4_SHARE = 0.125
#: Mild-to-moderate events recorded as grade 2 rather than 1 (about 2 in 5 in the trials).
GRADE2_SHARE = 0.4
#: Candidate flips evaluated per step (sampled by odds); all candidates if none improves.
CANDIDATES = 16
#: Accepted flips allowed before giving up (a draw needs a few dozen; never reached in tests).
MAX_FLIPS = 3000
#: Weight of a missing SIGNATURE_AES patient against one patient of rank excess: a floor is
#: met first even if the term then outranks a top term (the search next adds top terms).
W_FLOOR = 3.0
#: Risks are clipped away from 0 and 1 before odds are taken.
ODDS_EPS = 1e-6


# ----------------------------------------------------------------------------- statistics
def yates_p(a_yes: int, a_n: int, b_yes: int, b_n: int) -> float:
    """Two-sided P of the 2 × 2 chi-square test with Yates' continuity correction.

    Notes
    -----
    As R's ``chisq.test(correct = TRUE)``: each |O − E| is reduced by min(0.5, |O − E|);
    P from the chi-square distribution with 1 df.
    """
    obs = np.array([[a_yes, a_n - a_yes], [b_yes, b_n - b_yes]], dtype=float)
    e = obs.sum(1, keepdims=True) * obs.sum(0, keepdims=True) / obs.sum()
    if (e == 0).any():
        return 1.0
    d = np.abs(obs - e)
    stat = float((((d - np.minimum(0.5, d)) ** 2) / e).sum())
    return math.erfc(math.sqrt(stat / 2.0))


def _yates_stats(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Vectorised Yates statistic per term (patients with the term in arm a, arm b)."""
    yes, no = a + b, n_a + n_b - a - b
    tot = n_a + n_b
    obs = np.stack([a, n_a - a, b, n_b - b])
    e = np.stack([n_a * yes, n_a * no, n_b * yes, n_b * no]) / tot
    d = np.abs(obs - e)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (((d - np.minimum(0.5, d)) ** 2) / e).sum(0)
    return np.where((yes == 0) | (no == 0), 0.0, stat)


def ae_term_pvalues(ae: pd.DataFrame, arm_of: dict) -> dict[str, float]:
    """Per CTCAE term, Yates chi-square P of patients with the term (any grade) by arm."""
    arms = pd.Series(arm_of)
    n = {a: int((arms == a).sum()) for a in ARMS}
    out = {}
    for term, sub in ae.groupby("term", sort=True):
        pats = sub["patient_id"].unique()
        k = {a: int((arms.loc[pats] == a).sum()) for a in ARMS}
        out[term] = yates_p(k[ARMS[0]], n[ARMS[0]], k[ARMS[1]], n[ARMS[1]])
    return out


# ----------------------------------------------------------------------------- the model
def _terms() -> list[str]:
    """Every CTCAE term of the model, sorted (immune events by their CTCAE coding)."""
    return sorted({AE_TERM_MAP.get(p.term, p.term) for p in drugs.AE_PROFILES}
                  | {AE_TERM_MAP[t] for t in paper.IMMUNE_RELATED})


def _risks(regimens, terms: list[str]) -> tuple[np.ndarray, np.ndarray, dict]:
    """Per patient × term: recorded risk (union over the drugs), grade 3/4 share (risk-
    weighted over the drugs); and per immune-related paper name the union risk per patient."""
    col = {t: j for j, t in enumerate(terms)}
    risk_d = {d: np.zeros(len(terms)) for d in drugs.APPROVALS}
    sev_d = {d: np.zeros(len(terms)) for d in drugs.APPROVALS}
    imm_d = {d: {} for d in drugs.APPROVALS}
    for p in drugs.AE_PROFILES:
        if p.immune:
            imm_d[p.drug][p.term] = p.trial_share
        else:
            risk_d[p.drug][col[p.term]] = p.recorded_share
            sev_d[p.drug][col[p.term]] = p.grade34_share
    n = len(regimens)
    keep, sev_num, tot = np.ones((n, len(terms))), np.zeros((n, len(terms))), np.zeros((n, len(terms)))
    imm = {t: np.zeros(n) for t in paper.IMMUNE_RELATED}
    for i, reg in enumerate(regimens):
        for d in drugs.REGIMEN_DRUGS[reg]:
            keep[i] *= 1 - risk_d[d]
            sev_num[i] += risk_d[d] * sev_d[d]
            tot[i] += risk_d[d]
            for t in imm:
                imm[t][i] = 1 - (1 - imm[t][i]) * (1 - imm_d[d].get(t, 0.0))
    share = np.divide(sev_num, tot, out=np.zeros_like(tot), where=tot > 0)
    return 1 - keep, share, imm


def _pick(rng: np.random.Generator, weights: np.ndarray) -> int:
    """One index with probability proportional to *weights* (all ≥ 0, some > 0)."""
    w = np.asarray(weights, dtype=float)
    return int(rng.choice(len(w), p=w / w.sum()))


def _place_fixed(rng, arm, risk, imm, col) -> dict:
    """The paper's fixed events, each in its own patient (chosen ∝ the patient's risk of the
    term): {(patient, column): (grade or None, immune, discontinuation)}."""
    specials = [(1, t, None, True, False) for t in paper.IMMUNE_RELATED
                for _ in range(paper.IMMUNE_RELATED[t])]
    first_hep = next(k for k, s in enumerate(specials) if s[1] == "Immune-mediated hepatitis")
    specials[first_hep] = (1, "Immune-mediated hepatitis", 3, True, True)
    for a, names in enumerate(paper.DISCONTINUATIONS[x] for x in ARMS):
        specials += [(a, t, 3, False, True) for t in names if t not in paper.IMMUNE_RELATED]
    used = np.zeros(len(arm), dtype=bool)
    fixed = {}
    for a, name, grade, immune, disc in specials:
        j = col[AE_TERM_MAP.get(name, name)]
        w = (imm[name] if immune else risk[:, j]) * ((arm == a) & ~used)
        i = _pick(rng, w)
        used[i] = True
        fixed[(i, j)] = (grade, int(immune), int(disc))
    return fixed


def _odds(r: np.ndarray) -> np.ndarray:
    r = np.clip(r, ODDS_EPS, 1 - ODDS_EPS)
    return r / (1 - r)


def _fix_any_counts(rng, O, locked, risk, arm) -> None:
    """Step 4: exactly paper.AE_ANY patients with ≥ 1 AE per arm (in place)."""
    p_none = np.prod(1 - risk, axis=1)
    for a, name in enumerate(ARMS):
        while True:
            has = O.any(1)
            diff = int(has[arm == a].sum()) - paper.AE_ANY[name]
            if diff == 0:
                break
            if diff > 0:  # clear a patient: ∝ odds of having no AE
                w = _odds(p_none) * (has & (arm == a) & ~locked.any(1))
                O[_pick(rng, w)] = False
            else:  # give one event to a patient without: ∝ odds of having any AE
                i = _pick(rng, _odds(1 - p_none) * (~has & (arm == a)))
                O[i, _pick(rng, risk[i])] = True


# ----------------------------------------------------------------------------- repair search
def _excess(count: np.ndarray, top: np.ndarray) -> float:
    """Rank violation: over every (other group, top group) pair, the patients by which the
    other outnumbers the top one (0 iff the top groups are the most common as a set). Pairs,
    not the least top group alone, so that raising any top group below another counts."""
    return float(np.maximum(0, count[~top][:, None] - count[top][None, :]).sum())


class _Search:
    """Violation score of an occurrence matrix and the flips that can lower it (step 5)."""

    def __init__(self, O, locked, immune, risk, arm, regimens, terms):
        self.O, self.locked, self.risk, self.arm = O, locked, risk, arm
        col = {t: j for j, t in enumerate(terms)}
        self.col = col
        self.A = np.stack([arm == 0, arm == 1], axis=1).astype(float)  # patient × arm
        self.n_arm = self.A.sum(0)
        groups = [t for t in terms if t not in (NAUSEA, VOMITING)] + [NV_GROUP]
        self.groups = groups
        self.M = np.zeros((len(terms), len(groups)))  # term → rank group
        for j, t in enumerate(terms):
            self.M[j, groups.index(NV_GROUP if t in (NAUSEA, VOMITING) else t)] = 1
        self.top = np.isin(groups, TOP_OVERALL)
        self.top_tki = np.isin(groups, TOP_TKI)
        self.alt_immune = immune[:, col["Alanine aminotransferase increased"]]
        self.floors = []  # (patients on the drug, columns or None for liver, needed count)
        for s in drugs.SIGNATURE_AES:
            on = np.array([s.drug in drugs.REGIMEN_DRUGS[r] for r in regimens])
            need = math.ceil(s.min_share * on.sum() - 1e-9)
            self.floors.append((on, None if s.term == LIVER_SIGNATURE else col[s.term], need))
        self.liver = [col[t] for t in drugs.LIVER_ENZYME_TERMS]
        self.allowed_on = (risk > 0) & ~locked

    def _liver(self, O):
        alt = self.col["Alanine aminotransferase increased"]
        x = O[:, self.liver].copy()
        x[:, self.liver.index(alt)] &= ~self.alt_immune
        return x.any(1)

    def parts(self, O) -> dict:
        """Violation per rule (0 = rule holds) and the counts behind it."""
        Of = O.astype(float)
        arm_terms = self.A.T @ Of
        grp = self.A.T @ np.minimum(Of @ self.M, 1)
        tot = grp.sum(0)
        stat = _yates_stats(arm_terms[0], arm_terms[1], *self.n_arm)
        floor, liver = 0.0, self._liver(O)
        for on, j, need in self.floors:
            have = (liver if j is None else O[:, j])[on].sum()
            floor += max(0, need - have)
        return {"floor": floor,
                "rank": _excess(tot, self.top),
                "rank_tki": _excess(grp[0], self.top_tki),
                "p": np.maximum(0, stat - (CHI2_CRIT - CHI2_MARGIN)).sum(),
                "_grp": grp, "_tot": tot, "_stat": stat, "_arm_terms": arm_terms}

    def score(self, O) -> float:
        v = self.parts(O)
        return float(W_FLOOR * v["floor"] + v["rank"] + v["rank_tki"] + v["p"])

    def candidates(self, v) -> np.ndarray:
        """Cells whose flip can lower a violated rule, and keeps every patient's AE status."""
        O = self.O
        on = np.zeros_like(O)
        off = np.zeros_like(O)
        g_of = self.M.argmax(1)  # column → rank group
        if v["floor"] > 0:
            for rows, j, need in self.floors:
                cols = self.liver if j is None else [j]
                on[np.ix_(rows, cols)] = True
        for key, rows, top, cnt in (("rank", np.ones(len(O), bool), self.top, v["_tot"]),
                                    ("rank_tki", self.arm == 0, self.top_tki, v["_grp"][0])):
            if v[key] > 0:
                low = top & (cnt < cnt[~top].max())
                high = ~top & (cnt > cnt[top].min())
                on[np.ix_(rows, low[g_of])] = True
                off[np.ix_(rows, high[g_of])] = True
        for j in np.flatnonzero(v["_stat"] > CHI2_CRIT - CHI2_MARGIN):
            rate = v["_arm_terms"][:, j] / self.n_arm
            hi = int(rate[1] > rate[0])
            off[self.arm == hi, j] = True
            on[self.arm != hi, j] = True
        has, nrow = O.any(1), O.sum(1)
        on &= ~O & self.allowed_on & has[:, None]
        off &= O & ~self.locked & (nrow >= 2)[:, None]
        return np.flatnonzero((on | off).ravel())

    def run(self, rng) -> int:
        """Flip cells until every rule holds; returns the number of flips.

        A step takes the best improving flip among up to CANDIDATES sampled ones. When no
        candidate improves (every flip that would fix one rule breaks another), the step takes
        the least damaging flip instead — never the one that undoes the step before — so the
        search walks out of the local minimum (seed 11 at budget 2000 got stuck there on a
        hand-foot skin reaction count of 1 of 37 against 12 of 56). Cohorts whose search
        never stalls are drawn exactly as before."""
        O, n_t = self.O, self.O.shape[1]
        cur = self.score(O)
        last = None
        for flips in range(MAX_FLIPS):
            if cur == 0:
                return flips
            cand = self.candidates(self.parts(O))
            r = self.risk.ravel()[cand]
            w = np.where(O.ravel()[cand], _odds(1 - r), _odds(r))
            order = rng.choice(len(cand), size=len(cand), replace=False, p=w / w.sum()) \
                if len(cand) else np.array([], dtype=int)
            best, best_v = None, cur
            least, least_v = None, np.inf
            for k, idx in enumerate(order):
                if k >= CANDIDATES and best is not None:
                    break
                i, j = divmod(int(cand[idx]), n_t)
                O[i, j] = ~O[i, j]
                s = self.score(O)
                O[i, j] = ~O[i, j]
                if s < best_v:
                    best, best_v = (i, j), s
                if s < least_v and (i, j) != last:
                    least, least_v = (i, j), s
            if best is None:
                if least is None:
                    raise RuntimeError(f"adverse-event repair is stuck: {self.parts(O)}")
                best, best_v = least, least_v
            O[best] = ~O[best]
            cur, last = best_v, best
        raise RuntimeError("adverse-event repair did not converge")


# ----------------------------------------------------------------------------- grades
def _draw_grades(rng, O, share, fixed, names) -> np.ndarray:
    """Step 2's grades: grade ≥ 3 with the cell's grade 3/4 share; fixed grades kept."""
    u, v, w = rng.random(O.shape), rng.random(O.shape), rng.random(O.shape)
    G = np.where(u < share, np.where(v < GRADE4_SHARE, 4, 3),
                 np.where(w < GRADE2_SHARE, 2, 1))
    for (i, j), (grade, immune, _) in fixed.items():
        if grade is not None:
            G[i, j] = grade
        elif immune:  # an immune-related event: the PD-1 profiles' grade 3/4 share
            sev = rng.random() < max(p.grade34_share for p in drugs.AE_PROFILES
                                     if p.immune and AE_TERM_MAP[p.term] == names[j])
            G[i, j] = 3 if sev else 2
    return np.where(O, G, 0)


def _fix_severe_counts(rng, G, share, fixed, arm) -> None:
    """Step 6: exactly paper.AE_GRADE34 patients with a grade ≥ 3 AE per arm (in place)."""
    fixed_sev = np.zeros(G.shape, dtype=bool)
    for (i, j), (grade, _, _) in fixed.items():
        fixed_sev[i, j] = grade is not None and grade >= 3
    for a, name in enumerate(ARMS):
        while True:
            sev = (G >= 3).any(1)
            diff = int(sev[arm == a].sum()) - paper.AE_GRADE34[name]
            if diff == 0:
                break
            if diff > 0:  # demote a patient: ∝ odds that his events are not severe
                keep = np.prod(np.where(G >= 3, 1 - share, 1.0), axis=1)
                i = _pick(rng, _odds(keep) * (sev & (arm == a) & ~fixed_sev.any(1)))
                G[i] = np.where(G[i] >= 3, 2, G[i])
            else:  # promote one event of a patient with AEs but none severe
                cells = np.where(G > 0, share, 0.0)
                i = _pick(rng, cells.max(1) * (~sev & (arm == a)))
                j = _pick(rng, cells[i])
                G[i, j] = 4 if rng.random() < GRADE4_SHARE else 3


# ----------------------------------------------------------------------------- public
def _check_cohort(cohort: pd.DataFrame) -> None:
    """The paper's counts need the paper's arms; the profiles need known regimens."""
    missing = [c for c in ("patient_id", "arm", "regimen") if c not in cohort.columns]
    if missing:
        raise DataError(f"the cohort lacks the column(s) {', '.join(missing)}")
    if cohort["patient_id"].duplicated().any():
        raise DataError("patient ids must be unique")
    bad = sorted(set(cohort["regimen"].astype(str)) - set(drugs.REGIMEN_DRUGS))
    if bad:
        raise DataError(f"unknown regimen(s) {', '.join(bad)}; known: "
                        f"{', '.join(drugs.REGIMEN_DRUGS)}")
    pd1 = cohort["regimen"].map(lambda r: bool(set(drugs.REGIMEN_DRUGS[r])
                                               & set(drugs.PD1_INHIBITORS)))
    if (pd1 != (cohort["arm"] == ARMS[1])).any():
        raise DataError(f"arm {ARMS[1]} must be exactly the regimens with a PD-1 inhibitor")
    n = cohort["arm"].value_counts().to_dict()
    if n != paper.ARM_N:
        raise DataError(f"arms must have the paper's sizes {paper.ARM_N}; got {n}")


def draw_adverse_events(cohort: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The adverse-event table of *cohort*, drawn by drug and conditioned on the paper.

    Parameters
    ----------
    cohort : DataFrame
        At least ``patient_id``, ``arm`` ("TKI" / "TKI-ICI") and ``regimen`` (keys of
        :data:`hcc.drugs.REGIMEN_DRUGS`); arms of 37 and 56 patients as in the paper.
    rng : numpy.random.Generator
        Source of every random choice (same state → identical table).

    Returns
    -------
    DataFrame
        Columns :data:`AE_COLUMNS`, one row per (patient, term), sorted by patient_id, term.
        The model and the conditioning are described in the module docstring.
    """
    _check_cohort(cohort)
    ids = cohort["patient_id"].astype(str).to_numpy()
    arm = cohort["arm"].map({a: k for k, a in enumerate(ARMS)}).to_numpy()
    regimens = cohort["regimen"].tolist()
    terms = _terms()
    col = {t: j for j, t in enumerate(terms)}
    risk, share, imm = _risks(regimens, terms)
    fixed = _place_fixed(rng, arm, risk, imm, col)
    O = rng.random(risk.shape) < risk
    locked = np.zeros_like(O)
    immune = np.zeros_like(O)
    for (i, j), (_, ir, _) in fixed.items():
        O[i, j] = locked[i, j] = True
        immune[i, j] = bool(ir)
    _fix_any_counts(rng, O, locked, risk, arm)
    _Search(O, locked, immune, risk, arm, regimens, terms).run(rng)
    G = _draw_grades(rng, O, share, fixed, terms)
    _fix_severe_counts(rng, G, share, fixed, arm)
    ii, jj = np.nonzero(O)
    disc = {k: v[2] for k, v in fixed.items()}
    ae = pd.DataFrame({"patient_id": ids[ii], "term": np.asarray(terms, dtype=object)[jj],
                       "grade": G[ii, jj].astype("int64"),
                       "immune_related": immune[ii, jj].astype("int64"),
                       "led_to_discontinuation": np.array(
                           [disc.get((i, j), 0) for i, j in zip(ii, jj)], dtype="int64")})
    ae = ae.sort_values(["patient_id", "term"], kind="mergesort").reset_index(drop=True)
    problems = paper_fact_problems(ae, cohort)
    if problems:
        raise RuntimeError("adverse events miss the paper: " + "; ".join(problems))
    return ae


# ----------------------------------------------------------------------------- checks
def term_patients(ae: pd.DataFrame, cohort: pd.DataFrame, arm: str | None = None) -> pd.Series:
    """Patients per rank group (CTCAE term; nausea and vomiting as one), any grade, in *arm*
    (all patients when None), sorted by count then name."""
    arm_of = cohort.set_index(cohort["patient_id"].astype(str))["arm"]
    sub = ae[ae["patient_id"].astype(str).map(arm_of) == arm] if arm else ae
    grp = sub["term"].where(~sub["term"].isin([NAUSEA, VOMITING]), NV_GROUP)
    k = sub.assign(g=grp).groupby("g")["patient_id"].nunique()
    return k.sort_index().sort_values(ascending=False, kind="mergesort")


def _top_ok(k: pd.Series, top: tuple) -> bool:
    """*top* are the most common groups as a set (every other group at most the least)."""
    if not set(top) <= set(k.index):
        return False
    least = k[list(top)].min()
    return bool((k.drop(list(top)) <= least).all())


def paper_fact_problems(ae: pd.DataFrame, cohort: pd.DataFrame) -> list[str]:
    """The paper's safety facts (and SIGNATURE_AES floors) that *ae* misses; [] if none."""
    arm_of = cohort.set_index(cohort["patient_id"].astype(str))["arm"]
    reg_of = cohort.set_index(cohort["patient_id"].astype(str))["regimen"]
    arm = ae["patient_id"].astype(str).map(arm_of)
    out = []
    for a in ARMS:
        sub = ae[arm == a]
        if sub["patient_id"].nunique() != paper.AE_ANY[a]:
            out.append(f"any AE {a}")
        if sub.loc[sub["grade"] >= 3, "patient_id"].nunique() != paper.AE_GRADE34[a]:
            out.append(f"grade 3/4 {a}")
        disc = sorted(sub.loc[sub["led_to_discontinuation"] == 1, "term"])
        if disc != sorted(AE_TERM_MAP[t] for t in paper.DISCONTINUATIONS[a]):
            out.append(f"discontinuations {a}")
    if (ae["grade"] >= 5).any() or ae.duplicated(["patient_id", "term"]).any():
        out.append("grade 5 or duplicated rows")
    ir = ae[ae["immune_related"] == 1]
    want = {AE_TERM_MAP[t]: n for t, n in paper.IMMUNE_RELATED.items()}
    if ir.groupby("term")["patient_id"].nunique().to_dict() != want or \
            (arm[ir.index] != "TKI-ICI").any() or \
            not all(set(drugs.REGIMEN_DRUGS[reg_of[p]]) & set(drugs.PD1_INHIBITORS)
                    for p in ir["patient_id"].astype(str)):
        out.append("immune-related events")
    if not _top_ok(term_patients(ae, cohort), TOP_OVERALL):
        out.append("four most common terms")
    if not _top_ok(term_patients(ae, cohort, ARMS[0]), TOP_TKI):
        out.append("three most common terms, TKI")
    low = {t: p for t, p in ae_term_pvalues(ae, arm_of.to_dict()).items() if p < P_MIN}
    if low:
        out.append(f"per-term arm difference {low}")
    out += [f"signature {s.drug} {s.term}" for s in drugs.SIGNATURE_AES
            if signature_share(ae, cohort, s) < s.min_share]
    return out


def signature_share(ae: pd.DataFrame, cohort: pd.DataFrame, s: drugs.SignatureAE) -> float:
    """Share of the patients on ``s.drug`` with ``s.term`` (liver: any LIVER_ENZYME_TERMS
    row that is not immune-related)."""
    on = cohort.loc[cohort["regimen"].map(lambda r: s.drug in drugs.REGIMEN_DRUGS[r]),
                    "patient_id"].astype(str)
    if s.term == LIVER_SIGNATURE:
        hit = ae["term"].isin(drugs.LIVER_ENZYME_TERMS) & (ae["immune_related"] == 0)
    else:
        hit = ae["term"] == s.term
    return float(on.isin(ae.loc[hit, "patient_id"].astype(str)).mean())
