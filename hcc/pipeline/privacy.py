"""The one decision of what is synthetic and what must be masked (issue 13).

:func:`decide` is the only place that looks at the inputs of a build and says

* whether every input is our synthetic reconstruction (``synthetic``): the shipped cohort, a
  cohort reconstructed with another seed, or files listed by our generator's manifest;
* which inputs come from a user's own file (``user_inputs``: ``"data"``,
  ``"adverse_events"``) — a user's adverse-event file beside our cohort counts as well;
* what is therefore masked (:class:`Mask`): row-level data are hidden as soon as one input
  is a user's file, and counts ``0 < n < suppress_below`` are shown as ``"<k"``.

The pipeline (:func:`hcc.pipeline.run.run_build`) calls :func:`decide` once, injects the result as
the notebook parameter ``synthetic`` and writes it to the run log; the chapters only *read*
it (:func:`hcc.chapter.setup`). Only a notebook executed outside ``hcc build`` (papermill or
Jupyter by hand, without an injected ``synthetic``) asks :func:`decide` itself — the same
function, so the answer is the same.

Any doubt counts as a user's file (a file we cannot hash, or no manifest that lists it).

What masking covers
-------------------
With a user's file and ``suppress_below = k`` every chapter applies the chapter's mask
(:func:`hcc.chapter.setup` makes it the active one, :func:`activate`, so that a helper called
without ``mask=`` masks too):

* **Tables and CSV downloads** (:func:`hcc.chapter.suppress_small_counts`): counts 1 to k − 1
  read ``"<k"``, with the percentage and CI beside them. Complementary suppression ("*")
  until no hidden cell can be solved from what is shown: Overall = TKI + TKI-ICI in a row;
  the levels of a variable add up to the group (Table 1); sums a result declares (the
  response table: ORR = CR + PR, DCR = ORR + SD, the categories add up to the arm); regimens
  add up to their arm; items that name a level within an arm ("Sex = Male, TKI", "TKI:
  regimen REG", as the fidelity report and the comparisons list them) add up to the arm; a count whose complement in its arm is small (34 of 37), and events
  whose complement in the row's n (the patients censored) is small; then an
  exact check of all these sums together (a rank test: is a hidden cell a linear
  combination of shown ones?).
* **Across the tables of a page** (:class:`Page`): a count hidden in one table is hidden in
  every later table of the page showing the same number; a percentage of a small or hidden
  count of a group size of the page (cohort, arms) is hidden wherever it is printed.
* **Figures**: numbers at risk read ``"<k"``; no censor ticks; Kaplan–Meier curves drawn by
  :func:`km_steps` (steps that pool at least k events, each curve cut — and marked — at the
  last time with at least k patients at risk, a curve with fewer than k events not drawn);
  response bars hide what the response table hides, and as many more categories as needed
  for the hidden ones to hold k patients together (drawn as one grey segment); AE bars hide
  what the by-term table hides; the forest plot drops its n column when a subgroup is small.
  Masked pages embed figures as SVG with their text as text, so the build can be checked.
* **Text**: the sentences written from data take their counts through the same rule, with
  its complement: "used 90 of 93 patients; <5 were left out" would give 3, so it reads
  "used all but <5 of 93 patients". No row-level data, ids or dates.

Not covered (and why):

* Relations between *pages*: each chapter is its own kernel and its own ledger. A count
  hidden in chapter 2 may be printed in chapter 5 in another combination; the printed
  totals (arm sizes) are the same everywhere, so a single-page derivation is what a
  reader can do with one page.
* A number hidden in a table printed *after* a table that showed it: the ledger only sees
  earlier tables (each chapter prints its full table before comparisons of its cells).
* Bounds rather than values: two hidden cells of a sum of 9 with one of them "<5" leave the
  other between 5 and 8. Complementary suppression prevents exact disclosure, not
  interval disclosure (as in the usual cell-suppression practice).
* The per-column missing counts of a sentence ("missing ECOG (<5), missing AFP (6)") do not
  add up to the patients left out (a patient may miss both), so they are masked one by one.
* Differences of numbers at risk between two ticks (patients who left the risk set in an
  interval: events plus censorings) are not masked; nor are sums of hidden cells shown
  nowhere.
* Tables a chapter builds from literal rows in the notebook (the six-patient worked
  example of chapter 3) are not data and are not masked.

Redaction: :func:`public_params` (file parameters as bare names in the run log) and
:func:`redact_injected_cell` (papermill's injected cell folded away, or removed with file
paths cut to names for real data) are the same decision applied to what the pipeline writes.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Decision", "Mask", "Page", "decide", "decide_params", "FILE_INPUTS", "activate",
           "active", "resolve", "km_steps"]

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
    page : Page, optional
        The ledger of the page this mask serves (:func:`hcc.chapter.setup` gives the chapter's
        mask one): what earlier tables of the page hid, so that a later table does not show
        it. Not part of equality.
    """

    k: int = 0
    hide_rows: bool = False
    page: "Page | None" = field(default=None, compare=False, repr=False)

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

    def for_page(self, denominators: Mapping[str, int] | None = None,
                 parents: Mapping[str, str] | None = None) -> "Mask":
        """This mask with a fresh :class:`Page` ledger (one per chapter)."""
        return Mask(self.k, self.hide_rows, Page(self.k, denominators, parents))


