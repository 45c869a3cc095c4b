"""Section 1 of the plausibility report: smooth hazards (Weibull compensator, largest gap,
densest window, one-day pile-up against their Monte Carlo nulls)."""
from __future__ import annotations

import functools

import numpy as np

from hcc import paper
from hcc.errors import DataError
from hcc.plausibility.thresholds import (MC_DRAWS, MC_SEED, MIN_EVENTS_HAZARD, NULL_REF,
    PFS_LANDMARK_DAYS, SCAN_FRACTION)
from hcc.plausibility._common import _days, _guarded, _na


# =========================================================================== 1. hazard
def weibull_fit(time, event, entry=None) -> tuple[float, float]:
    """Maximum-likelihood Weibull (shape ρ, scale λ; H(t) = (t/λ)^ρ) for right-censored,
    optionally left-truncated times.

    The scale has a closed form given the shape (λ^ρ = Σ(t^ρ − a^ρ)/d), so the fit is a
    one-dimensional maximisation of the profile likelihood in log ρ (same MLE as lifelines'
    ``WeibullFitter``; tests/test_plausibility.py compares them).
    """
    from scipy.optimize import minimize_scalar

    t = np.asarray(time, float)
    e = np.asarray(event, bool)
    a = np.zeros_like(t) if entry is None else np.asarray(entry, float)
    d = int(e.sum())
    if d == 0:
        raise DataError("no events: a Weibull hazard cannot be fitted")
    logt = np.log(t[e])

    def negll(lr):
        r = np.exp(lr)
        s = float(np.sum(t ** r - a ** r))
        return -(d * lr + (r - 1) * logt.sum() - d * np.log(s / d) - d)

    opt = minimize_scalar(negll, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                          options={"xatol": 1e-10})
    rho = float(np.exp(opt.x))
    lam = float((np.sum(t ** rho - a ** rho) / d) ** (1 / rho))
    return rho, lam


def compensator(times, time, entry, rho, lam) -> np.ndarray:
    """Λ̃(s) = ∫₀ˢ Y(u) h(u) du at each s of *times*, with Y the number at risk of the data
    (entry < u ≤ time) and h the Weibull hazard: Σ_i H(min(t_i, s)) − H(min(a_i, s))."""
    s = np.maximum(np.asarray(times, float), 0.0)[:, None]
    hi = np.minimum(np.asarray(time, float)[None, :], s)
    lo = np.minimum(np.asarray(entry, float)[None, :], s)
    return (((hi / lam) ** rho) - ((lo / lam) ** rho)).clip(min=0).sum(axis=1)


@functools.lru_cache(maxsize=512)
def _null_stats(d: int, width: float, draws: int = MC_DRAWS, seed: int = MC_SEED):
    """Null distributions (sorted arrays) of the largest gap and the scan count for *d*
    iid uniforms on [0, 1] (gaps from 0 to the first and between consecutive events)."""
    rng = np.random.default_rng([seed, d])
    u = np.sort(rng.random((draws, d)), axis=1)
    gaps = np.diff(np.concatenate([np.zeros((draws, 1)), u], axis=1), axis=1).max(axis=1)
    return np.sort(gaps), np.sort(_scan_counts(u, width))


def _scan_counts(u: np.ndarray, width: float) -> np.ndarray:
    """Largest number of points in a window [u_i, u_i + width] per row of sorted *u*."""
    draws, d = u.shape
    off = (np.arange(draws) * 4.0)[:, None]  # rows apart by more than any window
    flat = (u + off).ravel()
    ends = np.searchsorted(flat, (u + width + off).ravel(), side="right").reshape(draws, d)
    return (ends - (np.arange(d) + np.arange(draws)[:, None] * d)).max(axis=1)


def _upper_p(null_sorted: np.ndarray, x: float) -> float:
    """Monte Carlo P(null ≥ x) with the +1 correction."""
    k = null_sorted.size - np.searchsorted(null_sorted, x - 1e-12, side="left")
    return (k + 1) / (null_sorted.size + 1)


def _day_pileup_p(t_days, e, entry_days, rho, lam) -> tuple[int, float]:
    """Most events on one day and P(max ≥ that) for independent Poisson counts per day whose
    means are the compensator's increments over the day (events recorded on day j occurred
    in (j − 1, j])."""
    from scipy.stats import poisson

    ev = np.asarray(t_days)[np.asarray(e, bool)]
    m = int(np.bincount(ev.astype(int)).max())
    days = np.arange(int(np.min(entry_days)), int(np.max(t_days)) + 1)
    grid = compensator(np.r_[days, days[-1] + 1] - 1.0, t_days, entry_days, rho, lam)
    mu = np.diff(grid).clip(min=0)
    p = 1.0 - float(np.exp(np.sum(poisson.logcdf(m - 1, mu))))
    return m, max(p, 0.0)


