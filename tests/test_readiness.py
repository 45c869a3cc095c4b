"""What the book needs beyond the data dictionary (issue 13): `hcc validate` and `hcc build`
refuse a cohort the chapters cannot use, each message naming the chapter and the column.

References: issue 13's acceptance ("one-arm, no-event, single-level and monotone-likelihood
cohorts refused by `hcc validate` and by `hcc build` before any notebook runs"); the chapters
that fail were found by executing the notebooks on such cohorts (93 patients, the shipped
cohort edited): one arm → 01, 03, 04, 05, 07 fail (02 and 06 run); no OS death in one arm →
01 and 07 (the treatment HR is infinite); TACE for everyone → 01 and 04; no death among PVTT
patients → 07 only (the adjusted model), 04 keeps an empty univariate row.
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from corpus.hostile import BOOK_CASES, build, cohort
from hcc import readiness
from hcc.readiness import check_book, check_inputs, errors, warnings_

ROOT = Path(__file__).resolve().parents[1]


def _shipped():
    import hcc

    return hcc.get_cohort()


def test_the_shipped_cohort_is_book_ready():
    assert errors(check_book(_shipped())) == []


def test_one_arm_names_the_chapters_that_compare_arms():
    c = _shipped()
    (p,) = check_book(c[c["arm"] == "TKI"], file="one_arm.csv")
    assert p.column == "arm" and p.severity == "error"
    assert str(p).startswith("one_arm.csv, column 'arm': 01_cohort, 03_survival, 04_cox, "
                             "05_response, 07_beyond and 07_discussion cannot run: only arm 'TKI'")


def test_no_events_in_an_arm():
    c = _shipped()
    c.loc[c["arm"] == "TKI", "os_event"] = 0
    (p,) = errors(check_book(c))
    assert p.column == "os_event" and "01_cohort, 07_beyond and 07_discussion cannot run" in p.message
    assert "monotone likelihood" in p.message


def test_single_level_covariate():
    (p,) = errors(check_book(_shipped().assign(tace=1)))
    assert p.column == "tace" and p.message.startswith("01_cohort and 04_cox cannot run")


def test_monotone_likelihood_is_an_error_where_the_chapter_stops_a_warning_where_it_runs():
    c = _shipped()
    c.loc[c["pvtt"] == 1, "os_event"] = 0
    probs = check_book(c)
    (err,) = errors(probs)
    assert err.column == "pvtt" and err.message.startswith("07_beyond and 07_discussion cannot run")
    assert "the OS adjusted treatment model has an infinite hazard ratio" in err.message
    warn = [p for p in warnings_(probs) if p.column == "pvtt"]
    assert warn and warn[0].message.startswith("04_cox:") and "stays empty" in warn[0].message
    assert ": warning: 04_cox" in str(warn[0])


def test_few_events_per_covariate_is_a_warning_naming_the_model():
    c = _shipped().iloc[::3].reset_index(drop=True)  # 31 patients
    warn = [p for p in warnings_(check_book(c)) if "adjusted treatment model" in p.message]
    assert warn and all(p.message.startswith("07_beyond and 07_discussion:") for p in warn)
    assert {p.column for p in warn} <= {"os_event", "pfs_event"}


def test_adverse_event_patients_must_be_in_the_cohort():
    import hcc

    ae = hcc.load_adverse_events()
    first = ae["patient_id"].iloc[0]  # a patient with an AE (whichever the shipped cohort has)
    ae = ae.assign(patient_id=ae["patient_id"].replace({first: "X-1"}))
    (p,) = errors(check_book(_shipped(), ae, ae_file="my_ae.csv"))
    assert str(p).startswith("my_ae.csv, column 'patient_id': 01_cohort and 06_safety cannot run")


def test_dictionary_problems_come_first(tmp_path):
    p = tmp_path / "c.csv"
    cohort().drop(columns=["arm"]).to_csv(p, index=False)
    (q,) = check_inputs(p)
    assert q.column == "arm" and "missing column" in q.message


@pytest.mark.parametrize("case", [c for c in BOOK_CASES if c.exit], ids=lambda c: c.name)
def test_book_corpus_cases_name_the_chapter_and_the_column(case, tmp_path):
    path, extra = build(case, tmp_path)
    ae = extra[1] if extra else None
    probs = errors(check_inputs(path, ae))
    assert probs and any(q.column == case.column for q in probs), probs
    assert all(q.message.split(" cannot run")[0].split(",")[0].strip()[:2].isdigit() for q in probs)


@pytest.mark.parametrize("chapter", ["07_beyond", "07_discussion"])
def test_chapter_7_still_fits_the_models_listed_here(chapter):
    nb = nbformat.read(ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)
    for cell in nb.cells:
        for node in ast.walk(ast.parse(cell.source)) if cell.cell_type == "code" else ():
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CONFOUNDERS":
                assert tuple(ast.literal_eval(node.value)) == readiness.DISCUSSION_CONFOUNDERS
                return
    raise AssertionError(f"{chapter} no longer defines CONFOUNDERS")
