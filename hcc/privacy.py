"""The one decision of what is synthetic and what must be masked (issue 13).

:func:`decide` is the only place that looks at the inputs of a build and says

* whether every input is our synthetic reconstruction (``synthetic``): the shipped cohort, a
  cohort reconstructed with another seed, or files listed by our generator's manifest;
* which inputs come from a user's own file (``user_inputs``: ``"data"``,
  ``"adverse_events"``) — a user's adverse-event file beside our cohort counts as well;
* what is therefore masked (:class:`Mask`): row-level data are hidden as soon as one input
  is a user's file, and counts ``0 < n < suppress_below`` are shown as ``"<k"``.

The pipeline (:func:`hcc.build.run_build`) calls :func:`decide` once, injects the result as
the notebook parameter ``synthetic`` and writes it to the run log; the chapters only *read*
it (:func:`hcc.book.setup`). Only a notebook executed outside ``hcc build`` (papermill or
Jupyter by hand, without an injected ``synthetic``) asks :func:`decide` itself — the same
function, so the answer is the same.

Any doubt counts as a user's file (a file we cannot hash, or no manifest that lists it).

This module is the flat ``hcc/privacy.py`` for now; issue 14's layout moves it to
``hcc/pipeline/privacy.py``.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Decision", "Mask", "decide", "decide_params", "FILE_INPUTS"]

#: The parameters that name input files.
FILE_INPUTS = ("data", "adverse_events")


def _threshold(k: Any) -> int:
    from hcc.errors import ParameterError

    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
        raise ParameterError(f"suppress_below must be a whole number of 0 or more, not {k!r}")
    return int(k)


@dataclass(frozen=True)
class Mask:
    """What a chapter hides. Made by :meth:`Decision.mask` (or :meth:`from_flags`).

    Attributes
    ----------
    k : int
        Counts ``0 < n < k`` are shown as ``"<k"``; 0 (or 1) masks no count.
    hide_rows : bool
        Row-level data (ids, dates, rows) are never shown: True for any user's file.
    """

    k: int = 0
    hide_rows: bool = False

    @classmethod
    def from_flags(cls, suppress_below: int = 0, synthetic: bool = True) -> "Mask":
        """The mask of the older keyword pair ``suppress_below=..., synthetic=...``."""
        k = _threshold(suppress_below)
        return cls(k=0 if synthetic else k, hide_rows=not synthetic)

    @property
    def active(self) -> bool:
        """Whether counts are masked at all."""
        return self.k > 1

    def is_small(self, n) -> bool:
        """Is the whole number *n* a count that must be masked?"""
        try:
            v = float(n)
        except (TypeError, ValueError):
            return False
        return self.active and v == v and v.is_integer() and 0 < v < self.k

    def count(self, n) -> str:
        """A count as printed: ``"<k"`` when masked, else the whole number."""
        return f"<{self.k}" if self.is_small(n) else str(int(n))

    @property
    def note(self) -> str:
        """The sentence under a masked table or figure."""
        return f"Counts from 1 to {self.k - 1} are shown as \"<{self.k}\"." if self.active else ""


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`.

    Attributes
    ----------
    synthetic : bool
        True only when every input is our synthetic reconstruction.
    suppress_below : int
        The threshold asked for (``-p suppress_below=K``).
    user_inputs : tuple of str
        The inputs that come from a user's file (``"data"``, ``"adverse_events"``).
    """

    synthetic: bool
    suppress_below: int = 0
    user_inputs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def mask(self) -> Mask:
        return Mask.from_flags(self.suppress_below, self.synthetic)

    @property
    def reason(self) -> str:
        """One sentence for the reproducibility page: what is masked, and why."""
        if self.synthetic:
            return ("Every input is the synthetic reconstruction: nothing is masked (no patient "
                    "is real).")
        names = {"data": "the cohort", "adverse_events": "the adverse-event file"}
        which = " and ".join(names[u] for u in self.user_inputs) or "an input"
        text = (f"{which[0].upper()}{which[1:]} came from your own file, so every page is in "
                "privacy mode: no patient ids, dates or rows are shown")
        if self.mask.active:
            text += (f", and every count from 1 to {self.suppress_below - 1} in tables, CSV "
                     f"downloads, numbers at risk, figures and text is shown as "
                     f"\"<{self.suppress_below}\" (with further cells masked where a total "
                     "would reveal it)")
        else:
            text += "; counts are not masked (suppress_below is 0)"
        return text + "."

    def as_record(self) -> dict[str, Any]:
        """For the run log (``masking``)."""
        return {"synthetic": self.synthetic, "suppress_below": self.suppress_below,
                "user_inputs": list(self.user_inputs), "masked_below": self.mask.k,
                "reason": self.reason}


def _is_ours(path: Path) -> bool:
    try:
        from hcc.data import is_shipped_cohort

        return bool(is_shipped_cohort(path))
    except Exception:  # noqa: BLE001 - any doubt: a user's file
        return False


def _given(value) -> bool:
    return value is not None and str(value).strip() != ""


def decide(data=None, adverse_events=None, seed=None, suppress_below: int = 0) -> Decision:
    """What is synthetic and what must be masked, for these inputs.

    Parameters
    ----------
    data, adverse_events : path, optional
        The cohort and adverse-event files (None: ours). Without *adverse_events*, the
        adverse-event file the chapters would read is judged instead (an
        ``adverse_events.csv`` beside a given *data* file; see
        :func:`hcc.data.adverse_events_path`).
    seed : int, optional
        Unused for the decision (a reconstruction with any seed is synthetic); accepted so
        that the notebook parameters can be passed as they are.
    suppress_below : int
        Masking threshold asked for.

    Returns
    -------
    Decision
    """
    from hcc.data import adverse_events_path

    k = _threshold(suppress_below)
    user = []
    if _given(data) and not _is_ours(Path(data)):
        user.append("data")
    ae = adverse_events_path(data, seed, adverse_events) if (_given(data) or _given(adverse_events)) else None
    if ae is not None and not _is_ours(Path(ae)):
        user.append("adverse_events")
    return Decision(synthetic=not user, suppress_below=k, user_inputs=tuple(user))


def decide_params(params: Mapping[str, Any]) -> Decision:
    """:func:`decide` on a dict of notebook parameters (as :func:`hcc.params.load_params`)."""
    return decide(params.get("data"), params.get("adverse_events"), params.get("seed"),
                  params.get("suppress_below") or 0)