class Page:
    """What one page (chapter) has hidden so far, and the group sizes it states.

    Every masked table of a chapter goes through :func:`hcc.chapter.suppress_small_counts` with
    the chapter's mask; it asks the ledger and records in it, so that

    * a count hidden by complementary suppression in one table ("*") is hidden in every
      later table of the page that shows the same number (Table 1's Male = 34 starred beside
      Female = 3 is not printed again by a comparison table further down);
    * a percentage (a cell of a column or row labelled with "%") equal to ``100 c / n`` for
      a small count ``c`` (1 to k − 1), or for a hidden count, and a group size ``n`` of the
      page is hidden too (``8.1`` beside a TKI arm of 37 is 3 patients).

    Parameters
    ----------
    k : int
        The masking threshold.
    denominators : mapping, optional
        Group → size as the page states it (``{"Overall": 93, "TKI": 37, "TKI-ICI": 56}``):
        the sizes a percentage may be taken of, and the totals a count's complement is
        taken from.
    parents : mapping, optional
        Subgroup → the group it is part of (``{"LEN": "TKI", "REG": "TKI", ...}``): rows of
        a table that are parts of one group add up to that group's count, which another
        table of the page prints (the arm's n and events), so one hidden part may not
        follow from the others.

    Notes
    -----
    Matching is by value, so it over-hides (any later 34 on the page is starred), never
    under-hides a repeated number; it only sees tables printed *after* the one that hid the
    number (the chapters print the full table before any comparison of its cells).
    """

    def __init__(self, k: int, denominators: Mapping[str, int] | None = None,
                 parents: Mapping[str, str] | None = None):
        self.k = int(k)
        self.denominators = {str(g): int(n) for g, n in dict(denominators or {}).items() if n}
        self.parents = {str(c): str(p) for c, p in dict(parents or {}).items()}
        self._hidden: dict[int, set] = {}  # count -> the tables (fingerprints) that hid it

    def record(self, values, source) -> None:
        """Counts hidden by the table *source* (a fingerprint)."""
        for v in values:
            self._hidden.setdefault(int(v), set()).add(source)

    def hidden_elsewhere(self, source) -> set[int]:
        """Counts hidden by tables of the page other than *source*."""
        return {v for v, where in self._hidden.items() if where - {source}}

    def percent_of_hidden(self, value: float, decimals: int, source=None) -> bool:
        """Is *value* (a percentage printed with *decimals* decimals) ``100 c / n`` for a
        small or hidden count *c* and a group size *n* of the page?"""
        if not math.isfinite(value) or not self.denominators:
            return False
        counts = set(range(1, self.k)) | self.hidden_elsewhere(source)
        tol = 0.5 * 10 ** -min(decimals, 6) + 1e-9
        return any(abs(value - 100 * c / n) <= tol for n in set(self.denominators.values())
                   for c in counts if c < n)


# --------------------------------------------------------------------------- the chapter's mask
_ACTIVE: list = [None]


