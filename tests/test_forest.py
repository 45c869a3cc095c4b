"""hcc.forest.forest_plot: the layout of the paper's Fig. 3 (one row per subgroup level,
n / HR (95% CI) / P text columns, log axis, line at HR = 1, "favours" captions).

References: the paper's Fig. 3 layout and its one printed estimate (BCLC stage B:
HR 0.49, 95% CI 0.16–1.51, P = 0.214; hcc.paper.SUBGROUP_PFS).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hcc import paper  # noqa: E402
from hcc.cox_tables import cox_screen, subgroup_hr  # noqa: E402
from hcc.coxph import cox  # noqa: E402
from hcc.errors import DataError  # noqa: E402
from hcc.forest import forest_plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def paper_like_summary():
    b = paper.SUBGROUP_PFS[("bclc", "B")]
    rows = {
        ("All patients", ""): dict(n=93, HR=0.34, lower=0.2, upper=0.56, p=0.0001, p_interaction=np.nan),
        ("BCLC", "B"): dict(n=21, HR=b["HR"].value, lower=b["lower"].value, upper=b["upper"].value,
                            p=b["p"].value, p_interaction=0.4),
        ("BCLC", "C"): dict(n=72, HR=0.3, lower=0.17, upper=0.53, p=0.00002, p_interaction=0.4),
        ("Sex", "Female"): dict(n=14, HR=np.nan, lower=np.nan, upper=np.nan, p=np.nan,
                                p_interaction=np.nan),
    }
    idx = pd.MultiIndex.from_tuples(list(rows), names=["subgroup", "level"])
    return pd.DataFrame(list(rows.values()), index=idx)


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_fig3_layout_rows_text_columns_and_reference_line():
    s = paper_like_summary()
    ax = forest_plot(s, favours=("Favours TKI-ICI", "Favours TKI"))
    tx = texts(ax)
    # the paper's printed BCLC-B estimate is rendered as printed
    assert "0.49 (0.16–1.51)" in tx and "0.214" in tx
    assert {"n", "HR (95% CI)", "P"} <= set(tx)
    assert "NE" in tx  # not-estimable row: listed, no point
    assert "<0.001" in tx
    assert "P interaction 0.400" in tx
    assert "← Favours TKI-ICI" in tx and "Favours TKI →" in tx
    assert ax.get_xscale() == "log"
    assert any(np.allclose(line.get_xdata(), [1, 1]) for line in ax.lines)
    # one point per estimable row; rows = 4 data rows + 2 subgroup headers
    assert len(ax.collections) == 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["All patients", "BCLC", "   B", "   C", "Sex", "   Female"]


def test_point_area_grows_with_n():
    s = paper_like_summary()
    ax = forest_plot(s)
    sizes = [c.get_sizes()[0] for c in ax.collections]  # All (93), B (21), C (72)
    assert sizes[0] > sizes[2] > sizes[1]


def test_plain_index_label_col_and_linear_scale():
    s = pd.DataFrame({"name": ["a", "b"], "HR": [0.5, 2.0], "lower": [0.3, 1.1],
                      "upper": [0.9, 3.5], "p": [0.02, 0.03]})
    fig, ax = plt.subplots()
    out = forest_plot(s, ax=ax, label_col="name", n=None, log_scale=False, title="T")
    assert out is ax
    assert ax.get_xscale() == "linear" and ax.get_title(loc="left") == "T"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert "n" not in texts(ax)


@pytest.mark.parametrize("bad, message", [
    (lambda s: s.drop(columns="HR"), "column 'HR'"),
    (lambda s: s.iloc[:0], "no rows"),
    (lambda s: s.to_numpy(), "table"),
])
def test_bad_tables(bad, message):
    with pytest.raises(DataError, match=message):
        forest_plot(bad(paper_like_summary()))


def test_result_plots_return_axes(toy_cohort):
    d = toy_cohort.assign(age_gt60=(toy_cohort.age > 60).astype(int))
    sg = subgroup_hr(d, "pfs_months", "pfs_event", "arm", ["ecog", "sex"])
    ax = sg.plot()
    assert "← Favours TKI-ICI" in texts(ax) and "Favours TKI →" in texts(ax)
    assert len(ax.get_yticklabels()) == len(sg.summary) + 2  # + one header per subgroup
    ax2 = cox(d, "os_months", "os_event", ["arm", "ecog"]).plot()
    assert len(ax2.collections) == 2
    sc = cox_screen(d, "os_months", "os_event", ["arm", "ecog", "sex"], threshold=1.0)
    ax3 = sc.plot()
    assert len(ax3.collections) == len(sc.multivariate.summary)
