"""Kaplan–Meier curves, log-rank test and median follow-up: lifelines, with R's rules on top.

What runs where
---------------
* The curves are lifelines' :class:`~lifelines.KaplanMeierFitter` (one per group): its event
  table and survival function give ``time, n_risk, n_event, n_censor, surv``; the Greenwood
  ``std_err`` of ``-log S(t)`` is R's ``survfit`` ``std.err``, computed from that event table.
  ``KMResult.fitter`` is a dict group → fitted ``KaplanMeierFitter`` (key ``"All"`` without a
  group), so a reader can go on with lifelines (``fitter["TKI"].plot_survival_function()``).
* The log-rank test is lifelines' :func:`~lifelines.statistics.multivariate_logrank_test`
  (``LogrankResult.fitter`` is its ``StatisticalResult``); the survdiff table (observed,
  expected, variance per group) comes from lifelines' ``group_survival_table_from_events``.
* Before calling lifelines, tied rows are collapsed to one row per (group, time, event) with
  the count as an integer weight: lifelines' estimates with integer weights equal those on the
  repeated rows, and a million patients become a few thousand rows.

What hcc adds (lifelines lacks it; R parity, survival 3.5)
----------------------------------------------------------
* Pointwise CIs of S(t) for R's ``conf.type`` "log" (R's default), "log-log" and "plain"
  (``survival:::survfit_confint``). lifelines offers only log(-log) ("exponential
  Greenwood"), so its median CI differs from R's by weeks to months (veteran, squamous arm:
  upper limit 314 days in R, 242 with log-log) — see ``../shared/METHODS.md`` §2.
* R's median rule (``print(fit)``, ``survival:::survmean``): the first time the curve (for
  the limits, the lower / upper CI curve) is below 0.5 within ``sqrt(.Machine$double.eps)``,
  and the midpoint of a flat stretch at exactly 0.5. lifelines' ``median_survival_time_``
  takes the start of the stretch (veteran trt = 2: R 52.5, lifelines 52).
  :meth:`KMResult.quantile` follows ``quantile(fit)`` (``survival:::findq``).
* ``survival_at`` / ``n_at_risk`` as R ``summary(fit, times = )`` (NaN after a group's last
  time, where lifelines carries the last value forward).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hcc._checks import event_array, group_codes, require_frame, time_array
from hcc._format import format_estimate, format_p, format_time
from hcc._results import Result
from hcc.errors import DataError, ParameterError, StatisticalWarning

#: R's ``sqrt(.Machine$double.eps)``, the tolerance of its median rule.
R_TOLERANCE = float(np.sqrt(np.finfo(float).eps))
CONF_TYPES = ("log", "log-log", "plain")


def _check_conf(conf_type: str, alpha: float) -> None:
    if conf_type not in CONF_TYPES:
        raise ParameterError(f"conf_type must be one of {', '.join(CONF_TYPES)}; got {conf_type!r}.")
    if not (0 < float(alpha) < 1):
        raise ParameterError(f"alpha must be between 0 and 1 (0.05 gives 95% intervals); got {alpha!r}.")


# --------------------------------------------------------------------------- lifelines calls
def _collapse(time: np.ndarray, event: np.ndarray):
    """One row per distinct (time, event) with its count: (time, event, count as float).

    Counted by hashing (pandas ``value_counts``), not sorting: lifelines sorts the few rows left.
    """
    ts, es, ws = [], [], []
    for v in (1, 0):
        vc = pd.Series(time[event == v]).value_counts(sort=False)
        ts.append(vc.index.to_numpy(dtype=float))
        es.append(np.full(len(vc), v, dtype=np.int64))
        ws.append(vc.to_numpy(dtype=float))
    return np.concatenate(ts), np.concatenate(es), np.concatenate(ws)


def _fit_km(time: np.ndarray, event: np.ndarray, label: str = "KM_estimate"):
    """lifelines ``KaplanMeierFitter`` on the collapsed rows (integer weights = counts)."""
    from lifelines import KaplanMeierFitter

    t, e, w = _collapse(time, event)
    return KaplanMeierFitter(label=label).fit(t, e, weights=w)


@dataclass(frozen=True)
class KMArrays:
    """Kaplan–Meier estimate at every distinct observed time (events and censorings)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray  # R's survfit std.err: standard error of -log S(t) (Greenwood)


