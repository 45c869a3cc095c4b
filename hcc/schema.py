"""The data dictionary, and validation of cohort and adverse-event files against it.

The data dictionary (:data:`DATA_DICTIONARY`) is the public contract of every data file the
book reads: the *analysis* columns (one row per patient, times in months), the *raw export*
columns (the same baseline columns with dates instead of times, as a hospital system exports
them; :func:`hcc.data.derive_analysis` turns them into the analysis columns) and the
*adverse-event* columns (one row per event).

Validation reports **every** problem at once, each as a :class:`hcc.errors.Problem`
(file, column, row, message). Rows are numbered as a spreadsheet user counts them: the
header is row 1, the first patient is row 2.

Reading files
-------------
:func:`read_table` reads

* CSV: comma, semicolon or tab separated (sniffed from the header line); the encoding is
  the one declared (``encoding:`` in the mapping), else taken from a byte-order mark, else
  UTF-8, else detected: GB18030/GBK when every non-ASCII run is whole double-byte
  characters (Chinese hospital exports), otherwise with ``charset-normalizer`` (ties
  between code pages go to the one that reads the most letters, then cp1252). A file
  mixing UTF-8 with another encoding, or that no encoding decodes cleanly, is refused as
  unreadable. The encoding used is reported by ``hcc validate``. In a semicolon file a
  decimal comma (``7,63``) is read as a decimal point.
* Excel ``.xlsx`` (openpyxl): the first sheet, or the one named by ``sheet:`` in the mapping.
  Cells holding a formula are reported, never evaluated; dates typed as dates are read as dates.
* Parquet (pyarrow).

The format is recognised from the file's content, not its name. Every cell is read as text,
so nothing in a cell is ever interpreted as code: a label such as ``=cmd|' /C calc'!A0`` or
``<script>alert(1)</script>`` is simply an unknown label.

Missing values
--------------
Blank cells and the texts ``NA``, ``N/A``, ``NaN``, ``null``, ``None`` and ``.`` mean
*missing*. Missing baseline covariates are allowed (every analysis states how many rows it
used; see :func:`hcc.data.missing_report`); a missing patient id, arm, time, event or start
date is a problem, because no survival analysis can use such a row.

The mapping file
----------------
A YAML file (``hcc validate PATH --mapping FILE.yaml``, or ``mapping=`` in Python) maps a
file's own column names and labels onto the data dictionary. All keys are optional::

    # mapping.yaml — a hospital export onto the hcc data dictionary
    columns:                  # column in the file -> column of the data dictionary
      Patient ID: patient_id
      Group: arm
      Gender: sex
      Child-Pugh class: child_pugh
      Date of first dose: start_date
      Date of progression: progression_date
      Date of death: death_date
      Last follow-up: last_contact_date
    labels:                   # per data-dictionary column: label in the file -> label
      sex: {M: Male, F: Female}
      child_pugh: {A: A, B: B7}      # "B" means B7 only in this column (BCLC keeps its "B")
      tace: {"Yes": 1, "No": 0}
      arm: {TKI alone: TKI, TKI + PD-1: TKI-ICI}
    date_format: dd/mm/yyyy   # or yyyy-mm-dd, dd.mm.yyyy, mm/dd/yyyy, or a strftime form
    ignore: [Ward, Notes]     # extra columns to leave out (otherwise: unknown column)
    encoding: latin-1         # declare the CSV encoding instead of detecting it
    sheet: Cohort             # Excel: the sheet to read (default: the first)

Label keys are compared as text after trimming spaces (``Yes``/``No``/``On``/``Off`` are
read as text, not as YAML booleans). ISO dates (``yyyy-mm-dd``) are always accepted; other
date forms only with ``date_format`` — ``03/04/2020`` is ambiguous without it. A mapping
file with an unknown key, a target that is not in the data dictionary, or broken YAML makes
the file unreadable (exit code 2), with a message naming the key.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hcc.errors import Problem, ValidationError


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


# =========================================================================== mapping
_MAPPING_KEYS = ("columns", "labels", "date_format", "ignore", "encoding", "sheet")
_DATE_SHORTHANDS = {
    "yyyy-mm-dd": "%Y-%m-%d", "dd/mm/yyyy": "%d/%m/%Y", "dd.mm.yyyy": "%d.%m.%Y",
    "dd-mm-yyyy": "%d-%m-%Y", "mm/dd/yyyy": "%m/%d/%Y", "yyyy/mm/dd": "%Y/%m/%d",
    "dd/mm/yy": "%d/%m/%y", "yyyymmdd": "%Y%m%d",
}


@dataclass
class Mapping:
    """A parsed mapping file (see the module docstring for the YAML format)."""

    columns: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str | None = None
    ignore: tuple[str, ...] = ()
    encoding: str | None = None
    sheet: str | None = None
    source: str = "mapping"


def _yaml_loader():
    """A safe YAML loader for which only true/false are booleans (Yes/No/On/Off stay text)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"))
    return _Loader


