"""Figures shared by the book: the palette, the patient-flow diagram and thin wrappers.

The palette is Okabe & Ito's colour-blind-safe set, defined once here and used by every
plot of the package (Kaplan–Meier curves, response bars, AE chart, forest plot).
Matplotlib is imported inside the functions only.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Okabe–Ito colour-blind-safe palette (order used for groups without an assigned colour).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Colours of the two arms of the study, used wherever the arm names appear.
ARM_COLORS = {"TKI": "#E69F00", "TKI-ICI": "#0072B2"}
#: Best-response categories: dark to light from complete response to progression.
RESPONSE_COLORS = {"CR": "#009E73", "PR": "#56B4E9", "SD": "#F0E442", "PD": "#D55E00", "NE": "#999999"}


def group_colors(groups: Sequence, colors: Mapping | Sequence | None = None) -> dict:
    """Colour for each group: *colors* (mapping or sequence) first, then ARM_COLORS, then PALETTE."""
    out = {}
    if isinstance(colors, Mapping):
        given = dict(colors)
    elif colors is not None:
        given = dict(zip(groups, colors))
    else:
        given = {}
    spare = [c for c in PALETTE if c not in given.values() and c not in ARM_COLORS.values()]
    spare += [c for c in PALETTE if c not in spare]
    i = 0
    for g in groups:
        if g in given:
            out[g] = given[g]
        elif str(g) in ARM_COLORS:
            out[g] = ARM_COLORS[str(g)]
        else:
            out[g] = spare[i % len(spare)]
            i += 1
    return out


# --------------------------------------------------------------------------- free space
#: Where a label or legend may go, in the order tried when several are equally empty:
#: (x, y, horizontal, vertical alignment) in axes fraction.
LABEL_SPOTS = ((0.03, 0.05, "left", "bottom"), (0.97, 0.05, "right", "bottom"),
               (0.97, 0.95, "right", "top"), (0.03, 0.95, "left", "top"),
               (0.5, 0.05, "center", "bottom"), (0.5, 0.95, "center", "top"))
LEGEND_SPOTS = ("upper right", "lower left", "lower right", "upper left", "center right")
_MARGIN = 0.02  # axes fraction kept free around a label (the layout may still shrink the axes)


def curve_points(ax, step: float = 0.004):
    """Every line drawn on *ax* as points in axes fraction, at most *step* apart along each
    segment; step curves (``drawstyle="steps-post"``) include their vertical drops."""
    import numpy as np
    from matplotlib import cbook

    to_axes = ax.transData + ax.transAxes.inverted()
    out = []
    for line in ax.lines:
        xy = np.asarray(line.get_xydata(), dtype=float)
        xy = xy[np.isfinite(xy).all(axis=1)] if xy.size else xy.reshape(0, 2)
        if not line.get_visible() or len(xy) == 0:
            continue
        style = line.get_drawstyle() or "default"
        if style.startswith("steps") and len(xy) > 1:
            fn = {"steps-pre": cbook.pts_to_prestep, "steps": cbook.pts_to_prestep,
                  "steps-mid": cbook.pts_to_midstep}.get(style, cbook.pts_to_poststep)
            xy = np.column_stack(fn(xy[:, 0], xy[:, 1]))
        pts = to_axes.transform(xy)
        if line.get_linestyle() not in ("None", "none", "", " ") and len(pts) > 1:
            seg = [np.linspace(a, b, max(2, int(np.hypot(*(b - a)) / step) + 1))
                   for a, b in zip(pts[:-1], pts[1:])]
            pts = np.concatenate(seg)
        out.append(pts)
    return np.concatenate(out) if out else np.empty((0, 2))


def _axes_box(artist, ax, renderer, margin: float = _MARGIN):
    """(x0, y0, x1, y1) of *artist* in axes fraction, widened by *margin*."""
    bb = artist.get_window_extent(renderer).transformed(ax.transAxes.inverted())
    return bb.x0 - margin, bb.y0 - margin, bb.x1 + margin, bb.y1 + margin


def _hits(points, box) -> int:
    x0, y0, x1, y1 = box
    return int(((points[:, 0] >= x0) & (points[:, 0] <= x1)
                & (points[:, 1] >= y0) & (points[:, 1] <= y1)).sum())


def _overlap(a, b) -> bool:
    return a is not None and b is not None and a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _first_free(candidates, place, box, points, avoid=None) -> int:
    """Apply each candidate (``place(c)``) until one leaves ``box()`` free of *points* and off
    *avoid*; else keep the one covering the fewest. Returns the points it covers."""
    best = None
    for c in candidates:
        place(c)
        b = box()
        n = _hits(points, b) + (10 ** 6 if _overlap(b, avoid) else 0)
        if n == 0:
            return 0
        if best is None or n < best[0]:
            best = (n, c)
    place(best[1])
    return best[0]


def _set_spot(label, spot) -> None:
    x, y, ha, va = spot
    label.set_position((x, y))
    label.set_horizontalalignment(ha)
    label.set_verticalalignment(va)


def keep_clear(ax, legend=None, label=None, outside: bool = True):
    """Move *legend* (a Legend of *ax*) and then *label* (a Text in axes fraction) to where no
    curve of *ax* is, each time the figure is drawn — that is, on its final layout (a later
    ``subplots_adjust`` changes how much of the axes a legend covers).

    The legend takes the first corner of :data:`LEGEND_SPOTS` that covers no curve point
    (:func:`curve_points`); when every corner would and *outside*, it goes beside the axes on
    the right. The label then takes the first spot of :data:`LABEL_SPOTS` that covers no curve
    and not the legend (else the spot covering the fewest points).
    """
    from matplotlib.artist import Artist

    class _Mover(Artist):  # invisible: drawn first (lowest zorder), it only moves the others
        def draw(self, renderer):
            points = curve_points(ax)
            legend_box = None
            if legend is not None:
                legend.set_bbox_to_anchor(None)
                if _first_free(LEGEND_SPOTS, legend.set_loc,
                               lambda: _axes_box(legend, ax, renderer, margin=0.01), points) and outside:
                    legend.set_loc("upper left")
                    legend.set_bbox_to_anchor((1.01, 1.0), transform=ax.transAxes)
                lb = _axes_box(legend, ax, renderer, margin=0.0)
                legend_box = lb if lb[0] < 1 and lb[2] > 0 else None  # beside the axes: no clash
            if label is not None:
                _first_free(LABEL_SPOTS, lambda spot: _set_spot(label, spot),
                            lambda: _axes_box(label, ax, renderer), points, legend_box)

    mover = _Mover()
    mover.set_zorder(-1e9)
    ax.add_artist(mover)
    mover.draw(ax.figure._get_renderer())  # placed now too (positions readable before a draw)
    return mover


def _humanize(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def flow_diagram(stages, branches: Mapping[str, Mapping[str, int]] | None = None, ax=None,
                 colors=None):
    """Patient-flow diagram (CONSORT style): a column of stages, then one box per branch.

    Parameters
    ----------
    stages : list of (label, n) or mapping label → n
        Successive stages from top to bottom (e.g. discontinued first line → received
        second line → included). Mapping keys such as ``"second_line_systemic"`` are shown
        as "Second line systemic".
    branches : mapping branch → mapping sub-group → n, optional
        Boxes under the last stage, e.g. ``{"TKI": {"REG": 3, "LEN": 34}, ...}``; each box
        lists its sub-groups and its total.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    if isinstance(stages, Mapping):
        stages = [(_humanize(k), v) for k, v in stages.items()]
    stages = [(str(lbl), int(n)) for lbl, n in stages]
    branches = dict(branches or {})
    n_rows = len(stages) + (1 if branches else 0)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 1.4 * n_rows + 0.6))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, n_rows)
    ax.axis("off")
    box_h = 0.62

    def box(xc, yc, w, h, text, edge="#333333", fill="white"):
        ax.add_patch(FancyBboxPatch((xc - w / 2, yc - h / 2), w, h, boxstyle="round,pad=0.02",
                                    fc=fill, ec=edge, lw=1.2))
        ax.text(xc, yc, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.1))

    prev_n = None
    for i, (lbl, n) in enumerate(stages):
        yc = n_rows - 0.5 - i
        box(0.5, yc, 0.6, box_h, f"{lbl}\n(n = {n})")
        if i > 0:
            arrow(0.5, yc + 1 - box_h / 2, 0.5, yc + box_h / 2)
            if prev_n is not None and prev_n > n:
                ax.text(0.83, yc + 0.5, f"excluded: {prev_n - n}", ha="left", va="center",
                        fontsize=8, color="0.35")
        prev_n = n
    if branches:
        cols = group_colors(list(branches), colors)
        k = len(branches)
        width = min(0.9 / k, 0.42)
        yb = 0.5
        h = box_h + 0.25
        for j, (name, subs) in enumerate(branches.items()):
            xc = (j + 0.5) / k
            total = sum(int(v) for v in subs.values())
            lines = [f"{name} (n = {total})"] + [f"{s}: {int(v)}" for s, v in subs.items()]
            box(xc, yb, width, h, "\n".join(lines), edge=cols[name])
            arrow(0.5, yb + 1 - box_h / 2, xc, yb + h / 2)
    return ax


