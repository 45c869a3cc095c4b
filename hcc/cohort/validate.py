"""Validation of a cohort or adverse-event file against the data dictionary.

Validation reports **every** problem at once, each as a :class:`hcc.errors.Problem`
(file, column, row, message). Rows are numbered as a spreadsheet user counts them: the
header is row 1, the first patient is row 2. :func:`validate_file` is what ``hcc validate``
runs; :func:`check_file` also returns the typed frame the loaders (:mod:`hcc.cohort.load`)
use. The file is read by :mod:`hcc.cohort.read`; the columns and labels it may hold are
:mod:`hcc.cohort.dictionary`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hcc.cohort.dictionary import (_COHORT_REQUIRED_VALUES, AE_COLUMNS, ANALYSIS_COLUMNS,
                                   DATA_DICTIONARY, DATE_COLUMNS, MISSING_TOKENS, OUTCOME_COLUMNS,
                                   RAW_COLUMNS, REGIMENS_BY_ARM, Column)
from hcc.cohort.read import Mapping, _show, load_mapping, read_table
from hcc.errors import Problem


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
