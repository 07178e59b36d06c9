"""Questionnaire data and scoring (outcomes.instruments, outcomes.scoring). Pure: no database, no Django
(checked in tests/test_pure_modules.py).

Expected values are worked by hand from the RAND 36-Item Health Survey 1.0 scoring instructions and Xiao's SSRS
scoring rules, never computed with the code under test.
"""

import re

import pytest

from outcomes.instruments import INSTRUMENT_ITEMS, INSTRUMENT_NAMES
from outcomes.scoring import RAND36_SCALES, SSRS_SUBSCALES, answer_errors, score

RAND_SCALE_NAMES = {
    "physical_functioning",
    "role_physical",
    "role_emotional",
    "energy_fatigue",
    "emotional_wellbeing",
    "social_functioning",
    "pain",
    "general_health",
}

# Best possible health on every item (item 2 "about the same", it is in no scale).
RAND_BEST = {
    "1": 1,  # Excellent
    "2": 3,
    **{str(k): 3 for k in range(3, 13)},  # No, not limited at all
    **{str(k): 2 for k in range(13, 20)},  # No
    "20": 1,  # Not at all
    "21": 1,  # None
    "22": 1,  # Not at all
    "23": 1,  # full of pep: all of the time
    "24": 6,  # very nervous: none of the time
    "25": 6,  # down in the dumps: none of the time
    "26": 1,  # calm and peaceful: all of the time
    "27": 1,  # a lot of energy: all of the time
    "28": 6,  # downhearted and blue: none of the time
    "29": 6,  # worn out: none of the time
    "30": 1,  # happy: all of the time
    "31": 6,  # tired: none of the time
    "32": 5,  # interfered with social activities: none of the time
    "33": 5,  # get sick easier: definitely false
    "34": 1,  # as healthy as anybody: definitely true
    "35": 5,  # expect health to get worse: definitely false
    "36": 1,  # health is excellent: definitely true
}

# Worst possible health on every item.
RAND_WORST = {
    "1": 5,
    "2": 3,
    **{str(k): 1 for k in range(3, 13)},
    **{str(k): 1 for k in range(13, 20)},
    "20": 5,
    "21": 6,
    "22": 5,
    "23": 6,
    "24": 1,
    "25": 1,
    "26": 6,
    "27": 6,
    "28": 1,
    "29": 1,
    "30": 6,
    "31": 1,
    "32": 1,
    "33": 1,
    "34": 5,
    "35": 1,
    "36": 5,
}

# A realistic mixed respondent; recoded values in the comments.
RAND_MIXED = {
    "1": 3,  # Good → 50
    "2": 3,  # About the same (no scale)
    # physical functioning: 0 + 50 + 100 + 50 + 100 + 100 + 50 + 100 + 100 + 100 = 750 / 10 = 75.0
    "3": 1,  # vigorous: limited a lot → 0
    "4": 2,  # moderate: limited a little → 50
    "5": 3,  # groceries → 100
    "6": 2,  # several flights → 50
    "7": 3,  # one flight → 100
    "8": 3,  # bending → 100
    "9": 2,  # more than a mile → 50
    "10": 3,  # several blocks → 100
    "11": 3,  # one block → 100
    "12": 3,  # bathing → 100
    # role physical: 0 + 0 + 100 + 100 = 200 / 4 = 50.0
    "13": 1,  # Yes → 0
    "14": 1,  # Yes → 0
    "15": 2,  # No → 100
    "16": 2,  # No → 100
    # role emotional: 100 + 0 + 100 = 200 / 3 = 66.67
    "17": 2,  # No → 100
    "18": 1,  # Yes → 0
    "19": 2,  # No → 100
    # social functioning: (75 + 50) / 2 = 62.5
    "20": 2,  # Slightly → 75
    "32": 3,  # Some of the time → 50
    # pain: (60 + 75) / 2 = 67.5
    "21": 3,  # Mild → 60
    "22": 2,  # A little bit → 75
    # energy/fatigue: (40 + 60 + 80 + 60) = 240 / 4 = 60.0
    "23": 4,  # pep: some of the time → 40
    "27": 3,  # energy: a good bit of the time → 60
    "29": 5,  # worn out: a little of the time → 80
    "31": 4,  # tired: some of the time → 60
    # emotional well-being: (80 + 100 + 80 + 80 + 60) = 400 / 5 = 80.0
    "24": 5,  # nervous: a little of the time → 80
    "25": 6,  # down in the dumps: none of the time → 100
    "26": 2,  # calm: most of the time → 80
    "28": 5,  # downhearted: a little of the time → 80
    "30": 3,  # happy: a good bit of the time → 60
    # general health: (50 + 75 + 75 + 50 + 50) = 300 / 5 = 60.0
    "33": 4,  # sick easier: mostly false → 75
    "34": 2,  # as healthy as anybody: mostly true → 75
    "35": 3,  # expect worse: don't know → 50
    "36": 3,  # excellent: don't know → 50
}

