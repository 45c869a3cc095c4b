"""Reading a cohort or adverse-event file as text cells, and its mapping file.

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

from hcc.cohort.dictionary import DATA_DICTIONARY, MISSING_TOKENS
from hcc.errors import Problem, ValidationError


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


def _mapping_data(mapping: str | Path | dict) -> tuple[str, Any]:
    """(name for messages, parsed content) of a mapping given as a YAML path or a dict."""
    if not isinstance(mapping, (str, Path)):
        return "mapping", mapping
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
    return src, ({} if data is None else data)


def _mapping_columns(data: dict, m: Mapping, bad) -> None:
    """``columns:`` — file column → data-dictionary column, each target once."""
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


def _mapping_labels(data: dict, m: Mapping, bad) -> None:
    """``labels:`` — per data-dictionary column, label in the file → allowed label."""
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


def _mapping_options(data: dict, m: Mapping, bad) -> None:
    """``date_format``, ``ignore``, ``encoding``, ``sheet``."""
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
    src, data = _mapping_data(mapping)
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
    _mapping_columns(data, m, bad)
    _mapping_labels(data, m, bad)
    _mapping_options(data, m, bad)
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

