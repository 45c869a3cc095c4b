"""Is a file ours? The synthetic cohort's provenance, decided in one place.

A file is a synthetic reconstruction made by our generator when its sha256 is listed by a
``manifest.json`` of the generator (:data:`GENERATOR_NAME`) beside it, or by the shipped
cohort's manifest (:data:`hcc.paths.DATA_DIR`). Any doubt (no manifest, a file we cannot
read) means a user's file. :func:`hcc.pipeline.privacy.decide` and the loaders
(:mod:`hcc.cohort.load`) ask here. Standard library only: importing this never imports
pandas.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hcc import paths
from hcc.paths import sha256_file as _sha256

#: ``manifest.json["generator"]`` of files written by our reconstruction.
GENERATOR_NAME = "hcc.reconstruct"


def _hashes_in(obj: Any) -> set[str]:
    """Every sha256-looking hex string anywhere in a parsed manifest."""
    out: set[str] = set()
    if isinstance(obj, dict):
        for v in obj.values():
            out |= _hashes_in(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= _hashes_in(v)
    elif isinstance(obj, str):
        s = obj.lower().removeprefix("sha256:")
        if len(s) == 64 and all(c in "0123456789abcdef" for c in s):
            out.add(s)
    return out




def manifest_hashes(folder: Path) -> set[str]:
    """sha256 of the files listed by a manifest of our generator in *folder* (else empty)."""
    mf = folder / "manifest.json"
    try:
        man = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(man, dict) or man.get("generator") != GENERATOR_NAME:
        return set()
    return _hashes_in(man.get("files", {}))


def is_synthetic_file(path: Path) -> bool:
    """True when *path* is listed (by sha256) in our generator's manifest beside it, or is
    byte-identical to a file of the shipped cohort."""
    try:
        digest = _sha256(path)
    except OSError:
        return False
    return digest in manifest_hashes(path.parent) or digest in manifest_hashes(paths.DATA_DIR)



def is_default_seed(seed) -> bool:
    """True for ``None`` or :data:`hcc.paths.DEFAULT_SEED`: the shipped cohort's seed."""
    return seed is None or int(seed) == paths.DEFAULT_SEED
