"""analysis.stats for binary outcomes — proportion_summary and compare_proportions (risk difference,
risk and odds ratios, chi² or Fisher) — against independent references (statsmodels, scipy, hand
formulas, Newcombe's published examples)."""

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analysis.stats import compare_proportions, proportion_summary
from tests.analysis.stats_helpers import approx, assert_json_safe, flat

Z = sps.norm.ppf(0.975)

# Trial paper counts (EXP first): clinical pregnancy, embryo implantation, miscarriage.
PAPER_TABLES = {"CPR": (16, 40, 12, 40), "EIR": (33, 80, 19, 84), "MCR": (1, 16, 1, 12)}
GENERAL_TABLES = [
    *PAPER_TABLES.values(),
    (56, 70, 48, 80),
    (5, 56, 0, 29),
    (0, 10, 3, 10),
    (1, 1, 0, 1),
]


def cells(events_exp, n_exp, events_ctrl, n_ctrl):
    return events_exp, n_exp - events_exp, events_ctrl, n_ctrl - events_ctrl


def corrected_cells(*counts):
    a, b, c, d = cells(*counts)
    return (a, b, c, d) if 0 not in (a, b, c, d) else (a + 0.5, b + 0.5, c + 0.5, d + 0.5)


def katz(a, b, c, d):
    rr = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return rr, rr * math.exp(-Z * se), rr * math.exp(Z * se)


def woolf(a, b, c, d):
    odds = a * d / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return odds, odds * math.exp(-Z * se), odds * math.exp(Z * se)


# --- proportion_summary --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("events", "n"), [(16, 40), (12, 40), (33, 80), (19, 84), (1, 16), (0, 10), (10, 10), (1, 1)])
def test_proportion_summary_matches_statsmodels_wilson_interval(events, n):
    result = proportion_summary(events, n).as_dict()
    lo, hi = proportion_confint(events, n, alpha=0.05, method="wilson")
    assert result == {"events": events, "n": n, "proportion": approx(events / n), "ci95": [approx(lo), approx(hi)]}
    assert isinstance(result["events"], int) and type(result["proportion"]) is float


