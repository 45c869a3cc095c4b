"""From a calibrated state to the files: baseline columns, regimen labels, start dates,
the raw export with dates, the analysis table (by the loader's own derivation), adverse
events; deterministic CSV bytes and the manifest's hashes."""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from hcc import paper
from hcc.reconstruct.adverse_events import draw_adverse_events
from hcc.reconstruct.study_dates import _date, _window

ARM_ORDER = paper.ARMS  # rows 0..36 TKI, 37..92 TKI-ICI

def _categories(state: dict, rng: np.random.Generator) -> pd.DataFrame:
    """The baseline columns of the data dictionary from the state (etiology, in no model,
    is allocated at random within the arm with the printed counts)."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import model

    X = state["X"]
    arm = state["arm"]
    T = cal.TERM_INDEX
    df = pd.DataFrame({"arm": [ARM_ORDER[a] for a in arm]})
    eti = np.empty(len(arm), dtype=object)
    for a in range(len(ARM_ORDER)):
        idx = np.flatnonzero(arm == a)
        eti[idx] = rng.permutation(np.concatenate(
            [[lv] * c[a] for lv, c in paper.TABLE1_COUNTS["etiology"].items()]))
    df["regimen"] = [model.regimen_codes()[r] for r in state["regimen"]]
    df["age"] = state["age"].astype(int)
    df["sex"] = np.where(X[:, T["sex"]] > 0.5, "Male", "Female")
    df["ecog"] = X[:, T["ecog"]].astype(int)
    df["etiology"] = eti
    for c in ("surgery", "tace", "ablation", "tumor_number_gt3", "tumor_size_gt5", "pvtt",
              "metastases", "afp_gt400"):
        df[c] = X[:, T[c]].astype(int)
    df["child_pugh"] = np.where(X[:, T["child_pugh"]] > 0.5, "B7", "A")
    df["bclc"] = np.where(X[:, T["bclc"]] > 0.5, "C", "B")
    df["best_response"] = [model.RESPONSES[r] for r in state["resp"]]
    return df


#: The paper's statements on regimens (Results): "median PFS and OS tended to be longer
#: in REG than in LEN" (not significant, "the small number size of REG") and "no
#: significant differences in survival were found between CAM and SIN". Log-rank
#: chi-square kept at or below this (P ≥ 0.08, a margin above 0.05), REG medians ≥ LEN.
REGIMEN_CHISQ_MAX = 3.0
REGIMEN_SWAPS = 4000


def _regimen_violation(state: dict, regimen: np.ndarray) -> float:
    """How far the regimen labels are from the paper's statements (0: all hold)."""
    from hcc.reconstruct import model
    from hcc.reconstruct.fastnum import km_median, logrank_chisq

    names = model.regimen_codes()
    tki_reg = np.array([names[r].startswith("REG") for r in regimen])
    pd1 = np.array(["+" in names[r] for r in regimen])
    cam = np.array([names[r].endswith("CAM") for r in regimen])
    bad = 0.0
    for times, events in ((state["osd"], state["otype"] <= 1), (state["pfsd"], state["otype"] <= 2)):
        o = np.argsort(times, kind="mergesort")
        t, e = times[o].astype(np.float64), events[o].astype(np.int64)
        for g, use in ((tki_reg[o], np.ones(len(o), bool)), (cam[o], pd1[o])):
            chi = logrank_chisq(t[use], e[use], g[use].astype(np.int64))
            bad += max(0.0, chi - REGIMEN_CHISQ_MAX)
        m_reg = km_median(t[tki_reg[o]], e[tki_reg[o]])
        m_len = km_median(t[~tki_reg[o]], e[~tki_reg[o]])
        if np.isfinite(m_len) and not (m_reg >= m_len):
            bad += (m_len - m_reg) / 30.0 if np.isfinite(m_reg) else 1.0
    return bad


def assign_regimens(state: dict, cutoff: str, rng: np.random.Generator) -> dict:
    """Regimen labels that meet the paper's statements on regimens.

    Regimen is in no printed model, so the calibration leaves the model's labels alone;
    here, before the dates are drawn, labels are exchanged between two patients of the
    same arm (a deterministic greedy search, at most :data:`REGIMEN_SWAPS` tries) while
    that brings the cohort closer to the statements (:func:`_regimen_violation`), never
    giving a patient a regimen that was not yet available for their follow-up."""
    from hcc.reconstruct import calibrate as cal
    from hcc.reconstruct import model

    cut = _window(cutoff)[0]
    e0 = _date(cal.ENROL_START)
    regimen = state["regimen"].copy()
    avail = model.availability(regimen, e0)
    bad = _regimen_violation(state, regimen)
    arms = [np.flatnonzero(state["arm"] == a) for a in range(len(ARM_ORDER))]
    for _ in range(REGIMEN_SWAPS):
        if bad == 0.0:
            break
        idx = arms[int(rng.integers(len(arms)))]
        i, j = (int(v) for v in rng.choice(idx, 2, replace=False))
        if regimen[i] == regimen[j] or state["osd"][i] + avail[j] > cut \
                or state["osd"][j] + avail[i] > cut:
            continue
        regimen[i], regimen[j] = regimen[j], regimen[i]
        new = _regimen_violation(state, regimen)
        if new <= bad:
            bad = new
            avail[i], avail[j] = avail[j], avail[i]
        else:
            regimen[i], regimen[j] = regimen[j], regimen[i]
    return dict(state, regimen=regimen, avail=avail)


