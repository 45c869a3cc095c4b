"""Every path the project uses, defined once (the book's folders: :class:`hcc.pipeline.project.Project`)."""
from __future__ import annotations

from pathlib import Path

#: Root of the repository (the folder holding ``_config.yml``).
PROJ_ROOT = Path(__file__).resolve().parents[1]
#: The shipped, synthetic reconstructed cohort.
DATA_DIR = Path(__file__).resolve().parent / "data"
COHORT_RAW_CSV = DATA_DIR / "cohort_raw.csv"
COHORT_CSV = DATA_DIR / "cohort.csv"
ADVERSE_EVENTS_CSV = DATA_DIR / "adverse_events.csv"
COHORT_MANIFEST = DATA_DIR / "manifest.json"
#: (The book's own folders — notebooks/, book/, _build/html — are relative to a project
#: root: :class:`hcc.pipeline.project.Project`, so tests can build a book anywhere.)
#: Shared notebook parameters with their documented defaults.
PARAMS_FILE = PROJ_ROOT / "params.yml"
#: Cache for cohorts reconstructed with a non-default seed, and build stamps.
CACHE_DIR = PROJ_ROOT / ".cache"

#: Seed of the shipped reconstructed cohort (also the `seed` default in params.yml).
DEFAULT_SEED = 20221128


def sha256_file(path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks (data provenance, build stamps)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
