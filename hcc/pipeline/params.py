"""Notebook parameters: documented defaults, user overrides, validation.

The defaults and their documentation live in ``params.yml`` at the top of the repository
(:data:`hcc.paths.PARAMS_FILE`). A user may override them with a YAML file
(``hcc build --params FILE.yaml``) and with ``NAME=VALUE`` pairs (``hcc build -p seed=7``).
Every value is checked by type and range *before* any notebook runs, because papermill
writes the values into the notebooks as Python source: only plain values (None, bool, int,
float, str) that survive a round trip through :func:`ast.literal_eval` may pass.
"""
from __future__ import annotations

import ast
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Callable

from hcc.errors import ParameterError
from hcc.paths import PARAMS_FILE

__all__ = ["load_params", "KNOWN_PARAMETERS", "CHAPTER_PARAMETERS", "injection_source", "check_injectable"]

_SEED_MAX = 2**32 - 1


# --------------------------------------------------------------------------------------
# validators: each returns (clean value, problem message or None)
# --------------------------------------------------------------------------------------
def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain_text_problem(text: str) -> str | None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "contains a line break or control character"
    return None


def _file_param(what: str) -> Callable[[Any, Path | None], tuple[Any, str | None]]:
    def check(value: Any, base: Path | None) -> tuple[Any, str | None]:
        if value is None:
            return None, None
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or value.strip() == "":
            return value, f"expected null or the path of an existing {what} file, got {_show(value)}"
        bad = _plain_text_problem(value)
        if bad:
            return value, f"the file path {bad}"
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.exists():
            return value, f"file not found: {value}"
        if not path.is_file():
            return value, f"not a file: {value}"
        if not os.access(path, os.R_OK):
            return value, f"file is not readable: {value}"
        return str(path.resolve()), None
    return check


def _int_param(lo: int, hi: int) -> Callable[[Any, Path | None], tuple[Any, str | None]]:
    def check(value: Any, base: Path | None) -> tuple[Any, str | None]:
        if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return value, f"expected a whole number from {lo} to {hi}, got {_show(value)}"
        if not lo <= value <= hi:
            return value, f"expected a whole number from {lo} to {hi}, got {value}"
        return int(value), None
    return check


def _float_param(lo: float, hi: float, lo_open: bool, hi_open: bool):
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    wanted = f"a number in {left}{lo:g}, {hi:g}{right}"

    def check(value: Any, base: Path | None) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, f"expected {wanted}, got {_show(value)}"
        value = float(value)
        if not math.isfinite(value):
            return value, f"expected {wanted}, got {value}"
        too_low = value <= lo if lo_open else value < lo
        too_high = value >= hi if hi_open else value > hi
        if too_low or too_high:
            return value, f"expected {wanted}, got {value:g}"
        return value, None
    return check


def _choice_param(choices: tuple[str, ...]):
    def check(value: Any, base: Path | None) -> tuple[Any, str | None]:
        if not isinstance(value, str) or value not in choices:
            return value, f"expected one of {', '.join(repr(c) for c in choices)}, got {_show(value)}"
        return value, None
    return check


def _optional(check):
    def opt(value: Any, base: Path | None) -> tuple[Any, str | None]:
        if value is None:
            return None, None
        value, problem = check(value, base)
        return value, (problem + " or null" if problem else None)
    return opt


#: name -> (validator, one-line description). The defaults are in params.yml.
KNOWN_PARAMETERS: dict[str, tuple[Callable, str]] = {
    "data": (_file_param("cohort"), "cohort file (CSV/XLSX/Parquet) or null for the shipped cohort"),
    "adverse_events": (_file_param("adverse-event"), "adverse-event file or null"),
    "seed": (_int_param(0, _SEED_MAX), "seed of the reconstruction"),
    "conf_type": (_choice_param(("log", "log-log", "plain")), "Kaplan-Meier median CI type"),
    "ties": (_choice_param(("efron", "breslow")), "Cox ties method"),
    "threshold": (_float_param(0.0, 1.0, True, False), "univariate P threshold for the multivariate model"),
    "alpha": (_float_param(0.0, 0.5, True, True), "two-sided significance level"),
    "suppress_below": (_int_param(0, 100), "small-cell suppression k (0 = off)"),
    # chapter "Beyond the paper" (notebooks/07_beyond.ipynb); see CHAPTER_PARAMETERS
    "landmark_months": (_float_param(0.0, 24.0, True, False), "landmark time of the response analysis (months)"),
    "rmst_tau_os": (_optional(_float_param(0.0, 120.0, True, False)), "RMST horizon for OS (months; null = default rule)"),
    "rmst_tau_pfs": (_optional(_float_param(0.0, 120.0, True, False)), "RMST horizon for PFS (months; null = default rule)"),
}

