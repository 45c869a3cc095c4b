"""Tests of hcc.pipeline.params: defaults, overrides, validation and injection safety.

Reference: the documented defaults and ranges in params.yml (hcc.paths.PARAMS_FILE) and
the contract in ARCHITECTURE.md; the injection checks use Python's own parser
(ast.literal_eval) as the reference of what a literal is.
"""
from __future__ import annotations

import ast

import pytest
import yaml

from hcc.errors import ParameterError
from hcc.pipeline.params import KNOWN_PARAMETERS, check_injectable, injection_source, load_params
from hcc.paths import PARAMS_FILE

HOSTILE = [
    '"); import os; os.system("x"); ("',
    "'); import os; os.system('x'); ('",
    'x"\nimport os\nos.system("x")\n"',
    "\\",
    'abc\\"); os.system("x"); #',
    "{__import__('os').system('x')}",
    "<script>alert(1)</script>",
]


def _problems(**kw) -> list[str]:
    with pytest.raises(ParameterError) as info:
        load_params(**kw)
    return str(info.value).splitlines()


def test_defaults_equal_params_yml():
    # reference: params.yml itself, read with yaml
    documented = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))
    params = load_params()
    assert list(params) == list(KNOWN_PARAMETERS)
    assert params == documented
    assert set(documented) == set(KNOWN_PARAMETERS)


def test_overrides_are_read_as_yaml_scalars():
    params = load_params({"seed": "7", "threshold": "0.2", "conf_type": "log-log",
                          "ties": "breslow", "alpha": ".1", "suppress_below": "5"})
    assert params["seed"] == 7 and type(params["seed"]) is int
    assert params["threshold"] == 0.2 and type(params["threshold"]) is float
    assert params["conf_type"] == "log-log" and params["ties"] == "breslow"
    assert params["alpha"] == 0.1 and params["suppress_below"] == 5


def test_overrides_as_name_value_strings():
    assert load_params(["seed=11", "threshold=1"])["threshold"] == 1.0
    assert load_params(["seed=11"])["seed"] == 11


def test_null_data_and_user_file(tmp_path, monkeypatch):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("patient_id\nX\n")
    monkeypatch.chdir(tmp_path)
    assert load_params({"data": "null"})["data"] is None
    got = load_params({"data": "cohort.csv"})["data"]
    assert got == str(cohort.resolve())


def test_yaml_file_layer_and_relative_paths(tmp_path):
    sub = tmp_path / "site"
    sub.mkdir()
    (sub / "my.csv").write_text("a\n1\n")
    user = sub / "params.yaml"
    user.write_text("seed: 3\ndata: my.csv\nties: breslow\n")
    params = load_params(file=user)
    assert params["seed"] == 3 and params["ties"] == "breslow"
    assert params["data"] == str((sub / "my.csv").resolve())
    # overrides win over the file
    assert load_params({"seed": "4"}, file=user)["seed"] == 4


@pytest.mark.parametrize("name, value, expected_words", [
    ("seed", "-1", "0 to 4294967295"),
    ("seed", str(2**32), "0 to 4294967295"),
    ("seed", "1.5", "whole number"),
    ("seed", "true", "whole number"),
    ("seed", "abc", "whole number"),
    ("conf_type", "loglog", "'log', 'log-log', 'plain'"),
    ("ties", "exact", "'efron', 'breslow'"),
    ("threshold", "0", "(0, 1]"),
    ("threshold", "1.01", "(0, 1]"),
    ("threshold", ".nan", "(0, 1]"),
    ("alpha", "0.5", "(0, 0.5)"),
    ("alpha", "0", "(0, 0.5)"),
    ("alpha", "[0.05]", "(0, 0.5)"),
    ("suppress_below", "101", "0 to 100"),
    ("suppress_below", "-3", "0 to 100"),
    ("data", "/no/such/file.csv", "file not found"),
    ("adverse_events", "/no/such/ae.csv", "file not found"),
])
def test_each_bad_value_is_named(name, value, expected_words):
    lines = _problems(overrides={name: value})
    assert len(lines) == 1
    assert lines[0].startswith(f"parameter '{name}'")
    assert expected_words in lines[0]


