"""analysis.stats against independent references (statsmodels, scipy, numpy, hand formulas, published examples)."""

import json
import math
import statistics

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from analysis.stats import compare_means, compare_proportions, describe, proportion_summary

Z = sps.norm.ppf(0.975)
TOL = {"rel": 1e-9, "abs": 1e-9}

# Trial paper counts (EXP first): clinical pregnancy, embryo implantation, miscarriage.
PAPER_TABLES = {"CPR": (16, 40, 12, 40), "EIR": (33, 80, 19, 84), "MCR": (1, 16, 1, 12)}
GENERAL_TABLES = [
    *PAPER_TABLES.values(),
    (56, 70, 48, 80),
    (5, 56, 0, 29),
    (0, 10, 3, 10),
    (1, 1, 0, 1),
]


def approx(value):
    return pytest.approx(value, **TOL)


def assert_json_safe(result):
    json.dumps(result.as_dict(), allow_nan=False)


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


def flat(estimate_dict):
    return [estimate_dict["estimate"], *estimate_dict["ci95"]]


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


# --- describe --------------------------------------------------------------------------------------------------

VALUES = [3.2, 1.5, 4.8, 2.2, 9.1, 5.5, 0.4]


def test_describe_matches_numpy_percentiles_and_statistics_stdev():
    result = describe(VALUES).as_dict()
    q1, median, q3 = np.percentile(VALUES, [25, 50, 75])
    assert result == {
        "n": 7,
        "missing": 0,
        "mean": approx(statistics.fmean(VALUES)),
        "sd": approx(statistics.stdev(VALUES)),
        "median": approx(median),
        "q1": approx(q1),
        "q3": approx(q3),
        "min": 0.4,
        "max": 9.1,
    }
    assert all(type(value) is float for key, value in result.items() if key not in ("n", "missing"))


def test_describe_counts_none_and_nan_as_missing_and_ignores_them():
    result = describe([*VALUES[:3], None, float("nan"), np.nan, *VALUES[3:]]).as_dict()
    assert (result["n"], result["missing"]) == (7, 3)
    assert result == describe(VALUES).as_dict() | {"missing": 3}


def test_describe_uses_linear_interpolation_for_quartiles():
    result = describe([1, 2, 3, 4]).as_dict()
    assert (result["q1"], result["median"], result["q3"]) == (approx(1.75), approx(2.5), approx(3.25))


def test_describe_single_value_has_no_sd():
    result = describe([None, 4.0]).as_dict()
    assert result == {
        "n": 1,
        "missing": 1,
        "mean": 4.0,
        "sd": None,
        "median": 4.0,
        "q1": 4.0,
        "q3": 4.0,
        "min": 4.0,
        "max": 4.0,
    }


@pytest.mark.parametrize("values", [[], [None, None], [float("nan")]])
def test_describe_without_values_is_all_none(values):
    result = describe(values)
    assert result.as_dict() == {
        "n": 0,
        "missing": len(values),
        "mean": None,
        "sd": None,
        "median": None,
        "q1": None,
        "q3": None,
        "min": None,
        "max": None,
    }
    assert_json_safe(result)


def test_describe_of_constant_values_has_zero_sd():
    assert describe([2.0, 2.0, 2.0]).as_dict()["sd"] == 0.0


# --- compare_means ---------------------------------------------------------------------------------------------

EXP = [7.1, 8.4, 6.9, 9.3, 7.7, 8.8, 10.2, 6.5]
CTRL = [6.2, 7.0, 5.9, 6.8, 7.4, 6.1, 8.0, 5.5, 6.6, 7.9, 6.3]
CONTINUOUS_CASES = [(EXP, CTRL), (CTRL, EXP), ([1.0, 2.0], [3.0, 5.0, 4.0]), ([1.0, 1.0, 1.0], [2.0, 3.0, 4.0])]


def test_compare_means_has_exactly_the_contract_keys():
    result = compare_means(EXP, CTRL).as_dict()
    assert set(result) == {"mean_difference", "test", "p_value", "mann_whitney_p"}
    assert result["test"] == "welch_t"