def hazard_smoothness(time_days, event, entry_days=None, seed: int = MC_SEED,
                      same_day: bool = True) -> dict:
    """Test a survival curve for event-free stretches and pile-ups beyond chance.

    Null hypothesis: the events follow a smooth hazard (a Weibull, fitted by maximum
    likelihood with censoring and left truncation) acting on the patients at risk. Then, by
    the random time-change theorem, the event times mapped through the compensator
    Λ̃(t) = ∫₀ᵗ Y(s) h(s) ds (Y = number at risk in the data, h the fitted hazard) form a
    unit-rate Poisson process: given their number d they are iid uniform on [0, Λ̃(τ)]
    (= d at the MLE). Event times known to the day are spread uniformly within their day
    (fixed seed) before the mapping.

    Statistics and P-values: (1) the largest gap between consecutive transformed events,
    including 0 to the first (not the last to the end: a late plateau of long-term survivors
    is real); (2) the scan statistic, the largest number of transformed events in a window of
    width SCAN_FRACTION of the axis. P = Monte Carlo P(null ≥ observed) over MC_DRAWS sets of
    d uniforms (fixed seed). (3) The most events on one calendar day against independent
    Poisson day counts with the compensator's daily increments as means (exact); skipped
    with ``same_day=False`` (PFS: progressions are found at scans, which a protocol schedules
    on the same day after the start). The curve's P is the Bonferroni minimum k·min(p) over
    the k statistics (capped at 1).
    """
    t = np.asarray(time_days, float)
    e = np.asarray(event, bool)
    a = np.zeros_like(t) if entry_days is None else np.asarray(entry_days, float)
    keep = t > a
    t, e, a = t[keep], e[keep], a[keep]
    d = int(e.sum())
    if d < MIN_EVENTS_HAZARD:
        raise DataError(f"{d} events (fewer than {MIN_EVENTS_HAZARD})")
    rng = np.random.default_rng(seed)
    te = t.copy()
    te[e] = np.maximum(t[e] - rng.random(d), a[e] + 1e-6)  # within their day
    tt = np.maximum(te, 1e-3)
    rho, lam = weibull_fit(tt, e, a)
    total = float(compensator([tt.max()], tt, a, rho, lam)[0])
    u = np.sort(compensator(np.sort(tt[e]), tt, a, rho, lam) / total)
    gap = float(np.diff(np.r_[0.0, u]).max())
    scan = int(_scan_counts(u[None, :], SCAN_FRACTION)[0])
    null_gap, null_scan = _null_stats(d, SCAN_FRACTION)
    p_gap, p_scan = _upper_p(null_gap, gap), _upper_p(null_scan, scan)
    day_max, p_day = _day_pileup_p(t, e, a, rho, lam) if same_day else (None, np.nan)
    ps = [p for p in (p_gap, p_scan, p_day) if np.isfinite(p)]
    return {"events": d, "shape": rho, "scale": lam, "gap": gap, "p_gap": p_gap,
            "scan": scan, "p_scan": p_scan, "day_max": day_max, "p_day": p_day,
            "p": min(1.0, len(ps) * min(ps))}


def _hazard_rows(rows, cohort, alpha):
    for ep, label in (("os", "OS"), ("pfs", "PFS")):
        for arm in paper.ARMS:
            sub = cohort[cohort["arm"] == arm]
            landmark = PFS_LANDMARK_DAYS if ep == "pfs" else 0
            crit = (f"{label}, {arm}: no event-free stretch and no pile-up of events beyond "
                    f"chance under a smooth Weibull hazard (P ≥ {alpha:g})"
                    + (f"; after day {landmark} (first scan window)" if landmark else ""))

            def fn(sub=sub, ep=ep, landmark=landmark):
                if sub.empty:
                    return _na("no patients in this arm")
                t = _days(sub[f"{ep}_months"])
                r = hazard_smoothness(t, sub[f"{ep}_event"].to_numpy() == 1,
                                      np.full(t.size, float(landmark)), same_day=ep == "os")
                ours = (f"{r['events']} events, Weibull shape {r['shape']:.2f}; largest gap "
                        f"{r['gap']:.2f} of the axis (P {r['p_gap']:.3f}); {r['scan']} events "
                        f"in 1/6 (P {r['p_scan']:.3f})" + (
                            f"; {r['day_max']} on one day (P {r['p_day']:.3f})"
                            if ep == "os" else ""))
                return ours, r["p"] >= alpha, r["p"]
            _guarded(rows, f"smooth hazard [{label}, {arm}]", "hazard", crit, NULL_REF, fn)