def test_directory_is_not_a_data_file(tmp_path):
    (line,) = _problems(overrides={"data": str(tmp_path)})
    assert "not a file" in line


def test_every_problem_listed_at_once():
    lines = _problems(overrides={"seed": "x", "alpha": "2", "colour": "red", "ties": "none"})
    assert len(lines) == 4
    unknown = [ln for ln in lines if "unknown parameter" in ln]
    assert len(unknown) == 1 and "'colour'" in unknown[0]
    for known in KNOWN_PARAMETERS:  # the message lists the known names
        assert known in unknown[0]


def test_synthetic_flag_cannot_be_set_by_user():
    # the privacy switch is decided by the build from the data, never by a parameter
    (line,) = _problems(overrides={"synthetic": "true"})
    assert "unknown parameter 'synthetic'" in line


def test_unreadable_or_malformed_parameter_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n")
    (line,) = _problems(file=bad)
    assert "not valid YAML" in line
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    (line,) = _problems(file=listing)
    assert "NAME: VALUE" in line
    (line,) = _problems(file=tmp_path / "missing.yaml")
    assert "cannot be read" in line


def test_override_without_equals_sign():
    (line,) = _problems(overrides=["seed"])
    assert "NAME=VALUE" in line


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_in_choice_parameters_are_rejected(hostile):
    lines = _problems(overrides={"conf_type": hostile})
    assert any(ln.startswith("parameter 'conf_type'") for ln in lines)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_as_data_path_are_rejected(hostile):
    # not an existing file (or contains a line break): rejected before any notebook runs
    lines = _problems(overrides={"data": hostile})
    assert lines[0].startswith("parameter 'data'")


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if "/" not in h and "\n" not in h])
def test_hostile_file_name_that_exists_is_injected_as_inert_text(tmp_path, hostile):
    # a file whose name is hostile can be a legitimate path: it must reach the notebook as
    # text, never as code. Reference: ast.literal_eval reads back the exact string.
    path = tmp_path / hostile
    path.write_text("x\n")
    params = load_params({"data": str(path)})
    source = injection_source(params)
    tree = ast.parse(source)
    assert all(isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
               for node in tree.body)
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}
    assert values["data"] == str(path.resolve())


def test_papermill_translation_of_hostile_string_is_checked():
    # papermill writes the parameters cell; our check refuses any source whose assignments
    # are not plain constants equal to the values (reference: ast)
    params = {"data": '"); import os; os.system("x"); ("'}
    forged = 'data = ""); import os; os.system("x"); (""\n'
    with pytest.raises(ParameterError):
        check_injectable(params, forged)
    check_injectable(params, f"data = {params['data']!r}\n")


def test_papermill_translator_used_by_the_build_is_safe():
    # the worker registers a translator that writes repr(); reference: ast.literal_eval
    pytest.importorskip("papermill")
    from papermill.translators import papermill_translators

    from hcc.pipeline.workers import _install_safe_translator

    _install_safe_translator()
    translator = papermill_translators.find_translator("python3", "python")
    params = {"data": HOSTILE[0], "other": "a\\b\"c'\n", "seed": 3, "alpha": 0.05,
              "synthetic": False, "adverse_events": None}
    source = translator.codify(params)
    tree = ast.parse(source)
    got = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body}
    assert got == params


@pytest.mark.parametrize("value", [[1], {"a": 1}, float("inf"), object(), b"bytes"])
def test_only_plain_values_can_be_injected(value):
    with pytest.raises(ParameterError):
        check_injectable({"data": value})


def test_bad_parameter_names_cannot_be_injected():
    with pytest.raises(ParameterError):
        check_injectable({"os.system('x')": 1})
    with pytest.raises(ParameterError):
        check_injectable({"_private": 1})