#: Parameters read by one chapter only: notebook -> names.  Its parameters cell defines
#: them after the shared ones; the other chapters do not (papermill injects them anyway,
#: harmlessly: hcc build silences papermill's "unknown parameter" note).
CHAPTER_PARAMETERS: dict[str, tuple[str, ...]] = {
    "07_beyond": ("landmark_months", "rmst_tau_os", "rmst_tau_pfs"),
}


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def _read_yaml_mapping(path: Path, problems: list[str], label: str) -> dict[str, Any]:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{label} {path}: cannot be read ({exc.strerror or exc})")
        return {}
    except UnicodeDecodeError:
        problems.append(f"{label} {path}: is not UTF-8 text")
        return {}
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problems.append(f"{label} {path}: is not valid YAML{where}")
        return {}
    if content is None:
        return {}
    if not isinstance(content, dict):
        problems.append(f"{label} {path}: expected NAME: VALUE lines, found a {type(content).__name__}")
        return {}
    return content


def _parse_scalar(text: str) -> tuple[Any, str | None]:
    """Parse a command-line value as a YAML scalar (``7`` -> 7, ``null`` -> None)."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, "could not be read as a value"
    if isinstance(value, (dict, list)):
        # "a: b" or "[1]" given on the command line is not a scalar: keep the raw text so that
        # the validator reports it with the user's own spelling
        return text, None
    if value is None and text.strip() not in _NULL_WORDS:
        return text, None
    if text.strip() in ("none", "None"):
        value = None
    return value, None


_NULL_WORDS = ("", "null", "Null", "NULL", "~", "none", "None")
_FILE_PARAMETERS = ("data", "adverse_events")


def _normalise_overrides(overrides: Mapping[str, Any] | Iterable[str] | None,
                         problems: list[str]) -> dict[str, Any]:
    if overrides is None:
        return {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(overrides, Mapping):
        pairs = list(overrides.items())
    else:
        for item in overrides:
            if not isinstance(item, str) or "=" not in item:
                problems.append(f"override {_show(item)}: expected NAME=VALUE")
                continue
            name, _, raw = item.partition("=")
            pairs.append((name.strip(), raw))
    out: dict[str, Any] = {}
    for name, raw in pairs:
        if isinstance(raw, str) and name in _FILE_PARAMETERS:
            # a path is taken verbatim (YAML would cut "a #b.csv" at the comment sign)
            out[str(name)] = None if raw.strip() in _NULL_WORDS else raw
            continue
        if isinstance(raw, str):
            value, problem = _parse_scalar(raw)
            if problem:
                problems.append(f"parameter '{name}': {_show(raw)} {problem}")
                continue
        else:
            value = raw
        out[str(name)] = value
    return out


def _unknown(name: Any) -> str:
    known = ", ".join(KNOWN_PARAMETERS)
    return f"unknown parameter {_show(name) if not isinstance(name, str) else repr(name)} (known: {known})"


def load_params(overrides: Mapping[str, Any] | Iterable[str] | None = None,
                file: str | os.PathLike | None = None,
                *, defaults: str | os.PathLike = PARAMS_FILE) -> dict[str, Any]:
    """Read the notebook parameters: defaults, then a user YAML file, then overrides.

    Parameters
    ----------
    overrides : mapping or iterable of str, optional
        ``{"seed": "7"}`` or ``["seed=7"]``. String values are read as YAML scalars
        (``7`` is a number, ``null`` is None, ``log-log`` is text); other values are
        taken as they are. Applied last.
    file : path, optional
        A YAML file of ``NAME: VALUE`` lines (a subset of the names in ``params.yml``).
        Relative file paths in it (``data``, ``adverse_events``) are read relative to the
        folder of this file; relative paths given as overrides are read relative to the
        current directory.
    defaults : path, optional
        The documented defaults (``params.yml`` at the top of the repository).

    Returns
    -------
    dict
        ``{name: value}`` for every known parameter, in the order of ``params.yml``; file
        paths are absolute; every value is None, bool, int, float or str.

    Raises
    ------
    ParameterError
        Listing every problem, one per line (unknown names, wrong types, out-of-range
        values, missing files). Nothing is run before the parameters are valid.

    Notes
    -----
    Ranges: ``seed`` 0..2**32-1; ``conf_type`` in {"log", "log-log", "plain"} (R
    ``survfit`` ``conf.type``); ``ties`` in {"efron", "breslow"} (R ``coxph``);
    ``threshold`` in (0, 1]; ``alpha`` in (0, 0.5); ``suppress_below`` 0..100.
    """
    problems: list[str] = []
    defaults_path = Path(defaults)
    layers: list[tuple[dict[str, Any], Path | None, str]] = []

    base = _read_yaml_mapping(defaults_path, problems, "defaults file")
    layers.append((base, defaults_path.resolve().parent, f"{defaults_path.name}"))
    for name in KNOWN_PARAMETERS:
        if not problems and name not in base:
            problems.append(f"defaults file {defaults_path}: parameter '{name}' has no default")
    if file is not None:
        user_path = Path(file).expanduser()
        user = _read_yaml_mapping(user_path, problems, "parameter file")
        layers.append((user, user_path.resolve().parent, str(user_path)))
    layers.append((_normalise_overrides(overrides, problems), Path.cwd(), "-p"))

    merged: dict[str, tuple[Any, Path | None]] = {}
    for mapping, folder, label in layers:
        for name, value in mapping.items():
            if name not in KNOWN_PARAMETERS:
                where = "" if label == "-p" else f"{label}: "
                problems.append(where + _unknown(name))
                continue
            merged[name] = (value, folder)

    result: dict[str, Any] = {}
    for name, (check, _doc) in KNOWN_PARAMETERS.items():
        if name not in merged:
            continue
        raw, folder = merged[name]
        value, problem = check(raw, folder)
        if problem:
            problems.append(f"parameter '{name}': {problem}")
        else:
            result[name] = value

    if problems:
        err = ParameterError("\n".join(problems))
        err.problems = problems  # type: ignore[attr-defined]
        raise err
    check_injectable(result)
    return result


# --------------------------------------------------------------------------------------
# injection safety
# --------------------------------------------------------------------------------------
_PLAIN = (type(None), bool, int, float, str)


def _literal(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(f"value {value!r} cannot be passed to a notebook")
        return repr(value)
    return repr(value)


def injection_source(params: Mapping[str, Any]) -> str:
    """The Python source of the injected-parameters cell: one ``name = literal`` per line.

    Strings are written with :func:`repr`, which escapes quotes, backslashes and line
    breaks; the result is checked by :func:`check_injectable`.
    """
    check_injectable(params)
    lines = ["# Parameters"]
    lines += [f"{name} = {_literal(value)}" for name, value in params.items()]
    return "\n".join(lines) + "\n"


def check_injectable(params: Mapping[str, Any], source: str | None = None) -> None:
    """Raise ParameterError unless *params* can be written as inert Python literals.

    Every name must be an identifier, every value None/bool/int/float/str, and the source
    (given, or made by :func:`injection_source`) must parse into plain assignments of
    constants equal to the values: a string can never become code.
    """
    for name, value in params.items():
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ParameterError(f"parameter name {_show(name)} is not allowed")
        if type(value) not in _PLAIN:
            raise ParameterError(f"parameter '{name}': only plain values (text, numbers, "
                                 f"true/false, null) can be passed, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"parameter '{name}': {value} cannot be passed to a notebook")
    if source is None:
        source = "\n".join(f"{n} = {_literal(v)}" for n, v in params.items())
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError("the parameters cannot be written safely into a notebook") from exc
    seen: dict[str, Any] = {}
    for node in tree.body:
        ok = (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant))
        if not ok:
            raise ParameterError("the parameters cannot be written safely into a notebook "
                                 f"(line {node.lineno} is not a plain assignment)")
        seen[node.targets[0].id] = node.value.value
    if set(seen) != set(params) or any(
            type(seen[n]) is not type(v) or seen[n] != v for n, v in params.items()):
        raise ParameterError("the parameters cannot be written safely into a notebook "
                             "(they do not read back unchanged)")
