"""Shared fixtures. ``toy_cohort`` is a small random cohort in the data-dictionary layout,
for tests that need data of the right shape but not the reconstructed cohort."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `from rtools import ...`


def make_toy_cohort(n: int = 120, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.4, "TKI", "TKI-ICI")
    regimen = np.where(arm == "TKI", rng.choice(["REG", "LEN"], n),
                       rng.choice(["REG+CAM", "REG+SIN", "LEN+CAM", "LEN+SIN"], n))
    ecog = rng.integers(0, 2, n)
    pvtt = rng.integers(0, 2, n)
    mets = rng.integers(0, 2, n)
    bclc = np.where((ecog == 0) & (pvtt == 0) & (mets == 0), "B", "C")
    rate = np.where(arm == "TKI", 1 / 8, 1 / 20)
    os_days = np.maximum(1, np.round(rng.exponential(1 / rate, n) * 30)).astype(int)
    cens = np.maximum(1, np.round(rng.uniform(60, 900, n))).astype(int)
    os_event = (os_days <= cens).astype(int)
    os_days = np.minimum(os_days, cens)
    pfs_days = np.maximum(1, np.round(os_days * rng.uniform(0.2, 1.0, n))).astype(int)
    pfs_event = np.where(pfs_days < os_days, 1, os_event)
    return pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(1, n + 1)],
        "arm": arm, "regimen": regimen,
        "age": rng.integers(35, 80, n),
        "sex": np.where(rng.random(n) < 0.85, "Male", "Female"),
        "ecog": ecog,
        "etiology": rng.choice(["HBV", "HCV", "HBV+HCV"], n, p=[0.9, 0.05, 0.05]),
        "surgery": rng.integers(0, 2, n), "tace": (rng.random(n) < 0.9).astype(int),
        "ablation": rng.integers(0, 2, n), "tumor_number_gt3": rng.integers(0, 2, n),
        "tumor_size_gt5": rng.integers(0, 2, n), "pvtt": pvtt, "metastases": mets,
        "afp_gt400": rng.integers(0, 2, n),
        "child_pugh": np.where(rng.random(n) < 0.7, "A", "B7"), "bclc": bclc,
        "os_months": os_days / 30, "os_event": os_event,
        "pfs_months": pfs_days / 30, "pfs_event": pfs_event,
        "best_response": rng.choice(["CR", "PR", "SD", "PD"], n, p=[0.03, 0.12, 0.5, 0.35]),
    })


@pytest.fixture
def toy_cohort() -> pd.DataFrame:
    return make_toy_cohort()


def pytest_sessionfinish(session, exitstatus):
    """With HCC_FREEZE_R=1, write the R outputs of this run as frozen references (tests/r/)."""
    import rtools

    if rtools.FREEZE:
        n = rtools.write_frozen()
        print(f"\nfrozen R references: {n} call(s) recorded in {rtools.FROZEN}")


@pytest.fixture(autouse=True)
def _no_chapter_mask():
    """``hcc.chapter.setup`` makes its mask the chapter's mask (``hcc.pipeline.privacy.activate``) for the
    rest of the process; a test must not inherit another test's chapter."""
    yield
    from hcc.pipeline import privacy

    privacy.activate(None)