def response_bars(result, ax=None, mask=None, **kwargs):
    """Bars of best response per arm from :func:`hcc.response_table`; returns the Axes.

    *mask* (:class:`hcc.pipeline.privacy.Mask`) defaults to the chapter's mask
    (:func:`hcc.pipeline.privacy.active`), so a chapter's figure is masked even when the call does
    not pass it; see ``ResponseResult.plot`` for what is hidden.
    """
    from hcc.pipeline.privacy import resolve

    return result.plot(ax=ax, mask=resolve(mask), **kwargs)


def ae_chart(result, ax=None, mask=None, **kwargs):
    """Horizontal bars of adverse events per term by arm from :func:`hcc.safety_table`.

    *mask* defaults to the chapter's mask, as :func:`response_bars`.
    """
    from hcc.pipeline.privacy import resolve

    return result.plot(ax=ax, mask=resolve(mask), **kwargs)


def natural_spline_smooth(x, y, df: int = 4, at=None, var: float | None = None):
    """R ``plot.cox.zph``'s smooth: least squares on a natural cubic spline of *df* degrees
    of freedom (with intercept: boundary knots at the range of *x*, df − 2 interior knots at
    its type-7 quantiles — the space of R ``ns(x, df, intercept = TRUE)``), evaluated at *at*.
    Returns (fit, band) where band is R's 2·sqrt(var · p'(X'X)⁻¹p) (None without *var*)."""
    import numpy as np

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    at = np.linspace(x.min(), x.max(), 40) if at is None else np.asarray(at, float)
    inner = np.quantile(x, np.arange(1, df - 1) / (df - 1)) if df > 2 else np.array([])
    knots = np.r_[x.min(), inner, x.max()]
    K = knots.size

    def basis(u):
        def dk(k):
            return (np.clip(u - knots[k], 0, None) ** 3 - np.clip(u - knots[-1], 0, None) ** 3) / (knots[-1] - knots[k])
        cols = [np.ones_like(u), u] + [dk(k) - dk(K - 2) for k in range(K - 2)]
        return np.column_stack(cols)

    B = basis(x)
    coef, *_ = np.linalg.lstsq(B, y, rcond=None)
    P = basis(at)
    fit = P @ coef
    band = None
    if var is not None:
        xtx = np.linalg.pinv(B.T @ B)
        band = 2 * np.sqrt(var * np.einsum("ij,jk,ik->i", P, xtx, P))
    return fit, band


