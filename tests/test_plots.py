"""hcc.plots: flow diagram with the paper's Fig. 1 counts (hcc.paper.FLOW, REGIMENS),
wrappers and the palette."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hcc import paper  # noqa: E402
from hcc.plots import ARM_COLORS, PALETTE, ae_chart, flow_diagram, group_colors, response_bars  # noqa: E402
from hcc.response import response_table  # noqa: E402
from hcc.safety import safety_table  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_flow_diagram_shows_paper_counts():
    ax = flow_diagram(paper.FLOW, paper.REGIMENS)
    text = "\n".join(t.get_text() for t in ax.texts)
    for n in paper.FLOW.values():
        assert f"(n = {n})" in text
    for arm, regs in paper.REGIMENS.items():
        assert f"{arm} (n = {paper.ARM_N[arm]})" in text
        for reg, n in regs.items():
            assert f"{reg}: {n}" in text
    assert "excluded: 26" in text and "excluded: 12" in text  # 131 - 105, 105 - 93


def test_flow_diagram_accepts_list_of_stages_and_an_axes():
    fig, ax = plt.subplots()
    out = flow_diagram([("Screened", 10), ("Included", 8)], ax=ax)
    assert out is ax
    assert any("Screened" in t.get_text() for t in ax.texts)


def test_wrappers_return_axes():
    rows = [(a, c) for a, d in paper.RESPONSE.items() for c, n in d.items() for _ in range(n)]
    resp = response_table(pd.DataFrame(rows, columns=["arm", "best_response"]), "arm")
    fig, ax = plt.subplots()
    assert response_bars(resp, ax=ax) is ax
    df = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "arm": ["TKI", "TKI", "TKI-ICI", "TKI-ICI"]})
    ae = pd.DataFrame({"patient_id": ["a", "c"], "term": ["Rash", "Rash"], "grade": [1, 3]})
    fig, ax = plt.subplots()
    assert ae_chart(safety_table(ae, df, "arm"), ax=ax) is ax


def test_palette_is_okabe_ito_and_arm_colours_are_fixed():
    assert PALETTE[:3] == ("#0072B2", "#E69F00", "#009E73")
    cols = group_colors(["TKI-ICI", "TKI", "Other"])
    assert cols["TKI"] == ARM_COLORS["TKI"] and cols["TKI-ICI"] == ARM_COLORS["TKI-ICI"]
    assert cols["Other"] not in ARM_COLORS.values()
    assert group_colors(["x", "y"], ["red", "blue"]) == {"x": "red", "y": "blue"}
