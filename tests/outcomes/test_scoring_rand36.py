"""RAND 36-Item Health Survey 1.0 (outcomes.instruments, outcomes.scoring): the printed form's items and
options, the eight scale scores (each item recoded in its published direction, a scale scored from half
its items or more), and answers out of range. Pure: no database, no Django (checked in
tests/test_pure_modules.py).

Expected values are worked by hand from the RAND 36-Item Health Survey 1.0 scoring instructions, never
computed with the code under test.
"""

import pytest

from outcomes.instruments import INSTRUMENT_ITEMS
from outcomes.scoring import RAND36_SCALES, answer_errors, score
from tests.outcomes.scoring_examples import RAND_MIXED, RAND_MIXED_EXPECTED

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


RAND_OPTION_COUNTS = {
    **dict.fromkeys(["1", "2", "20", "22", "32", "33", "34", "35", "36"], 5),
    **{str(k): 3 for k in range(3, 13)},
    **{str(k): 2 for k in range(13, 20)},
    **{str(k): 6 for k in range(21, 32) if k != 22},
}


def rand_scores(**overrides):
    return score("RAND36", {**RAND_MIXED, **overrides})


# --- items and options ---


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


# --- bad answers ---


@pytest.mark.parametrize(("key", "count"), sorted(RAND_OPTION_COUNTS.items(), key=lambda pair: int(pair[0])))
def test_rand36_answer_0_and_one_above_the_last_option_are_rejected(key, count):
    assert answer_errors("RAND36", {key: 0}) == {key: [f"Item {key}: choose 1–{count}, not 0"]}
    assert answer_errors("RAND36", {key: count + 1}) == {key: [f"Item {key}: choose 1–{count}, not {count + 1}"]}
    assert answer_errors("RAND36", {key: count}) == {}
