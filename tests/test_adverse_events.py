"""Adverse events drawn by drug (hcc.reconstruct.adverse_events) meet the paper's safety
numbers exactly, the drugs' signature-AE floors and the rank rules, on the shipped cohort
and on 20 other seeds. The checks here are written independently of the module's own
``paper_fact_problems`` (scipy for the Yates test, plain pandas for counts)."""
from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from hcc import drugs, paper
from hcc.errors import DataError
from hcc.paths import DEFAULT_SEED
from hcc.reconstruct import adverse_events as aem

ARMS = paper.ARMS
SEEDS = [DEFAULT_SEED] + list(range(1, 21))
ALT = "Alanine aminotransferase increased"
NV = {"Nausea", "Vomiting"}


@functools.lru_cache(maxsize=None)
def cohort() -> pd.DataFrame:
    """The shipped cohort's patient_id, arm and regimen."""
    from hcc.paths import COHORT_MANIFEST
    return pd.read_csv(COHORT_MANIFEST.parent / "cohort.csv")[["patient_id", "arm", "regimen"]]


@functools.lru_cache(maxsize=None)
def draw(seed: int) -> pd.DataFrame:
    return aem.draw_adverse_events(cohort(), np.random.default_rng(seed))


def arm_of(ae):
    return ae["patient_id"].map(cohort().set_index("patient_id")["arm"])


def drug_patients(drug: str) -> pd.Series:
    c = cohort()
    return c.loc[c["regimen"].map(lambda r: drug in drugs.REGIMEN_DRUGS[r]), "patient_id"]


def patients_by_group(ae: pd.DataFrame) -> pd.Series:
    """Patients per term, nausea and vomiting merged into one group (a patient once)."""
    g = ae["term"].where(~ae["term"].isin(NV), "NV")
    return ae.assign(g=g).groupby("g")["patient_id"].nunique()


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def ae(request):
    return draw(request.param)


# ----------------------------------------------------------------------------- layout
def test_layout(ae):
    assert list(ae.columns) == aem.AE_COLUMNS
    assert not ae.duplicated(["patient_id", "term"]).any()
    key = list(zip(ae["patient_id"], ae["term"]))
    assert key == sorted(key)
    assert ae["grade"].between(1, 4).all()  # no grade 5: no treatment-related deaths
    for c in ("grade", "immune_related", "led_to_discontinuation"):
        assert ae[c].dtype == np.int64
        assert set(ae[c]) <= ({0, 1} if c != "grade" else {1, 2, 3, 4})
    assert set(ae["patient_id"]) <= set(cohort()["patient_id"])


# ----------------------------------------------------------------------------- exact numbers
def test_any_and_severe_counts(ae):
    arm = arm_of(ae)
    for a in ARMS:
        sub = ae[arm == a]
        assert sub["patient_id"].nunique() == paper.AE_ANY[a]
        assert sub.loc[sub["grade"] >= 3, "patient_id"].nunique() == paper.AE_GRADE34[a]


def test_immune_related_only_with_pd1(ae):
    ir = ae[ae["immune_related"] == 1]
    want = {aem.AE_TERM_MAP[t]: n for t, n in paper.IMMUNE_RELATED.items()}
    assert want == {ALT: 5, "Myocarditis": 1, "Pneumonitis": 1}
    assert ir.groupby("term")["patient_id"].nunique().to_dict() == want
    assert len(ir) == 7 and ir["patient_id"].is_unique
    assert (arm_of(ir) == "TKI-ICI").all()
    reg = ir["patient_id"].map(cohort().set_index("patient_id")["regimen"])
    assert reg.map(lambda r: bool(set(drugs.REGIMEN_DRUGS[r]) & set(drugs.PD1_INHIBITORS))).all()


def test_discontinuations(ae):
    d = ae[ae["led_to_discontinuation"] == 1]
    assert len(d) == 3 and d["patient_id"].is_unique
    arm = arm_of(d)
    tki = d[arm == "TKI"]
    assert tki["term"].tolist() == ["Encephalopathy"] and (tki["immune_related"] == 0).all()
    ici = d[arm == "TKI-ICI"].set_index("term")
    assert sorted(ici.index) == [ALT, "Hypertension"]
    assert ici.loc[ALT, "immune_related"] == 1
    assert ici.loc["Hypertension", "immune_related"] == 0
    assert ici.loc["Hypertension", "grade"] == 3
    assert (d["grade"] >= 3).all()