def _label_text(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def load_mapping(mapping: str | Path | dict | Mapping | None) -> Mapping | None:
    """Read and check a mapping (YAML path, dict or :class:`Mapping`).

    Raises
    ------
    ValidationError
        ``unreadable=True``, listing every problem in the mapping (unknown key, target not
        in the data dictionary, unreadable YAML, wrong shape, unknown date format).
    """
    if mapping is None or isinstance(mapping, Mapping):
        return mapping
    src = "mapping"
    if isinstance(mapping, (str, Path)):
        src = Path(mapping).name or str(mapping)
        try:
            text = Path(mapping).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise ValidationError([Problem(src, None, None, f"cannot read the mapping file "
                                           f"({_reason(e)})")], unreadable=True) from None
        import yaml

        try:
            data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - safe loader subclass
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ValidationError([Problem(src, None, None, f"the mapping file is not valid "
                                           f"YAML{where}: {getattr(e, 'problem', None) or e}")],
                                  unreadable=True) from None
        if data is None:
            data = {}
    else:
        data = mapping
    problems: list[Problem] = []

    def bad(msg: str) -> None:
        problems.append(Problem(src, None, None, msg))

    if not isinstance(data, dict):
        bad("the mapping file must be a set of 'key: value' entries "
            f"({', '.join(_MAPPING_KEYS)})")
        raise ValidationError(problems, unreadable=True)
    for k in data:
        if k not in _MAPPING_KEYS:
            bad(f"unknown key '{k}' (allowed keys: {', '.join(_MAPPING_KEYS)})")
    m = Mapping(source=src)
    cols = data.get("columns") or {}
    if not isinstance(cols, dict):
        bad("'columns' must map column names in the file to data-dictionary columns")
        cols = {}
    targets: dict[str, str] = {}
    for s, t in cols.items():
        s, t = _label_text(s), _label_text(t)
        if t not in DATA_DICTIONARY:
            bad(f"columns: '{s}' is mapped to '{t}', which is not a data-dictionary column")
        elif t in targets:
            bad(f"columns: both '{targets[t]}' and '{s}' are mapped to '{t}'")
        else:
            targets[t] = s
            m.columns[s] = t
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        bad("'labels' must map each data-dictionary column to a 'label in file: label' map")
        labels = {}
    for col, lm in labels.items():
        col = _label_text(col)
        col = m.columns.get(col, col)
        if col not in DATA_DICTIONARY:
            bad(f"labels: '{col}' is not a data-dictionary column")
            continue
        if not isinstance(lm, dict):
            bad(f"labels: '{col}' must be a map such as {{M: Male, F: Female}}")
            continue
        spec = DATA_DICTIONARY[col]
        allowed = None if spec.labels is None else {str(v) for v in spec.labels}
        out = {}
        for a, b in lm.items():
            b_text = "" if b is None else _label_text(b)
            if allowed is not None and b_text not in allowed and b_text.lower() not in MISSING_TOKENS:
                bad(f"labels: '{col}': '{_label_text(a)}' is mapped to '{b_text}', which is "
                    f"not an allowed label ({spec.allowed()})")
            out[_label_text(a)] = b_text
        m.labels[col] = out
    fmt = data.get("date_format")
    if fmt is not None:
        fmt = str(fmt).strip()
        if fmt.lower() in _DATE_SHORTHANDS:
            m.date_format = _DATE_SHORTHANDS[fmt.lower()]
        elif "%" in fmt:
            m.date_format = fmt
        else:
            bad(f"date_format '{fmt}' is not understood (use one of "
                f"{', '.join(_DATE_SHORTHANDS)}, or a strftime form such as %d/%m/%Y)")
    ign = data.get("ignore") or []
    if isinstance(ign, str):
        ign = [ign]
    if not isinstance(ign, list):
        bad("'ignore' must be a list of column names")
        ign = []
    m.ignore = tuple(_label_text(x) for x in ign)
    if data.get("encoding") is not None:
        import codecs

        enc = str(data["encoding"]).strip()
        try:
            codecs.lookup(enc)
            m.encoding = enc
        except LookupError:
            bad(f"encoding '{enc}' is not a known text encoding")
    if data.get("sheet") is not None:
        m.sheet = _label_text(data["sheet"])
    if problems:
        raise ValidationError(problems, unreadable=True)
    return m


# =========================================================================== reading
def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:200]


