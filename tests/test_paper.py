"""The published numbers: internal consistency checks against the paper's own arithmetic.

References: the paper's printed percentages and totals (Li et al. 2022, Table 1, Results).
A failure here means a transcription error in hcc/paper.py.
"""
import math

import pytest

from hcc import paper


def pct(k, n):
    return 100 * k / n


def test_arm_sizes_and_flow():
    assert sum(paper.ARM_N.values()) == paper.FLOW["included"] == 93
    assert paper.FLOW["discontinued_sorafenib"] > paper.FLOW["second_line_systemic"] > paper.FLOW["included"]
    for arm, regimens in paper.REGIMENS.items():
        assert sum(regimens.values()) == paper.ARM_N[arm]


@pytest.mark.parametrize("column", sorted(paper.TABLE1_COUNTS))
def test_table1_levels_sum_to_arm_sizes(column):
    levels = paper.TABLE1_COUNTS[column]
    assert sum(t for t, _ in levels.values()) == paper.ARM_N["TKI"]
    assert sum(i for _, i in levels.values()) == paper.ARM_N["TKI-ICI"]
    assert column in paper.TABLE1_P


def test_table1_overall_percentages_as_printed():
    # Table 1, Overall column, as printed
    printed = {("sex", "Male"): "84.9", ("ecog", 0): "35.5", ("etiology", "HBV"): "91.4",
               ("surgery", 1): "22.6", ("tace", 1): "95.7", ("ablation", 1): "66.7",
               ("tumor_number_gt3", 1): "67.7", ("tumor_size_gt5", 1): "24.7", ("pvtt", 1): "39.8",
               ("metastases", 1): "44.1", ("child_pugh", "B7"): "31.2", ("bclc", "C"): "77.4",
               ("afp_gt400", 1): "40.9"}
    for (col, level), text in printed.items():
        t, i = paper.TABLE1_COUNTS[col][level]
        assert paper.Printed(text).matches(pct(t + i, 93)), (col, level)


def test_text_inconsistencies_are_real():
    # Surgery: the text says 24.9%, Table 1 and arithmetic say 22.6%
    t, i = paper.TABLE1_COUNTS["surgery"][1]
    assert paper.Printed("22.6").matches(pct(t + i, 93))
    assert not paper.Printed("24.9").matches(pct(t + i, 93))
    # Tumour number > 3: 66.7% in the text is wrong, 67.7% is right
    t, i = paper.TABLE1_COUNTS["tumor_number_gt3"][1]
    assert not paper.Printed("66.7").matches(pct(t + i, 93))
    # "approximately 1 in 5" with grade 3/4: 25/93
    g = paper.AE_GRADE34["TKI"] + paper.AE_GRADE34["TKI-ICI"]
    assert g == 25 and abs(pct(g, 93) - 20) > 5
    for key in ("surgery_pct", "tumor_number_pct", "table3_sex_hr", "tace_os_vs_pfs", "grade34_fraction"):
        assert key in paper.INCONSISTENCIES


def test_response_rates_as_printed():
    for arm in paper.ARMS:
        counts = paper.RESPONSE[arm]
        n = sum(counts.values())
        assert n == paper.ARM_N[arm]
        assert paper.ORR[arm].matches(pct(counts["CR"] + counts["PR"], n))
        assert paper.DCR[arm].matches(pct(n - counts["PD"], n))


def test_ae_rates_as_printed():
    for arm in paper.ARMS:
        assert paper.AE_ANY_PCT[arm].matches(pct(paper.AE_ANY[arm], paper.ARM_N[arm]))
        assert paper.AE_GRADE34_PCT[arm].matches(pct(paper.AE_GRADE34[arm], paper.ARM_N[arm]))
    assert paper.AE_ANY_PCT["Overall"].matches(pct(paper.AE_ANY["TKI"] + paper.AE_ANY["TKI-ICI"], 93))


def test_event_percentages_as_printed():
    # "81.1% (n = 30) died, 86.5% (n = 32) progressed" (TKI); "42.9% (n = 24)", "58.9% (n = 33)" (TKI-ICI)
    for endpoint, printed in (("os", ("81.1", "42.9")), ("pfs", ("86.5", "58.9"))):
        for arm, k, text in zip(paper.ARMS, paper.EVENTS[endpoint], printed):
            assert paper.Printed(text).matches(pct(k, paper.ARM_N[arm]))


def test_printed_medians_are_whole_days_over_30():
    # METHODS.md §3: every two-decimal time the paper prints is a whole number of days / 30
    for endpoint in paper.MEDIANS.values():
        for triple in endpoint.values():
            for p in triple:
                if p.text == "NR":
                    continue
                days = round(p.value * 30)
                assert p.matches(days / 30, decimals=paper.MEDIAN_DECIMALS)


def test_cox_tables_complete_and_screen_consistent():
    for endpoint in ("os", "pfs"):
        uni = paper.COX_UNIVARIATE[endpoint]
        assert set(uni) == set(paper.COX_TERMS) == set(paper.COX_CODING)
        selected = tuple(t for t in paper.COX_TERMS if uni[t]["p"].value < paper.SCREEN_THRESHOLD)
        assert selected == paper.SCREEN_SELECTED[endpoint]
        assert tuple(paper.COX_MULTIVARIATE[endpoint]) == selected
        for row in list(uni.values()) + list(paper.COX_MULTIVARIATE[endpoint].values()):
            assert row["lower"].value <= row["HR"].value <= row["upper"].value


class TestPrinted:
    def test_rounding(self):
        p = paper.Printed("7.63")
        assert p.matches(229 / 30) and not p.matches(230 / 30)
        assert paper.Printed("14").matches(14.0, decimals=2)
        assert not paper.Printed("14").matches(14.0333, decimals=2)
        assert paper.Printed("66.2").matches(66.25)  # R prints 66.25 as 66.2 (round half to even)

    def test_bounds_and_nr(self):
        assert paper.Printed("<0.001").matches(0.0004)
        assert not paper.Printed("<0.001").matches(0.002)
        assert paper.Printed("NR").matches(math.inf) and paper.Printed("NR").matches(float("nan"))
        assert not paper.Printed("NR").matches(20.0)
        assert not paper.Printed("0.5816").matches(float("nan"))
