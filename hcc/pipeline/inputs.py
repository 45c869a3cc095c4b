"""What a build and its chapters run on: the cohort and adverse-event files for
(``data``, ``seed``), each rule in one place.

* a user's file (``data``), else the shipped synthetic cohort (the default seed), else the
  cohort reconstructed with ``seed``: asked of :func:`hcc.reconstruct.reconstruct` on
  first use (lazily: only then is the calibrator, numba, imported) and cached under
  ``.cache/cohorts/``;
* the adverse-event file the chapters read (:func:`adverse_events_path`), which
  :func:`hcc.pipeline.privacy.decide` judges.

The cohort files themselves are read by :mod:`hcc.cohort.load`, which never imports the
reconstruction.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from hcc import paths
from hcc.cohort.load import load_adverse_events, load_cohort
from hcc.cohort.shipped import is_default_seed
from hcc.cohort.shipped import manifest_hashes as _manifest_hashes
from hcc.paths import sha256_file as _sha256


def seed_folder(seed: int) -> Path:
    """Where the cohort reconstructed with *seed* is cached (it may not be built yet)."""
    return paths.CACHE_DIR / "cohorts" / f"seed-{int(seed)}"


def reconstructed(seed: int, progress: bool = False) -> Path:
    """Folder holding the cohort reconstructed with *seed* (built on first use, with the
    reconstruction's progress line on stderr when *progress*)."""
    out = seed_folder(seed)
    done = (out / "cohort.csv").exists() and (out / "manifest.json").exists()
    if not done or _sha256(out / "cohort.csv") not in _manifest_hashes(out):
        from hcc.reconstruct import reconstruct  # lazy: imports the calibrator (numba)

        reconstruct(seed=int(seed), out=out, progress=progress, cache=True)
    return out


def get_cohort(data: str | Path | None = None, seed: int | None = None, mapping=None,
               progress: bool = False) -> pd.DataFrame:
    """The cohort the book runs on.

    Parameters
    ----------
    data : str or Path, optional
        A user's cohort file; when given, *seed* is ignored.
    seed : int, optional
        ``None`` or :data:`hcc.paths.DEFAULT_SEED`: the shipped cohort. Another seed: the
        cohort reconstructed with that seed (built on first use by
        :func:`hcc.reconstruct.reconstruct`, cached under ``.cache/cohorts/``).
    mapping : optional
        Mapping for a user's file (see :mod:`hcc.cohort.read`).
    progress : bool
        Show the reconstruction's progress line on stderr when a seed is built.

    Returns
    -------
    DataFrame
        The validated analysis frame (see :func:`load_cohort`).
    """
    if data is not None and str(data).strip() != "":
        return load_cohort(data, mapping=mapping)
    if is_default_seed(seed):
        return load_cohort()
    return load_cohort(reconstructed(int(seed), progress) / "cohort.csv")


def get_adverse_events(data: str | Path | None = None, seed: int | None = None,
                       path: str | Path | None = None, mapping=None) -> pd.DataFrame | None:
    """The adverse-event table matching :func:`get_cohort` (same *data*/*seed*).

    *path* names an adverse-event file explicitly. For a user's cohort file without *path*,
    an ``adverse_events.csv`` beside it is used if present, else ``None`` (no safety data).
    """
    if (path is not None and str(path).strip() != "") or (data is not None and str(data).strip() != ""):
        chosen = adverse_events_path(data, seed, path)
        return None if chosen is None else load_adverse_events(chosen, mapping=mapping if path else None)
    if is_default_seed(seed):
        return load_adverse_events()
    return load_adverse_events(reconstructed(int(seed)) / "adverse_events.csv")


def adverse_events_path(data: str | Path | None = None, seed: int | None = None,
                        path: str | Path | None = None) -> Path | None:
    """The adverse-event file :func:`get_adverse_events` reads for these arguments (the rule
    in one place; :func:`hcc.pipeline.privacy.decide` judges the same file). Never reconstructs.

    *path* when given; else, for a user's *data* file, an ``adverse_events.csv`` beside it if
    present (None otherwise); else the shipped table, or the seed's cached one.
    """
    if path is not None and str(path).strip() != "":
        return Path(path)
    if data is not None and str(data).strip() != "":
        beside = Path(data).parent / "adverse_events.csv"
        return beside if beside.exists() else None
    if is_default_seed(seed):
        return paths.ADVERSE_EVENTS_CSV
    return seed_folder(int(seed)) / "adverse_events.csv"

