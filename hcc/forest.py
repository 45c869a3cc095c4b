"""Forest plot of hazard ratios (the paper's Fig. 3 style).

``forest_plot(summary, ...)`` draws one row per line of a summary table (``SubgroupResult``,
``CoxResult`` or any DataFrame with HR / lower / upper columns): a point sized by the number
of patients, its confidence interval, a vertical line at HR = 1 on a log axis, and text
columns with n, "HR (95% CI)" and P.  matplotlib is imported inside the function.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hcc._format import format_hr, format_p
from hcc.errors import DataError

__all__ = ["forest_plot"]


def _rows(summary: pd.DataFrame, label_col, p_int_col):
    """(label, row-or-None, is_header, header_text) in display order, top first."""
    out = []
    if label_col is not None:
        for _, r in summary.iterrows():
            out.append((str(r[label_col]), r, False, ""))
        return out
    idx = summary.index
    if isinstance(idx, pd.MultiIndex) and idx.nlevels == 2:
        last = object()
        for (grp, lev), r in summary.iterrows():
            if lev == "" or (isinstance(lev, float) and np.isnan(lev)):
                out.append((str(grp), r, False, ""))
                last = object()
                continue
            if grp != last:
                txt = ""
                if p_int_col is not None and p_int_col in summary.columns:
                    pi = r[p_int_col]
                    txt = f"P interaction {format_p(pi, digits=3)}" if np.isfinite(pi) else ""
                out.append((str(grp), None, True, txt))
                last = grp
            out.append((f"   {lev}", r, False, ""))
        return out
    for lab, r in summary.iterrows():
        lab = " ".join(map(str, lab)) if isinstance(lab, tuple) else str(lab)
        out.append((lab, r, False, ""))
    return out


def forest_plot(summary: pd.DataFrame, ax=None, label_col: str | None = None, hr: str = "HR",
                lower: str = "lower", upper: str = "upper", p: str | None = "p",
                n: str | None = "n", ref_line: float = 1.0, log_scale: bool = True,
                title: str | None = None, favours: tuple[str, str] | None = None,
                xlabel: str = "Hazard ratio (95% CI)", p_interaction: str | None = "p_interaction",
                color: str = "#1f4e79"):
    """Draw a forest plot of hazard ratios and return the Axes.

    Parameters
    ----------
    summary : DataFrame
        One row per estimate with columns *hr*, *lower*, *upper* (and optionally *p*, *n*).
        A two-level index (subgroup, level), as ``SubgroupResult.summary``, is drawn as a
        header row per subgroup (with its interaction P when a *p_interaction* column
        exists) and indented level rows; a row whose level is ``""`` is drawn on its own
        (e.g. "All patients").
    ax : matplotlib Axes, optional
        Drawn into; a new figure is made when None.
    label_col : str, optional
        Column with the row labels (default: the index).
    hr, lower, upper, p, n : str
        Column names; *p* or *n* None (or missing) leaves that text column out.
    ref_line : float
        Position of the vertical no-effect line.
    log_scale : bool
        Logarithmic x axis (hazard ratios are symmetric on the log scale).
    title : str, optional
    favours : (str, str), optional
        Captions under the axis, left and right of the no-effect line, e.g.
        ``("Favours TKI-ICI", "Favours TKI")``.
    xlabel : str
    p_interaction : str
        Column of the interaction P shown on subgroup header rows.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Rows whose HR is missing (model not estimable) are listed with "NE" and no point.
    The point area is proportional to the number of patients when *n* is given.
    """
    import matplotlib.pyplot as plt

    p, n = _check_columns(summary, hr, lower, upper, p, n, label_col)
    rows = _rows(summary, label_col, p_interaction)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6))
    ys = np.arange(len(rows))[::-1].astype(float)
    xlim = _x_limits(summary[[hr, lower, upper]].to_numpy(dtype=float), ref_line, log_scale)
    nmax = float(np.nanmax(summary[n].to_numpy(dtype=float))) if n else 1.0
    put, x_n, x_hr, x_p = _text_columns(ax, len(rows), n, p)
    for y, (_, r, header, htxt) in zip(ys, rows):
        if header:
            if htxt:
                put(x_n, y, htxt, fontsize=8, style="italic")
            continue
        est, l, u = (float(r[hr]), float(r[lower]), float(r[upper]))
        if np.isfinite(est) and est > 0:
            l_c = max(l, xlim[0]) if np.isfinite(l) else xlim[0]
            u_c = min(u, xlim[1]) if np.isfinite(u) else xlim[1]
            ax.plot([l_c, u_c], [y, y], color=color, lw=1.4, solid_capstyle="butt")
            size = 20 + 140 * (float(r[n]) / nmax if n and nmax > 0 else 0.5)
            ax.scatter([est], [y], s=size, marker="s", color=color, zorder=3)
            txt = format_hr(est, l, u)
        else:
            txt = "NE"
        if n:
            put(x_n, y, f"{int(r[n]) if np.isfinite(r[n]) else ''}", fontsize=9)
        put(x_hr, y, txt, fontsize=9)
        if p:
            put(x_p, y, format_p(float(r[p]), digits=3), fontsize=9)
    _style_axes(ax, rows, ys, xlim, ref_line, log_scale, xlabel, favours, title)
    return ax


def _check_columns(summary, hr, lower, upper, p, n, label_col):
    """The table's problems as DataError; the *p* and *n* columns present (else None)."""
    if not isinstance(summary, pd.DataFrame):
        raise DataError("forest_plot needs a table (DataFrame) of hazard ratios")
    for c in (hr, lower, upper):
        if c not in summary.columns:
            raise DataError(f"column '{c}' is not in the table")
    if label_col is not None and label_col not in summary.columns:
        raise DataError(f"column '{label_col}' is not in the table")
    if len(summary) == 0:
        raise DataError("the table has no rows to plot")
    return (p if (p is not None and p in summary.columns) else None,
            n if (n is not None and n in summary.columns) else None)


