"""The data dictionary: the public contract of every data file the book reads.

The *analysis* columns (one row per patient, times in months), the *raw export* columns (the
same baseline columns with dates instead of times, as a hospital system exports them;
:func:`hcc.cohort.derive.derive_analysis` turns them into the analysis columns) and the
*adverse-event* columns (one row per event). Reading a file is :mod:`hcc.cohort.read`,
checking it against this dictionary :mod:`hcc.cohort.validate`.

Missing values
--------------
Blank cells and the texts ``NA``, ``N/A``, ``NaN``, ``null``, ``None`` and ``.`` mean
*missing* (:data:`MISSING_TOKENS`). Missing baseline covariates are allowed (every analysis
states how many rows it used; see :func:`hcc.cohort.missing.missing_report`); a missing
patient id, arm, time, event or start date is a problem, because no survival analysis can
use such a row.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# =========================================================================== dictionary
@dataclass(frozen=True)
class Column:
    """One column of the data dictionary.

    ``kind`` is one of ``"id"`` (text, unique per patient in a cohort), ``"label"``
    (one of ``labels``), ``"binary"`` (0 | 1), ``"number"``, ``"integer"``, ``"date"``
    (ISO ``yyyy-mm-dd``) or ``"text"``. ``required`` columns may not be blank.
    ``tables`` says where the column is used: ``"analysis"``, ``"raw"``,
    ``"adverse_events"``.
    """

    name: str
    kind: str
    description: str
    labels: tuple | None = None
    range: tuple[float, float] | None = None
    unit: str | None = None
    required: bool = False
    tables: tuple[str, ...] = ("analysis", "raw")

    def allowed(self) -> str:
        """The allowed values in words (for messages and the book's dictionary table)."""
        if self.labels is not None:
            return ", ".join(str(v) for v in self.labels)
        if self.kind == "date":
            return "a date yyyy-mm-dd"
        if self.kind == "id":
            return "an identifier, unique per patient"
        if self.range is not None:
            lo, hi = self.range
            unit = f" {self.unit}" if self.unit else ""
            return f"{_fmt(lo)}–{_fmt(hi)}{unit}"
        return "text"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_MONTHS_NOTE = (
    "Months are whole days divided by 30, not by 30.4375: every time the paper prints to two "
    "decimals (medians 7.63, 19.23, 2.97, 8.63; CI limits 2.47, 5.73, 7.17, 19.03) is a whole "
    "number of days / 30, and 8 of those 10 values cannot occur with days / 30.4375 "
    "(METHODS.md §3)."
)
_MAX_MONTHS = 360.0  # 30 years: anything longer is a typing or unit error

REGIMENS_BY_ARM = {
    "TKI": ("REG", "LEN"),
    "TKI-ICI": ("REG+CAM", "REG+SIN", "LEN+CAM", "LEN+SIN"),
}


def _binary(name: str, description: str) -> Column:
    return Column(name, "binary", description, labels=(0, 1))


_COLUMNS: list[Column] = [
    Column("patient_id", "id", "Patient identifier (unique in a cohort; any text).",
           required=True, tables=("analysis", "raw", "adverse_events")),
    Column("arm", "label", "Second-line treatment group: TKI alone, or TKI plus a PD-1 "
           "immune checkpoint inhibitor.", labels=("TKI", "TKI-ICI"), required=True),
    Column("regimen", "label", "Second-line regimen: REG = regorafenib, LEN = lenvatinib, "
           "CAM = camrelizumab, SIN = sintilimab. Must belong to the arm.",
           labels=("REG", "LEN", "REG+CAM", "REG+SIN", "LEN+CAM", "LEN+SIN")),
    Column("age", "number", "Age at the start of second-line treatment.", range=(18, 100),
           unit="years"),
    Column("sex", "label", "Sex.", labels=("Male", "Female")),
    Column("ecog", "binary", "ECOG performance status (0 or 1; the study included PS 0–1).",
           labels=(0, 1)),
    Column("etiology", "label", "Hepatitis virus infection: HBV, HCV or both.",
           labels=("HBV", "HCV", "HBV+HCV")),
    _binary("surgery", "Previous liver resection (1 = yes)."),
    _binary("tace", "Trans-arterial chemoembolisation before or during the study (1 = yes)."),
    _binary("ablation", "Local ablation (1 = yes)."),
    _binary("tumor_number_gt3", "More than 3 intrahepatic tumours (1 = yes)."),
    _binary("tumor_size_gt5", "Largest tumour > 5 cm (1 = yes)."),
    _binary("pvtt", "Portal vein tumour thrombus (1 = yes)."),
    _binary("metastases", "Extrahepatic metastases (1 = yes)."),
    _binary("afp_gt400", "Alpha-fetoprotein > 400 ng/mL (1 = yes)."),
    Column("child_pugh", "label", "Child–Pugh class: A (score 5–6) or B7 (score 7).",
           labels=("A", "B7")),
    Column("bclc", "label", "BCLC stage: B (intermediate: ECOG 0, no PVTT, no extrahepatic "
           "spread) or C (advanced).", labels=("B", "C")),
    Column("best_response", "label", "Best overall response by mRECIST: complete, partial, "
           "stable or progressive disease.", labels=("CR", "PR", "SD", "PD")),
    # ---- analysis outcomes
    Column("os_months", "number", "Overall survival: time from the start of second-line "
           "treatment to death (event) or last contact (censored). " + _MONTHS_NOTE,
           range=(0, _MAX_MONTHS), unit="months", required=True, tables=("analysis",)),
    Column("os_event", "binary", "1 = died, 0 = alive at last contact (censored).",
           labels=(0, 1), required=True, tables=("analysis",)),
    Column("pfs_months", "number", "Progression-free survival: time from the start of "
           "second-line treatment to progression or death, whichever comes first (event), "
           "or last contact (censored). Never longer than OS. " + _MONTHS_NOTE,
           range=(0, _MAX_MONTHS), unit="months", required=True, tables=("analysis",)),
    Column("pfs_event", "binary", "1 = progressed or died, 0 = censored (standard PFS "
           "definition: a death without earlier progression is a PFS event).",
           labels=(0, 1), required=True, tables=("analysis",)),
    # ---- raw export dates
    Column("start_date", "date", "Start of second-line treatment (time zero).",
           required=True, tables=("raw",)),
    Column("progression_date", "date", "Date of radiological progression (mRECIST); "
           "blank if none.", tables=("raw",)),
    Column("death_date", "date", "Date of death; blank if alive.", tables=("raw",)),
    Column("last_contact_date", "date", "Date last known alive (last visit or the data "
           "cut-off); needed when there is no date of death.", tables=("raw",)),
    # ---- adverse events (one row per event)
    Column("term", "text", "Adverse event, CTCAE v5.0 term.", required=True,
           tables=("adverse_events",)),
    Column("grade", "integer", "CTCAE grade (1 mild to 5 death).", range=(1, 5),
           required=True, tables=("adverse_events",)),
    Column("immune_related", "binary", "1 = immune-related adverse event.", labels=(0, 1),
           required=True, tables=("adverse_events",)),
    Column("led_to_discontinuation", "binary", "1 = the event led to stopping treatment.",
           labels=(0, 1), required=True, tables=("adverse_events",)),
]

#: column name → :class:`Column` (analysis, raw-export and adverse-event columns).
DATA_DICTIONARY: dict[str, Column] = {c.name: c for c in _COLUMNS}

OUTCOME_COLUMNS = ("os_months", "os_event", "pfs_months", "pfs_event")
DATE_COLUMNS = ("start_date", "progression_date", "death_date", "last_contact_date")
#: The analysis layout, in order.
ANALYSIS_COLUMNS = tuple(c.name for c in _COLUMNS if "analysis" in c.tables)
BASELINE_COLUMNS = tuple(c for c in ANALYSIS_COLUMNS if c not in OUTCOME_COLUMNS)
#: The raw hospital-export layout: baseline columns plus dates.
RAW_COLUMNS = BASELINE_COLUMNS + DATE_COLUMNS
#: The adverse-event layout.
AE_COLUMNS = tuple(c.name for c in _COLUMNS if "adverse_events" in c.tables)
#: Columns that may not be blank in a cohort (besides the layout's required ones).
_COHORT_REQUIRED_VALUES = ("patient_id", "arm")

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "."})


def dictionary_frame(kind: str = "all") -> pd.DataFrame:
    """The data dictionary as a table (for the book): column, kind, allowed, unit, required,
    tables, description. *kind*: ``"all"``, ``"analysis"``, ``"raw"`` or ``"adverse_events"``."""
    rows = [
        {"column": c.name, "type": c.kind, "allowed": c.allowed(), "unit": c.unit or "",
         "required": c.required, "tables": ", ".join(c.tables), "description": c.description}
        for c in _COLUMNS if kind == "all" or kind in c.tables
    ]
    return pd.DataFrame(rows)