@pytest.mark.parametrize(
    ("events", "n", "lo", "hi"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_proportion_summary_reproduces_newcombe_1998_single_proportion_examples(events, n, lo, hi):
    assert proportion_summary(events, n).as_dict()["ci95"] == pytest.approx([lo, hi], abs=5e-5)


def test_proportion_summary_of_empty_arm_is_undefined_and_json_safe():
    result = proportion_summary(0, 0)
    assert result.as_dict() == {"events": 0, "n": 0, "proportion": None, "ci95": [None, None]}
    assert_json_safe(result)


@pytest.mark.parametrize(("events", "n"), [(-1, 10), (11, 10), (0, -1)])
def test_proportion_summary_rejects_impossible_counts(events, n):
    with pytest.raises(ValueError):
        proportion_summary(events, n)


def test_results_are_frozen():
    with pytest.raises(AttributeError):
        proportion_summary(1, 2).events = 2


# --- compare_proportions: effect sizes -------------------------------------------------------------------------


def test_comparison_has_exactly_the_contract_keys():
    result = compare_proportions(16, 40, 12, 40).as_dict()
    assert set(result) == {"risk_difference", "risk_ratio", "odds_ratio", "test", "p_value"}
    for key in ("risk_difference", "risk_ratio", "odds_ratio"):
        assert set(result[key]) == {"estimate", "ci95"} and len(result[key]["ci95"]) == 2


@pytest.mark.parametrize("counts", GENERAL_TABLES)
def test_risk_difference_is_exp_minus_ctrl_with_statsmodels_newcombe_interval(counts):
    events_exp, n_exp, events_ctrl, n_ctrl = counts
    lo, hi = confint_proportions_2indep(events_exp, n_exp, events_ctrl, n_ctrl, method="newcomb", compare="diff")
    expected = [events_exp / n_exp - events_ctrl / n_ctrl, lo, hi]
    assert flat(compare_proportions(*counts).as_dict()["risk_difference"]) == approx(expected)


@pytest.mark.parametrize(
    ("counts", "lo", "hi"),
    [
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((0, 10, 0, 10), -0.2775, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0),
    ],
)
def test_risk_difference_reproduces_newcombe_1998_method_10_examples(counts, lo, hi):
    assert compare_proportions(*counts).as_dict()["risk_difference"]["ci95"] == pytest.approx([lo, hi], abs=5e-5)


def test_risk_difference_of_newcombe_worked_example_is_0_2():
    assert compare_proportions(56, 70, 48, 80).as_dict()["risk_difference"]["estimate"] == approx(0.2)


@pytest.mark.parametrize("counts", GENERAL_TABLES)
def test_risk_ratio_and_odds_ratio_follow_katz_and_woolf_formulas(counts):
    result = compare_proportions(*counts).as_dict()
    assert flat(result["risk_ratio"]) == approx(list(katz(*corrected_cells(*counts))))
    assert flat(result["odds_ratio"]) == approx(list(woolf(*corrected_cells(*counts))))


@pytest.mark.parametrize("counts", [*PAPER_TABLES.values(), (56, 70, 48, 80), (9, 10, 3, 10)])
def test_risk_ratio_and_odds_ratio_match_statsmodels_table2x2_for_tables_without_zero_cells(counts):
    # Only zero-free tables: Table2x2 replaces zero cells by 0.5, whereas the SPEC adds 0.5 to every cell.
    table = Table2x2(np.array([[counts[0], counts[1] - counts[0]], [counts[2], counts[3] - counts[2]]]))
    result = compare_proportions(*counts).as_dict()
    assert flat(result["risk_ratio"]) == approx([table.riskratio, *table.riskratio_confint(alpha=0.05)])
    assert flat(result["odds_ratio"]) == approx([table.oddsratio, *table.oddsratio_confint(alpha=0.05)])


def test_ratios_are_exp_over_ctrl():
    result = compare_proportions(16, 40, 12, 40).as_dict()
    assert result["risk_ratio"]["estimate"] == approx((16 / 40) / (12 / 40))
    assert result["odds_ratio"]["estimate"] == approx((16 / 24) / (12 / 28))


def test_zero_cell_adds_half_to_all_four_cells_for_estimate_and_interval():
    # 0/10 vs 3/10 → cells 0, 10, 3, 7 → corrected 0.5, 10.5, 3.5, 7.5 (hand computation).
    result = compare_proportions(0, 10, 3, 10).as_dict()
    rr = (0.5 / 11) / (3.5 / 11)
    rr_se = math.sqrt(1 / 0.5 - 1 / 11 + 1 / 3.5 - 1 / 11)
    odds = (0.5 * 7.5) / (10.5 * 3.5)
    or_se = math.sqrt(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert flat(result["risk_ratio"]) == approx([rr, rr * math.exp(-Z * rr_se), rr * math.exp(Z * rr_se)])
    assert flat(result["odds_ratio"]) == approx([odds, odds * math.exp(-Z * or_se), odds * math.exp(Z * or_se)])
    assert result["risk_ratio"]["estimate"] == approx(1 / 7)
    assert result["risk_difference"]["estimate"] == approx(-0.3)


def test_no_events_in_either_arm_gives_no_ratio_and_p_of_one():
    # The 0.5 correction would invent RR = OR = 1 with an interval; with no events nothing is estimable.
    result = compare_proportions(0, 10, 0, 10).as_dict()
    assert result["risk_ratio"] == {"estimate": None, "ci95": [None, None]}
    assert result["odds_ratio"] == {"estimate": None, "ci95": [None, None]}
    assert result["risk_difference"]["estimate"] == 0.0
    assert (result["test"], result["p_value"]) == ("fisher", 1.0)
    assert_json_safe(compare_proportions(0, 10, 0, 10))


def test_events_in_every_patient_give_a_risk_ratio_but_no_odds_ratio():
    result = compare_proportions(10, 10, 20, 20).as_dict()
    # Zero non-event cells: 0.5 is added to all four (SPEC rule), so RR = (10.5/11) / (20.5/21).
    assert result["risk_ratio"]["estimate"] == approx((10.5 / 11) / (20.5 / 21))
    assert result["odds_ratio"] == {"estimate": None, "ci95": [None, None]}


def test_one_participant_per_arm_is_finite_with_corrected_ratios():
    result = compare_proportions(1, 1, 0, 1).as_dict()
    assert result["risk_ratio"]["estimate"] == approx(3.0)  # (1.5/2) / (0.5/2)
    assert result["odds_ratio"]["estimate"] == approx(9.0)  # (1.5·1.5) / (0.5·0.5)
    assert result["risk_difference"]["estimate"] == approx(1.0)
    assert (result["test"], result["p_value"]) == ("fisher", approx(sps.fisher_exact([[1, 0], [0, 1]]).pvalue))
    assert_json_safe(compare_proportions(1, 1, 0, 1))


@pytest.mark.parametrize("counts", [(0, 0, 3, 10), (3, 10, 0, 0), (0, 0, 0, 0)])
def test_empty_arm_gives_null_estimates_and_degenerate_fisher_p(counts):
    result = compare_proportions(*counts)
    assert result.as_dict() == {
        "risk_difference": {"estimate": None, "ci95": [None, None]},
        "risk_ratio": {"estimate": None, "ci95": [None, None]},
        "odds_ratio": {"estimate": None, "ci95": [None, None]},
        "test": "fisher",
        "p_value": 1.0,
    }
    assert_json_safe(result)


def test_compare_proportions_rejects_impossible_counts():
    with pytest.raises(ValueError):
        compare_proportions(5, 4, 1, 10)


# --- compare_proportions: test selection -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CPR", "EIR"])
def test_paper_tables_with_large_expected_counts_use_uncorrected_chi2(name):
    events_exp, n_exp, events_ctrl, n_ctrl = PAPER_TABLES[name]
    table = [[events_exp, n_exp - events_exp], [events_ctrl, n_ctrl - events_ctrl]]
    result = compare_proportions(*PAPER_TABLES[name]).as_dict()
    assert result["test"] == "chi2"
    assert result["p_value"] == approx(sps.chi2_contingency(table, correction=False).pvalue)


def test_paper_miscarriage_table_selects_fisher():
    result = compare_proportions(*PAPER_TABLES["MCR"]).as_dict()
    assert result["test"] == "fisher"
    assert result["p_value"] == approx(sps.fisher_exact([[1, 15], [1, 11]], alternative="two-sided").pvalue)


def test_minimum_expected_count_of_exactly_five_uses_chi2():
    # 5/10 vs 15/30: margins 10, 30 × 20, 20 over N = 40 → minimum expected 10·20/40 = 5.
    result = compare_proportions(5, 10, 15, 30).as_dict()
    assert result["test"] == "chi2"
    assert result["p_value"] == approx(sps.chi2_contingency([[5, 5], [15, 15]], correction=False).pvalue)


def test_minimum_expected_count_just_below_five_uses_fisher():
    # 5/10 vs 14/30: minimum expected 10·19/40 = 4.75.
    result = compare_proportions(5, 10, 14, 30).as_dict()
    assert result["test"] == "fisher"
    assert result["p_value"] == approx(sps.fisher_exact([[5, 5], [14, 16]]).pvalue)


def test_zero_cell_with_small_counts_uses_fisher():
    result = compare_proportions(0, 10, 3, 10).as_dict()
    assert (result["test"], result["p_value"]) == ("fisher", approx(sps.fisher_exact([[0, 10], [3, 7]]).pvalue))


def test_all_events_in_both_arms_is_degenerate_fisher_with_p_one():
    result = compare_proportions(10, 10, 8, 8).as_dict()
    assert (result["test"], result["p_value"]) == ("fisher", 1.0)
    assert result["risk_ratio"]["estimate"] == approx((10.5 / 11) / (8.5 / 9))


@pytest.mark.parametrize("counts", [*GENERAL_TABLES, (0, 0, 0, 0), (0, 0, 3, 10), (10, 10, 8, 8), (5, 10, 15, 30)])
def test_binary_outputs_are_plain_json_safe_python_values(counts):
    result = compare_proportions(*counts)
    assert_json_safe(result)
    data = result.as_dict()
    assert type(data["p_value"]) is float and isinstance(data["test"], str)
    for key in ("risk_difference", "risk_ratio", "odds_ratio"):
        assert all(value is None or type(value) is float for value in flat(data[key]))
