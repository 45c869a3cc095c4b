"""A corpus of broken and hostile input files, generated into a folder on demand.

Each :class:`Case` writes its file(s) with ``make(folder) -> (path, extra CLI args)`` and
states what ``hcc validate`` must answer: the exit code (0 valid, 1 invalid, 2 unreadable)
and text the message must contain (the column or the reason). The expectations are written
from the data dictionary and issue 5, not from the program's output.
"""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import make_toy_cohort  # noqa: E402

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_FORMULA = "=cmd|' /C calc'!A0"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"


def cohort(n: int = 20, seed: int = 2) -> pd.DataFrame:
    """A valid analysis cohort (toy data of the data-dictionary layout) on which the book can
    run: both arms, events in each, two levels of every covariate (seed 2; seed 3 gave every
    patient TACE, which ``hcc validate`` now refuses)."""
    return make_toy_cohort(n, seed)


def raw_cohort(n: int = 12) -> pd.DataFrame:
    """A valid raw export: baseline columns plus ISO dates, built by hand."""
    base = cohort(n).drop(columns=["os_months", "os_event", "pfs_months", "pfs_event"])
    start = pd.Timestamp("2019-01-10") + pd.to_timedelta(np.arange(n) * 20, unit="D")
    base["start_date"] = start.strftime("%Y-%m-%d")
    prog = start + pd.Timedelta(days=90)
    death = start + pd.Timedelta(days=200)
    base["progression_date"] = [d.strftime("%Y-%m-%d") if i % 2 == 0 else "" for i, d in enumerate(prog)]
    base["death_date"] = [d.strftime("%Y-%m-%d") if i % 3 == 0 else "" for i, d in enumerate(death)]
    base["last_contact_date"] = [(s + pd.Timedelta(days=300)).strftime("%Y-%m-%d") if i % 3 else ""
                                 for i, s in enumerate(start)]
    return base


def ae_table() -> pd.DataFrame:
    return pd.DataFrame({"patient_id": ["P001", "P001", "P002"],
                         "term": ["Hypertension", "Diarrhea", "Immune-mediated hepatitis"],
                         "grade": [2, 1, 3], "immune_related": [0, 0, 1],
                         "led_to_discontinuation": [0, 0, 1]})


@dataclass
class Case:
    name: str
    make: Callable[[Path], tuple[Path, list[str]]]
    exit: int
    expect: tuple[str, ...] = ()
    column: str | None = None  # the column the problem must name (validate_file)
    kind: str = "cohort"
    tags: tuple[str, ...] = field(default_factory=tuple)


def _csv(df: pd.DataFrame, name: str = "data.csv", **kw):
    def make(d: Path):
        p = d / name
        df.to_csv(p, index=False, **kw)
        return p, []
    return make


def _bytes(data: bytes, name: str = "data.csv"):
    def make(d: Path):
        p = d / name
        p.write_bytes(data)
        return p, []
    return make


def _edit(**cells) -> pd.DataFrame:
    """The valid cohort with cells changed: column=(row_index, value)."""
    df = cohort().astype(object)
    for col, (i, v) in cells.items():
        df.loc[i, col] = v
    return df


def _drop(col: str) -> pd.DataFrame:
    return cohort().drop(columns=[col])


def _raw_edit(**cells) -> pd.DataFrame:
    df = raw_cohort().astype(object)
    for col, (i, v) in cells.items():
        df.loc[i, col] = v
    return df


def _xlsx(df: pd.DataFrame, literal_strings: bool = True, formula: tuple | None = None):
    def make(d: Path):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            ws.append([v.item() if hasattr(v, "item") else v for v in row])
        if literal_strings:  # keep text that starts with "=" as text, not a formula
            for r in ws.iter_rows():
                for c in r:
                    if isinstance(c.value, str) and c.value.startswith("="):
                        c.data_type = "s"
        if formula is not None:
            col, row, text = formula
            ws.cell(row=row, column=list(df.columns).index(col) + 1, value=text)
        p = d / "data.xlsx"
        wb.save(p)
        return p, []
    return make


def _parquet(df: pd.DataFrame):
    def make(d: Path):
        p = d / "data.parquet"
        df.to_parquet(p, index=False)
        return p, []
    return make


def _truncated(maker, keep: int = 200, name: str | None = None):
    def make(d: Path):
        p, args = maker(d)
        data = p.read_bytes()[:keep]
        if name:
            p.unlink()
            p = d / name
        p.write_bytes(data)
        return p, args
    return make