def test_four_most_common_overall_and_three_in_tki(ae):
    k = patients_by_group(ae)
    top = ["Hypertension", "Diarrhea", "Rash maculo-papular", "NV"]
    assert (k.drop(top) <= k[top].min()).all(), k.sort_values().tail(6)
    kt = patients_by_group(ae[arm_of(ae) == "TKI"])
    top3 = ["Hypertension", "Diarrhea", "Rash maculo-papular"]
    assert (kt.drop(top3) <= kt[top3].min()).all(), kt.sort_values().tail(6)


def test_no_per_term_arm_difference(ae):
    """Yates chi-square (scipy, as R chisq.test) P >= 0.05 for every term, patients any grade;
    the module's yates_p agrees with scipy."""
    n = cohort()["arm"].value_counts()
    arm = arm_of(ae)
    for term, sub in ae.groupby("term"):
        k = sub.assign(arm=arm[sub.index]).groupby("arm")["patient_id"].nunique()
        k = k.reindex(ARMS, fill_value=0)
        table = np.array([[k[a], n[a] - k[a]] for a in ARMS])
        p = chi2_contingency(table, correction=True)[1]
        assert p >= 0.05, (term, k.to_dict(), p)
        assert aem.yates_p(k[ARMS[0]], n[ARMS[0]], k[ARMS[1]], n[ARMS[1]]) == pytest.approx(p)


def test_signature_floors(ae):
    for s in drugs.SIGNATURE_AES:
        on = drug_patients(s.drug)
        if s.term == aem.LIVER_SIGNATURE:
            hit = ae["term"].isin(drugs.LIVER_ENZYME_TERMS) & (ae["immune_related"] == 0)
        else:
            hit = ae["term"] == s.term
        share = on.isin(ae.loc[hit, "patient_id"]).mean()
        assert share >= s.min_share, (s.drug, s.term, share)
        assert share == pytest.approx(aem.signature_share(ae, cohort(), s))


def test_module_check_agrees(ae):
    assert aem.paper_fact_problems(ae, cohort()) == []


# ----------------------------------------------------------------------------- the model
def test_signature_aes_follow_the_drug():
    """A drug's signature AE is more frequent among its patients than among the others (every
    seed), and a term no drug of a patient's regimen causes never occurs."""
    hfsr = "Palmar-plantar erythrodysesthesia syndrome"
    c = cohort()
    for seed in SEEDS:
        ae = draw(seed)

        def share(term, pats):
            return pats.isin(ae.loc[ae["term"] == term, "patient_id"]).mean()
        reg = drug_patients("REG")
        assert share(hfsr, reg) > share(hfsr, c.loc[~c["patient_id"].isin(reg), "patient_id"])
        cam, sin = drug_patients("CAM"), drug_patients("SIN")
        assert share(drugs.RCCEP_TERM, cam) > 0 == share(drugs.RCCEP_TERM, sin)
        assert share(drugs.RCCEP_TERM, drug_patients("LEN").loc[lambda s: ~s.isin(cam)]) == 0
        tki_only = c.loc[c["arm"] == "TKI", "patient_id"]
        assert share(drugs.RCCEP_TERM, tki_only) == 0
    # every row's term is in the profile of some drug of its patient (or a placed irAE)
    risk_terms = {}
    for p in drugs.AE_PROFILES:
        risk_terms.setdefault(p.drug, set()).add(aem.AE_TERM_MAP.get(p.term, p.term))
    reg_of = c.set_index("patient_id")["regimen"]
    for seed in SEEDS:
        ae = draw(seed)
        for pid, term in zip(ae["patient_id"], ae["term"]):
            assert any(term in risk_terms[d] for d in drugs.REGIMEN_DRUGS[reg_of[pid]]), (pid, term)


