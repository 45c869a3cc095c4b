"""Missing values per column (:func:`missing_report`): what each analysis may leave out."""
from __future__ import annotations

import pandas as pd

from hcc._results import Result
from hcc.errors import DataError


class MissingResult(Result):
    """Missing values per column (:func:`missing_report`)."""

    title = "Missing values per column"

    def __init__(self, table: pd.DataFrame, n: int, complete: int):
        self._table = table
        #: number of rows
        self.n = n
        #: rows with no missing value in any column
        self.complete = complete

    @property
    def summary(self) -> pd.DataFrame:
        return self._table

    @property
    def notes(self) -> tuple[str, ...]:  # type: ignore[override]
        return (f"{self.complete} of {self.n} rows are complete.",)

    def plot(self, ax=None, **kw):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.25 * len(self._table) + 1))
        t = self._table
        ax.barh(t["column"], t["percent"], **kw)
        ax.set_xlabel("Missing (%)")
        ax.set_xlim(0, 100)
        ax.invert_yaxis()
        return ax


def missing_report(df: pd.DataFrame, columns: list[str] | None = None) -> MissingResult:
    """Missing values per column: ``column, n, missing, percent``.

    Parameters
    ----------
    df : DataFrame
    columns : list of str, optional
        Default: every column.
    """
    cols = list(df.columns) if columns is None else list(columns)
    unknown = [c for c in cols if c not in df]
    if unknown:
        raise DataError(f"no column {', '.join(map(repr, unknown))} in the data")
    n = len(df)
    rows = []
    for c in cols:
        miss = int(df[c].isna().sum())
        rows.append({"column": c, "n": n, "missing": miss,
                     "percent": round(100.0 * miss / n, 1) if n else 0.0})
    complete = int(df[cols].notna().all(axis=1).sum()) if cols else n
    return MissingResult(pd.DataFrame(rows), n, complete)