def _arrays(kmf) -> KMArrays:
    """R's ``survfit`` arrays from a fitted ``KaplanMeierFitter``.

    The rows are the observed times (lifelines' event table also holds time 0 when nobody
    left then; R does not). ``std_err`` is ``sqrt(cumsum(d / (n (n - d))))`` (Greenwood, R's
    ``std.err`` of the cumulative hazard); ``inf`` from the time the curve reaches 0.
    """
    et = kmf.event_table
    keep = et["removed"].to_numpy() > 0
    n = et["at_risk"].to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d == 0, 0.0, np.where(n > d, d / (n * (n - d)), np.inf))
    std_err = np.sqrt(np.cumsum(term))
    surv = kmf.survival_function_.iloc[:, 0].reindex(et.index).to_numpy(dtype=float)
    rint = lambda col: np.rint(et[col].to_numpy(dtype=float)[keep]).astype(np.int64)  # noqa: E731
    return KMArrays(et.index.to_numpy(dtype=float)[keep], rint("at_risk"), rint("observed"),
                    rint("censored"), surv[keep], std_err[keep])


def _km_arrays(time, event) -> KMArrays:
    """Kaplan–Meier arrays of one sample (lifelines fit, R's ``survfit`` layout)."""
    return _arrays(_fit_km(np.asarray(time, dtype=float), np.asarray(event, dtype=np.int64)))


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
        else:  # "log-log" (validated by the callers)
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
            bad = (p == 0) | (p == 1)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


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
    return float(ys[np.searchsorted(xs, p, side="left")])


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
    result: object  # lifelines StatisticalResult


def _logrank(time: np.ndarray, event: np.ndarray, codes: np.ndarray, n_groups: int) -> LogrankArrays:
    """R ``survdiff`` (rho = 0): lifelines' multivariate log-rank test on the collapsed rows.

    The statistic is lifelines' ``(O - E)' V^- (O - E)``. R's degrees of freedom are the
    groups with expected events > 0, minus one; lifelines counts every group, so when a group
    has no one at risk at any event time the P is recomputed on R's df. Observed, expected and
    the hypergeometric variance per group (R's ``survdiff`` table) are computed from lifelines'
    ``group_survival_table_from_events`` (the test itself does not return them).
    """
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import group_survival_table_from_events
    from scipy.stats import chi2

    rows = [_collapse(time[codes == g], event[codes == g]) for g in range(n_groups)]
    t = np.concatenate([r[0] for r in rows])
    e = np.concatenate([r[1] for r in rows])
    w = np.concatenate([r[2] for r in rows])
    g = np.concatenate([np.full(r[0].size, k, dtype=np.int64) for k, r in enumerate(rows)])
    res = multivariate_logrank_test(t, g, e, weights=w)
    _, removed, observed, _ = group_survival_table_from_events(g, t, e, weights=w)
    n_ij = (removed.sum(0).to_numpy() - removed.cumsum(0).shift(1).fillna(0).to_numpy())
    d_t = observed.to_numpy().sum(axis=1)
    n_t = n_ij.sum(axis=1)
    frac = n_ij / n_t[:, None]
    obs = observed.to_numpy().sum(axis=0)
    expected = (d_t[:, None] * frac).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        wt = np.where(n_t > 1, d_t * (n_t - d_t) / (n_t - 1), 0.0)
    V = np.diag((wt[:, None] * frac).sum(axis=0)) - (wt[:, None] * frac).T @ frac
    df = int((expected > 0).sum()) - 1
    stat = float(res.test_statistic) if df >= 1 else 0.0
    p = float(res.p_value) if df == n_groups - 1 else (float(chi2.sf(stat, df)) if df >= 1 else float("nan"))
    return LogrankArrays(stat, df, p, obs, expected, np.bincount(codes, minlength=n_groups), V, res)