def _with_mapping(data_maker, mapping_text: str):
    def make(d: Path):
        p, _ = data_maker(d)
        m = d / "mapping.yaml"
        m.write_text(mapping_text, encoding="utf-8")
        return p, ["--mapping", str(m)]
    return make


def _hospital_export() -> pd.DataFrame:
    """A raw export in a hospital's own vocabulary (needs the mapping below)."""
    df = raw_cohort().rename(columns={"patient_id": "Patient ID", "sex": "Gender",
                                      "start_date": "First dose"})
    df["Gender"] = df["Gender"].map({"Male": "M", "Female": "F"})
    df["tace"] = df["tace"].map({1: "Yes", 0: "No"})
    df["child_pugh"] = df["child_pugh"].map({"A": "A", "B7": "B"})
    for c in ("First dose", "progression_date", "death_date", "last_contact_date"):
        df[c] = [pd.Timestamp(v).strftime("%d/%m/%Y") if v else "" for v in df[c]]
    df["Ward"] = "5B"
    return df


GOOD_MAPPING = """\
columns:
  Patient ID: patient_id
  Gender: sex
  First dose: start_date
labels:
  sex: {M: Male, F: Female}
  tace: {Yes: 1, No: 0}
  child_pugh: {A: A, B: B7}
date_format: dd/mm/yyyy
ignore: [Ward]
"""

_latin1 = cohort().astype(object)
_latin1.loc[0, "patient_id"] = "Pé-001"
_latin1.loc[1, "patient_id"] = "Pà-002"
_utf16 = io.StringIO()
cohort().to_csv(_utf16, index=False)