def schoenfeld_plot(ph, term: str | None = None, ax=None, df: int = 4, title: str | None = None):
    """Scaled Schoenfeld residuals of one Cox term against time, as R ``plot(cox.zph(fit))``:
    points, the natural-spline smooth (df = 4) with R's ±2 SE band, the fitted log hazard
    ratio (dashed) and 0 (dotted).  Flat smooth = proportional hazards.  *ph* is a
    ``PHTestResult`` (``CoxResult.ph_test()``).  The x axis is R's "km" time scale, labelled
    in the original time units.  Returns the Axes."""
    import matplotlib.pyplot as plt
    import numpy as np

    r = ph.residuals
    where = ph.residual_times
    terms = list(r.columns)
    term = terms[0] if term is None else term
    if term not in terms:
        from hcc.errors import DataError
        raise DataError(f"'{term}' is not a term of this model (terms: {', '.join(terms)})")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    x, y = where["x"].to_numpy(), r[term].to_numpy()
    at = np.linspace(x.min(), x.max(), 40)
    var = getattr(ph, "zph_var", None)
    v = None if var is None else float(var.loc[term, term])
    fit, band = natural_spline_smooth(x, y, df=df, at=at, var=v)
    ax.scatter(x, y, s=12, color="0.35", alpha=0.7, label="scaled residual (one per death)")
    ax.plot(at, fit, color=PALETTE[0], lw=2, label="smooth (natural spline, df = 4)")
    if band is not None:
        ax.plot(at, fit + band, color=PALETTE[0], lw=1, ls="--")
        ax.plot(at, fit - band, color=PALETTE[0], lw=1, ls="--")
    beta = float(ph.coef[term]) if ph.coef is not None else None
    if beta is not None:
        ax.axhline(beta, color=PALETTE[3], lw=1, ls="--", label=f"fitted log HR = {beta:.2f}")
    ax.axhline(0, color="0.5", lw=0.8, ls=":")
    # label the km scale with times
    order = np.argsort(x)
    ticks = np.linspace(x.min(), x.max(), 5)
    ax.set_xticks(ticks, [f"{v:.1f}" for v in np.interp(ticks, x[order], where["time"].to_numpy()[order])])
    ax.set_xlabel("Time (Kaplan–Meier scale)")
    ax.set_ylabel(f"Beta(t) for {term}")
    p = ph.summary["p"]
    key = term if term in p.index else next((k for k in p.index if term.startswith(k)), None)
    ax.set_title(title or (f"{term}: PH test P = {p[key]:.3g}" if key is not None else term))
    ax.legend(frameon=False, fontsize="small")
    return ax
