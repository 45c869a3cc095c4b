"""Kaplan–Meier curves, log-rank test and median follow-up, matching R's ``survival``.

The numerical core (:func:`_km_arrays`, :func:`_confint`, :func:`_minmin`, :func:`_findq`,
:func:`_logrank_arrays`) works on numpy arrays and has no Python loop over patients, so a
million rows take a fraction of a second. The public functions take a DataFrame plus
column names, validate them and return result objects.

R parity (survival 3.5): point estimates and Greenwood standard errors are those of
``survfit``; confidence intervals follow ``survival:::survfit_confint`` for
``conf.type`` "log" (R's default), "log-log" and "plain"; the median and its limits follow
``print(fit)`` / ``summary(fit)$table`` (``survival:::survmean``); :meth:`KMResult.quantile`
follows ``quantile(fit)`` (``survival:::findq``). The log-rank test is ``survdiff`` with
``rho = 0``.
"""
from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hcc._results import Result, escape_frame_html
from hcc.errors import DataError, ParameterError, StatisticalWarning

#: R's ``sqrt(.Machine$double.eps)``, the tolerance of its median rule.
R_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
CONF_TYPES = ("log", "log-log", "plain")


# --------------------------------------------------------------------------- validation
def _require_frame(df, columns: dict[str, str | None]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a table of patients (a pandas DataFrame), got {type(df).__name__}.")
    if len(df) == 0:
        raise DataError("The table of patients is empty: there is nothing to analyse.")
    for role, col in columns.items():
        if col is not None and col not in df.columns:
            raise DataError(f"Column '{col}' ({role}) is not in the data; available columns: "
                            f"{', '.join(map(str, df.columns))}.")


def _time_array(df: pd.DataFrame, col: str) -> np.ndarray:
    raw = df[col]
    t = pd.to_numeric(raw, errors="coerce")
    bad_text = t.isna() & raw.notna()
    if bad_text.any():
        examples = ", ".join(repr(v) for v in raw[bad_text].unique()[:3])
        raise DataError(f"Column '{col}' must hold follow-up times as numbers; "
                        f"{int(bad_text.sum())} value(s) are not numbers (e.g. {examples}).")
    t = t.to_numpy(dtype=float)
    n_missing = int(np.isnan(t).sum())
    if n_missing:
        raise DataError(f"{n_missing} patient(s) have no follow-up time in '{col}'; "
                        "fill them in or remove those patients before the analysis.")
    if np.isinf(t).any():
        raise DataError(f"Column '{col}' contains infinite times; every time must be a finite number.")
    n_neg = int((t < 0).sum())
    if n_neg:
        raise DataError(f"{n_neg} patient(s) have a negative follow-up time in '{col}'; "
                        "times must be zero or more.")
    return t


def _event_array(df: pd.DataFrame, col: str) -> np.ndarray:
    raw = df[col]
    n_missing = int(raw.isna().sum())
    if n_missing:
        raise DataError(f"{n_missing} patient(s) have no event status in '{col}'; "
                        "use 1 for an event (death/progression) and 0 for censored.")
    if raw.dtype == bool:
        return raw.to_numpy(dtype=np.int64)
    e = pd.to_numeric(raw, errors="coerce")
    ok = e.isin([0, 1])
    if not ok.all():
        bad = ", ".join(repr(v) for v in raw[~ok].unique()[:5])
        raise DataError(f"Column '{col}' must be 1 (event) or 0 (censored); found {bad}.")
    return e.to_numpy(dtype=np.int64)


def _group_codes(df: pd.DataFrame, col: str) -> tuple[np.ndarray, list]:
    raw = df[col]
    if isinstance(raw.dtype, pd.CategoricalDtype):
        cats = [c for c in raw.cat.categories if (raw == c).any()]
        codes = pd.Categorical(raw, categories=cats).codes.astype(np.int64)
    else:
        codes, uniques = pd.factorize(raw, sort=True)
        codes, cats = codes.astype(np.int64), list(uniques)
    n_missing = int((codes < 0).sum())
    if n_missing:
        raise DataError(f"{n_missing} patient(s) have no value in the group column '{col}'; "
                        "fill them in or remove those patients.")
    return codes, cats


def _check_conf(conf_type: str, alpha: float) -> None:
    if conf_type not in CONF_TYPES:
        raise ParameterError(f"conf_type must be one of {', '.join(CONF_TYPES)}; got {conf_type!r}.")
    if not (0 < float(alpha) < 1):
        raise ParameterError(f"alpha must be between 0 and 1 (0.05 gives 95% intervals); got {alpha!r}.")


# --------------------------------------------------------------------------- numerical core
@dataclass(frozen=True)
class KMArrays:
    """Kaplan–Meier estimate at every distinct observed time (events and censorings)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray  # R's survfit std.err: standard error of -log S(t) (Greenwood)


def _runs(sorted_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and the index where each run starts."""
    if sorted_time.size == 0:
        return sorted_time, np.array([], dtype=np.int64)
    new = np.empty(sorted_time.size, dtype=bool)
    new[0] = True
    np.not_equal(sorted_time[1:], sorted_time[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return sorted_time[starts], starts


def _km_arrays(time: np.ndarray, event: np.ndarray, presorted: bool = False) -> KMArrays:
    """Kaplan–Meier estimate and Greenwood standard error (R ``survfit`` conventions).

    ``std_err`` is R's ``fit$std.err``: the Greenwood standard error of the cumulative
    hazard ``-log S(t)``, ``sqrt(sum d / (n (n - d)))``; it is ``inf`` from the time the
    curve reaches 0. With ``presorted=True`` *time* must be sorted ascending (and *event*
    in the same order), which saves a sort.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=np.int64)
    if presorted:
        ts, te = time, time[event == 1]
    else:
        ts, te = np.sort(time), np.sort(time[event == 1])
    return _km_from_sorted(ts, te)


def _km_from_sorted(ts: np.ndarray, te: np.ndarray) -> KMArrays:
    """KM from all times sorted (*ts*) and event times sorted (*te*): two sorts, no argsort."""
    if ts.size == 0:
        empty = np.array([], dtype=float)
        return KMArrays(empty, empty.astype(np.int64), empty.astype(np.int64), empty.astype(np.int64), empty, empty)
    ut, starts = _runs(ts)
    n_at = np.diff(np.append(starts, ts.size))
    d = np.searchsorted(te, ut, side="right") - np.searchsorted(te, ut, side="left")
    c = n_at - d
    n_risk = ts.size - starts
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        term = np.where(d == 0, 0.0, np.where(n_risk > d, d / (n_risk * (n_risk - d).astype(float)), np.inf))
    std_err = np.sqrt(np.cumsum(term))
    return KMArrays(ut, n_risk, d, c, surv, std_err)


def _confint(surv: np.ndarray, std_err: np.ndarray, conf_type: str = "log",
             alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise confidence limits of S(t) as ``survival:::survfit_confint`` (logse = TRUE).

    NaN where R gives NA: S(t) = 0 (every type) and S(t) = 1 for "log-log".
    """
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    p = np.asarray(surv, dtype=float)
    se = np.asarray(std_err, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            lower = np.maximum(p - se2, 0.0)
            upper = np.minimum(p + se2, 1.0)
            bad = p == 0
        elif conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            lower = np.exp(np.log(xx) - se2)
            upper = np.minimum(np.exp(np.log(xx) + se2), 1.0)
            bad = p == 0
        elif conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
            bad = (p == 0) | (p == 1)
        else:  # pragma: no cover - validated by callers
            raise ParameterError(f"conf_type must be one of {', '.join(CONF_TYPES)}; got {conf_type!r}.")
    lower = np.where(bad, np.nan, lower)
    upper = np.where(bad, np.nan, upper)
    return lower, upper


def _minmin(y: np.ndarray, x: np.ndarray, tol: float = R_TOLERANCE) -> float:
    """R's median rule of ``print.survfit`` (``survival:::survmean``, inner ``minmin``).

    The first time the curve *y* is below 0.5 (within *tol*); when the curve sits at 0.5
    (within *tol*) over a stretch, the midpoint between the start of that stretch and the
    first time the curve drops further. NaN when the curve never gets there (not reached).
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < tol:
        lower_than_first = np.flatnonzero(yk < yk[0])
        if lower_than_first.size:
            return float((xk[0] + xk[lower_than_first[0]]) / 2)
    return float(xk[0])


def _approx_right_index(xv: np.ndarray, p: float) -> float:
    """R ``approx(xv, seq_along(xv), p, method="constant", f=1)$y`` (1-based, NaN outside).

    NaN entries of *xv* are dropped and the rest sorted, as ``approx`` does.
    """
    idx = np.arange(1, xv.size + 1, dtype=float)
    ok = ~np.isnan(xv)
    xs, ys = xv[ok], idx[ok]
    if xs.size == 0:
        return float("nan")
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if p < xs[0] or p > xs[-1]:
        return float("nan")
    j = int(np.searchsorted(xs, p, side="left"))
    return float(ys[j])


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = R_TOLERANCE) -> float:
    """R ``survival:::findq`` for one probability *p* (used by ``quantile.survfit``).

    *x* = c(0, time), *y* = c(0, 1 - curve).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # duplicated() keeps the first of equal values; NA counts as a value
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(y.size, dtype=bool)
    keep[first] = True
    x, y = x[keep], y[keep]
    n = y.size
    i1 = _approx_right_index(y + tol, p)
    i2 = _approx_right_index(y - tol, p)
    x1 = x[int(i1) - 1] if not np.isnan(i1) else np.nan
    x2 = x[int(i2) - 1] if not np.isnan(i2) else np.nan
    quant = (x1 + x2) / 2
    if p == 0:
        quant = x[0]
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol:
        quant = (x1 + xmax) / 2
    return float(quant)


@dataclass(frozen=True)
class LogrankArrays:
    statistic: float
    df: int
    p: float
    observed: np.ndarray
    expected: np.ndarray
    n: np.ndarray
    variance: np.ndarray


def _logrank_arrays(time: np.ndarray, event: np.ndarray, codes: np.ndarray, n_groups: int) -> LogrankArrays:
    """Log-rank test of ``survdiff`` (rho = 0) on arrays; *codes* are 0..n_groups-1."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    ts, te = [], []
    for g in range(n_groups):
        m = codes == g
        tg = time[m]
        ts.append(np.sort(tg))
        te.append(np.sort(tg[event[m] == 1]))
    return _logrank_sorted(ts, te)


def _logrank_sorted(ts: list[np.ndarray], te: list[np.ndarray]) -> LogrankArrays:
    """Log-rank test from each group's sorted times (*ts*) and sorted event times (*te*)."""
    from scipy.stats import chi2

    ut = np.array([], dtype=float)
    for e_g in te:  # distinct event times of all groups
        ut = np.union1d(ut, _runs(e_g)[0])
    n_risk = np.column_stack([t_g.size - np.searchsorted(t_g, ut, side="left") for t_g in ts]).astype(float)
    d_at = np.column_stack([np.searchsorted(e_g, ut, side="right") - np.searchsorted(e_g, ut, side="left")
                            for e_g in te]).astype(float)
    n_tot = n_risk.sum(axis=1)
    d_tot = d_at.sum(axis=1)
    frac = n_risk / n_tot[:, None]
    observed = d_at.sum(axis=0)
    expected = (d_tot[:, None] * frac).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n_tot > 1, d_tot * (n_tot - d_tot) / (n_tot - 1), 0.0)
    # V_jk = sum_t w_t * frac_j (delta_jk - frac_k)
    V = np.diag((w[:, None] * frac).sum(axis=0)) - (w[:, None] * frac).T @ frac
    use = expected > 0
    diff = (observed - expected)[use][1:]
    vv = V[np.ix_(use, use)][1:, 1:]
    df = int(use.sum()) - 1
    stat = float(diff @ np.linalg.solve(vv, diff)) if df >= 1 else 0.0
    p = float(chi2.sf(stat, df)) if df >= 1 else float("nan")
    n = np.array([t_g.size for t_g in ts])
    return LogrankArrays(stat, df, p, observed, expected, n, V)


def _n_at_risk(sorted_time: np.ndarray, ticks) -> np.ndarray:
    """Number at risk at each tick: subjects with time >= tick (R ``summary(fit, times)``)."""
    ticks = np.asarray(ticks, dtype=float)
    return sorted_time.size - np.searchsorted(sorted_time, ticks, side="left")


# --------------------------------------------------------------------------- KM
def _fmt_time(v: float, digits: int = 2) -> str:
    return "NR" if v is None or np.isnan(v) else f"{v:.{digits}f}"


class KMResult(Result):
    """Kaplan–Meier curves, one per group, with R's median and confidence limits.

    Attributes
    ----------
    summary : DataFrame
        One row per group: ``n, events, median, lower, upper`` (NaN = not reached; shown
        "NR" in HTML), plus ``surv@t, lower@t, upper@t`` columns for each of *times*.
    curves : dict
        group → DataFrame(time, n_risk, n_event, n_censor, surv, std_err, lower, upper).
    """

    def __init__(self, arrays: dict, raw: dict, conf_type: str, alpha: float, time: str,
                 event: str, group: str | None, times=None, notes=()):
        self._arrays = arrays  # level -> KMArrays
        self._raw = raw  # level -> (sorted times, sorted event times)
        self.conf_type = conf_type
        self.alpha = alpha
        self.time_col, self.event_col, self.group_col = time, event, group
        self.times = None if times is None else list(np.atleast_1d(times).astype(float))
        self.notes = tuple(notes)
        self.groups = list(arrays)
        self.title = f"Kaplan–Meier estimates of {time}" + (f" by {group}" if group else "")
        self.curves = {}
        for g, a in arrays.items():
            lo, up = _confint(a.surv, a.std_err, conf_type, alpha)
            self.curves[g] = pd.DataFrame({"time": a.time, "n_risk": a.n_risk, "n_event": a.n_event,
                                           "n_censor": a.n_censor, "surv": a.surv, "std_err": a.std_err,
                                           "lower": lo, "upper": up})
        self._logrank = None

    # ---- numbers
    @property
    def summary(self) -> pd.DataFrame:
        rows = []
        for g, c in self.curves.items():
            t = c["time"].to_numpy()
            rows.append({"n": int(self._raw[g][0].size), "events": int(c["n_event"].sum()),
                         "median": _minmin(c["surv"].to_numpy(), t),
                         "lower": _minmin(c["lower"].to_numpy(), t),
                         "upper": _minmin(c["upper"].to_numpy(), t)})
        out = pd.DataFrame(rows, index=pd.Index(self.groups, name=self.group_col or "group"))
        if self.times:
            at = self.survival_at(self.times)
            for t in self.times:
                sub = at[at["time"] == t].set_index("group")
                for col in ("surv", "lower", "upper"):
                    out[f"{col}@{t:g}"] = sub[col].reindex(self.groups).to_numpy()
        return out

    @property
    def medians(self) -> pd.Series:
        return self.summary["median"]

    def quantile(self, probs=0.5) -> pd.DataFrame:
        """Quantiles of the survival time and their limits, as R ``quantile(fit, probs)``.

        R's ``quantile.survfit`` differs from ``print(fit)`` only in rare edge cases (a
        curve ending exactly at 1 - p takes the midpoint to the last follow-up time).
        """
        rows = []
        for g, c in self.curves.items():
            x = np.concatenate([[0.0], c["time"].to_numpy()])
            for p in np.atleast_1d(probs).astype(float):
                vals = {}
                for name, col in (("quantile", "surv"), ("lower", "lower"), ("upper", "upper")):
                    y = np.concatenate([[0.0], 1 - c[col].to_numpy()])
                    vals[name] = _findq(x, y, p)
                rows.append({"group": g, "prob": p, **vals})
        return pd.DataFrame(rows)

    def survival_at(self, times) -> pd.DataFrame:
        """S(t) with its limits at each of *times* (R ``summary(fit, times = ...)``).

        Before the first observed time S = 1; after the last observed time of a group the
        estimate is not defined and NaN is returned (R drops such times unless
        ``extend = TRUE``). ``n_risk`` counts patients with time >= t.
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        frames = []
        for g, c in self.curves.items():
            ct = c["time"].to_numpy()
            idx = np.searchsorted(ct, times, side="right") - 1
            before = idx < 0
            after = times > ct[-1]
            safe = np.clip(idx, 0, None)
            surv = np.where(before, 1.0, c["surv"].to_numpy()[safe])
            se = np.where(before, 0.0, c["std_err"].to_numpy()[safe])
            lo = np.where(before, 1.0, c["lower"].to_numpy()[safe])
            up = np.where(before, 1.0, c["upper"].to_numpy()[safe])
            surv, se, lo, up = (np.where(after, np.nan, v) for v in (surv, se, lo, up))
            frames.append(pd.DataFrame({"group": g, "time": times,
                                        "n_risk": _n_at_risk(self._raw[g][0], times),
                                        "surv": surv, "std_err": se, "lower": lo, "upper": up}))
        return pd.concat(frames, ignore_index=True)

    def n_at_risk(self, ticks) -> pd.DataFrame:
        """Number at risk (time >= tick) per group at each tick; groups as rows."""
        ticks = np.atleast_1d(np.asarray(ticks, dtype=float))
        data = {g: _n_at_risk(self._raw[g][0], ticks) for g in self.groups}
        return pd.DataFrame(data, index=pd.Index(ticks, name="time")).T

    @property
    def logrank(self) -> LogrankResult | None:
        """Log-rank test across the groups (None with a single group)."""
        if len(self.groups) < 2:
            return None
        if self._logrank is None:
            arr = _logrank_sorted([self._raw[g][0] for g in self.groups],
                                  [self._raw[g][1] for g in self.groups])
            self._logrank = LogrankResult(arr, self.groups, self.group_col)
        return self._logrank

    def _repr_html_(self) -> str:
        shown = self.summary.copy()
        for col in ("median", "lower", "upper"):
            shown[col] = [_fmt_time(v) for v in shown[col]]
        level = int(round((1 - self.alpha) * 100))
        shown = shown.rename(columns={"lower": f"{level}% CI lower", "upper": f"{level}% CI upper"})
        body = escape_frame_html(shown, caption=self.title)
        notes = list(self.notes) + [f"Confidence intervals: conf.type \"{self.conf_type}\" (R survfit); "
                                    "NR = not reached."]
        return body + "".join(f"<p class='hcc-note'>{html.escape(n)}</p>" for n in notes)

    # ---- plot
    def plot(self, ax=None, ci=True, censors=True, at_risk=True, medians=True, logrank=True,
             xticks=None, xlabel="Months", ylabel="Survival probability", colors=None, title=None,
             at_risk_format=None):
        """Step curves with censor marks, CI bands, median lines, log-rank P and numbers at risk.

        The numbers at risk under the axis are exactly R's ``summary(fit, times = ticks)$n.risk``
        (patients with time >= tick). ``at_risk_format`` (int -> str) formats each of them,
        e.g. to show small counts as "<5" for a real cohort. Returns the Axes.
        """
        import matplotlib.pyplot as plt

        from hcc.plots import group_colors
        from hcc.tables import format_p

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 5))
        cols = group_colors(self.groups, colors)
        summ = self.summary
        xmax = max(float(c["time"].max()) for c in self.curves.values())
        for g in self.groups:
            c = self.curves[g]
            color = cols[g]
            t = np.concatenate([[0.0], c["time"].to_numpy()])
            s = np.concatenate([[1.0], c["surv"].to_numpy()])
            label = str(g) if self.group_col else "All patients"
            ax.step(t, s, where="post", color=color, lw=1.8, label=label)
            if ci:
                lo = np.concatenate([[1.0], c["lower"].to_numpy()])
                up = np.concatenate([[1.0], c["upper"].to_numpy()])
                ax.fill_between(t, lo, up, step="post", color=color, alpha=0.15, lw=0)
            if censors:
                cm = c["n_censor"].to_numpy() > 0
                ax.plot(c["time"].to_numpy()[cm], c["surv"].to_numpy()[cm], ls="none", marker="|",
                        ms=7, mew=1.2, color=color)
            if medians:
                med = summ.loc[g, "median"]
                if not np.isnan(med):
                    ax.plot([0, med], [0.5, 0.5], ls="--", lw=0.8, color="0.4")
                    ax.plot([med, med], [0, 0.5], ls="--", lw=0.8, color=color)
        ax.set_ylim(0, 1.05)
        ax.set_xlim(0, xmax * 1.02)
        if xticks is not None:
            ax.set_xticks(list(xticks))
        ticks = [t for t in ax.get_xticks() if 0 <= t <= ax.get_xlim()[1]]
        ax.set_xticks(ticks)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        if self.group_col:
            ax.legend(loc="upper right", frameon=False)
        lr = self.logrank if logrank else None
        if lr is not None:
            ax.text(0.03, 0.05, f"Log-rank P {format_p(lr.p, digits=4, prefix=True)}",
                    transform=ax.transAxes, fontsize=9)
        if at_risk:
            table = self.n_at_risk(ticks)
            ax.annotate("Number at risk", xy=(-0.06, -0.16), xycoords="axes fraction", fontsize=8,
                        ha="right", fontweight="bold")
            for i, g in enumerate(self.groups):
                y = -0.23 - 0.07 * i
                ax.annotate(str(g) if self.group_col else "All", xy=(-0.06, y), xycoords="axes fraction",
                            ha="right", fontsize=8, color=cols[g])
                for t, n in zip(ticks, table.loc[g].to_numpy()):
                    text = at_risk_format(int(n)) if at_risk_format else str(int(n))
                    ax.annotate(text, xy=(t, y), xycoords=("data", "axes fraction"),
                                ha="center", fontsize=8, color=cols[g])
            ax.xaxis.labelpad = 2
        return ax


def km(df: pd.DataFrame, time: str, event: str, group: str | None = None, conf_type: str = "log",
       alpha: float = 0.05, times=None) -> KMResult:
    """Kaplan–Meier estimate by group, with R's median and confidence limits.

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    time, event : str
        Follow-up time (>= 0, no missing values) and event indicator (1/0 or True/False).
    group : str, optional
        Column defining the curves; levels in sorted (or categorical) order.
    conf_type : {"log", "log-log", "plain"}
        Transform of the pointwise CI of S(t) (R ``conf.type``; "log" is R's default).
    alpha : float
        1 - confidence level.
    times : sequence of float, optional
        Times at which S(t) and its limits are added to ``summary``.

    Returns
    -------
    KMResult

    Raises
    ------
    DataError
        Missing or negative times, event values other than 0/1, missing groups, empty data.
        Missing values are refused rather than dropped, and the message counts them.

    Notes
    -----
    R parity: ``survfit(Surv(time, event) ~ group, conf.type = conf_type)``. The median and
    its limits are those of ``print(fit)``: the first time the curve (for the limits, the
    lower and upper pointwise CI curves) is below 0.5, within R's tolerance
    ``sqrt(.Machine$double.eps)``, with the midpoint of a flat stretch at exactly 0.5.
    When no event occurs the curve stays at 1 and a :class:`StatisticalWarning` is issued.
    """
    _require_frame(df, {"time": time, "event": event, "group": group})
    _check_conf(conf_type, alpha)
    t = _time_array(df, time)
    e = _event_array(df, event)
    notes = []
    if group is None:
        levels, codes = ["All"], np.zeros(t.size, dtype=np.int64)
    else:
        codes, levels = _group_codes(df, group)
    arrays, raw = {}, {}
    for i, g in enumerate(levels):
        m = codes == i if len(levels) > 1 else slice(None)
        tg, eg = t[m], e[m]
        ts, te = np.sort(tg), np.sort(tg[eg == 1])
        raw[g] = (ts, te)  # sorted times, sorted event times
        arrays[g] = _km_from_sorted(ts, te)
        if te.size == 0:
            msg = (f"No events in {'group ' + repr(g) if group else 'the data'}: the survival curve "
                   "stays at 1 and the median is not reached.")
            warnings.warn(msg, StatisticalWarning, stacklevel=2)
            notes.append(msg)
    return KMResult(arrays, raw, conf_type, alpha, time, event, group, times=times, notes=notes)


# --------------------------------------------------------------------------- log-rank
class LogrankResult(Result):
    """Log-rank test (R ``survdiff``, rho = 0).

    Attributes
    ----------
    statistic, df, p : float, int, float
    summary : DataFrame indexed by group: ``N, observed, expected, (O-E)^2/E, (O-E)^2/V``.
    """

    def __init__(self, arr: LogrankArrays, groups: list, group_col: str | None):
        self.statistic = arr.statistic
        self.df = arr.df
        self.p = arr.p
        self.variance = arr.variance
        self._arr = arr
        self.groups = list(groups)
        self.title = f"Log-rank test by {group_col}: chi-square {arr.statistic:.3f} on {arr.df} df, P = {arr.p:.4g}"
        self.group_col = group_col

    @property
    def summary(self) -> pd.DataFrame:
        a = self._arr
        with np.errstate(divide="ignore", invalid="ignore"):
            out = pd.DataFrame({"N": a.n, "observed": a.observed, "expected": a.expected,
                                "(O-E)^2/E": (a.observed - a.expected) ** 2 / a.expected,
                                "(O-E)^2/V": (a.observed - a.expected) ** 2 / np.diag(a.variance)},
                               index=pd.Index(self.groups, name=self.group_col or "group"))
        return out


def logrank(df: pd.DataFrame, time: str, event: str, group: str) -> LogrankResult:
    """Log-rank test comparing the survival of the groups of *group*.

    Parameters
    ----------
    df : DataFrame
    time, event, group : str
        Column names (validated as in :func:`km`).

    Returns
    -------
    LogrankResult

    Raises
    ------
    DataError
        Bad times/events/groups (see :func:`km`), a single group, or no event at all.

    Notes
    -----
    R parity: ``survdiff(Surv(time, event) ~ group)``; the statistic is
    ``(O - E)' V^- (O - E)`` with the hypergeometric variance, on (groups with expected
    events > 0) - 1 degrees of freedom.
    """
    _require_frame(df, {"time": time, "event": event, "group": group})
    t = _time_array(df, time)
    e = _event_array(df, event)
    codes, levels = _group_codes(df, group)
    if len(levels) < 2:
        raise DataError(f"The log-rank test compares groups, but '{group}' has a single value "
                        f"({levels[0]!r}) in these data.")
    if e.sum() == 0:
        raise DataError(f"No events in '{event}': the log-rank test needs at least one event.")
    return LogrankResult(_logrank_arrays(t, e, codes, len(levels)), levels, group)


# --------------------------------------------------------------------------- follow-up
class FollowupResult(Result):
    """Median follow-up (``.median``, ``.lower``, ``.upper``; ``.summary`` one row)."""

    def __init__(self, method: str, n: int, median: float, lower: float, upper: float, time: str):
        self.method, self.n = method, n
        self.median, self.lower, self.upper = median, lower, upper
        self.title = f"Median follow-up ({'reverse Kaplan–Meier' if method == 'reverse_km' else 'observed times'}) of {time}"

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"method": self.method, "n": self.n, "median": self.median,
                              "lower": self.lower, "upper": self.upper}])


def median_followup(df: pd.DataFrame, time: str, event: str, method: str = "reverse_km",
                    conf_type: str = "log", alpha: float = 0.05) -> FollowupResult:
    """Median follow-up time.

    Parameters
    ----------
    df : DataFrame
    time, event : str
    method : {"reverse_km", "observed"}
        "reverse_km" (default): Kaplan–Meier median of the time to censoring, with the
        event indicator flipped (deaths are censored observations of follow-up), and its CI.
        "observed": the median of all observed times (R ``median``); no CI (NaN limits).

    Notes
    -----
    R parity: ``survfit(Surv(time, 1 - event) ~ 1)`` and its ``print`` median and limits.
    """
    _require_frame(df, {"time": time, "event": event})
    _check_conf(conf_type, alpha)
    if method not in ("reverse_km", "observed"):
        raise ParameterError(f"method must be 'reverse_km' or 'observed'; got {method!r}.")
    t = _time_array(df, time)
    e = _event_array(df, event)
    if method == "observed":
        return FollowupResult(method, t.size, float(np.median(t)), float("nan"), float("nan"), time)
    flipped = 1 - e
    if flipped.sum() == 0:
        raise DataError(f"Every patient in '{event}' had the event: no one was followed until "
                        "censoring, so the reverse Kaplan–Meier follow-up is not defined.")
    a = _km_arrays(t, flipped)
    lo, up = _confint(a.surv, a.std_err, conf_type, alpha)
    return FollowupResult(method, t.size, _minmin(a.surv, a.time), _minmin(lo, a.time), _minmin(up, a.time), time)