RAND_MIXED_EXPECTED = {
    "physical_functioning": 75.0,
    "role_physical": 50.0,
    "role_emotional": 200 / 3,
    "energy_fatigue": 60.0,
    "emotional_wellbeing": 80.0,
    "social_functioning": 62.5,
    "pain": 67.5,
    "general_health": 60.0,
}

RAND_OPTION_COUNTS = {
    **dict.fromkeys(["1", "2", "20", "22", "32", "33", "34", "35", "36"], 5),
    **{str(k): 3 for k in range(3, 13)},
    **{str(k): 2 for k in range(13, 20)},
    **{str(k): 6 for k in range(21, 32) if k != 22},
}

SSRS_KEYS = ["1", "2", "3", "4", "5a", "5b", "5c", "5d", "5e", "6", "7", "8", "9", "10"]

# objective = 4 + 3 + 2 = 9; subjective = 3 + 3 + 2 + (4 + 4 + 3 + 2 + 1 = 14) = 22; utilization = 3 + 3 + 2 = 8;
# total = 9 + 22 + 8 = 39
SSRS_WORKED = {
    "1": 3,  # three to five close friends
    "2": 4,  # lived with family
    "3": 3,  # some neighbours care
    "4": 2,  # colleagues might care a little
    "5a": 4,  # spouse: full support
    "5b": 4,  # parents: full support
    "5c": 3,  # children: some
    "5d": 2,  # siblings: little
    "5e": 1,  # other family: none
    "6": 3,  # three sources of practical help
    "7": 2,  # two sources of comfort
    "8": 3,  # talks if friends ask
    "9": 3,  # sometimes asks for help
    "10": 2,  # occasionally takes part
}


def rand_scores(**overrides):
    return score("RAND36", {**RAND_MIXED, **overrides})


# --- structure of the instruments ---


def test_instrument_names_match_the_seeded_instruments():
    assert INSTRUMENT_NAMES == {"RAND36": "RAND 36-Item Health Survey 1.0", "SSRS": "Social Support Rating Scale"}
    assert set(INSTRUMENT_ITEMS) == {"RAND36", "SSRS"}


def test_rand36_has_36_items_keyed_1_to_36_in_order():
    assert [item.key for item in INSTRUMENT_ITEMS["RAND36"]] == [str(k) for k in range(1, 37)]


def test_rand36_option_counts_and_numbering_follow_the_printed_form():
    for item in INSTRUMENT_ITEMS["RAND36"]:
        assert [option.value for option in item.options] == list(range(1, RAND_OPTION_COUNTS[item.key] + 1)), item.key
        assert item.count_range is None
        assert item.text and all(option.label for option in item.options)


def test_rand36_labels_of_anchor_options():
    items = {item.key: item for item in INSTRUMENT_ITEMS["RAND36"]}
    assert [o.label for o in items["1"].options] == ["Excellent", "Very good", "Good", "Fair", "Poor"]
    assert [o.label for o in items["3"].options] == [
        "Yes, limited a lot",
        "Yes, limited a little",
        "No, not limited at all",
    ]
    assert [o.label for o in items["21"].options][0::5] == ["None", "Very severe"]
    assert [o.label for o in items["23"].options][0::5] == ["All of the time", "None of the time"]
    assert [o.label for o in items["32"].options] == [
        "All of the time",
        "Most of the time",
        "Some of the time",
        "A little of the time",
        "None of the time",
    ]
    assert [o.label for o in items["33"].options][2] == "Don't know"


