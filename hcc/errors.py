"""The project's own exceptions and warnings.

Messages are written for a clinician or a student: they say what is wrong with the data
and what was expected, never how the code failed.
"""
from __future__ import annotations

from dataclasses import dataclass


class HCCError(Exception):
    """Base class of every error raised on purpose by :mod:`hcc`."""


class DataError(HCCError, ValueError):
    """Input to a statistical function is unusable (bad events, times, groups, ...)."""


class ConvergenceError(HCCError, RuntimeError):
    """A model fit did not converge."""


class BuildError(HCCError):
    """The build could not complete; the message is one line for the user."""


class ParameterError(HCCError, ValueError):
    """A notebook or build parameter has the wrong type or is out of range."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a data file: where it is and what was expected."""

    file: str
    column: str | None
    row: int | None  # 1-based data row as a spreadsheet user counts it (header = row 1 → first data row = 2)
    message: str
    #: "error" (the file cannot be used) or "warning" (usable; results to read with care).
    severity: str = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        tag = "warning: " if self.severity == "warning" else ""
        return f"{', '.join(where)}: {tag}{self.message}"


class ValidationError(HCCError):
    """A data file breaks the data dictionary. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], unreadable: bool = False):
        self.problems = list(problems)
        #: True when the file could not be read at all (CLI exit code 2 rather than 1).
        self.unreadable = unreadable
        super().__init__("\n".join(str(p) for p in self.problems))


class StatisticalWarning(RuntimeWarning):
    """A result is computable but should be read with care (e.g. few events)."""
