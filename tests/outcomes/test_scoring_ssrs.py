"""Xiao's Social Support Rating Scale, SSRS (outcomes.instruments, outcomes.scoring): its items (item 5
split into five family members, items 6 and 7 counts of sources), the subscale and total scores, and
answers out of range. Pure: no database, no Django (checked in tests/test_pure_modules.py).

Expected values are worked by hand from Xiao's SSRS scoring rules, never computed with the code under test.
"""

import pytest

from outcomes.instruments import INSTRUMENT_ITEMS
from outcomes.scoring import SSRS_SUBSCALES, answer_errors, score
from tests.outcomes.scoring_examples import SSRS_WORKED

SSRS_KEYS = ["1", "2", "3", "4", "5a", "5b", "5c", "5d", "5e", "6", "7", "8", "9", "10"]


# --- items and subscales ---


def test_ssrs_keys_with_item_5_split_into_five_family_members():
    assert [item.key for item in INSTRUMENT_ITEMS["SSRS"]] == SSRS_KEYS


def test_ssrs_items_6_and_7_are_source_counts_from_0_to_9_and_the_rest_have_four_options():
    for item in INSTRUMENT_ITEMS["SSRS"]:
        if item.key in {"6", "7"}:
            assert item.options == ()
            assert item.count_range == (0, 9)
        else:
            assert [option.value for option in item.options] == [1, 2, 3, 4], item.key
            assert item.count_range is None


def test_ssrs_subscales_use_the_answer_keys():
    assert SSRS_SUBSCALES["objective"] == ("2", "6", "7")
    assert set(SSRS_SUBSCALES["subjective"]) == {"1", "3", "4", "5a", "5b", "5c", "5d", "5e"}
    assert SSRS_SUBSCALES["utilization"] == ("8", "9", "10")
    assert sorted(SSRS_SUBSCALES["total"]) == sorted(SSRS_KEYS)


# --- scores ---


def test_ssrs_worked_example_gives_objective_9_subjective_22_utilization_8_total_39():
    assert score("SSRS", SSRS_WORKED) == {"objective": 9.0, "subjective": 22.0, "utilization": 8.0, "total": 39.0}


def test_ssrs_scores_are_floats():
    assert all(type(value) is float for value in score("SSRS", SSRS_WORKED).values())


def test_ssrs_item_5_is_the_sum_of_its_family_sub_items():
    # subjective = 3 + 3 + 2 + (1 + 1 + 1 + 1 + 1) = 13; total = 9 + 13 + 8 = 30
    answers = {**SSRS_WORKED, "5a": 1, "5b": 1, "5c": 1, "5d": 1, "5e": 1}
    assert score("SSRS", answers) == {"objective": 9.0, "subjective": 13.0, "utilization": 8.0, "total": 30.0}
    # raising only sibling support from 1 to 4 adds 3: subjective 16, total 33
    answers["5d"] = 4
    assert score("SSRS", answers)["subjective"] == 16.0
    assert score("SSRS", answers)["total"] == 33.0


def test_ssrs_no_source_counts_0_for_items_6_and_7():
    # objective = 4 + 0 + 0 = 4; total = 4 + 22 + 8 = 34
    scores = score("SSRS", {**SSRS_WORKED, "6": 0, "7": 0})
    assert scores["objective"] == 4.0
    assert scores["total"] == 34.0


def test_ssrs_all_nine_sources_count_9():
    # objective = 4 + 9 + 9 = 22
    assert score("SSRS", {**SSRS_WORKED, "6": 9, "7": 9})["objective"] == 22.0


def test_ssrs_missing_family_sub_item_leaves_subjective_and_total_unscored_but_objective_scored():
    answers = {key: value for key, value in SSRS_WORKED.items() if key != "5c"}
    assert score("SSRS", answers) == {"objective": 9.0, "subjective": None, "utilization": 8.0, "total": None}


@pytest.mark.parametrize(("missing", "unscored"), [("2", "objective"), ("6", "objective"), ("10", "utilization")])
def test_ssrs_any_missing_item_leaves_its_subscale_and_the_total_unscored(missing, unscored):
    answers = {key: value for key, value in SSRS_WORKED.items() if key != missing}
    scores = score("SSRS", answers)
    assert scores[unscored] is None
    assert scores["total"] is None
    assert scores["subjective"] == 22.0


def test_ssrs_empty_form_scores_nothing():
    assert score("SSRS", {}) == {"objective": None, "subjective": None, "utilization": None, "total": None}


# --- bad answers ---


@pytest.mark.parametrize("key", [key for key in SSRS_KEYS if key not in {"6", "7"}])
def test_ssrs_option_items_accept_1_to_4_only(key):
    assert answer_errors("SSRS", {key: 0}) == {key: [f"Item {key}: choose 1–4, not 0"]}
    assert answer_errors("SSRS", {key: 5}) == {key: [f"Item {key}: choose 1–4, not 5"]}


@pytest.mark.parametrize(("key", "count"), [("6", 10), ("7", 10), ("6", -1)])
def test_ssrs_source_count_outside_0_to_9_is_rejected(key, count):
    assert answer_errors("SSRS", {key: count}) == {key: [f"Item {key}: number of sources must be 0–9, not {count}"]}