def test_profile_table_consistency():
    seen = set()
    for p in drugs.AE_PROFILES:
        assert p.drug in drugs.APPROVALS
        assert 0 < p.trial_share < 1 and 0 < p.recorded_share < 1, p
        assert 0 <= p.grade34_share < 1, p
        assert p.source
        assert (p.drug, p.term) not in seen, p
        seen.add((p.drug, p.term))
        if p.immune:
            assert p.drug in drugs.PD1_INHIBITORS and p.term in paper.IMMUNE_RELATED
        else:
            assert p.term not in paper.IMMUNE_RELATED and p.term != "Hepatic encephalopathy"
    for reg, ds in drugs.REGIMEN_DRUGS.items():
        for d in ds:
            assert sum(p.drug == d and not p.immune for p in drugs.AE_PROFILES) >= 5, (reg, d)
    for s in drugs.SIGNATURE_AES:  # a floor is only reachable if the drug carries the term
        terms = {p.term for p in drugs.AE_PROFILES if p.drug == s.drug}
        assert (terms & set(drugs.LIVER_ENZYME_TERMS)) if s.term == aem.LIVER_SIGNATURE \
            else s.term in terms, s
    for t in paper.COMMON_AE_TERMS:  # the paper's common AEs are in the model
        names = {"Diarrhea": ["Diarrhea"], "Rash": ["Rash maculo-papular"],
                 "Nausea and vomiting": ["Nausea", "Vomiting"]}.get(t, [t])
        assert all(any(p.term == x for p in drugs.AE_PROFILES) for x in names), t
    assert drugs.RCCEP_TERM.startswith("Skin and subcutaneous tissue disorders - Other")


def test_yates_for_immune_hepatitis_alone():
    """5/56 vs 0/37 (immune hepatitis with no TKI ALT rise) would still give P >= 0.05;
    RCCEP (camrelizumab only) can reach at most 7 of 56 TKI-ICI patients."""
    assert aem.yates_p(0, 37, 5, 56) == pytest.approx(0.1619, abs=1e-4)
    assert aem.yates_p(0, 37, 7, 56) >= 0.05 > aem.yates_p(0, 37, 8, 56)
    for seed in SEEDS:
        ae = draw(seed)
        assert ae.loc[ae["term"] == drugs.RCCEP_TERM, "patient_id"].nunique() <= 7


# ----------------------------------------------------------------------------- determinism, speed
def test_deterministic():
    a = aem.draw_adverse_events(cohort(), np.random.default_rng(123)).to_csv(index=False)
    b = aem.draw_adverse_events(cohort(), np.random.default_rng(123)).to_csv(index=False)
    assert a.encode() == b.encode()
    assert draw(1).to_csv(index=False) != draw(2).to_csv(index=False)
    rng = np.random.default_rng(5)
    first = aem.draw_adverse_events(cohort(), rng)
    again = aem.draw_adverse_events(cohort(), np.random.default_rng(5))
    assert first.equals(again)


def test_fast():
    best = float("inf")
    for seed in (101, 102, 103):
        t = time.perf_counter()
        aem.draw_adverse_events(cohort(), np.random.default_rng(seed))
        best = min(best, time.perf_counter() - t)
    assert best < 1.0


def test_bad_input():
    c = cohort()
    with pytest.raises(DataError, match="regimen"):
        aem.draw_adverse_events(c.drop(columns="regimen"), np.random.default_rng(0))
    with pytest.raises(DataError, match="unknown regimen"):
        aem.draw_adverse_events(c.assign(regimen="SOR"), np.random.default_rng(0))
    with pytest.raises(DataError, match="sizes"):
        aem.draw_adverse_events(c.iloc[:-1], np.random.default_rng(0))
    swapped = c.copy()
    swapped.loc[swapped.index[swapped["arm"] == "TKI"][0], "regimen"] = "LEN+SIN"
    with pytest.raises(DataError, match="PD-1"):
        aem.draw_adverse_events(swapped, np.random.default_rng(0))


def test_generator_reexports_the_map():
    from hcc.reconstruct import generator, output
    assert generator.AE_TERM_MAP is aem.AE_TERM_MAP
    # the files are written by reconstruct/output.py, with this module's drawing
    assert output.draw_adverse_events is aem.draw_adverse_events


# ----------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("seed", [DEFAULT_SEED, 7])
def test_fidelity_safety_rows_ok(seed):
    from hcc.cohort import load as _data
    from hcc.fidelity import fidelity_report

    full = _data.load_cohort()
    rep = fidelity_report(full, draw(seed)).summary
    safety = rep[rep["section"] == "Safety"]
    assert len(safety) == 18
    assert safety["ok"].all(), safety.loc[~safety["ok"], ["item", "paper", "ours"]]
