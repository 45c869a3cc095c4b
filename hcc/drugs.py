"""The four drugs of the study: when each could be prescribed in China, and the adverse
events a clinician expects of each.

These are facts about the drugs, not about the paper: the reconstruction reads them to
draw start dates and adverse events, and the plausibility report checks a cohort against
them. Approval dates are the ones reported publicly by China's National Medical Products
Administration (NMPA) through the makers' announcements; a drug is taken to be available
from the first day of the month after its approval (supply and hospital formularies take
time), which also keeps the start dates clear of a few days' uncertainty in the dates.
Frequencies are rounded from the registration trials the paper itself cites.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["Approval", "APPROVALS", "REGIMEN_DRUGS", "TKIS", "PD1_INHIBITORS", "available_from",
           "regimen_available_from", "SignatureAE", "SIGNATURE_AES", "LIVER_ENZYME_TERMS",
           "AEProfile", "AE_PROFILES", "RCCEP_TERM", "RETROSPECTIVE_RECORDING",
           "CONSTITUTIONAL_RECORDING", "CONSTITUTIONAL_TERMS"]


@dataclass(frozen=True)
class Approval:
    """First approval of a drug in mainland China."""

    drug: str
    name: str
    date: _dt.date
    indication: str
    source: str


APPROVALS = {
    "REG": Approval("REG", "regorafenib", _dt.date(2017, 12, 1),
                    "HCC previously treated with sorafenib",
                    "NMPA approval, December 2017 (Bayer announcement); the RESORCE "
                    "indication (Bruix et al. 2017, the paper's ref. 7)"),
    "LEN": Approval("LEN", "lenvatinib", _dt.date(2018, 9, 4),
                    "unresectable HCC, first line",
                    "NMPA approval of 4 September 2018 (Eisai announcement); the REFLECT "
                    "indication (Kudo et al. 2018, the paper's ref. 12)"),
    "SIN": Approval("SIN", "sintilimab", _dt.date(2018, 12, 24),
                    "relapsed or refractory classical Hodgkin lymphoma",
                    "NMPA approval of 24 December 2018 (Innovent announcement); used in HCC "
                    "off label in the study period"),
    "CAM": Approval("CAM", "camrelizumab", _dt.date(2019, 5, 29),
                    "relapsed or refractory classical Hodgkin lymphoma",
                    "NMPA approval of 29 May 2019 (Hengrui announcement); the HCC indication "
                    "followed in March 2020 (Qin et al. 2020, the paper's ref. 19)"),
}

#: Drugs of each regimen of the paper (TKI first).
REGIMEN_DRUGS = {
    "REG": ("REG",), "LEN": ("LEN",),
    "REG+CAM": ("REG", "CAM"), "REG+SIN": ("REG", "SIN"),
    "LEN+CAM": ("LEN", "CAM"), "LEN+SIN": ("LEN", "SIN"),
}
TKIS = ("REG", "LEN")
PD1_INHIBITORS = ("CAM", "SIN")


def available_from(drug: str) -> _dt.date:
    """First day a patient could start *drug*: the first of the month after approval."""
    d = APPROVALS[drug].date
    return _dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def regimen_available_from(regimen: str) -> _dt.date:
    """First day every drug of *regimen* was available."""
    return max(available_from(d) for d in REGIMEN_DRUGS[regimen])


@dataclass(frozen=True)
class SignatureAE:
    """An adverse event a clinician expects of a drug: the CTCAE v5 term, the smallest share
    of the drug's patients with it (any grade) that we call plausible in a retrospective
    series, and the frequency in the drug's registration trial with its source.

    The floor is about half of the trial's frequency: retrospective series record fewer
    low-grade events than a trial's scheduled toxicity assessments (this study records an
    AE of any grade in 84.9% of patients)."""

    drug: str
    term: str
    min_share: float
    trial_share: float
    source: str


#: CTCAE v5 terms of a liver-enzyme rise (immune hepatitis is recorded as ALT increased
#: with ``immune_related = 1``; a TKI's own enzyme rise has ``immune_related = 0``).
LIVER_ENZYME_TERMS = ("Aspartate aminotransferase increased",
                      "Alanine aminotransferase increased")

SIGNATURE_AES = (
    SignatureAE("REG", "Palmar-plantar erythrodysesthesia syndrome", 0.25, 0.53,
                "RESORCE (Bruix et al. 2017): hand-foot skin reaction in 53% on regorafenib"),
    SignatureAE("REG", "Liver enzyme increased (not immune-related)", 0.05, 0.13,
                "RESORCE: AST increased in roughly 1 in 8 on regorafenib (rounded)"),
    SignatureAE("LEN", "Hypertension", 0.20, 0.42,
                "REFLECT (Kudo et al. 2018): hypertension in 42% on lenvatinib"),
    SignatureAE("LEN", "Palmar-plantar erythrodysesthesia syndrome", 0.10, 0.27,
                "REFLECT: palmar-plantar erythrodysaesthesia in 27% on lenvatinib"),
    SignatureAE("LEN", "Proteinuria", 0.08, 0.25,
                "REFLECT: proteinuria in 25% on lenvatinib"),
    SignatureAE("LEN", "Liver enzyme increased (not immune-related)", 0.05, 0.14,
                "REFLECT: AST increased in roughly 1 in 7 on lenvatinib (rounded)"),
)


# --------------------------------------------------------------------------- AE profiles
#: CTCAE v5 has no term for camrelizumab's reactive cutaneous capillary endothelial
#: proliferation (RCCEP); CTCAE's rule for an event without a term is the system organ
#: class's "Other, specify" term with the event written in. The AE table has no separate
#: "specify" column, so the specification is part of the term.
RCCEP_TERM = ("Skin and subcutaneous tissue disorders - Other, specify: "
              "reactive capillary endothelial proliferation")

#: The retrospective-recording factor of :class:`SignatureAE`: a chart review records
#: about half of the events a trial's scheduled toxicity assessments find (this study:
#: an AE of any grade in 84.9% of patients, the trials in 95-100%).
RETROSPECTIVE_RECORDING = 0.5
#: Constitutional symptoms that advanced HCC itself causes (fatigue, anorexia, weight loss,
#: abdominal pain, fever) are seldom attributed to the drug in a record of
#: *treatment-related* AEs (the paper's Methods), so they are recorded half as often again.
CONSTITUTIONAL_RECORDING = 0.25
CONSTITUTIONAL_TERMS = ("Fatigue", "Anorexia", "Weight loss", "Abdominal pain", "Fever")


@dataclass(frozen=True)
class AEProfile:
    """One adverse event of one drug: the CTCAE v5 term (immune-related events by the
    paper's name, see ``hcc.reconstruct.adverse_events.AE_TERM_MAP``), the share of the
    drug's patients with it in the registration trial (any grade, rounded), the share of
    those events that were grade 3 or 4, whether it is immune-related, and the source."""

    drug: str
    term: str
    trial_share: float
    grade34_share: float
    source: str
    immune: bool = False

    @property
    def recorded_share(self) -> float:
        """The share expected in a retrospective record (trial share × recording factor)."""
        f = CONSTITUTIONAL_RECORDING if self.term in CONSTITUTIONAL_TERMS \
            else RETROSPECTIVE_RECORDING
        return self.trial_share * f


_RESORCE = "RESORCE (Bruix et al. 2017, ref. 7), regorafenib arm, rounded"
_REFLECT = "REFLECT (Kudo et al. 2018, ref. 12), lenvatinib arm, rounded"
_QIN = "Qin et al. 2020 (ref. 19), camrelizumab, treatment-related AEs, rounded"
_RCCEP = ("Qin et al. 2020 (ref. 19): RCCEP in 67% (145/217, all grade 1-2 in the trial's "
          "RCCEP report, Wang et al. 2020 J Hematol Oncol)")
_ORIENT = ("ORIENT-32 (Ren et al. 2021, ref. 22) and the sintilimab label, rounded; the "
           "VEGF-class events of ORIENT-32 (hypertension, proteinuria, bleeding) belong to "
           "its bevacizumab biosimilar and are left out")
_IRAE = ("immune-related AE of PD-1 inhibitors, a few per cent in HCC trials (rounded); the "
         "reconstruction places the paper's exact counts, weighted by this share")

#: Per-drug adverse-event profiles: (drug, term, trial share, grade 3/4 share of the
#: events, source). A patient on a combination has, per term, the union of the drugs'
#: recorded risks, 1 - prod(1 - p). Shares are rounded; where the trial table is not
#: specific the value is an "about" figure and the source says so.
AE_PROFILES = (
    AEProfile("REG", "Palmar-plantar erythrodysesthesia syndrome", 0.53, 0.25, _RESORCE),
    AEProfile("REG", "Diarrhea", 0.41, 0.08, _RESORCE),
    AEProfile("REG", "Fatigue", 0.40, 0.22, _RESORCE),
    AEProfile("REG", "Hypertension", 0.31, 0.50, _RESORCE),
    AEProfile("REG", "Anorexia", 0.31, 0.10, _RESORCE),
    AEProfile("REG", "Fever", 0.20, 0.05, _RESORCE),
    AEProfile("REG", "Hoarseness", 0.18, 0.0, _RESORCE),
    AEProfile("REG", "Nausea", 0.17, 0.05, _RESORCE),
    AEProfile("REG", "Blood bilirubin increased", 0.15, 0.30, _RESORCE + " (about)"),
    AEProfile("REG", "Aspartate aminotransferase increased", 0.13, 0.40, _RESORCE),
    AEProfile("REG", "Vomiting", 0.13, 0.05, _RESORCE + " (about)"),
    AEProfile("REG", "Rash maculo-papular", 0.10, 0.05, _RESORCE + " (about)"),
    AEProfile("REG", "Platelet count decreased", 0.10, 0.25, _RESORCE + " (about)"),
    AEProfile("REG", "Proteinuria", 0.08, 0.10, _RESORCE + " (about)"),
    AEProfile("REG", "Encephalopathy", 0.03, 0.70, _RESORCE + ": hepatic encephalopathy, "
              "a few per cent (about)"),
    AEProfile("LEN", "Hypertension", 0.42, 0.55, _REFLECT),
    AEProfile("LEN", "Diarrhea", 0.39, 0.10, _REFLECT),
    AEProfile("LEN", "Anorexia", 0.34, 0.15, _REFLECT),
    AEProfile("LEN", "Weight loss", 0.31, 0.25, _REFLECT),
    AEProfile("LEN", "Fatigue", 0.30, 0.13, _REFLECT),
    AEProfile("LEN", "Palmar-plantar erythrodysesthesia syndrome", 0.27, 0.11, _REFLECT),
    AEProfile("LEN", "Proteinuria", 0.25, 0.24, _REFLECT),
    AEProfile("LEN", "Hoarseness", 0.24, 0.0, _REFLECT + " (dysphonia)"),
    AEProfile("LEN", "Nausea", 0.20, 0.05, _REFLECT),
    AEProfile("LEN", "Platelet count decreased", 0.18, 0.30, _REFLECT),
    AEProfile("LEN", "Abdominal pain", 0.17, 0.10, _REFLECT),
    AEProfile("LEN", "Hypothyroidism", 0.16, 0.0, _REFLECT),
    AEProfile("LEN", "Vomiting", 0.16, 0.06, _REFLECT),
    AEProfile("LEN", "Blood bilirubin increased", 0.15, 0.45, _REFLECT),
    AEProfile("LEN", "Aspartate aminotransferase increased", 0.14, 0.35, _REFLECT),
    AEProfile("LEN", "Alanine aminotransferase increased", 0.10, 0.30, _REFLECT + " (about)"),
    AEProfile("LEN", "Rash maculo-papular", 0.10, 0.0, _REFLECT + " (about)"),
    AEProfile("LEN", "Encephalopathy", 0.03, 0.70, _REFLECT + ": hepatic encephalopathy, "
              "a few per cent (about)"),
    AEProfile("CAM", RCCEP_TERM, 0.67, 0.0, _RCCEP),
    AEProfile("CAM", "Aspartate aminotransferase increased", 0.22, 0.20, _QIN),
    AEProfile("CAM", "Alanine aminotransferase increased", 0.18, 0.15, _QIN),
    AEProfile("CAM", "Blood bilirubin increased", 0.12, 0.10, _QIN + " (about)"),
    AEProfile("CAM", "Proteinuria", 0.12, 0.05, _QIN + " (about)"),
    AEProfile("CAM", "Fatigue", 0.12, 0.05, _QIN + " (about)"),
    AEProfile("CAM", "Fever", 0.12, 0.0, _QIN + " (about)"),
    AEProfile("CAM", "Pruritus", 0.10, 0.0, _QIN + " (about)"),
    AEProfile("CAM", "Rash maculo-papular", 0.10, 0.05, _QIN + " (about)"),
    AEProfile("CAM", "Hypothyroidism", 0.08, 0.0, _QIN + " (about)"),
    AEProfile("CAM", "Diarrhea", 0.07, 0.05, _QIN + " (about)"),
    AEProfile("SIN", "Aspartate aminotransferase increased", 0.20, 0.10, _ORIENT),
    AEProfile("SIN", "Hypothyroidism", 0.15, 0.0, _ORIENT),
    AEProfile("SIN", "Alanine aminotransferase increased", 0.15, 0.10, _ORIENT),
    AEProfile("SIN", "Fever", 0.12, 0.02, _ORIENT + " (about)"),
    AEProfile("SIN", "Rash maculo-papular", 0.10, 0.05, _ORIENT + " (about)"),
    AEProfile("SIN", "Fatigue", 0.10, 0.05, _ORIENT + " (about)"),
    AEProfile("SIN", "Pruritus", 0.07, 0.0, _ORIENT + " (about)"),
) + tuple(AEProfile(d, t, s, g, _IRAE, immune=True) for d in PD1_INHIBITORS
          for t, s, g in (("Immune-mediated hepatitis", 0.04, 0.40),
                          ("Myocarditis", 0.01, 0.50), ("Pneumonitis", 0.02, 0.30)))
