"""Answer validation and scale scores for RAND-36 and SSRS. Pure: no Django.

Answers are plain ints keyed by item key (see outcomes.instruments). An absent key is an unanswered item;
partial forms are allowed and the scoring rules decide which scales can still be scored.
"""

from collections.abc import Mapping

from core.markers import gettext_noop
from outcomes.instruments import INSTRUMENT_ITEMS, Item

# Scale → items, as in the RAND 36-Item Health Survey 1.0 scoring instructions (Table 2). Item 2 is in no scale.
RAND36_SCALES: dict[str, tuple[str, ...]] = {
    "physical_functioning": ("3", "4", "5", "6", "7", "8", "9", "10", "11", "12"),
    "role_physical": ("13", "14", "15", "16"),
    "role_emotional": ("17", "18", "19"),
    "energy_fatigue": ("23", "27", "29", "31"),
    "emotional_wellbeing": ("24", "25", "26", "28", "30"),
    "social_functioning": ("20", "32"),
    "pain": ("21", "22"),
    "general_health": ("1", "33", "34", "35", "36"),
}

# Recoded value of each precoded answer (index 0 = answer 1), per the RAND scoring instructions (Table 1).
_DOWN_5 = (100.0, 75.0, 50.0, 25.0, 0.0)
_LIMITED = (0.0, 50.0, 100.0)
_YES_NO = (0.0, 100.0)
_DOWN_6 = (100.0, 80.0, 60.0, 40.0, 20.0, 0.0)
_UP_6 = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
_UP_5 = (0.0, 25.0, 50.0, 75.0, 100.0)
_RAND36_RECODE: dict[str, tuple[float, ...]] = {
    **dict.fromkeys(("1", "2", "20", "22", "34", "36"), _DOWN_5),
    **{str(key): _LIMITED for key in range(3, 13)},
    **{str(key): _YES_NO for key in range(13, 20)},
    **dict.fromkeys(("21", "23", "26", "27", "30"), _DOWN_6),
    **dict.fromkeys(("24", "25", "28", "29", "31"), _UP_6),
    **dict.fromkeys(("32", "33", "35"), _UP_5),
}

# Xiao's SSRS: objective support, subjective support, utilisation of support, total = all items.
# Item 5 is scored as the sum of its sub-items 5a–5e.
SSRS_FAMILY_ITEMS: tuple[str, ...] = ("5a", "5b", "5c", "5d", "5e")
SSRS_SUBSCALES: dict[str, tuple[str, ...]] = {
    "objective": ("2", "6", "7"),
    "subjective": ("1", "3", "4", *SSRS_FAMILY_ITEMS),
    "utilization": ("8", "9", "10"),
}
SSRS_SUBSCALES["total"] = tuple(key for keys in SSRS_SUBSCALES.values() for key in keys)

# What pages call each scale (RAND's names for its eight scales; Xiao's for the SSRS), marked for the
# catalogue and translated where shown. The keys stay the data: stored scores, API, exports, statistics.
SCALE_LABELS: dict[str, str] = {
    "physical_functioning": gettext_noop("Physical functioning"),
    "role_physical": gettext_noop("Role limitations due to physical health"),
    "role_emotional": gettext_noop("Role limitations due to emotional problems"),
    "energy_fatigue": gettext_noop("Energy/fatigue"),
    "emotional_wellbeing": gettext_noop("Emotional well-being"),
    "social_functioning": gettext_noop("Social functioning"),
    "pain": gettext_noop("Pain"),
    "general_health": gettext_noop("General health"),
    "objective": gettext_noop("Objective support"),
    "subjective": gettext_noop("Subjective support"),
    "utilization": gettext_noop("Support utilization"),
    "total": gettext_noop("Total social support"),
}


def _value_error(item: Item, value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"Item {item.key}: expected a whole number, not {value!r}"
    if item.count_range is not None:
        low, high = item.count_range
        if not low <= value <= high:
            return f"Item {item.key}: number of sources must be {low}–{high}, not {value}"
        return None
    low, high = min(option.value for option in item.options), max(option.value for option in item.options)
    if not low <= value <= high:
        return f"Item {item.key}: choose {low}–{high}, not {value}"
    return None


def answer_errors(instrument: str, answers: Mapping[str, object]) -> dict[str, list[str]]:
    """Item key → messages for unknown items, non-integer values and out-of-range answers; missing items are fine."""
    items = INSTRUMENT_ITEMS.get(instrument)
    if items is None:
        known = ", ".join(INSTRUMENT_ITEMS)
        return {"instrument": [f"Unknown instrument {instrument!r}; expected one of {known}"]}
    by_key = {item.key: item for item in items}
    errors: dict[str, list[str]] = {}
    for key, value in answers.items():
        item = by_key.get(key)
        message = f"Unknown item {key!r} for {instrument}" if item is None else _value_error(item, value)
        if message is not None:
            errors.setdefault(str(key), []).append(message)
    return errors


def _score_rand36(answers: Mapping[str, int]) -> dict[str, float | None]:
    """RAND 36-Item Health Survey 1.0 scoring instructions: recode to 0–100, mean of answered items if ≥ half."""
    scores: dict[str, float | None] = {}
    for scale, keys in RAND36_SCALES.items():
        recoded = [_RAND36_RECODE[key][answers[key] - 1] for key in keys if key in answers]
        scores[scale] = sum(recoded) / len(recoded) if recoded and 2 * len(recoded) >= len(keys) else None
    return scores


def _score_ssrs(answers: Mapping[str, int]) -> dict[str, float | None]:
    """Xiao's SSRS scoring: subscales and total are raw sums (item 5 = 5a–5e); a missing item leaves its sums None."""
    return {
        name: float(sum(answers[key] for key in keys)) if all(key in answers for key in keys) else None
        for name, keys in SSRS_SUBSCALES.items()
    }


_SCORERS = {"RAND36": _score_rand36, "SSRS": _score_ssrs}


def score(instrument: str, answers: Mapping[str, int]) -> dict[str, float | None]:
    """Validate, then score: RAND36 per the RAND 36-Item Health Survey 1.0 scoring instructions, SSRS as raw sums."""
    errors = answer_errors(instrument, answers)
    if errors:
        messages = "; ".join(message for key_messages in errors.values() for message in key_messages)
        raise ValueError(f"Cannot score {instrument}: {messages}")
    return _SCORERS[instrument](answers)