def _unreadable(file: str, message: str) -> ValidationError:
    return ValidationError([Problem(file, None, None, message)], unreadable=True)


def _show(v: Any, limit: int = 60) -> str:
    """A cell value for a message: quoted, control characters escaped, long text cut."""
    s = str(v)
    if len(s) > limit:
        s = s[:limit] + "…"
    r = repr(s)
    return r


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _decode(data: bytes, file: str, declared: str | None) -> tuple[str, str]:
    """Bytes → (text, encoding description)."""
    if declared:
        try:
            return data.decode(declared), f"{declared} (declared in the mapping)"
        except UnicodeDecodeError as e:
            raise _unreadable(file, f"the file is not valid {declared} text (byte "
                              f"{e.start + 1}); check 'encoding' in the mapping") from None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc.replace("-sig", "")), f"{enc} (byte-order mark)"
            except UnicodeDecodeError:
                raise _unreadable(file, f"the file starts with a {enc} byte-order mark but "
                                  "its text is not valid in that encoding") from None
    if b"\x00" in data[:4096]:
        raise _unreadable(file, "this is not a CSV text file (it contains binary data); "
                          "give a CSV, .xlsx or .parquet file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        first_bad = e.start
    runs = _HIGH_BYTES.findall(data)
    if runs and all(len(r) % 2 == 0 for r in runs):
        # every non-ASCII run is whole double-byte characters: a Chinese export (GBK /
        # GB18030, the usual encoding of Chinese hospital systems) when it decodes as one.
        # Statistical detection misreads short Chinese text in an ASCII file as cp1252.
        try:
            return data.decode("gb18030"), "gb18030 (detected)"
        except UnicodeDecodeError:
            pass
    if _UTF8_MULTIBYTE.search(data):
        # valid UTF-8 letters next to bytes that are not UTF-8: two encodings mixed in one
        # file; any single guess would silently garble part of it
        raise _unreadable(file, f"the file mixes UTF-8 text with bytes of another encoding "
                          f"(first undecodable byte at position {first_bad + 1}); save it "
                          "again as UTF-8 CSV")
    import charset_normalizer

    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is not None:
        # On short files several single-byte code pages tie; prefer the most common export
        # encodings, in this order (the chosen one is reported; 'encoding:' overrides it)
        # candidates: the one that turns the most non-ASCII characters into letters, then
        # the preference order
        tied = [m for m in matches if m.chaos == best.chaos and m.coherence == best.coherence]

        def rank(m):
            letters = sum(1 for ch in str(m) if ord(ch) > 127 and ch.isalpha())
            pref = (_PREFERRED_ENCODINGS.index(m.encoding) if m.encoding in _PREFERRED_ENCODINGS
                    else len(_PREFERRED_ENCODINGS))
            return (-letters, pref)

        best = min(tied, key=rank) if tied else best
    text = str(best) if best is not None else ""
    if (best is None or best.encoding.startswith(("utf_16", "utf_32")) or best.chaos > 0.1
            or "\ufffd" in text or re.search("[\x80-\x9f]", text)):
        raise _unreadable(file, f"the file is not UTF-8 text (undecodable byte at position "
                          f"{first_bad + 1}) and no other text encoding reads it cleanly; "
                          "save it as UTF-8 CSV or declare 'encoding' in a mapping file")
    return text, f"{best.encoding} (detected)"


_HIGH_BYTES = re.compile(rb"[\x80-\xff]+")
_PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15", "gb18030", "big5", "shift_jis",
                        "cp1250", "cp1251")
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _first_line(text: str) -> str:
    """The first non-blank line (the header) without splitting the whole text."""
    for line in io.StringIO(text):
        if line.strip():
            return line.rstrip("\r\n")
    return ""


def _sniff_delimiter(text: str) -> str:
    header = _first_line(text)
    counts = {}
    for d in (",", ";", "\t"):
        # count outside double quotes
        n, quoted = 0, False
        for ch in header:
            if ch == '"':
                quoted = not quoted
            elif ch == d and not quoted:
                n += 1
        counts[d] = n
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _cell_text(v: Any) -> str:
    """A typed cell (Excel, Parquet) as the text a CSV would hold."""
    import datetime as dt

    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        if pd.isna(v):
            return ""
        if (v.hour, v.minute, v.second) == (0, 0, 0):
            return v.strftime("%Y-%m-%d")
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if v is pd.NaT or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return str(v)


