"""Section 10 of the plausibility report: the paper's qualitative claims (REG vs LEN, CAM vs
SIN, the subgroups that favour the combination, the most common and the immune-related
adverse events, discontinuations, no grade 5)."""
from __future__ import annotations

import numpy as np

from hcc import drugs, paper
from hcc._format import format_time
from hcc.survival import logrank
from hcc.plausibility.thresholds import CLAIM_ALPHA, FAVOURED_SHARE_MIN, MIN_GROUP
from hcc.plausibility._common import _guarded, _median, _na, _num, _regimen_drugs, _row
from hcc.plausibility.sections import _level_name


# =========================================================================== 10. paper claims
_CLAIM_TEXT = "the paper, Results"


def _two_group_claim(df, group, levels, ep, want_order: bool):
    """Medians of two groups and log-rank P; ok when P ≥ CLAIM_ALPHA (and, with
    *want_order*, median of levels[0] ≥ levels[1])."""
    sub = df[df[group].isin(levels)]
    n = sub[group].value_counts()
    if any(n.get(l, 0) < MIN_GROUP for l in levels):
        return _na(f"fewer than {MIN_GROUP} patients in {' or '.join(levels)}")
    t, e = f"{ep}_months", f"{ep}_event"
    meds = [_median(sub[sub[group] == l], t, e) for l in levels]
    p = float(logrank(sub, t, e, group).p)
    ok = p >= CLAIM_ALPHA and (not want_order or meds[0] >= meds[1])
    return (f"median {levels[0]} {format_time(meds[0])} vs {levels[1]} {format_time(meds[1])} months; "
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


def _ae_claim_rows(rows, cohort, ae):
    from hcc.fidelity import ae_term_map, discontinued, immune_related_patients

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
           lambda: _immune_claim(*immune_related_patients(ae, arm_of, term_map)),
           lambda: _discontinuation_claim(discontinued(ae, arm_of, term_map)),
           lambda: _grade5(ae)]
    for (name, crit), fn in zip(specs, fns):
        _guarded(rows, name, "paper claims", crit, ref, fn)


def _immune_claim(got: dict, in_tki: int):
    ours = ", ".join(f"{k} {v}" for k, v in got.items()) + f"; in TKI: {in_tki}"
    return ours, got == dict(paper.IMMUNE_RELATED) and in_tki == 0


def _discontinuation_claim(got: dict):
    want = {a: sorted(t) for a, t in paper.DISCONTINUATIONS.items()}
    ours = "; ".join(f"{a}: {', '.join(got[a]) or 'none'}" for a in paper.ARMS)
    return ours, got == want


def _grade5(ae):
    k = int(ae.loc[_num(ae["grade"]) == 5, "patient_id"].nunique())
    return f"{k} patients with a grade 5 AE", k == paper.TREATMENT_RELATED_DEATHS