def test_rand36_grouped_items_share_a_heading():
    items = {item.key: item for item in INSTRUMENT_ITEMS["RAND36"]}
    for first, last in [(3, 12), (13, 16), (17, 19), (23, 31), (33, 36)]:
        headings = {items[str(k)].heading for k in range(first, last + 1)}
        assert len(headings) == 1 and headings != {""}, (first, last)
    assert items["3"].heading.startswith("The following items are about activities you might do during a typical day")
    assert items["13"].heading != items["17"].heading
    assert items["1"].heading == items["2"].heading == items["20"].heading == items["32"].heading == ""


def test_every_rand36_item_except_item_2_is_in_exactly_one_scale():
    assert set(RAND36_SCALES) == RAND_SCALE_NAMES
    memberships = [key for keys in RAND36_SCALES.values() for key in keys]
    assert sorted(memberships, key=int) == [str(k) for k in range(1, 37) if k != 2]


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


# --- RAND-36 scale scores ---


def test_rand36_all_best_answers_score_100_on_every_scale():
    assert score("RAND36", RAND_BEST) == dict.fromkeys(RAND_SCALE_NAMES, 100.0)


def test_rand36_all_worst_answers_score_0_on_every_scale():
    assert score("RAND36", RAND_WORST) == dict.fromkeys(RAND_SCALE_NAMES, 0.0)


def test_rand36_mixed_respondent_scores_each_scale_as_worked_by_hand():
    scores = score("RAND36", RAND_MIXED)
    assert set(scores) == RAND_SCALE_NAMES
    assert scores == pytest.approx(RAND_MIXED_EXPECTED)


@pytest.mark.parametrize(
    ("item", "answer", "scale", "expected"),
    [
        # item 1 is reversed: Excellent (1) → 100; mixed general health 50+75+75+50+50 becomes 100+75+75+50+50 = 70
        ("1", 1, "general_health", 70.0),
        # item 24 runs forward: very nervous all of the time (1) → 0; emotional 0+100+80+80+60 = 320/5 = 64
        ("24", 1, "emotional_wellbeing", 64.0),
        # item 21 reversed on six points: very mild (2) → 80; pain (80 + 75) / 2 = 77.5
        ("21", 2, "pain", 77.5),
        # item 32 forward on five points: most of the time (2) → 25; social (75 + 25) / 2 = 50
        ("32", 2, "social_functioning", 50.0),
        # item 26 reversed: calm none of the time (6) → 0; emotional 80+100+0+80+60 = 320/5 = 64
        ("26", 6, "emotional_wellbeing", 64.0),
        # item 29 forward: worn out all of the time (1) → 0; energy 40+60+0+60 = 160/4 = 40
        ("29", 1, "energy_fatigue", 40.0),
        # item 33 forward: gets sick easier definitely true (1) → 0; general 50+0+75+50+50 = 225/5 = 45
        ("33", 1, "general_health", 45.0),
        # item 34 reversed: as healthy as anybody definitely false (5) → 0; general 50+75+0+50+50 = 225/5 = 45
        ("34", 5, "general_health", 45.0),
        # item 20 reversed: social activities extremely affected (5) → 0; social (0 + 50) / 2 = 25
        ("20", 5, "social_functioning", 25.0),
        # item 22 reversed: pain interfered quite a bit (4) → 25; pain (60 + 25) / 2 = 42.5
        ("22", 4, "pain", 42.5),
    ],
)
def test_rand36_items_are_recoded_in_the_published_direction(item, answer, scale, expected):
    assert rand_scores(**{item: answer})[scale] == pytest.approx(expected)


@pytest.mark.parametrize("item_2", [1, 2, 4, 5, None])
def test_rand36_item_2_never_changes_any_scale(item_2):
    answers = {key: value for key, value in RAND_MIXED.items() if key != "2"}
    if item_2 is not None:
        answers["2"] = item_2
    assert score("RAND36", answers) == pytest.approx(RAND_MIXED_EXPECTED)


def test_rand36_empty_form_scores_no_scale():
    assert score("RAND36", {}) == dict.fromkeys(RAND_SCALE_NAMES)


