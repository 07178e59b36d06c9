"""analysis.stats for continuous outcomes — describe and compare_means (Welch t, Mann–Whitney) — against
independent references (statsmodels, scipy, numpy, the statistics module, hand formulas)."""

import math
import statistics

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from analysis.stats import compare_means, describe
from tests.analysis.stats_helpers import approx, assert_json_safe, flat

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