def _frame_from_rows(header: list[Any], rows: list[list[Any]], first_row: int = 2
                     ) -> pd.DataFrame:
    names = [_cell_text(h).strip() for h in header]
    width = len(names)
    body = [[_cell_text(v) for v in (r + [None] * (width - len(r)))[:width]] for r in rows]
    df = pd.DataFrame(body, columns=names, dtype=object)
    df.index = pd.RangeIndex(first_row, first_row + len(df))
    return df


def _read_csv_text(text: str, file: str) -> tuple[pd.DataFrame, str]:
    delim = _sniff_delimiter(text)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim, dtype=str, keep_default_na=False,
                         na_filter=False, skip_blank_lines=False, header=0,
                         skipinitialspace=False, engine="c")
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), delim
    except (pd.errors.ParserError, ValueError) as e:
        raise _unreadable(file, f"the file is not a well-formed CSV table ({_reason(e)})") from None
    df.index = pd.RangeIndex(2, 2 + len(df))
    # pandas renames a repeated column name ("tace" -> "tace.1"): restore the header as
    # written so that the repetition is reported
    import csv

    first = _first_line(text)
    try:
        header = next(csv.reader([first], delimiter=delim))
    except (csv.Error, StopIteration):
        header = []
    if len(header) == df.shape[1]:
        df.columns = [h.strip() for h in header]
    return df, delim