def start_days(state: dict, cutoff: str, rng: np.random.Generator) -> np.ndarray:
    """Start day (after the first enrolment date) of each patient: the model's own start
    day when it still fits the calibrated times, else a uniform day of the interval that
    fits. Fits: on or after the regimen's availability, within enrolment, death before
    the cut-off, an alive patient last seen in the ``LAST_VISIT_GAP`` days before the
    cut-off — or earlier for one lost to follow-up."""
    from hcc.reconstruct import calibrate as cal

    cut, minadmin = _window(cutoff)
    last_start = min((_date(cal.ENROL_END) - _date(cal.ENROL_START)).days,
                     cut - cal.FIRST_SCAN[1] - 1)
    out = np.empty(len(state["osd"]), dtype=np.int64)
    for i, (ty, o) in enumerate(zip(state["otype"], state["osd"])):
        lo, hi = int(state["avail"][i]), last_start
        if ty <= 1:
            hi = min(hi, cut - o)
        elif o >= minadmin:
            lo, hi = max(lo, cut - cal.LAST_VISIT_GAP - o), min(hi, cut - o)
        else:
            hi = min(hi, cut - cal.LAST_VISIT_GAP - o - 1)
        if lo > hi:
            raise RuntimeError(f"no start date fits patient row {i} (a calibration bug)")
        s0 = int(state["start"][i])
        out[i] = s0 if lo <= s0 <= hi else lo + int(rng.integers(0, hi - lo + 1))
    return out


def build_frames(state: dict, seed: int, cutoff: str) -> dict[str, pd.DataFrame]:
    """Turn a calibrated state into the raw export (dates), the analysis table (derived
    from it by :func:`hcc.cohort.derive.derive_analysis`, the loader's own rule) and the adverse
    events (:func:`adverse_events.draw_adverse_events`)."""
    from hcc.cohort.derive import derive_analysis
    from hcc.cohort.dictionary import RAW_COLUMNS

    from hcc.reconstruct import calibrate as cal

    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    state = assign_regimens(state, cutoff, rng)
    base = _categories(state, rng)
    e0 = _date(cal.ENROL_START)
    starts = [e0 + _dt.timedelta(days=int(d)) for d in start_days(state, cutoff, rng)]
    order = sorted(range(len(base)), key=lambda i: (starts[i], i))
    ids = [""] * len(base)
    for r, i in enumerate(order):
        ids[i] = f"P{r + 1:03d}"
    base.insert(0, "patient_id", ids)

    def day(i, d):
        return (starts[i] + _dt.timedelta(days=int(d))).isoformat()

    ty, osd, pfsd = state["otype"], state["osd"], state["pfsd"]
    raw = base.copy()
    raw["start_date"] = [s.isoformat() for s in starts]
    raw["progression_date"] = [day(i, pfsd[i]) if ty[i] in (1, 2) else "" for i in range(len(raw))]
    raw["death_date"] = [day(i, osd[i]) if ty[i] <= 1 else "" for i in range(len(raw))]
    raw["last_contact_date"] = [day(i, osd[i]) for i in range(len(raw))]
    raw = raw[list(RAW_COLUMNS)].iloc[order].reset_index(drop=True)
    cohort = derive_analysis(raw)
    ae = draw_adverse_events(base[["patient_id", "arm", "regimen"]], rng)
    return {"raw": raw, "cohort": cohort, "ae": ae}


def _csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df = df.copy()
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = [repr(float(v)) for v in df[c]]
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def write_files(frames: dict, out: Path, manifest: dict) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"cohort_raw.csv": _csv_bytes(frames["raw"]),
             "cohort.csv": _csv_bytes(frames["cohort"]),
             "adverse_events.csv": _csv_bytes(frames["ae"])}
    man = dict(manifest)
    man["files"] = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    files["manifest.json"] = (json.dumps(man, indent=2, sort_keys=True, ensure_ascii=False)
                              + "\n").encode("utf-8")
    paths = {}
    for name, data in files.items():
        p = out / name
        p.write_bytes(data)
        paths[name] = p
    return paths


def _read_files(folder: Path) -> dict:
    raw = pd.read_csv(folder / "cohort_raw.csv", dtype=str, keep_default_na=False)
    return {
        "raw": raw,
        "cohort": pd.read_csv(folder / "cohort.csv"),
        "ae": pd.read_csv(folder / "adverse_events.csv"),
        "manifest": json.loads((folder / "manifest.json").read_text()),
    }