CASES: list[Case] = [
    # --- valid inputs, in every accepted form
    Case("valid_csv", _csv(cohort()), 0, ("valid",)),
    Case("semicolon_decimal_comma", _csv(cohort(), sep=";", decimal=","), 0, ("semicolon",)),
    Case("tab_separated", _csv(cohort(), sep="\t"), 0, ("valid",)),
    Case("utf8_bom", _bytes(b"\xef\xbb\xbf" + cohort().to_csv(index=False).encode()), 0,
         ("byte-order mark",)),
    Case("utf16_bom", _bytes(b"\xff\xfe" + _utf16.getvalue().encode("utf-16-le")), 0,
         ("utf-16",)),
    Case("latin1_detected", _bytes(_latin1.to_csv(index=False).encode("latin-1")), 0,
         ("detected",)),
    Case("latin1_declared", _with_mapping(_bytes(_latin1.to_csv(index=False).encode("latin-1")),
                                          "encoding: latin-1\n"), 0, ("declared",)),
    Case("xlsx_valid", _xlsx(cohort()), 0, ("xlsx",)),
    Case("parquet_valid", _parquet(cohort()), 0, ("parquet",)),
    Case("raw_dates_valid", _csv(raw_cohort()), 0, ("raw export",)),
    Case("nan_string_in_label_is_missing", _csv(_edit(sex=(2, "NaN"))), 0,
         ("missing value",)),
    Case("mapping_good", _with_mapping(_csv(_hospital_export()), GOOD_MAPPING), 0, ("valid",)),
    Case("ae_valid", _csv(ae_table()), 0, ("adverse events",), kind="adverse_events"),
    # --- structure
    Case("missing_column", _csv(_drop("arm")), 1, ("missing column 'arm'",), column="arm"),
    Case("missing_time_column", _csv(_drop("os_months")), 1, ("missing column 'os_months'",),
         column="os_months"),
    Case("unknown_column", _csv(cohort().assign(ward="5B")), 1, ("unknown column 'ward'",),
         column="ward"),
    Case("empty_file", _bytes(b""), 1, ("empty",)),
    Case("whitespace_only", _bytes(b"\n\n   \n"), 1, ("empty",)),
    Case("header_only", _bytes((",".join(cohort().columns) + "\n").encode()), 1,
         ("no patient rows",)),
    Case("duplicate_column_name", _bytes(cohort().to_csv(index=False).replace(
        "afp_gt400", "tace", 1).encode()), 1, ("appears twice",), column="tace"),
    # --- values
    Case("unknown_label", _csv(_edit(sex=(4, "Mal"))), 1, ("unknown label 'Mal'", "Male, Female"),
         column="sex"),
    Case("negative_time", _csv(_edit(os_months=(3, -2.5))), 1, ("negative time",),
         column="os_months"),
    Case("blank_time", _csv(_edit(pfs_months=(5, ""))), 1, ("blank time",), column="pfs_months"),
    Case("nan_string_time", _csv(_edit(os_months=(5, "NaN"))), 1, ("blank time",),
         column="os_months"),
    Case("text_time", _csv(_edit(os_months=(5, "seven"))), 1, ("not a number: 'seven'",),
         column="os_months"),
    Case("event_not_01", _csv(_edit(os_event=(6, 2))), 1, ("0 or 1",), column="os_event"),
    Case("event_yes", _csv(_edit(pfs_event=(6, "yes"))), 1, ("0 or 1",), column="pfs_event"),
    Case("binary_not_01", _csv(_edit(tace=(1, 3))), 1, ("0 or 1",), column="tace"),
    Case("duplicate_patient_id", _csv(_edit(patient_id=(7, "P001"))), 1,
         ("duplicate patient_id 'P001'",), column="patient_id"),
    Case("blank_patient_id", _csv(_edit(patient_id=(7, ""))), 1, ("blank",),
         column="patient_id"),
    Case("pfs_longer_than_os", _csv(_edit(pfs_months=(0, 500 / 30), os_months=(0, 400 / 30),
                                          os_event=(0, 1), pfs_event=(0, 1))), 1,
         ("longer than OS",), column="pfs_months"),
    Case("death_not_pfs_event", _csv(_edit(pfs_months=(0, 10.0), os_months=(0, 10.0),
                                           os_event=(0, 1), pfs_event=(0, 0))), 1,
         ("PFS event",), column="pfs_event"),
    Case("age_out_of_range", _csv(_edit(age=(2, 150))), 1, ("outside the allowed range",),
         column="age"),
    Case("age_under_18", _csv(_edit(age=(2, 12))), 1, ("18–100",), column="age"),
    Case("huge_number", _csv(_edit(os_months=(2, "1e308"))), 1, ("outside the allowed range",),
         column="os_months"),
    Case("overflow_number", _csv(_edit(os_months=(2, "9" * 400))), 1, ("allowed range",),
         column="os_months"),
    Case("infinity", _csv(_edit(age=(2, "inf"))), 1, ("allowed range",), column="age"),
    Case("regimen_wrong_arm", _csv(_edit(arm=(0, "TKI"), regimen=(0, "LEN+SIN"))), 1,
         ("belongs to arm TKI-ICI",), column="regimen"),
    Case("lowercase_label", _csv(_edit(arm=(0, "tki"))), 1, ("unknown label 'tki'",),
         column="arm"),
    # --- hostile labels: never evaluated, just unknown labels
    Case("hostile_script", _csv(_edit(sex=(1, HOSTILE_SCRIPT))), 1, ("<script>",),
         column="sex"),
    Case("hostile_formula", _csv(_edit(etiology=(1, HOSTILE_FORMULA))), 1, ("unknown label",),
         column="etiology"),
    Case("hostile_img", _csv(_edit(arm=(1, HOSTILE_IMG))), 1, ("unknown label",),
         column="arm"),
    Case("hostile_long_label", _csv(_edit(bclc=(1, "A" * 10000))), 1, ("…",), column="bclc"),
    Case("hostile_newline_label", _csv(_edit(sex=(1, "Male\nFemale"))), 1,
         ("unknown label",), column="sex"),
    Case("hostile_terminal_escape", _csv(_edit(sex=(1, "Ma\x1b[31mle"))), 1,
         ("unknown label", "\\x1b"), column="sex"),
    # --- encodings and not-a-CSV
    Case("non_utf8_undecodable", _bytes(b"patient_id,arm\nP1," + bytes(range(0x80, 0x100))
                                        + b"\nP2,TKI\n"), 2, ("not UTF-8",)),
    Case("mixed_utf8_and_latin1", _bytes(cohort().to_csv(index=False).replace(
        "P001", "P\u00e9001").encode() + b"P999,TKI\xe9\n"), 2, ("mixes UTF-8",)),
    Case("binary_png", _bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
                              "image.csv"), 2, ("not a CSV",)),
    Case("binary_random", _bytes(np.random.default_rng(0).bytes(2000) + b"\x00" * 10,
                                 "random.dat"), 2, ("not a CSV",)),
    Case("ragged_csv", _bytes(b"patient_id,arm\nP1,TKI\nP2,TKI,extra,fields\n"), 2,
         ("well-formed",)),
    Case("old_xls", _bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "data.xls"), 2,
         (".xls",)),
    Case("not_found", lambda d: (d / "no-such-file.csv", []), 2, ("not found",)),
    Case("directory", lambda d: (d, []), 2, ("folder",)),
    # --- Excel and Parquet, broken
    Case("xlsx_truncated", _truncated(_xlsx(cohort()), 300), 2, ("Excel",)),
    Case("xlsx_named_but_csv", _bytes(b"this is not excel\n", "data.xlsx"), 2, ("Excel",)),
    Case("xlsx_unknown_label", _xlsx(_edit(child_pugh=(3, "C"))), 1, ("unknown label 'C'",),
         column="child_pugh"),
    Case("xlsx_hostile_formula_text", _xlsx(_edit(sex=(3, HOSTILE_FORMULA))), 1,
         ("unknown label",), column="sex"),
    Case("xlsx_formula_cell", _xlsx(cohort(), formula=("os_months", 3, "=A2/30")), 1,
         ("formula",), column="os_months"),
    Case("parquet_truncated", _truncated(_parquet(cohort()), 100), 2, ("Parquet",)),
    Case("parquet_bad_values", _parquet(_edit(os_event=(2, 5)).astype({"os_event": "int64"})),
         1, ("0 or 1",), column="os_event"),
    # --- raw exports with dates
    Case("progression_before_start", _csv(_raw_edit(progression_date=(0, "2018-01-01"))), 1,
         ("before start_date",), column="progression_date"),
    Case("death_before_progression", _csv(_raw_edit(progression_date=(0, "2019-06-01"),
                                                    death_date=(0, "2019-03-01"))), 1,
         ("before progression",), column="death_date"),
    Case("last_contact_before_start", _csv(_raw_edit(last_contact_date=(1, "2018-12-31"))), 1,
         ("before start_date",), column="last_contact_date"),
    Case("unparseable_date", _csv(_raw_edit(start_date=(2, "31/02/2019"))), 1,
         ("not a date",), column="start_date"),
    Case("no_end_date", _csv(_raw_edit(death_date=(1, ""), last_contact_date=(1, ""))), 1,
         ("neither a date of death nor a date of last contact",),
         column="last_contact_date"),
    Case("implausible_date", _csv(_raw_edit(start_date=(2, "1900-01-01"))), 1,
         ("implausible date",), column="start_date"),
    Case("dmy_dates_without_mapping", _csv(_hospital_export().drop(columns=["Ward"]).rename(
        columns={"Patient ID": "patient_id", "Gender": "sex", "First dose": "start_date"})), 1,
         ("date_format",), column="start_date"),
    # --- mapping files
    Case("mapping_unknown_key", _with_mapping(_csv(cohort()), "colums: {a: arm}\n"), 2,
         ("unknown key 'colums'",)),
    Case("mapping_bad_yaml", _with_mapping(_csv(cohort()), "columns: [unclosed\n  x: : y\n"), 2,
         ("not valid YAML",)),
    Case("mapping_bad_target", _with_mapping(_csv(cohort()), "columns: {Gender: gender}\n"), 2,
         ("not a data-dictionary column",)),
    Case("mapping_bad_label_target", _with_mapping(_csv(cohort()),
                                                   "labels: {sex: {M: Man}}\n"), 2,
         ("not an allowed label",)),
    Case("mapping_bad_date_format", _with_mapping(_csv(cohort()), "date_format: someday\n"), 2,
         ("date_format",)),
    Case("mapping_not_a_dict", _with_mapping(_csv(cohort()), "- just\n- a list\n"), 2,
         ("key: value",)),
    Case("mapping_column_absent", _with_mapping(_csv(_drop("sex")), "columns: {Geschlecht: sex}\n"), 1,
         ("not in the file",), column="Geschlecht"),
    # --- adverse events
    Case("ae_grade_out_of_range", _csv(ae_table().assign(grade=[2, 7, 3])), 1,
         ("outside the allowed range",), column="grade", kind="adverse_events"),
    Case("ae_missing_column", _csv(ae_table().drop(columns=["term"])), 1,
         ("missing column 'term'",), column="term", kind="adverse_events"),
    Case("ae_immune_not_01", _csv(ae_table().assign(immune_related=[0, "Y", 1])), 1,
         ("0 or 1",), column="immune_related", kind="adverse_events"),
]