def read_table(path: str | Path, mapping: str | Path | dict | Mapping | None = None
               ) -> pd.DataFrame:
    """Read a CSV, Excel (.xlsx) or Parquet file as text cells, rows numbered as in a spreadsheet.

    Parameters
    ----------
    path : str or Path
        The file. Its format is recognised from its content.
    mapping : path, dict or Mapping, optional
        Only ``encoding`` and ``sheet`` are used here (columns and labels are mapped by
        :func:`validate_file` and the loaders).

    Returns
    -------
    DataFrame
        Every cell as ``str`` (blank cells are ``""``); the index is the spreadsheet row
        number (header = 1); column names as in the file, trimmed. Completely empty rows are
        dropped. ``attrs`` holds ``format``, ``encoding``, ``delimiter``.

    Raises
    ------
    ValidationError
        ``unreadable=True`` when the file does not exist or cannot be read as a table.
    """
    m = load_mapping(mapping)
    p = Path(path)
    file = p.name or str(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise _unreadable(file, "file not found") from None
    except IsADirectoryError:
        raise _unreadable(file, "this is a folder, not a data file") from None
    except OSError as e:
        raise _unreadable(file, f"cannot open the file ({_reason(e)})") from None
    attrs: dict[str, Any] = {}
    if data.startswith(b"PK\x03\x04"):
        df = _read_xlsx(data, file, m.sheet if m else None)
        attrs["format"] = "xlsx"
    elif data.startswith(b"PAR1"):
        df = _read_parquet(data, file)
        attrs["format"] = "parquet"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unreadable(file, "this is an old Excel .xls (or other Office) file; save it "
                          "as .xlsx or CSV")
    elif p.suffix.lower() in (".xlsx", ".xlsm"):
        raise _unreadable(file, "the file is named .xlsx but is not an Excel workbook")
    elif p.suffix.lower() == ".parquet":
        raise _unreadable(file, "the file is named .parquet but is not a Parquet file")
    else:
        text, enc = _decode(data, file, m.encoding if m else None)
        head = text[:65536]
        if len(_CONTROL.findall(head)) > max(2, len(head) // 200):
            raise _unreadable(file, "this is not a CSV text file (it contains control "
                              "characters / binary data); give a CSV, .xlsx or .parquet file")
        df, delim = _read_csv_text(text, file)
        attrs.update(format="csv", encoding=enc, delimiter=delim)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if len(df):
        keep = np.zeros(len(df), dtype=bool)
        for c in range(df.shape[1]):
            codes, uniques = pd.factorize(df.iloc[:, c], use_na_sentinel=False)
            filled = np.array([str(u).strip() != "" for u in uniques], dtype=bool)
            if len(codes):
                keep |= filled[codes]
        if not keep.all():
            df = df.loc[keep]
    df.attrs.update(attrs)
    return df


def _read_xlsx(data: bytes, file: str, sheet: str | None) -> pd.DataFrame:
    import zipfile

    try:
        import openpyxl
    except ImportError:  # pragma: no cover - declared dependency
        raise _unreadable(file, "reading Excel files needs the 'openpyxl' package") from None
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as e:
        raise _unreadable(file, f"this is not a readable Excel .xlsx workbook ({_reason(e)})") from None
    except Exception as e:  # openpyxl raises assorted errors on damaged workbooks
        raise _unreadable(file, f"this is not a readable Excel .xlsx workbook ({_reason(e)})") from None
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise _unreadable(file, f"no sheet named '{sheet}' (sheets: "
                                  f"{', '.join(wb.sheetnames)})")
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    except ValidationError:
        raise
    except Exception as e:
        raise _unreadable(file, f"the Excel sheet cannot be read ({_reason(e)})") from None
    finally:
        wb.close()
    if not rows:
        return pd.DataFrame()
    df = _frame_from_rows(rows[0], rows[1:])
    # drop trailing unnamed, entirely empty columns (Excel's formatted-but-empty cells)
    keep = [i for i, c in enumerate(df.columns)
            if c != "" or df.iloc[:, i].astype(str).str.strip().ne("").any()]
    return df.iloc[:, keep]


def _read_parquet(data: bytes, file: str) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - declared dependency
        raise _unreadable(file, "reading Parquet files needs the 'pyarrow' package") from None
    try:
        table = pq.read_table(io.BytesIO(data))
        frame = table.to_pandas(types_mapper=None, date_as_object=True)
    except Exception as e:  # pyarrow raises ArrowInvalid/OSError and others on damage
        raise _unreadable(file, f"this is not a readable Parquet file ({_reason(e)})") from None
    header = [str(c) for c in frame.columns]
    rows = frame.astype(object).values.tolist()
    return _frame_from_rows(header, rows)


# =========================================================================== validation
@dataclass
class Checked:
    """The outcome of checking one file: typed frame (valid cells typed), problems, layout."""

    frame: pd.DataFrame
    problems: list[Problem]
    layout: str  # "analysis" | "raw" | "adverse_events" | "unknown"
    attrs: dict = field(default_factory=dict)


def _apply_mapping(df: pd.DataFrame, m: Mapping | None, file: str
                   ) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    if m is None:
        return df, problems
    present = set(df.columns)
    for s in m.columns:
        if s not in present and m.columns[s] not in present:
            problems.append(Problem(file, s, None, f"the mapping names column '{s}', which "
                                    "is not in the file"))
    drop = [c for c in df.columns if c in m.ignore]
    df = df.drop(columns=drop)
    df = df.rename(columns={s: t for s, t in m.columns.items() if s in df.columns})
    for col, lm in m.labels.items():
        if col in df.columns and lm:
            stripped = df[col].astype(str).str.strip()
            df[col] = stripped.map(lambda v, lm=lm: lm.get(v, v))
    return df, problems


_DECIMAL_COMMA = re.compile(r"^([+-]?\d+),(\d+)$")


def _to_float(v: str, decimal_comma: bool = False) -> float:
    """Text → float (NaN when not a number). Python's float() also reads "1e400" as inf."""
    if decimal_comma and "," in v:
        v = _DECIMAL_COMMA.sub(r"\1.\2", v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _to_date(v: str, fmt: str | None):
    import datetime as dt

    if _ISO_DATE.match(v) or _ISO_DATETIME.match(v):
        try:
            return dt.datetime.strptime(v[:10], "%Y-%m-%d")
        except ValueError:
            return None
    if fmt:
        try:
            return dt.datetime.strptime(v, fmt)
        except ValueError:
            return None
    return None


_FIRST_DATE = pd.Timestamp("1950-01-01")
_LAST_DATE = pd.Timestamp("2100-12-31")


def _classifier(spec: Column, decimal_comma: bool, date_format: str | None):
    """A function: stripped non-blank cell text → (typed value, problem message or None)."""
    name = spec.name
    if spec.kind in ("id", "text"):
        def classify(v):
            if spec.kind == "id" and len(v) > 100:
                return v, "identifier longer than 100 characters"
            return v, None
    elif spec.kind == "label":
        allowed = [str(x) for x in spec.labels]
        allowed_set = set(allowed)

        def classify(v):
            if v in allowed_set:
                return v, None
            return np.nan, f"unknown label {_show(v)}; allowed: {', '.join(allowed)}"
    elif spec.kind == "binary":
        kind = "event" if name.endswith("_event") else "value"

        def classify(v):
            x = 0.0 if v == "0" else 1.0 if v == "1" else _to_float(v, decimal_comma)
            if x == 0.0 or x == 1.0:
                return x, None
            return np.nan, f"{kind} must be 0 or 1, not {_show(v)}"
    elif spec.kind in ("number", "integer"):
        lo, hi = spec.range if spec.range else (-math.inf, math.inf)
        unit = f" {spec.unit}" if spec.unit else ""

        def classify(v):
            x = _to_float(v, decimal_comma)
            if v.startswith("="):
                return np.nan, (f"is an Excel formula {_show(v)}; formulas are never "
                                "evaluated — store the value instead")
            if math.isnan(x):
                return np.nan, f"not a number: {_show(v)}"
            if spec.unit == "months" and x < 0:
                return np.nan, f"negative time ({x:g}{unit}); times must be 0 or more"
            if not math.isfinite(x) or x < lo or x > hi:
                return np.nan, f"{x:g}{unit} is outside the allowed range {spec.allowed()}"
            if spec.kind == "integer" and not x.is_integer():
                return np.nan, f"must be a whole number, not {x:g}"
            return x, None
    elif spec.kind == "date":
        form = "yyyy-mm-dd" if not date_format else f"yyyy-mm-dd or {date_format}"
        hint = "" if date_format else " (for other forms give date_format in a mapping file)"

        def classify(v):
            d = _to_date(v, date_format)
            if d is None:
                return None, f"not a date: {_show(v)}; expected {form}{hint}"
            if d < _FIRST_DATE or d > _LAST_DATE:
                return None, (f"implausible date {d.date()} (allowed {_FIRST_DATE.year}–"
                              f"{_LAST_DATE.year})")
            return d, None
    else:  # pragma: no cover
        raise AssertionError(spec.kind)
    return classify


def _check_column(df: pd.DataFrame, spec: Column, file: str, required_values: bool,
                  decimal_comma: bool, date_format: str | None, problems: list[Problem]
                  ) -> pd.Series:
    """Check one column cell by cell; return it typed (bad or blank cells → NaN/NaT).

    Each distinct cell text is classified once (cohort columns repeat a few labels); only
    the cells with a problem are then visited one by one.
    """
    name = spec.name
    classify = _classifier(spec, decimal_comma, date_format)
    blank_value = None if spec.kind == "date" else np.nan
    what = "time" if spec.unit == "months" else "value"
    blank_msg = (f"blank {what}: a value is required ({spec.allowed()})"
                 if required_values else None)
    codes, uniques = pd.factorize(df[name], use_na_sentinel=False)
    typed_u, msg_u = [], []
    for v in uniques:
        t = str(v).strip()
        tv, msg = (blank_value, blank_msg) if t.lower() in MISSING_TOKENS else classify(t)
        typed_u.append(tv)
        msg_u.append(msg)
    bad_codes = [i for i, m in enumerate(msg_u) if m is not None]
    if bad_codes:
        rows = np.asarray(df.index)
        for i in np.flatnonzero(np.isin(codes, bad_codes)):
            problems.append(Problem(file, name, int(rows[i]), msg_u[codes[i]]))
    if spec.kind == "date":
        values = pd.to_datetime(pd.Series(typed_u, dtype=object)).to_numpy()
        return pd.Series(values[codes] if len(codes) else values[:0], index=df.index)
    if spec.kind in ("binary", "number", "integer"):
        values = np.asarray(typed_u, dtype="float64")
        return pd.Series(values[codes] if len(codes) else values[:0], index=df.index,
                         dtype="float64")
    values = np.empty(len(typed_u), dtype=object)
    values[:] = typed_u
    return pd.Series(values[codes] if len(codes) else values[:0], index=df.index, dtype=object)


def check_frame(df: pd.DataFrame, file: str = "data", kind: str = "cohort",
                mapping: str | Path | dict | Mapping | None = None) -> Checked:
    """Check a text-cell frame (as :func:`read_table` returns) against the data dictionary.

    Returns a :class:`Checked` with every problem and the frame typed (0/1 and numbers as
    floats, dates as datetimes, labels as text; cells with a problem are missing).
    A DataFrame not read by :func:`read_table` (no ``attrs["format"]``) gets rows numbered
    from 2 in order; one read by it keeps its spreadsheet row numbers.
    """
    if kind not in ("cohort", "adverse_events"):
        raise ValueError("kind must be 'cohort' or 'adverse_events'")
    m = load_mapping(mapping)
    attrs = dict(df.attrs)
    df = df.copy()
    if "format" not in attrs:  # not from read_table: number the rows from 2 in order
        df.index = pd.RangeIndex(2, 2 + len(df))
    df.columns = [str(c).strip() for c in df.columns]
    problems: list[Problem] = []
    if df.shape[1] == 0:
        problems.append(Problem(file, None, None, "the file is empty: no header row and no "
                                "data"))
        return Checked(pd.DataFrame(), problems, "unknown", attrs)
    # duplicate / nameless columns
    seen: dict[str, int] = {}
    for i, c in enumerate(df.columns):
        if c == "" or c.startswith("Unnamed:"):
            if df.iloc[:, i].astype(str).str.strip().ne("").any():
                problems.append(Problem(file, None, 1, f"column {i + 1} has values but no name "
                                        "in the header row"))
        if c in seen:
            problems.append(Problem(file, c, 1, f"column name appears twice (columns "
                                    f"{seen[c] + 1} and {i + 1})"))
        seen.setdefault(c, i)
    keep = [i for i, c in enumerate(df.columns)
            if c != "" and not c.startswith("Unnamed:") and seen[c] == i]
    df = df.iloc[:, keep]
    df, mp = _apply_mapping(df, m, file)
    problems += mp
    cols = set(df.columns)
    # layout
    if kind == "adverse_events":
        layout, expected, optional = "adverse_events", AE_COLUMNS, ()
    elif set(OUTCOME_COLUMNS) <= cols:
        layout, expected = "analysis", ANALYSIS_COLUMNS
        optional = DATE_COLUMNS
    elif cols & set(DATE_COLUMNS):
        layout, expected = "raw", RAW_COLUMNS
        optional = OUTCOME_COLUMNS
    else:
        layout, expected, optional = "analysis", ANALYSIS_COLUMNS, DATE_COLUMNS
    required_cols = [c for c in expected
                     if c not in ("progression_date", "death_date", "last_contact_date")]
    for c in required_cols:
        if c not in cols:
            hint = ""
            if c in OUTCOME_COLUMNS and layout == "analysis":
                hint = (" (or give the raw export columns " + ", ".join(DATE_COLUMNS) +
                        " instead of the times)")
            what = DATA_DICTIONARY[c].description.split(". ")[0].rstrip(".")
            problems.append(Problem(file, c, None, f"missing column '{c}': {what}{hint}"))
    known = set(expected) | set(optional)
    if layout == "raw" and not ({"death_date", "last_contact_date"} & cols):
        problems.append(Problem(file, "last_contact_date", None, "missing column "
                                "'last_contact_date' (and no 'death_date'): survival time "
                                "cannot be computed"))
    for c in df.columns:
        if c not in known:
            problems.append(Problem(file, c, None, f"unknown column '{c}': not in the data "
                                    "dictionary (rename it with a mapping file, or list it "
                                    "under 'ignore')"))
    if len(df) == 0:
        if layout != "adverse_events":
            problems.append(Problem(file, None, None, "the file has a header row but no "
                                    "patient rows"))
        return Checked(pd.DataFrame(columns=list(expected)), problems, layout, attrs)
    decimal_comma = attrs.get("delimiter") == ";"
    date_format = m.date_format if m else None
    typed_cols: dict[str, pd.Series] = {}
    for c in expected + tuple(x for x in optional if x in cols):
        if c not in cols:
            continue
        spec = DATA_DICTIONARY[c]
        req = spec.required or (layout != "adverse_events" and c in _COHORT_REQUIRED_VALUES)
        if layout == "raw" and c in OUTCOME_COLUMNS:
            req = False
        if layout == "analysis" and c in DATE_COLUMNS:
            req = False
        typed_cols[c] = _check_column(df, spec, file, req, decimal_comma, date_format,
                                      problems)
    typed = pd.DataFrame(typed_cols, index=df.index)
    if layout != "adverse_events":
        _cross_checks(typed, layout, file, problems)
    return Checked(typed, problems, layout, attrs)


def _cross_checks(t: pd.DataFrame, layout: str, file: str, problems: list[Problem]) -> None:
    """Checks across rows and columns (vectorised; only flagged rows are looped over)."""
    rows = np.asarray(t.index, dtype=int)
    if "patient_id" in t:
        ids = t["patient_id"]
        present = ids.notna()
        dup = ids.duplicated(keep="first") & present
        if dup.any():
            first_row = {}
            for row, v in zip(rows[present.to_numpy()], ids[present]):
                first_row.setdefault(v, int(row))
            for row, v in zip(rows[dup.to_numpy()], ids[dup]):
                problems.append(Problem(file, "patient_id", int(row), f"duplicate patient_id "
                                        f"{_show(v)} (also on row {first_row[v]})"))
    if {"arm", "regimen"} <= set(t.columns):
        arm, reg = t["arm"], t["regimen"]
        ok = pd.Series(True, index=t.index)
        for a, regs in REGIMENS_BY_ARM.items():
            ok &= ~((arm == a) & reg.notna() & ~reg.isin(regs))
        for row, a, r in zip(rows[~ok.to_numpy()], arm[~ok], reg[~ok]):
            other = next(x for x, rr in REGIMENS_BY_ARM.items() if r in rr)
            problems.append(Problem(file, "regimen", int(row), f"regimen '{r}' belongs "
                                    f"to arm {other}, but arm is '{a}'"))
    if layout == "analysis" and set(OUTCOME_COLUMNS) <= set(t.columns):
        os_t = t["os_months"].to_numpy(dtype=float)
        pfs_t = t["pfs_months"].to_numpy(dtype=float)
        os_e = t["os_event"].to_numpy(dtype=float)
        pfs_e = t["pfs_event"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            longer = pfs_t > os_t + 1e-9
            same = np.abs(pfs_t - os_t) <= 1e-9
        for i in np.flatnonzero(longer):
            problems.append(Problem(file, "pfs_months", int(rows[i]), f"PFS ({pfs_t[i]:g} "
                                    f"months) is longer than OS ({os_t[i]:g} months); PFS ends "
                                    "at progression or death, so it cannot exceed OS"))
        # A censored PFS shorter than OS is possible (imaging stopped): not a problem.
        for i in np.flatnonzero(same & (os_e == 1) & (pfs_e == 0)):
            problems.append(Problem(file, "pfs_event", int(rows[i]), "the patient died at the "
                                    "end of PFS but pfs_event is 0; a death without earlier "
                                    "progression is a PFS event (standard definition)"))
    if layout == "raw":
        nat = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
        st, pr, de, lc = (t[c] if c in t else nat for c in DATE_COLUMNS)

        def report(mask, column, message):
            for i in np.flatnonzero(mask.to_numpy()):
                problems.append(Problem(file, column, int(rows[i]), message(i)))

        def day(s, i):
            return s.iloc[i].date()

        report(de.isna() & lc.isna(), "last_contact_date" if "last_contact_date" in t else
               "death_date", lambda i: "blank time: neither a date of death nor a date of "
               "last contact")
        for name, d in (("progression_date", pr), ("death_date", de), ("last_contact_date", lc)):
            report(d < st, name, lambda i, name=name, d=d: f"{name} {day(d, i)} is before "
                   f"start_date {day(st, i)} (negative time)")
        report(de < pr, "death_date", lambda i: f"death {day(de, i)} is before progression "
               f"{day(pr, i)}")
        report(lc > de, "last_contact_date", lambda i: f"last contact {day(lc, i)} is after "
               f"death {day(de, i)}")
        report(de.isna() & (pr > lc), "progression_date", lambda i: f"progression "
               f"{day(pr, i)} is after the last contact {day(lc, i)}")


def check_file(path: str | Path, mapping: str | Path | dict | Mapping | None = None,
               kind: str = "cohort") -> Checked:
    """Read *path* (:func:`read_table`) and check it (:func:`check_frame`).

    Raises
    ------
    ValidationError
        ``unreadable=True`` when the file (or the mapping) cannot be read.
    """
    m = load_mapping(mapping)
    df = read_table(path, m)
    return check_frame(df, file=Path(path).name, kind=kind, mapping=m)


def validate_file(path: str | Path, mapping: str | Path | dict | Mapping | None = None,
                  kind: str = "cohort") -> list[Problem]:
    """Every problem of a cohort or adverse-event file against the data dictionary.

    Parameters
    ----------
    path : str or Path
        CSV (comma or semicolon; any encoding declared by a byte-order mark or detected),
        Excel .xlsx or Parquet.
    mapping : path to a YAML mapping file, dict or Mapping, optional
        Maps other column names, labels and date formats onto the dictionary (see the
        module docstring).
    kind : {"cohort", "adverse_events"}
        A cohort may use the analysis columns or the raw export columns with dates.

    Returns
    -------
    list of Problem
        Empty when the file is valid. Rows are spreadsheet rows (header = row 1).

    Raises
    ------
    ValidationError
        With ``unreadable=True`` when the file or the mapping cannot be read at all.
    """
    return check_file(path, mapping, kind).problems
