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
           "regimen_available_from", "SignatureAE", "SIGNATURE_AES", "LIVER_ENZYME_TERMS"]


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