@pytest.mark.parametrize(
    ("scale", "answers", "expected"),
    [
        # 5 of 10: 0 + 50 + 100 + 100 + 100 = 350 / 5 = 70
        ("physical_functioning", {"3": 1, "4": 2, "5": 3, "6": 3, "7": 3}, 70.0),
        # 2 of 4: (100 + 0) / 2 = 50
        ("role_physical", {"13": 2, "14": 1}, 50.0),
        # 2 of 3: (0 + 100) / 2 = 50
        ("role_emotional", {"17": 1, "18": 2}, 50.0),
        # 2 of 4: full of pep most of the time → 80, worn out most of the time → 20; (80 + 20) / 2 = 50
        ("energy_fatigue", {"23": 2, "29": 2}, 50.0),
        # 3 of 5: nervous some of the time → 60, calm a good bit → 60, happy all of the time → 100; 220 / 3
        ("emotional_wellbeing", {"24": 4, "26": 3, "30": 1}, 220 / 3),
        # 1 of 2: moderately → 50
        ("social_functioning", {"20": 3}, 50.0),
        # 1 of 2: item 32 only, a little of the time → 75
        ("social_functioning", {"32": 4}, 75.0),
        # 1 of 2: very mild → 80
        ("pain", {"21": 2}, 80.0),
        # 3 of 5: very good → 75, sick easier definitely false → 100, health excellent mostly false → 25; 200 / 3
        ("general_health", {"1": 2, "33": 5, "36": 4}, 200 / 3),
    ],
)
def test_rand36_scale_with_at_least_half_its_items_is_scored_from_the_answered_ones(scale, answers, expected):
    scores = score("RAND36", answers)
    assert scores[scale] == pytest.approx(expected)
    assert all(value is None for name, value in scores.items() if name != scale)


@pytest.mark.parametrize(
    ("scale", "answers"),
    [
        ("physical_functioning", {"3": 3, "4": 3, "5": 3, "6": 3}),  # 4 of 10
        ("role_physical", {"13": 2}),  # 1 of 4
        ("role_emotional", {"17": 2}),  # 1 of 3
        ("energy_fatigue", {"23": 1}),  # 1 of 4
        ("emotional_wellbeing", {"24": 6, "25": 6}),  # 2 of 5
        ("general_health", {"1": 1, "36": 1}),  # 2 of 5
    ],
)
def test_rand36_scale_with_fewer_than_half_its_items_is_not_scored(scale, answers):
    assert score("RAND36", answers)[scale] is None


def test_rand36_missing_items_only_affect_their_own_scale():
    answers = {key: value for key, value in RAND_MIXED.items() if key not in {"17", "18", "21", "22"}}
    scores = score("RAND36", answers)
    assert scores["role_emotional"] is None  # 1 of 3 left
    assert scores["pain"] is None  # 0 of 2 left
    others = {name: value for name, value in RAND_MIXED_EXPECTED.items() if name not in {"role_emotional", "pain"}}
    assert {name: scores[name] for name in others} == pytest.approx(others)


# --- SSRS ---


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


@pytest.mark.parametrize(("key", "count"), sorted(RAND_OPTION_COUNTS.items(), key=lambda pair: int(pair[0])))
def test_rand36_answer_0_and_one_above_the_last_option_are_rejected(key, count):
    assert answer_errors("RAND36", {key: 0}) == {key: [f"Item {key}: choose 1–{count}, not 0"]}
    assert answer_errors("RAND36", {key: count + 1}) == {key: [f"Item {key}: choose 1–{count}, not {count + 1}"]}
    assert answer_errors("RAND36", {key: count}) == {}


@pytest.mark.parametrize("key", [key for key in SSRS_KEYS if key not in {"6", "7"}])
def test_ssrs_option_items_accept_1_to_4_only(key):
    assert answer_errors("SSRS", {key: 0}) == {key: [f"Item {key}: choose 1–4, not 0"]}
    assert answer_errors("SSRS", {key: 5}) == {key: [f"Item {key}: choose 1–4, not 5"]}


@pytest.mark.parametrize(("key", "count"), [("6", 10), ("7", 10), ("6", -1)])
def test_ssrs_source_count_outside_0_to_9_is_rejected(key, count):
    assert answer_errors("SSRS", {key: count}) == {key: [f"Item {key}: number of sources must be 0–9, not {count}"]}


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