# --- files that follow the dictionary but that the book cannot use (issue 13): refused by
# `hcc validate` (exit 1) and by `hcc build` before any notebook runs; each message names the
# chapter and the column. Expectations from the chapters' models (tests/test_readiness.py).
def _one_arm() -> pd.DataFrame:
    df = cohort()
    df["arm"] = "TKI"
    df["regimen"] = np.where(df["regimen"].str.startswith("REG"), "REG", "LEN")
    return df


def _no_events_in_arm() -> pd.DataFrame:
    df = cohort()
    df.loc[df["arm"] == "TKI", "os_event"] = 0  # censored at the last contact: still valid
    return df


def _no_events() -> pd.DataFrame:
    df = cohort()
    df["os_event"] = 0
    df["pfs_event"] = 0
    return df


def _monotone() -> pd.DataFrame:
    """No death among the patients with PVTT: chapter 7's adjusted model has an infinite HR."""
    df = cohort()
    df.loc[df["pvtt"] == 1, "os_event"] = 0
    return df


def _with_ae(cohort_df: pd.DataFrame, ae: pd.DataFrame):
    def make(d: Path):
        p, ae_path = d / "data.csv", d / "my_ae.csv"
        cohort_df.to_csv(p, index=False)
        ae.to_csv(ae_path, index=False)
        return p, ["--adverse-events", str(ae_path)]
    return make