# --------------------------------------------------------------------------- KM
class KMResult(Result):
    """Kaplan–Meier curves, one per group, with R's median and confidence limits.

    Attributes
    ----------
    summary : DataFrame
        One row per group: ``n, events, median, lower, upper`` (NaN = not reached; shown
        "NR" in HTML), plus ``surv@t, lower@t, upper@t`` columns for each of *times*.
    curves : dict
        group → DataFrame(time, n_risk, n_event, n_censor, surv, std_err, lower, upper).
    fitter : dict
        group → the fitted lifelines ``KaplanMeierFitter`` (key ``"All"`` without a group;
        always a dict), fitted on the collapsed rows (module docstring).
    """

    def __init__(self, fitters: dict, data: tuple, conf_type: str, alpha: float, time: str,
                 event: str, group: str | None, times=None, notes=()):
        self.fitter = dict(fitters)  # level -> lifelines KaplanMeierFitter
        self._data = data  # (time, event, codes) of the patients, for the log-rank test
        arrays = {g: _arrays(f) for g, f in self.fitter.items()}
        self._n = {g: int(np.count_nonzero(data[2] == i)) for i, g in enumerate(self.fitter)}
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
            rows.append({"n": self._n[g], "events": int(c["n_event"].sum()),
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
                                        "n_risk": self._at_risk(g, times),
                                        "surv": surv, "std_err": se, "lower": lo, "upper": up}))
        return pd.concat(frames, ignore_index=True)

    def _at_risk(self, g, ticks) -> np.ndarray:
        """Patients of group *g* with time >= tick: n_risk at the first curve time >= tick."""
        c = self.curves[g]
        idx = np.searchsorted(c["time"].to_numpy(), np.asarray(ticks, dtype=float), side="left")
        n_risk = np.r_[c["n_risk"].to_numpy(), 0]
        return n_risk[idx]

    def n_at_risk(self, ticks) -> pd.DataFrame:
        """Number at risk (time >= tick) per group at each tick; groups as rows."""
        ticks = np.atleast_1d(np.asarray(ticks, dtype=float))
        data = {g: self._at_risk(g, ticks) for g in self.groups}
        return pd.DataFrame(data, index=pd.Index(ticks, name="time")).T

    @property
    def logrank(self) -> LogrankResult | None:
        """Log-rank test across the groups (None with a single group)."""
        if len(self.groups) < 2:
            return None
        if self._logrank is None:
            t, e, codes = self._data
            arr = _logrank(t, e, codes, len(self.groups))
            self._logrank = LogrankResult(arr, self.groups, self.group_col)
        return self._logrank

    def _display(self) -> pd.DataFrame:
        shown = self.summary.copy()
        for col in ("median", "lower", "upper"):
            shown[col] = [format_time(v) for v in shown[col]]
        level = int(round((1 - self.alpha) * 100))
        return shown.rename(columns={"lower": f"{level}% CI lower", "upper": f"{level}% CI upper"})

    def _display_notes(self) -> tuple[str, ...]:
        return tuple(self.notes) + (f"Confidence intervals: conf.type \"{self.conf_type}\" (R survfit); "
                                    "NR = not reached.",)

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

        from hcc.plots import group_colors, keep_clear

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
        legend = ax.legend(frameon=False, fontsize=9 if len(self.groups) > 4 else None) \
            if self.group_col else None
        lr = self.logrank if logrank else None
        label = None if lr is None else ax.text(
            0.03, 0.05, f"Log-rank P {format_p(lr.p, digits=3, prefix=True)}",
            transform=ax.transAxes, fontsize=9)
        keep_clear(ax, legend=legend, label=label)  # where no curve is, on the final layout
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
    R parity: ``survfit(Surv(time, event) ~ group, conf.type = conf_type)``; the median and
    its limits are those of ``print(fit)`` (R's median rule, module docstring). When no event
    occurs the curve stays at 1 and a :class:`StatisticalWarning` is issued.

    Library: each curve is a lifelines ``KaplanMeierFitter`` (``result.fitter[group]``). The
    lifelines call a reader would write: ``KaplanMeierFitter().fit(d[time], d[event])``;
    its ``median_survival_time_`` and ``confidence_interval_`` are *not* R's (log-log CI,
    no midpoint rule).
    """
    require_frame(df, {"follow-up time": time, "event indicator": event, "group": group})
    _check_conf(conf_type, alpha)
    t = time_array(df, time)
    e = event_array(df, event)
    notes = []
    if group is None:
        levels, codes = ["All"], np.zeros(t.size, dtype=np.int64)
    else:
        codes, levels = group_codes(df, group)
    fitters = {}
    for i, g in enumerate(levels):
        m = codes == i if len(levels) > 1 else slice(None)
        tg, eg = t[m], e[m]
        fitters[g] = _fit_km(tg, eg, label=str(g))
        if not eg.any():
            msg = (f"No events in {'group ' + repr(g) if group else 'the data'}: the survival curve "
                   "stays at 1 and the median is not reached.")
            warnings.warn(msg, StatisticalWarning, stacklevel=2)
            notes.append(msg)
    return KMResult(fitters, (t, e, codes), conf_type, alpha, time, event, group, times=times,
                    notes=notes)


# --------------------------------------------------------------------------- log-rank
class LogrankResult(Result):
    """Log-rank test (R ``survdiff``, rho = 0).

    Attributes
    ----------
    statistic, df, p : float, int, float
    summary : DataFrame indexed by group: ``N, observed, expected, (O-E)^2/E, (O-E)^2/V``.
    fitter : lifelines ``StatisticalResult`` of ``multivariate_logrank_test`` (its
        ``test_statistic`` is ``statistic``; its ``p_value`` equals ``p`` except when a group
        has no expected events, where R's df, and so ``p``, differ).
    """

    def __init__(self, arr: LogrankArrays, groups: list, group_col: str | None):
        self.statistic = arr.statistic
        self.df = arr.df
        self.p = arr.p
        self.variance = arr.variance
        self._arr = arr
        self.fitter = arr.result
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

    Library: lifelines ``multivariate_logrank_test(d[time], d[group], d[event])`` (two
    groups: ``logrank_test``) gives the same statistic; ``result.fitter`` is its result.
    """
    require_frame(df, {"follow-up time": time, "event indicator": event, "group": group})
    t = time_array(df, time)
    e = event_array(df, event)
    codes, levels = group_codes(df, group)
    if len(levels) < 2:
        raise DataError(f"The log-rank test compares groups, but '{group}' has a single value "
                        f"({levels[0]!r}) in these data.")
    if e.sum() == 0:
        raise DataError(f"No events in '{event}': the log-rank test needs at least one event.")
    return LogrankResult(_logrank(t, e, codes, len(levels)), levels, group)


# --------------------------------------------------------------------------- follow-up
class FollowupResult(Result):
    """Median follow-up (``.median``, ``.lower``, ``.upper``; ``.summary`` one row).

    ``fitter`` is the lifelines ``KaplanMeierFitter`` of the reverse Kaplan–Meier curve
    (None for ``method="observed"``)."""

    def __init__(self, method: str, n: int, median: float, lower: float, upper: float, time: str,
                 fitter=None):
        self.fitter = fitter
        self.method, self.n = method, n
        self.median, self.lower, self.upper = median, lower, upper
        self.title = f"Median follow-up ({'reverse Kaplan–Meier' if method == 'reverse_km' else 'observed times'}) of {time}"

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"method": self.method, "n": self.n, "median": self.median,
                              "lower": self.lower, "upper": self.upper}])

    def text(self, digits: int = 1, ci: str | None = None) -> str:
        """The median and its CI with one number of decimals (the paper prints 13.7):
        ``"13.7 (13.2–35.4)"``, with ``ci="95% CI"`` ``"13.7 (95% CI 13.2–35.4)"``."""
        return format_estimate(self.median, self.lower, self.upper, digits=digits, ci=ci)


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
    Library: lifelines ``KaplanMeierFitter().fit(d[time], 1 - d[event])``; the median and
    limits are R's rule and CI type on that curve (as :func:`km`).
    """
    require_frame(df, {"follow-up time": time, "event indicator": event})
    _check_conf(conf_type, alpha)
    if method not in ("reverse_km", "observed"):
        raise ParameterError(f"method must be 'reverse_km' or 'observed'; got {method!r}.")
    t = time_array(df, time)
    e = event_array(df, event)
    if method == "observed":
        return FollowupResult(method, t.size, float(np.median(t)), float("nan"), float("nan"), time)
    flipped = 1 - e
    if flipped.sum() == 0:
        raise DataError(f"Every patient in '{event}' had the event: no one was followed until "
                        "censoring, so the reverse Kaplan–Meier follow-up is not defined.")
    kmf = _fit_km(t, flipped, label="reverse KM")
    a = _arrays(kmf)
    lo, up = _confint(a.surv, a.std_err, conf_type, alpha)
    return FollowupResult(method, t.size, _minmin(a.surv, a.time), _minmin(lo, a.time),
                          _minmin(up, a.time), time, fitter=kmf)
