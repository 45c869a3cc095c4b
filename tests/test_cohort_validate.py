"""Tests of hcc.cohort.dictionary, .read and .validate: the data dictionary and file validation. References: the data
dictionary of ARCHITECTURE.md (columns, labels), METHODS.md §3 (months = days / 30), issue 5
(formats, encodings, mapping files, every problem at once with spreadsheet row numbers)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from corpus.hostile import CASES, GOOD_MAPPING, _hospital_export, build, cohort, raw_cohort
from hcc.cohort import dictionary, read, validate
from hcc.errors import Problem, ValidationError


# --------------------------------------------------------------------------- dictionary
def test_dictionary_holds_the_published_columns_and_labels():
    # ARCHITECTURE.md "Data dictionary (public; fixed)"
    d = dictionary.DATA_DICTIONARY
    assert dictionary.ANALYSIS_COLUMNS == (
        "patient_id", "arm", "regimen", "age", "sex", "ecog", "etiology", "surgery", "tace",
        "ablation", "tumor_number_gt3", "tumor_size_gt5", "pvtt", "metastases", "afp_gt400",
        "child_pugh", "bclc", "best_response", "os_months", "os_event", "pfs_months",
        "pfs_event")
    assert d["arm"].labels == ("TKI", "TKI-ICI")
    assert d["regimen"].labels == ("REG", "LEN", "REG+CAM", "REG+SIN", "LEN+CAM", "LEN+SIN")
    assert d["child_pugh"].labels == ("A", "B7") and d["bclc"].labels == ("B", "C")
    assert d["best_response"].labels == ("CR", "PR", "SD", "PD")
    assert d["etiology"].labels == ("HBV", "HCV", "HBV+HCV")
    assert d["age"].range == (18, 100)
    for c in ("surgery", "tace", "ablation", "tumor_number_gt3", "tumor_size_gt5", "pvtt",
              "metastases", "afp_gt400", "ecog", "os_event", "pfs_event"):
        assert d[c].labels == (0, 1), c
    assert set(dictionary.DATE_COLUMNS) <= set(dictionary.RAW_COLUMNS)
    assert dictionary.AE_COLUMNS == ("patient_id", "term", "grade", "immune_related",
                                 "led_to_discontinuation")
    assert d["grade"].range == (1, 5)


def test_months_are_documented_as_days_over_30():
    # METHODS.md §3: the printed medians are whole days / 30 (7.63 = 229/30)
    for c in ("os_months", "pfs_months"):
        desc = dictionary.DATA_DICTIONARY[c].description
        assert "days divided by 30" in desc and "30.4375" in desc and "METHODS.md" in desc
    assert round(229 / 30, 2) == 7.63


def test_dictionary_frame_for_the_book():
    f = dictionary.dictionary_frame("analysis")
    assert list(f["column"]) == list(dictionary.ANALYSIS_COLUMNS)
    assert f.loc[f["column"] == "sex", "allowed"].item() == "Male, Female"


def test_regimens_by_arm_match_the_paper():
    from hcc import paper

    for arm, regs in paper.REGIMENS.items():
        assert set(dictionary.REGIMENS_BY_ARM[arm]) == set(regs)


# --------------------------------------------------------------------------- validation
def test_valid_toy_cohort_has_no_problems(tmp_path):
    p = tmp_path / "c.csv"
    cohort().to_csv(p, index=False)
    assert validate.validate_file(p) == []


def test_all_problems_reported_at_once_with_spreadsheet_rows(tmp_path):
    df = cohort().astype(object)
    df.loc[0, "arm"] = "ICI"        # spreadsheet row 2
    df.loc[3, "age"] = 101          # row 5
    df.loc[7, "patient_id"] = "P001"  # row 9, duplicate of row 2
    p = tmp_path / "c.csv"
    df.drop(columns=["bclc"]).to_csv(p, index=False)
    probs = validate.validate_file(p)
    got = {(q.column, q.row) for q in probs}
    assert got == {("bclc", None), ("arm", 2), ("age", 5), ("patient_id", 9)}
    assert all(isinstance(q, Problem) and q.file == "c.csv" for q in probs)
    dup = next(q for q in probs if q.column == "patient_id")
    assert "also on row 2" in dup.message


def test_blank_lines_keep_row_numbers(tmp_path):
    c = cohort(4).astype(object)
    c.loc[2, "sex"] = "Mle"  # third patient
    text = c.to_csv(index=False).splitlines()
    text.insert(2, "")  # a blank line is spreadsheet row 3: the third patient is on row 5
    p = tmp_path / "b.csv"
    p.write_text("\n".join(text) + "\n")
    df = read.read_table(p)
    assert list(df.index) == [2, 4, 5, 6]
    assert [(q.column, q.row) for q in validate.validate_file(p)] == [("sex", 5)]


def test_labels_are_never_evaluated_and_reported_verbatim(tmp_path):
    df = cohort().astype(object)
    df.loc[0, "sex"] = "=1+1"
    df.loc[1, "sex"] = "<b>Male</b>"
    p = tmp_path / "h.csv"
    df.to_csv(p, index=False)
    msgs = [q.message for q in validate.validate_file(p)]
    assert "unknown label '=1+1'; allowed: Male, Female" in msgs
    assert "unknown label '<b>Male</b>'; allowed: Male, Female" in msgs


def test_unreadable_raises_with_flag(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(ValidationError) as ei:
        validate.validate_file(p)
    assert ei.value.unreadable and "not a CSV" in str(ei.value)


@pytest.mark.parametrize("case", [c for c in CASES if c.column and "book" not in c.tags],
                         ids=lambda c: c.name)
def test_corpus_problem_names_the_column(case, tmp_path):
    path, extra = build(case, tmp_path)
    mapping = extra[1] if extra else None
    probs = validate.validate_file(path, mapping=mapping, kind=case.kind)
    assert any(q.column == case.column for q in probs), probs


# --------------------------------------------------------------------------- formats
def test_semicolon_and_decimal_comma(tmp_path):
    c = cohort()
    p = tmp_path / "s.csv"
    c.to_csv(p, index=False, sep=";", decimal=",")
    assert "," in p.read_text().splitlines()[1]  # decimal commas really are there
    chk = validate.check_file(p)
    assert chk.problems == [] and chk.attrs["delimiter"] == ";"
    assert chk.frame["os_months"].tolist() == pytest.approx(c["os_months"].tolist())


def test_latin1_is_detected_and_declared(tmp_path):
    c = cohort().astype(object)
    c.loc[0, "patient_id"] = "Pé-001"
    p = tmp_path / "l.csv"
    p.write_bytes(c.to_csv(index=False).encode("latin-1"))
    df = read.read_table(p)
    assert df.loc[2, "patient_id"] == "Pé-001" and "detected" in df.attrs["encoding"]
    c.loc[1, "patient_id"] = "Pà-002"  # 0xE0: "à" in Latin-1/cp1252, "ŕ" in cp1250
    p.write_bytes(c.to_csv(index=False).encode("latin-1"))
    assert read.read_table(p).loc[3, "patient_id"] == "Pà-002"
    df = read.read_table(p, mapping={"encoding": "latin-1"})
    assert df.loc[2, "patient_id"] == "Pé-001" and "declared" in df.attrs["encoding"]


def test_gb18030_chinese_export_is_detected(tmp_path):
    c = cohort().astype(object)
    c["patient_id"] = [f"患者{i:03d}" for i in range(len(c))]
    p = tmp_path / "zh.csv"
    p.write_bytes(c.to_csv(index=False).encode("gb18030"))
    df = read.read_table(p)
    assert df.loc[2, "patient_id"] == "患者000" and "gb18030" in df.attrs["encoding"]
    assert validate.validate_file(p) == []


@pytest.mark.parametrize("encoding,text", [
    ("gb18030", "patient_id,sex\nP1,男\nP2,女\n"),
    ("latin-1", "patient_id,x\nPérès,1\nDésirée,0\nPà-002,1\nFrançois,1\n"),
    ("cp1250", "patient_id,note\nP1,Łódź żółć\nP2,Kraków\n"),
    ("cp1251", "patient_id,note\nP1,Иванов\nP2,Петров Сидоров\n"),
    ("cp1252", "id,n\n1,Müller\n2,Größe\n3,Straße\n"),
])
def test_short_non_utf8_exports_decode_to_the_original_text(tmp_path, encoding, text):
    # reference: the text we encoded ourselves
    p = tmp_path / "e.csv"
    p.write_bytes(text.encode(encoding))
    df = read.read_table(p)
    assert df.to_csv(index=False, lineterminator="\n") == text


def test_declared_encoding_that_does_not_fit_is_unreadable(tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes("patient_id\nP\u4e2d\n".encode("utf-8"))
    with pytest.raises(ValidationError) as ei:
        read.read_table(p, mapping={"encoding": "ascii"})
    assert ei.value.unreadable and "ascii" in str(ei.value)


def test_xlsx_dates_and_numbers(tmp_path):
    import openpyxl

    raw = raw_cohort()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(raw.columns))
    for r in raw.itertuples(index=False):
        vals = []
        for col, v in zip(raw.columns, r):
            if col.endswith("_date"):
                v = dt.datetime.strptime(v, "%Y-%m-%d") if v else None  # typed Excel dates
            elif hasattr(v, "item"):
                v = v.item()
            vals.append(v)
        ws.append(vals)
    p = tmp_path / "r.xlsx"
    wb.save(p)
    chk = validate.check_file(p)
    assert chk.problems == [] and chk.layout == "raw"
    assert chk.frame["start_date"].iloc[0] == pd.Timestamp(raw["start_date"].iloc[0])


def test_xlsx_sheet_choice(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["just notes"])
    ws = wb.create_sheet("Cohort")
    c = cohort()
    ws.append(list(c.columns))
    for r in c.itertuples(index=False):
        ws.append([v.item() if hasattr(v, "item") else v for v in r])
    p = tmp_path / "two.xlsx"
    wb.save(p)
    assert validate.validate_file(p, mapping={"sheet": "Cohort"}) == []
    assert any("unknown column 'just notes'" in q.message for q in validate.validate_file(p))
    with pytest.raises(ValidationError, match="no sheet named 'Patients'"):
        validate.validate_file(p, mapping={"sheet": "Patients"})


def test_parquet_with_typed_columns(tmp_path):
    raw = raw_cohort()
    for c in dictionary.DATE_COLUMNS:
        raw[c] = pd.to_datetime(raw[c].replace("", None))
    p = tmp_path / "r.parquet"
    raw.to_parquet(p, index=False)
    chk = validate.check_file(p)
    assert chk.problems == [] and chk.layout == "raw" and chk.attrs["format"] == "parquet"


# --------------------------------------------------------------------------- mapping
def test_mapping_maps_names_labels_and_dates(tmp_path):
    df = _hospital_export()
    p = tmp_path / "h.csv"
    df.to_csv(p, index=False)
    m = tmp_path / "m.yaml"
    m.write_text(GOOD_MAPPING)
    chk = validate.check_file(p, mapping=m)
    assert chk.problems == []
    f = chk.frame
    raw = raw_cohort()
    assert list(f["sex"]) == list(raw["sex"])            # M/F -> Male/Female
    assert list(f["tace"]) == list(raw["tace"])          # Yes/No -> 1/0
    assert list(f["child_pugh"]) == list(raw["child_pugh"])  # B -> B7 ...
    assert list(f["bclc"]) == list(raw["bclc"])          # ... but only in child_pugh
    assert f["start_date"].iloc[3] == pd.Timestamp(raw["start_date"].iloc[3])  # dd/mm/yyyy
    assert "Ward" not in f


def test_label_map_is_per_column(tmp_path):
    c = cohort().astype(object)
    c.loc[c["child_pugh"] == "B7", "child_pugh"] = "B"
    p = tmp_path / "c.csv"
    c.to_csv(p, index=False)
    assert any(q.column == "child_pugh" for q in validate.validate_file(p))
    assert validate.validate_file(p, mapping={"labels": {"child_pugh": {"B": "B7"}}}) == []
    assert (validate.check_file(p, mapping={"labels": {"child_pugh": {"B": "B7"}}})
            .frame["bclc"].isin(["B", "C"]).all())  # BCLC "B" untouched


def test_mapping_to_a_label_outside_the_dictionary_is_refused():
    with pytest.raises(ValidationError) as ei:
        read.load_mapping({"labels": {"bclc": {"B": "B7"}}})
    assert ei.value.unreadable and "not an allowed label" in str(ei.value)


def test_yaml_yes_no_stay_text(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("labels:\n  tace: {Yes: 1, No: 0, On: 1, Off: 0}\n")
    mp = read.load_mapping(m)
    assert mp.labels["tace"] == {"Yes": "1", "No": "0", "On": "1", "Off": "0"}


@pytest.mark.parametrize("fmt,text,expected", [
    ("dd/mm/yyyy", "03/04/2020", "2020-04-03"),
    ("dd.mm.yyyy", "03.04.2020", "2020-04-03"),
    ("yyyy-mm-dd", "2020-04-03", "2020-04-03"),
    ("%m/%d/%Y", "04/03/2020", "2020-04-03"),
])
def test_date_formats(tmp_path, fmt, text, expected):
    raw = raw_cohort().astype(object)
    raw.loc[0, "start_date"] = text
    raw.loc[0, ["progression_date", "death_date"]] = ""
    raw.loc[0, "last_contact_date"] = "2021-01-01"
    p = tmp_path / "d.csv"
    raw.to_csv(p, index=False)
    chk = validate.check_file(p, mapping={"date_format": fmt})
    assert chk.problems == []
    assert chk.frame.loc[2, "start_date"] == pd.Timestamp(expected)


def test_mapping_problems_are_all_listed():
    with pytest.raises(ValidationError) as ei:
        read.load_mapping({"colums": {}, "columns": {"A": "nope", "B": "sex", "C": "sex"},
                             "date_format": "whenever"})
    msgs = "\n".join(q.message for q in ei.value.problems)
    assert "unknown key 'colums'" in msgs and "'nope'" in msgs and "both 'B' and 'C'" in msgs
    assert "date_format 'whenever'" in msgs


def test_the_documented_mapping_example_is_valid():
    # reference: the module docstring's example (the documentation must not lie)
    doc = read.__doc__
    block = doc[doc.index("    # mapping.yaml"):doc.index("Label keys are compared")]
    text = "\n".join(line[4:] for line in block.splitlines())
    import yaml

    m = read.load_mapping(yaml.load(text, Loader=read._yaml_loader()))
    assert m.columns["Gender"] == "sex" and m.labels["child_pugh"] == {"A": "A", "B": "B7"}
    assert m.labels["tace"] == {"Yes": "1", "No": "0"} and m.date_format == "%d/%m/%Y"
    assert m.labels["arm"]["TKI + PD-1"] == "TKI-ICI" and m.ignore == ("Ward", "Notes")
    assert m.encoding == "latin-1" and m.sheet == "Cohort"