def activate(mask: "Mask | None") -> None:
    """Make *mask* the chapter's mask (:func:`hcc.chapter.setup` does it once per notebook).

    Helpers called without a mask (``hcc.response_bars(result)``, ``show_table(t, "name")``)
    then apply it: a chapter cannot forget to mask a figure. ``activate(None)`` clears it.
    """
    if mask is not None and not isinstance(mask, Mask):
        from hcc.errors import ParameterError

        raise ParameterError(f"mask must be an hcc.pipeline.privacy.Mask, not {type(mask).__name__}")
    _ACTIVE[0] = mask


def active() -> "Mask | None":
    """The chapter's mask set by :func:`activate` (None outside a chapter)."""
    return _ACTIVE[0]


def resolve(mask: "Mask | None") -> Mask:
    """*mask* when given, else the chapter's mask, else a mask that hides nothing."""
    if mask is not None:
        if not isinstance(mask, Mask):
            from hcc.errors import ParameterError

            raise ParameterError(f"mask must be an hcc.pipeline.privacy.Mask, not {type(mask).__name__}")
        return mask
    return _ACTIVE[0] if _ACTIVE[0] is not None else Mask()


# --------------------------------------------------------------------------- survival figures
def km_steps(time, n_risk, n_event, surv, lower=None, upper=None, k: int = 0) -> dict:
    """A Kaplan–Meier curve as a masked figure draws it: steps of at least *k* events, cut
    where fewer than *k* patients remain at risk.

    Parameters
    ----------
    time, n_risk, n_event, surv : array-like
        The curve (``KMResult.curves[g]``): distinct times, patients at risk just before each
        time, events at it, and S(t) after it.
    lower, upper : array-like, optional
        The pointwise confidence band, coarsened the same way.
    k : int
        The masking threshold (``Mask.k``); ``k <= 1`` returns the curve as it is.

    Returns
    -------
    dict
        ``time``, ``surv`` (and ``lower``, ``upper``) starting at (0, 1), ready for
        ``ax.step(time, surv, where="post")`` (empty when the curve cannot be drawn);
        ``end`` the time the drawn curve stops (None when it runs to the last time);
        ``pooled`` the events in each drawn step.

    Notes
    -----
    Why: on a step of height ``S(t-) d / n`` a reader with the numbers at risk recovers the
    ``d`` events at that time, and the last steps of a curve (``n`` of 1 to 4 at risk) show a
    handful of patients one by one. The rule, applied per curve:

    1. **Truncation.** The curve is drawn only up to the last time at which at least *k*
       patients are at risk (n_risk ≥ k); the figure marks the end. Beyond it every step
       would describe fewer than *k* patients.
    2. **Pooled steps.** Event times before the cut are pooled in order into runs of at
       least *k* events (the remainder joins the last run); the curve holds its value over
       a run and drops once, at the run's last event time, to the Kaplan–Meier estimate
       there (the value it has at that time, not an approximation). So every visible drop
       is the product of at least *k* events, and no single time's count shows. A curve
       with fewer than *k* events before the cut is not drawn at all (empty arrays; a flat
       line would claim that nobody had an event).

    The estimates themselves (medians, CIs, the table) are not changed: only what the
    figure draws. This is a coarsening, as in statistical disclosure control of tables
    (cells combined until each holds at least *k*); its cost is a curve that falls later
    than the estimate within each run of events.
    """
    import numpy as np

    t = np.asarray(time, dtype=float)
    nr = np.asarray(n_risk, dtype=float)
    d = np.asarray(n_event, dtype=float)
    s = np.asarray(surv, dtype=float)
    bands = {"lower": lower, "upper": upper}
    bands = {name: np.asarray(v, dtype=float) for name, v in bands.items() if v is not None}
    if int(k) <= 1 or t.size == 0:
        out = {"time": np.r_[0.0, t], "surv": np.r_[1.0, s], "end": None, "pooled": d[d > 0].astype(int)}
        out.update({name: np.r_[1.0, v] for name, v in bands.items()})
        return out
    k = int(k)
    keep = nr >= k
    cut = int(np.flatnonzero(keep).max()) + 1 if keep.any() else 0  # rows drawn: [0, cut)
    end = float(t[cut - 1]) if cut else 0.0
    truncated = cut < t.size
    ends, pooled, run = [], [], 0
    for i in np.flatnonzero(d[:cut] > 0):
        run += int(d[i])
        if run >= k:
            ends.append(i)
            pooled.append(run)
            run = 0
    if run and ends:  # the remainder joins the last run
        last_event = int(np.flatnonzero(d[:cut] > 0).max())
        ends[-1] = last_event
        pooled[-1] += run
    if not ends:  # fewer than k events before the cut: no step can be shown
        out = {"time": np.array([]), "surv": np.array([]), "end": end, "pooled": np.array([], dtype=int)}
        out.update({name: np.array([]) for name in bands})
        return out
    times = [0.0] + [float(t[i]) for i in ends]
    out = {"time": np.array(times + [end]),
           "surv": np.array([1.0] + [float(s[i]) for i in ends] + [float(s[ends[-1]])]),
           "end": end if truncated else None, "pooled": np.array(pooled, dtype=int)}
    for name, v in bands.items():
        vals = [1.0] + [float(v[i]) for i in ends]
        out[name] = np.array(vals + [vals[-1]])
    return out


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
            k = self.suppress_below
            text += (f", and every count from 1 to {k - 1} in tables, CSV downloads, numbers at "
                     f"risk, figures and text is shown as \"<{k}\" (with further cells hidden as "
                     "\"*\" where a total, a percentage or another table of the page would "
                     "reveal it). In the figures, Kaplan–Meier curves have no censor marks, each "
                     f"drawn step pools at least {k} events and a curve stops (open circle) where "
                     f"fewer than {k} patients remain at risk, because a step of one event over "
                     "a few patients at risk shows their count; response and adverse-event "
                     "bars hide what their tables hide")
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
        from hcc.cohort.load import is_shipped_cohort

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
        :func:`hcc.pipeline.inputs.adverse_events_path`).
    seed : int, optional
        Unused for the decision (a reconstruction with any seed is synthetic); accepted so
        that the notebook parameters can be passed as they are.
    suppress_below : int
        Masking threshold asked for.

    Returns
    -------
    Decision
    """
    from hcc.pipeline.inputs import adverse_events_path

    k = _threshold(suppress_below)
    user = []
    if _given(data) and not _is_ours(Path(data)):
        user.append("data")
    ae = adverse_events_path(data, seed, adverse_events) if (_given(data) or _given(adverse_events)) else None
    if ae is not None and not _is_ours(Path(ae)):
        user.append("adverse_events")
    return Decision(synthetic=not user, suppress_below=k, user_inputs=tuple(user))


def decide_params(params: Mapping[str, Any]) -> Decision:
    """:func:`decide` on a dict of notebook parameters (as :func:`hcc.pipeline.params.load_params`)."""
    return decide(params.get("data"), params.get("adverse_events"), params.get("seed"),
                  params.get("suppress_below") or 0)


# --------------------------------------------------------------------------- redaction
def public_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as the run log shows them: file parameters as bare file names (a full
    path could reveal a user name or an institution)."""
    return {k: (Path(v).name if k in ("data", "adverse_events") and v else v)
            for k, v in params.items()}


