"""Shared behaviour of result objects: ``summary``, ``_repr_html_`` (of ``_display()`` and
``_display_notes()``), ``to_csv``."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from hcc._format import format_float, format_p


def escape_frame_html(df: pd.DataFrame, caption: str | None = None) -> str:
    """Render a DataFrame as HTML with every label and value escaped.

    Values from a user's data may contain markup (``<script>``): pandas' ``escape=True``
    escapes cell values, index and column labels; the caption is escaped here.
    """
    formatters = {}
    for col in df.columns:
        name = str(col[-1] if isinstance(col, tuple) else col)
        if _is_p_column(name) and pd.api.types.is_float_dtype(df[col]):
            formatters[col] = format_p
        elif pd.api.types.is_float_dtype(df[col]):
            formatters[col] = format_float
    body = df.to_html(escape=True, na_rep="", border=0, classes="hcc-table",
                      formatters=formatters or None)
    if caption:
        body = f"<p class='hcc-caption'><strong>{html.escape(caption)}</strong></p>\n" + body
    return body


def notes_html(notes) -> str:
    """Each note as an escaped ``<p class='hcc-note'>``."""
    return "".join(f"<p class='hcc-note'>{html.escape(n)}</p>" for n in notes)


def _is_p_column(name: str) -> bool:
    low = name.strip().lower()
    return low in ("p", "p_interaction", "p interaction") or low.endswith("_p") \
        or low.endswith(" p") or low.startswith("p ") or low.startswith("p_")


class Result:
    """Base class: subclasses define ``summary`` (a DataFrame) and may define ``title``/``notes``."""

    title: str = ""
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> pd.DataFrame:
        """A copy of the result's table (``self._table``); results without one define it."""
        return self._table.copy()

    def _display(self) -> pd.DataFrame:
        """The frame ``_repr_html_`` shows: ``summary`` unless a result formats it for reading."""
        return self.summary

    def _display_notes(self) -> tuple[str, ...]:
        """The notes under the HTML table: ``notes`` unless a result adds its own."""
        return tuple(self.notes)

    def _repr_html_(self) -> str:
        return escape_frame_html(self._display(), caption=self.title or None) + notes_html(self._display_notes())

    def __repr__(self) -> str:
        head = f"<{type(self).__name__}>" + (f" {self.title}" if self.title else "")
        return head + "\n" + self.summary.to_string()

    def to_csv(self, path: str | Path | None = None, **kwargs) -> str | None:
        """Write ``summary`` as CSV to *path*, or return the CSV text when *path* is None."""
        return self.summary.to_csv(path, **kwargs)