@pytest.mark.parametrize(("exp", "ctrl"), CONTINUOUS_CASES)
def test_mean_difference_is_exp_minus_ctrl_with_statsmodels_welch_interval(exp, ctrl):
    lo, hi = CompareMeans(DescrStatsW(np.array(exp)), DescrStatsW(np.array(ctrl))).tconfint_diff(usevar="unequal")
    expected = [statistics.fmean(exp) - statistics.fmean(ctrl), lo, hi]
    assert flat(compare_means(exp, ctrl).as_dict()["mean_difference"]) == approx(expected)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, called directly below
@pytest.mark.parametrize(("exp", "ctrl"), CONTINUOUS_CASES)
def test_p_values_match_scipy_welch_t_test_and_mann_whitney(exp, ctrl):
    result = compare_means(exp, ctrl).as_dict()
    assert result["p_value"] == approx(sps.ttest_ind(exp, ctrl, equal_var=False).pvalue)
    assert result["mann_whitney_p"] == approx(sps.mannwhitneyu(exp, ctrl, alternative="two-sided").pvalue)
    assert all(type(value) is float for value in [*flat(result["mean_difference"]), result["p_value"]])


def test_welch_interval_matches_hand_formula():
    exp, ctrl = np.array(EXP), np.array(CTRL)
    v1, v2 = exp.var(ddof=1) / exp.size, ctrl.var(ddof=1) / ctrl.size
    df = (v1 + v2) ** 2 / (v1**2 / (exp.size - 1) + v2**2 / (ctrl.size - 1))
    half = sps.t.ppf(0.975, df) * math.sqrt(v1 + v2)
    diff = exp.mean() - ctrl.mean()
    assert flat(compare_means(EXP, CTRL).as_dict()["mean_difference"]) == approx([diff, diff - half, diff + half])


def test_identical_constant_arms_give_difference_but_no_interval_or_t_p():
    result = compare_means([5.0, 5.0, 5.0], [5.0, 5.0])
    assert result.as_dict() == {
        "mean_difference": {"estimate": 0.0, "ci95": [None, None]},
        "test": "welch_t",
        "p_value": None,
        "mann_whitney_p": approx(sps.mannwhitneyu([5.0] * 3, [5.0] * 2, alternative="two-sided").pvalue),
    }
    assert_json_safe(result)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, called directly below
def test_different_constant_arms_keep_scipys_finite_p_value_and_drop_the_interval():
    result = compare_means([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    data = result.as_dict()
    assert data["mean_difference"] == {"estimate": 1.0, "ci95": [None, None]}
    assert data["p_value"] == sps.ttest_ind([2.0] * 3, [1.0] * 3, equal_var=False).pvalue == 0.0
    assert_json_safe(result)


@pytest.mark.parametrize(("exp", "ctrl"), [([1.0], CTRL), (EXP, [2.0]), ([], []), ([1.0], [2.0]), (EXP, [None, 3.0])])
def test_arm_with_fewer_than_two_values_gives_all_none(exp, ctrl):
    result = compare_means(exp, ctrl)
    assert result.as_dict() == {
        "mean_difference": {"estimate": None, "ci95": [None, None]},
        "test": "welch_t",
        "p_value": None,
        "mann_whitney_p": None,
    }
    assert_json_safe(result)


def test_compare_means_ignores_missing_values():
    with_missing = compare_means([*EXP, None, float("nan")], [None, *CTRL])
    assert with_missing == compare_means(EXP, CTRL)


def test_compare_means_warns_nothing_for_constant_arms(recwarn):
    compare_means([1.0, 1.0], [1.0, 1.0])
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("seed", range(5))
def test_welch_p_equals_scipys_ttest_ind(seed):
    rng = np.random.default_rng(seed)
    exp, ctrl = rng.normal(10, 2, 30 + seed), rng.normal(11, 5, 25)
    expected = sps.ttest_ind(exp, ctrl, equal_var=False).pvalue
    assert compare_means(list(exp), list(ctrl)).p_value == pytest.approx(expected, rel=1e-12)