def redact_injected_cell(path: Path, parameters: dict[str, Any]) -> None:
    """Fold away papermill's injected-parameters cell on the site; for real data, remove it
    and redact file paths to bare file names.

    For a user's own cohort the injected values include the path of their data file, which
    may name a hospital or a person: neither the rendered page nor the downloadable
    notebook may show it (privacy mode).
    """
    import nbformat

    synthetic = bool(parameters.get("synthetic", False))
    paths = {v: Path(v).name for v in parameters.values()
             if isinstance(v, str) and os.sep in v}
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.get("metadata", {}).setdefault("tags", [])
        if "injected-parameters" not in tags:
            continue
        want = "hide-input" if synthetic else "remove-cell"
        if want not in tags:
            tags.append(want)
            changed = True
        if not synthetic:
            for full, name in paths.items():
                if full in cell.source:
                    cell.source = cell.source.replace(full, name)
                    changed = True
    # papermill's metadata records absolute paths and the raw parameter values
    pm_meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if isinstance(pm_meta.get(key), str):
            pm_meta[key] = Path(pm_meta[key]).name
            changed = True
    if not synthetic:
        for key, value in list(pm_meta.get("parameters", {}).items()):
            if isinstance(value, str) and value in paths:
                pm_meta["parameters"][key] = paths[value]
                changed = True
    if changed:
        tmp = path.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
