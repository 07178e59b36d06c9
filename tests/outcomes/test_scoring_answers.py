"""What both questionnaires share (outcomes.instruments, outcomes.scoring): their names, and how answers are
checked — unknown items and instruments, values out of range or not whole numbers, every error at once —
and refused by score. Pure: no database, no Django (checked in tests/test_pure_modules.py).
"""

import re

import pytest

from outcomes.instruments import INSTRUMENT_ITEMS, INSTRUMENT_NAMES
from outcomes.scoring import answer_errors, score
from tests.outcomes.scoring_examples import RAND_MIXED, SSRS_WORKED

# --- the instruments ---


def test_instrument_names_match_the_seeded_instruments():
    assert INSTRUMENT_NAMES == {"RAND36": "RAND 36-Item Health Survey 1.0", "SSRS": "Social Support Rating Scale"}
    assert set(INSTRUMENT_ITEMS) == {"RAND36", "SSRS"}


# --- bad answers ---


def test_complete_and_partial_valid_forms_have_no_errors():
    assert answer_errors("RAND36", RAND_MIXED) == {}
    assert answer_errors("RAND36", {"5": 2}) == {}
    assert answer_errors("RAND36", {}) == {}
    assert answer_errors("SSRS", SSRS_WORKED) == {}
    assert answer_errors("SSRS", {"6": 0, "7": 9}) == {}


@pytest.mark.parametrize(
    ("instrument", "key", "message"),
    [
        ("RAND36", "37", "Unknown item '37' for RAND36"),
        ("RAND36", "0", "Unknown item '0' for RAND36"),
        ("RAND36", "q1", "Unknown item 'q1' for RAND36"),
        ("SSRS", "5", "Unknown item '5' for SSRS"),  # item 5 is answered through 5a–5e
        ("SSRS", "5f", "Unknown item '5f' for SSRS"),
        ("SSRS", "11", "Unknown item '11' for SSRS"),
    ],
)
def test_unknown_item_is_named(instrument, key, message):
    assert answer_errors(instrument, {key: 1}) == {key: [message]}


def test_option_out_of_range_names_the_valid_range():
    assert answer_errors("RAND36", {"4": 5}) == {"4": ["Item 4: choose 1–3, not 5"]}


@pytest.mark.parametrize(
    ("value", "shown"),
    [("3", "'3'"), (True, "True"), (False, "False"), (3.0, "3.0"), (2.5, "2.5"), (None, "None"), ([3], "[3]")],
)
def test_value_that_is_not_a_whole_number_is_rejected_showing_what_was_sent(value, shown):
    assert answer_errors("RAND36", {"1": value}) == {"1": [f"Item 1: expected a whole number, not {shown}"]}
    assert answer_errors("SSRS", {"6": value}) == {"6": [f"Item 6: expected a whole number, not {shown}"]}


def test_every_bad_answer_is_reported_at_once():
    errors = answer_errors("RAND36", {"1": 1, "4": 5, "21": "2", "40": 1})
    assert errors == {
        "4": ["Item 4: choose 1–3, not 5"],
        "21": ["Item 21: expected a whole number, not '2'"],
        "40": ["Unknown item '40' for RAND36"],
    }


def test_unknown_instrument_is_reported_under_instrument():
    assert answer_errors("SF12", {"1": 1}) == {
        "instrument": ["Unknown instrument 'SF12'; expected one of RAND36, SSRS"]
    }


@pytest.mark.parametrize(
    ("instrument", "answers", "message"),
    [
        ("RAND36", {**RAND_MIXED, "37": 1}, "Unknown item '37' for RAND36"),
        ("RAND36", {**RAND_MIXED, "4": 0}, "Item 4: choose 1–3, not 0"),
        ("RAND36", {**RAND_MIXED, "4": 4}, "Item 4: choose 1–3, not 4"),
        ("RAND36", {**RAND_MIXED, "1": "3"}, "Item 1: expected a whole number, not '3'"),
        ("RAND36", {**RAND_MIXED, "13": True}, "Item 13: expected a whole number, not True"),
        ("SSRS", {**SSRS_WORKED, "6": 10}, "Item 6: number of sources must be 0–9, not 10"),
        ("SSRS", {**SSRS_WORKED, "5e": 0}, "Item 5e: choose 1–4, not 0"),
        ("SF12", {}, "Unknown instrument 'SF12'; expected one of RAND36, SSRS"),
    ],
)
def test_score_refuses_bad_answers_with_the_specific_message(instrument, answers, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        score(instrument, answers)