def _x_limits(vals: np.ndarray, ref_line: float, log_scale: bool) -> tuple[float, float]:
    """Every estimate and limit and the no-effect line, with 8% of the span either side."""
    finite = vals[np.isfinite(vals) & (vals > 0 if log_scale else True)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = ref_line / 2, ref_line * 2
    lo, hi = min(lo, ref_line), max(hi, ref_line)
    if log_scale:
        span = np.log(hi / lo) if hi > lo else 1.0
        return (lo / np.exp(0.08 * span), hi * np.exp(0.08 * span))
    span = hi - lo if hi > lo else 1.0
    return (lo - 0.08 * span, hi + 0.08 * span)


def _text_columns(ax, nrow: int, n, p):
    """The text columns right of the axes, placed in points from its right edge so that they
    never overlap whatever the figure's width: (put, x of n, x of HR, x of P), headers drawn."""
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transAxes, ax.transData)

    def put(offset_pt, y, text, **kw):
        ax.annotate(text, xy=(1, y), xycoords=trans, xytext=(offset_pt, 0),
                    textcoords="offset points", ha="left", va="center", **kw)

    x_n, x_hr = 8, (44 if n else 8)
    x_p = x_hr + 100
    heads = [(x_n, "n")] if n else []
    heads.append((x_hr, "HR (95% CI)"))
    if p:
        heads.append((x_p, "P"))
    for x, h in heads:
        put(x, nrow - 0.4, h, fontweight="bold", fontsize=9)
    return put, x_n, x_hr, x_p


def _style_axes(ax, rows, ys, xlim, ref_line, log_scale, xlabel, favours, title) -> None:
    """No-effect line, log axis, row labels (subgroup headers bold), captions and title."""
    from matplotlib.transforms import blended_transform_factory

    ax.axvline(ref_line, color="0.4", lw=1, ls="--", zorder=1)
    if log_scale:
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(0.1, 0.2, 0.5, 1.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_xlim(*xlim)
    ax.set_ylim(-0.7, len(rows) - 0.1)
    ax.set_yticks(ys)
    ax.set_yticklabels([lab for lab, _, _, _ in rows], fontsize=9)
    for tick, (_, _, header, _) in zip(ax.get_yticklabels(), rows):
        if header:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xlabel)
    if favours:
        left, right = favours
        cap = blended_transform_factory(ax.transData, ax.transAxes)
        kw = dict(xycoords=cap, textcoords="offset points", va="top", fontsize=8)
        ax.annotate(f"← {left}", (ref_line, 0), xytext=(-6, -32), ha="right", **kw)
        ax.annotate(f"{right} →", (ref_line, 0), xytext=(6, -32), ha="left", **kw)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
