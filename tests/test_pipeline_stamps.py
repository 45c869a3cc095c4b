"""hcc.pipeline.stamps: the skip decision, without building a book (tests/test_pipeline.py
builds tiny books and checks the same rule end to end)."""
from __future__ import annotations

from hcc.pipeline import stamps
from hcc.pipeline.project import Project


def test_the_skip_decision_is_one_function(tmp_path):
    """Reference: the stamp rule of ARCHITECTURE.md ("Build pipeline"): a notebook runs unless
    its stamp holds the same inputs key and the executed copy's sha256; ``--only`` runs the
    named ones (and any without an executed copy), the others keep their copies."""
    import hashlib
    import json

    proj = Project(tmp_path)
    proj.book_dir.mkdir(parents=True)
    proj.stamps_dir.mkdir(parents=True)
    status = stamps.notebook_status
    assert status(proj, "01_a", "k1", []) == "run"  # never executed
    assert status(proj, "01_a", "k1", ["01_a"]) == "run"
    copy = proj.book_dir / "01_a.ipynb"
    copy.write_text("{}")
    (proj.stamps_dir / "01_a.json").write_text(json.dumps(
        {"key": "k1", "sha256": hashlib.sha256(b"{}").hexdigest()}))
    assert status(proj, "01_a", "k1", []) == "cached"
    assert status(proj, "01_a", "k2", []) == "run"  # an input changed
    assert status(proj, "01_a", "k2", ["02_b"]) == "kept"  # --only another: keep the copy
    assert status(proj, "01_a", "k1", ["02_b"]) == "cached"
    assert status(proj, "01_a", "k1", ["01_a"]) == "run"  # --only this one: always
    assert status(proj, "02_b", "k1", ["01_a"]) == "run"  # no executed copy yet
    copy.write_text('{"edited": 1}')  # the executed copy was changed by hand
    assert status(proj, "01_a", "k1", []) == "run"