BOOK_CASES: list[Case] = [
    Case("book_one_arm", _csv(_one_arm()), 1, ("03_survival", "cannot run", "only arm 'TKI'"),
         column="arm", tags=("book",)),
    Case("book_no_events_in_arm", _csv(_no_events_in_arm()), 1,
         ("07_discussion", "no overall survival events in arm TKI"), column="os_event",
         tags=("book",)),
    Case("book_no_events", _csv(_no_events()), 1, ("03_survival", "every patient is censored"),
         column="pfs_event", tags=("book",)),
    Case("book_single_level", _csv(cohort().assign(tace=1)), 1,
         ("04_cox", "every patient has tace = 1", "two levels"), column="tace", tags=("book",)),
    Case("book_monotone_likelihood", _csv(_monotone()), 1,
         ("07_discussion", "monotone likelihood", "pvtt = 1"), column="pvtt", tags=("book",)),
    Case("book_ae_patient_not_in_cohort", _with_ae(cohort(), ae_table().assign(
        patient_id=["P001", "P001", "Q999"])), 1, ("06_safety", "not in the cohort", "'Q999'"),
         column="patient_id", tags=("book",)),
    Case("book_ae_valid_with_cohort", _with_ae(cohort(), ae_table()), 0, ("valid",),
         tags=("book",)),
]
CASES += BOOK_CASES


# --- a valid cohort whose small cells are known (issue 13): every chapter can run on it, and
# with suppress_below=5 none of these cells may show (tests/test_pipeline_privacy.py)
SMALL_CELLS = {"TKI CR": 1, "TKI PR": 3, "REG": 3, "Child-Pugh B7": 2}


def _small_cells() -> pd.DataFrame:
    df = cohort(60, seed=2)
    tki = df.index[df["arm"] == "TKI"]
    df.loc[df["arm"] == "TKI", "best_response"] = "SD"
    df.loc[tki[:1], "best_response"] = "CR"
    df.loc[tki[1:4], "best_response"] = "PR"
    df.loc[df["arm"] == "TKI", "regimen"] = "LEN"
    df.loc[tki[4:7], "regimen"] = "REG"
    df["child_pugh"] = "A"
    dead = df.index[df["os_event"] == 1]
    df.loc[dead[:2], "child_pugh"] = "B7"  # two patients, both died (no monotone likelihood)
    return df


PRIVACY_CASES: list[Case] = [
    Case("privacy_small_cells", _csv(_small_cells()), 0, ("valid",), tags=("book", "privacy")),
]
CASES += PRIVACY_CASES


def build(case: Case, folder: Path) -> tuple[Path, list[str]]:
    """Write one case into *folder*; return (path, extra CLI arguments)."""
    folder.mkdir(parents=True, exist_ok=True)
    return case.make(folder)


def readme_table() -> str:
    """The table rows of README.md: each case's exit code and first line of `hcc validate`."""
    import contextlib
    import tempfile

    from hcc.cli import main

    rows = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as d:
            path, extra = build(case, Path(d) / case.name)
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = main(["validate", str(path), *extra, "--kind", case.kind])
        lines = out.getvalue().strip().splitlines()
        first = lines[0] if lines else ""
        first = first[:160] + "…" if len(first) > 160 else first
        first = first.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        rows.append(f"| `{case.name}` | {code} | {first} |")
    return "\n".join(rows)


if __name__ == "__main__":  # PYTHONPATH=. python tests/corpus/hostile.py > rows.md
    print(readme_table())
