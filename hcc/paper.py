"""Every number that Li, Ding, Li & Chen (2022) print — the single source of truth.

Source: Li X, Ding X, Li W, Chen J (2022). Treatment options for unresectable
hepatocellular carcinoma with hepatitis virus infection following sorafenib failure.
*Cancer Immunology, Immunotherapy*. doi:10.1007/s00262-022-03324-z (CC BY 4.0).

Numbers are kept as the paper prints them (:class:`Printed` keeps the printed text, so
the rounding it implies is known). Notebooks, tests and the fidelity report all read
them from here. Where the paper contradicts itself the conflict is recorded in
:data:`INCONSISTENCIES` and the affected items carry a ``flag``; nothing is "fixed".

This module knows nothing about any cohort and imports nothing from the package.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Printed:
    """A number as printed. ``text`` is the exact printed form ("0.0905", "<0.001", "NR")."""

    text: str

    @property
    def value(self) -> float:
        """The number (``inf`` for "NR", the bound for "<0.001")."""
        t = self.text.lstrip("<>")
        return float("inf") if t == "NR" else float(t)

    @property
    def bound(self) -> str | None:
        """"<" or ">" when the paper prints an inequality, else None."""
        return self.text[0] if self.text[:1] in "<>" else None

    @property
    def decimals(self) -> int:
        t = self.text.lstrip("<>")
        return len(t.split(".")[1]) if "." in t else 0

    def matches(self, x: float, decimals: int | None = None) -> bool:
        """Does *x* print as this value?

        ``x`` matches when rounding it half-up to the printed number of decimals (or to
        *decimals*, for values the paper prints without trailing zeros, such as "14" for
        14.00) gives the printed value; "<0.001" matches any x < 0.001; "NR" matches
        ``inf``/NaN (not reached).
        """
        import math

        if self.text == "NR":
            return x is None or math.isinf(x) or math.isnan(x)
        if x is None or math.isnan(x):
            return False
        if self.bound == "<":
            return x < self.value
        if self.bound == ">":
            return x > self.value
        d = self.decimals if decimals is None else max(decimals, self.decimals)
        q = Decimal(1).scaleb(-d)
        ours = Decimal(repr(float(x))).quantize(q, rounding="ROUND_HALF_UP")
        even = Decimal(repr(float(x))).quantize(q, rounding="ROUND_HALF_EVEN")
        target = Decimal(self.text).quantize(q)
        return ours == target or even == target

    def __str__(self) -> str:
        return self.text


def P(text: str) -> Printed:
    return Printed(text)


# --------------------------------------------------------------------------- flow (Fig. 1)
FLOW = {
    "discontinued_sorafenib": 131,  # discontinued first-line SOR (progression or serious AEs)
    "second_line_systemic": 105,  # received second-line systemic therapy
    "included": 93,  # eligible and analysed
}
ENROLMENT = ("2018-05", "2021-05")  # May 2018 to May 2021

ARMS = ("TKI", "TKI-ICI")
ARM_N = {"TKI": 37, "TKI-ICI": 56}
REGIMENS = {
    "TKI": {"REG": 3, "LEN": 34},
    "TKI-ICI": {"REG+CAM": 12, "REG+SIN": 4, "LEN+CAM": 15, "LEN+SIN": 25},
}

# --------------------------------------------------------------------------- Table 1
#: Age median [Q1, Q3] (the abstract calls 50–64 a "range"; Table 1 shows it is the IQR).
AGE = {
    "Overall": (P("56"), P("50"), P("64")),
    "TKI": (P("53"), P("49"), P("60")),
    "TKI-ICI": (P("58.5"), P("51.5"), P("66.2")),
}
AGE_P = P("0.0905")  # Kruskal–Wallis

#: Table 1 categorical rows: column of the data dictionary → level → (TKI n, TKI-ICI n).
#: Overall n = TKI + TKI-ICI. Binary 0/1 columns list both levels so each row is complete.
TABLE1_COUNTS: dict[str, dict[object, tuple[int, int]]] = {
    "sex": {"Male": (30, 49), "Female": (7, 7)},
    "ecog": {0: (9, 24), 1: (28, 32)},
    "etiology": {"HBV": (34, 51), "HCV": (2, 2), "HBV+HCV": (1, 3)},
    "surgery": {1: (6, 15), 0: (31, 41)},
    "tace": {1: (35, 54), 0: (2, 2)},
    "ablation": {1: (29, 33), 0: (8, 23)},
    "tumor_number_gt3": {0: (10, 20), 1: (27, 36)},
    "tumor_size_gt5": {0: (27, 43), 1: (10, 13)},
    "pvtt": {1: (16, 21), 0: (21, 35)},
    "metastases": {1: (17, 24), 0: (20, 32)},
    "child_pugh": {"A": (24, 40), "B7": (13, 16)},
    "bclc": {"B": (6, 15), "C": (31, 41)},
    "afp_gt400": {0: (21, 34), 1: (16, 22)},
}
#: Table 1 P-values as printed (Yates-corrected chi-square; see METHODS facts).
TABLE1_P = {
    "age": AGE_P,
    "sex": P("0.5816"),
    "ecog": P("0.1081"),
    "etiology": P("0.7631"),
    "surgery": P("0.3473"),
    "tace": P("1"),
    "ablation": P("0.0849"),
    "tumor_number_gt3": P("0.5153"),
    "tumor_size_gt5": P("0.8638"),
    "pvtt": P("0.7358"),
    "metastases": P("0.936"),
    "child_pugh": P("0.6598"),
    "bclc": P("0.3473"),
    "afp_gt400": P("0.8693"),
}
#: Row labels as Table 1 prints them.
TABLE1_LABELS = {
    "age": "Age (years)", "sex": "Sex", "ecog": "ECOG", "etiology": "Cause",
    "surgery": "Surgery", "tace": "TACE", "ablation": "Ablation",
    "tumor_number_gt3": "Number > 3", "tumor_size_gt5": "Size > 5 cm", "pvtt": "PVTT",
    "metastases": "Metastases", "child_pugh": "Child–Pugh", "bclc": "BCLC",
    "afp_gt400": "AFP > 400 ng/mL",
}
#: Table 1's layout as printed: the row labels ("Surgery (%)") and the labels of the level
#: rows ("PS 0", "≤ 3") in the paper's order. A 0/1 variable without level labels prints
#: one row, its 1s (``hcc.table_one(..., labels=TABLE1_ROW_LABELS, levels=TABLE1_LEVELS)``).
TABLE1_ROW_LABELS = {
    "age": "Age (years)", "sex": "Sex", "ecog": "ECOG (%)", "etiology": "Cause (%)",
    "surgery": "Surgery (%)", "tace": "TACE (%)", "ablation": "Ablation (%)",
    "tumor_number_gt3": "Number (%)", "tumor_size_gt5": "Size (%)", "pvtt": "PVTT (%)",
    "metastases": "Metastases (%)", "child_pugh": "Child–Pugh (%)", "bclc": "BCLC (%)",
    "afp_gt400": "AFP (%)",
}
TABLE1_LEVELS = {
    "sex": {"Male": "Male", "Female": "Female"},
    "ecog": {0: "PS 0", 1: "PS 1"},
    "etiology": {"HBV": "HBV", "HCV": "HCV", "HBV+HCV": "HBV + HCV"},
    "tumor_number_gt3": {0: "≤ 3", 1: "> 3"},
    "tumor_size_gt5": {0: "≤ 5 cm", 1: "> 5 cm"},
    "child_pugh": {"A": "Class A", "B7": "Class B7"},
    "bclc": {"B": "Stage B", "C": "Stage C"},
    "afp_gt400": {0: "≤ 400 ng/mL", 1: "> 400 ng/mL"},
}

# --------------------------------------------------------------------------- survival
EVENTS = {  # (TKI, TKI-ICI)
    "os": (30, 24),
    "pfs": (32, 33),
}
#: KM medians and 95% CI in months (R survfit, conf.type "log"); "NR" = not reached.
MEDIANS = {
    "os": {"TKI": (P("7.63"), P("5.6"), P("14")), "TKI-ICI": (P("19.23"), P("14.2"), P("NR"))},
    "pfs": {"TKI": (P("2.97"), P("2.47"), P("5.73")), "TKI-ICI": (P("8.63"), P("7.17"), P("19.03"))},
}
#: The paper prints some limits without trailing zeros (5.6 = 5.60, 14 = 14.00): they are
#: compared at two decimals, like every other printed time (months = days / 30).
MEDIAN_DECIMALS = 2
LOGRANK_P = {"os": P("<0.001"), "pfs": P("<0.001")}
MEDIAN_FOLLOWUP = P("13.7")  # months, reverse Kaplan–Meier

# --------------------------------------------------------------------------- Cox, Tables 2 and 3
#: Term → covariate definition on the data dictionary: (column, level coded 1 / threshold).
COX_TERMS = {
    "age_gt60": "Age (> 60 y vs ≤ 60 y)",
    "sex": "Sex (male vs female)",
    "ecog": "ECOG (PS1 vs PS0)",
    "surgery": "Surgery (Yes vs No)",
    "tace": "TACE (Yes vs No)",
    "ablation": "Ablation (Yes vs No)",
    "second_line": "Second line (TKI-ICI vs TKI)",
    "tumor_number_gt3": "Number (> 3 vs ≤ 3)",
    "tumor_size_gt5": "Size (> 5 cm vs ≤ 5 cm)",
    "pvtt": "PVTT (Yes vs No)",
    "metastases": "Metastases (Yes vs No)",
    "child_pugh": "Child–Pugh (B7 vs A)",
    "bclc": "BCLC (C vs B)",
    "afp_gt400": "AFP (> 400 ng/mL vs ≤ 400 ng/mL)",
}
#: How each term is coded from the data dictionary (1 = the first level named in the label).
COX_CODING = {
    "age_gt60": ("age", "> 60"),
    "sex": ("sex", "Male"),
    "ecog": ("ecog", 1),
    "surgery": ("surgery", 1),
    "tace": ("tace", 1),
    "ablation": ("ablation", 1),
    "second_line": ("arm", "TKI-ICI"),
    "tumor_number_gt3": ("tumor_number_gt3", 1),
    "tumor_size_gt5": ("tumor_size_gt5", 1),
    "pvtt": ("pvtt", 1),
    "metastases": ("metastases", 1),
    "child_pugh": ("child_pugh", "B7"),
    "bclc": ("bclc", "C"),
    "afp_gt400": ("afp_gt400", 1),
}


def _hr(p: str, hr: str, lo: str, hi: str) -> dict[str, Printed]:
    return {"p": P(p), "HR": P(hr), "lower": P(lo), "upper": P(hi)}


#: Univariate Cox (Table 2 = OS, Table 3 = PFS): term → {"p","HR","lower","upper"}.
COX_UNIVARIATE = {
    "os": {
        "age_gt60": _hr("0.579", "0.85", "0.49", "1.49"),
        "sex": _hr("0.673", "0.84", "0.38", "1.88"),
        "ecog": _hr("0.327", "1.35", "0.74", "2.46"),
        "surgery": _hr("0.550", "0.83", "0.44", "1.55"),
        "tace": _hr("0.014", "0.22", "0.06", "0.73"),
        "ablation": _hr("0.676", "1.14", "0.62", "2.1"),
        "second_line": _hr("<0.001", "0.34", "0.2", "0.59"),
        "tumor_number_gt3": _hr("0.114", "0.6", "0.32", "1.13"),
        "tumor_size_gt5": _hr("0.642", "1.16", "0.62", "2.18"),
        "pvtt": _hr("0.569", "1.17", "0.68", "2.03"),
        "metastases": _hr("0.259", "1.36", "0.8", "2.33"),
        "child_pugh": _hr("0.017", "1.99", "1.13", "3.49"),
        "bclc": _hr("0.131", "1.74", "0.85", "3.56"),
        "afp_gt400": _hr("0.014", "1.97", "1.15", "3.38"),
    },
    "pfs": {
        "age_gt60": _hr("0.279", "0.75", "0.44", "1.26"),
        "sex": _hr("0.321", "0.99", "0.97", "1.01"),
        "ecog": _hr("0.061", "1.69", "0.98", "2.93"),
        "surgery": _hr("0.293", "0.73", "0.41", "1.31"),
        "tace": _hr("0.509", "1.95", "0.27", "14.16"),
        "ablation": _hr("0.273", "1.36", "0.78", "2.36"),
        "second_line": _hr("<0.001", "0.34", "0.2", "0.56"),
        "tumor_number_gt3": _hr("0.173", "0.68", "0.4", "1.18"),
        "tumor_size_gt5": _hr("0.508", "0.84", "0.49", "1.42"),
        "pvtt": _hr("0.891", "0.97", "0.58", "1.6"),
        "metastases": _hr("0.321", "0.78", "0.47", "1.28"),
        "child_pugh": _hr("0.808", "0.93", "0.53", "1.64"),
        "bclc": _hr("0.476", "0.81", "0.46", "1.44"),
        "afp_gt400": _hr("0.342", "1.28", "0.77", "2.13"),
    },
}
#: Multivariate Cox on the terms with univariate P < 0.1.
COX_MULTIVARIATE = {
    "os": {
        "tace": _hr("0.362", "0.55", "0.15", "2.01"),
        "second_line": _hr("<0.001", "0.28", "0.16", "0.51"),
        "child_pugh": _hr("0.012", "2.31", "1.2", "4.44"),
        "afp_gt400": _hr("0.152", "1.52", "0.86", "2.68"),
    },
    "pfs": {
        "ecog": _hr("0.168", "1.48", "0.85", "2.58"),
        "second_line": _hr("<0.001", "0.35", "0.21", "0.59"),
    },
}
SCREEN_THRESHOLD = 0.1
#: What the P < 0.1 screen selects in the paper.
SCREEN_SELECTED = {
    "os": ("tace", "second_line", "child_pugh", "afp_gt400"),
    "pfs": ("ecog", "second_line"),
}
#: Printed items that cannot be reproduced by any cohort (see INCONSISTENCIES).
#: (endpoint, table, term) → key of INCONSISTENCIES.
COX_FLAGGED = {
    ("pfs", "univariate", "sex"): "table3_sex_hr",
    ("pfs", "univariate", "tace"): "tace_os_vs_pfs",
}

# --------------------------------------------------------------------------- Fig. 3
#: PFS subgroup forest plot: only the BCLC stage B estimate is printed (in the text).
SUBGROUP_PFS = {("bclc", "B"): _hr("0.214", "0.49", "0.16", "1.51")}
#: Subgroups that Fig. 3 shows (the text names Child–Pugh B7, age > 60, AFP > 400, BCLC B).
SUBGROUP_VARIABLES = ("age_gt60", "sex", "ecog", "child_pugh", "bclc", "pvtt", "metastases",
                      "afp_gt400", "tumor_number_gt3", "tumor_size_gt5")

# --------------------------------------------------------------------------- response (mRECIST)
RESPONSE = {  # best overall response counts
    "TKI": {"CR": 1, "PR": 2, "SD": 14, "PD": 20},
    "TKI-ICI": {"CR": 2, "PR": 10, "SD": 35, "PD": 9},
}
ORR = {"TKI": P("8.1"), "TKI-ICI": P("21.4"), "p": P("0.1552")}  # percent; Yates P
DCR = {"TKI": P("45.9"), "TKI-ICI": P("83.9"), "p": P("0.0003")}

# --------------------------------------------------------------------------- safety
AE_ANY = {"TKI": 29, "TKI-ICI": 50, "p": P("0.2528")}  # patients with ≥ 1 AE
AE_GRADE34 = {"TKI": 7, "TKI-ICI": 18, "p": P("0.2424")}  # patients with a grade 3/4 AE
AE_ANY_PCT = {"TKI": P("78.4"), "TKI-ICI": P("89.3"), "Overall": P("84.9")}
AE_GRADE34_PCT = {"TKI": P("18.9"), "TKI-ICI": P("32.1")}
TREATMENT_RELATED_DEATHS = 0
#: Immune-related AEs: term → number of patients, all in the TKI-ICI arm.
IMMUNE_RELATED = {"Immune-mediated hepatitis": 5, "Myocarditis": 1, "Pneumonitis": 1}
#: AEs that led to discontinuation: arm → terms (one patient each).
DISCONTINUATIONS = {
    "TKI": ("Hepatic encephalopathy",),
    "TKI-ICI": ("Immune-mediated hepatitis", "Hypertension"),
}
#: The most common AEs of any grade, as named in the text (Table 5 of the ESM has counts
#: that are not available to us).
COMMON_AE_TERMS = ("Hypertension", "Diarrhea", "Rash", "Nausea and vomiting")

# --------------------------------------------------------------------------- inconsistencies
INCONSISTENCIES = {
    "surgery_pct": (
        "Surgery overall is 21 (22.6%) in Table 1 but \"21 (24.9%)\" in the text; 21/93 = 22.6%."
    ),
    "tumor_number_pct": (
        "Tumour number > 3 is 63 (67.7%) in Table 1 but \"63 (66.7%)\" in the text; 63/93 = 67.7%."
    ),
    "age_range": (
        "The abstract calls 50–64 the age \"range\"; Table 1 shows it is the interquartile range."
    ),
    "table3_sex_hr": (
        "Table 3 (PFS), Sex row: HR 0.99 (0.97–1.01), P 0.321 is not a male-vs-female hazard "
        "ratio (a CI that narrow with 14 women is impossible; it looks like a per-year age "
        "effect). It cannot be reproduced and is excluded from the fidelity score."
    ),
    "imbrave_reference": (
        "The discussion compares the TKI-ICI median OS with \"IMbrave 150 [24]\"; reference 24 "
        "is the regorafenib + PD-1 study, IMbrave150 is reference 23."
    ),
    "grade34_fraction": (
        "\"Approximately 1 in 5\" patients with grade 3/4 AEs, while 7 + 18 = 25 of 93 is 26.9%."
    ),
    "tace_os_vs_pfs": (
        "Only 4 patients had no TACE. The OS univariate HR 0.22 (0.06–0.73) has a Wald SE of "
        "about 0.64, which needs at least 3 deaths among those 4; the PFS univariate HR 1.95 "
        "(0.27–14.16) has an SE of about 1.01, which means about one PFS event among them. "
        "With the standard PFS definition (every death is a PFS event) both cannot hold. This "
        "book keeps the standard definition, so the Table 3 TACE row is excluded from the "
        "fidelity score and shown as a conflict."
    ),
}
