"""Reconstruction of a synthetic patient-level cohort from the paper's printed numbers.

Importing this package is light: numba and the calibrator are imported only when
:func:`reconstruct` runs, so ``import hcc`` and loading the shipped cohort never compile
anything.
"""
from __future__ import annotations

from hcc.paths import DEFAULT_SEED

__all__ = ["reconstruct"]


def reconstruct(seed: int = DEFAULT_SEED, out=None, progress: bool = True, cache: bool = True,
                chains: int | None = None, budget: int | None = None, cutoff: str | None = None):
    """Build the synthetic cohort for *seed* from the numbers in :mod:`hcc.paper`.

    Parameters
    ----------
    seed : int
        Seed of every random choice; the same seed gives byte-identical files.
    out : path-like, optional
        Folder to write ``cohort_raw.csv``, ``cohort.csv``, ``adverse_events.csv`` and
        ``manifest.json`` to. When None the files stay in the cache only (or are not
        written at all when ``cache`` is False).
    progress : bool
        Show one updating line on stderr (step, best score, items in tolerance).
    cache : bool
        Reuse (and fill) ``hcc.paths.CACHE_DIR / "reconstruct"``, keyed by seed, generator
        version, move budget, number of chains and data cut-off.
    chains : int, optional
        Most independent annealing chains to run (seeds derived from *seed*; default
        ``generator.DEFAULT_CHAINS``). They run in waves of ``generator.WAVE`` side by side
        in forked processes; each ends with a deterministic repair phase
        (``generator.repair``); no further wave starts once a chain has every scored item
        inside the acceptance tolerance. The best chain run wins (most items in tolerance,
        then lowest score, ties to the lowest chain). Part of the result's identity; the
        result never depends on the machine's number of cores.
    budget : int, optional
        Moves per chain (default ``generator.DEFAULT_BUDGET``); fixed, never wall time.
        The last stage on the winning chain's state (``printed.last_stage``: more Cox
        numbers at their printed rounding, none leaving its tolerance) may make
        ``printed.PAIR_EVALS_PER_MOVE`` × *budget* evaluations.
    cutoff : str, optional
        Data cut-off date (ISO); default ``calibrate.CUTOFF_DEFAULT``.

    Returns
    -------
    Reconstruction
        dict-like with ``cohort``, ``raw``, ``ae`` (DataFrames), ``manifest``, ``path``,
        ``cached``, ``seconds`` and ``timing`` (per-chain annealing and repair seconds when
        the calibration ran, else None).

    Notes
    -----
    The search scores its candidates with compiled numerics (``fastnum``) that follow R's
    ``survival`` package (Efron Cox with Wald CI/P, ``survfit`` medians with
    ``conf.type="log"``, ``survdiff``); the tests check them against R live. Inside the
    annealing loop the Cox fits take plain Newton steps from the previous estimate
    (``fastnum.cox_uni_newton``, ``cox_multi_newton``); every reported figure is refitted
    on R's path.
    """
    from hcc.reconstruct import generator

    return generator.reconstruct(seed=seed, out=out, progress=progress, cache=cache,
                                 chains=generator.DEFAULT_CHAINS if chains is None else chains,
                                 budget=generator.DEFAULT_BUDGET if budget is None else budget,
                                 cutoff=cutoff)
