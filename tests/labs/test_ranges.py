"""Hard limits, reference-range flags and visit windows (labs.ranges). Pure: no database."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from labs.ranges import HIGH, LOW, NORMAL, ReferenceRange, Window, flag, hard_limit_error, window_warning
from tests.labs.test_validation import SPECS, WINDOWS

STEP = Decimal("0.0001")  # one canonical quantum


# --- hard limits ---


@pytest.mark.parametrize("code", list(SPECS))
def test_value_at_the_hard_maximum_is_accepted(code):
    spec = SPECS[code]
    assert hard_limit_error(spec.hard_max, spec.hard_max, spec.canonical_unit, code) is None
    assert hard_limit_error(spec.hard_max - STEP, spec.hard_max, spec.canonical_unit, code) is None


@pytest.mark.parametrize(
    ("code", "maximum"),
    [("BHCG", "1000000"), ("FSH", "500"), ("LH", "500"), ("E2", "50000"), ("CA125", "100000"), ("IL6", "100000")],
)
def test_value_just_above_the_hard_maximum_is_rejected_naming_the_maximum(code, maximum):
    spec = SPECS[code]
    unit = spec.canonical_unit
    message = hard_limit_error(spec.hard_max + STEP, spec.hard_max, unit, code)
    assert message is not None
    assert message.startswith(f"{maximum}.0001 {unit} is above the physiological maximum for {code} (")
    assert re.search(rf"\({maximum}(\.0+)? {re.escape(unit)}\)\.$", message), message


def test_hard_limit_message_shows_the_value_without_padding_zeros():
    message = hard_limit_error(Decimal("600.5000"), Decimal("500.0"), "IU/L", "FSH")
    assert message.startswith("600.5 IU/L is above the physiological maximum for FSH")


# --- flags ---

BOUNDARY_FLAGS = [
    # code, timepoint, canonical value, expected flag
    ("FSH", "BASELINE", "1.4999", LOW),
    ("FSH", "BASELINE", "1.5", NORMAL),
    ("FSH", "ET14", "7", NORMAL),
    ("FSH", "ET14", "12.4", NORMAL),
    ("FSH", "ET28", "12.4001", HIGH),
    ("FSH", "ET28", "0", LOW),
    ("LH", "BASELINE", "0.9999", LOW),
    ("LH", "BASELINE", "1.0", NORMAL),
    ("LH", "ET14", "15.0", NORMAL),
    ("LH", "ET28", "15.0001", HIGH),
    ("E2", "BASELINE", "69.9999", LOW),
    ("E2", "BASELINE", "70", NORMAL),
    ("E2", "ET14", "1800", NORMAL),
    ("E2", "ET28", "1800.0001", HIGH),
    ("CA125", "BASELINE", "0", NORMAL),
    ("CA125", "ET14", "35", NORMAL),
    ("CA125", "ET28", "35.0001", HIGH),
    ("IL6", "BASELINE", "0", NORMAL),
    ("IL6", "ET14", "7", NORMAL),
    ("IL6", "ET28", "7.0001", HIGH),
    ("BHCG", "BASELINE", "0", NORMAL),
    ("BHCG", "BASELINE", "5", NORMAL),
    ("BHCG", "BASELINE", "5.0001", HIGH),
    ("BHCG", "BASELINE", "1000", HIGH),
]


@pytest.mark.parametrize(("code", "timepoint", "value", "expected"), BOUNDARY_FLAGS)
def test_flag_is_low_below_high_above_and_normal_on_the_boundaries(code, timepoint, value, expected):
    canonical = Decimal(value).quantize(STEP)
    assert flag(canonical, "", SPECS[code].reference_for(timepoint)) == expected


@pytest.mark.parametrize("timepoint", ["ET14", "ET28"])
@pytest.mark.parametrize("value", ["0", "5.0001", "250000", "1000000"])
def test_bhcg_after_transfer_is_normal_whatever_the_value(timepoint, value):
    assert flag(Decimal(value), "", SPECS["BHCG"].reference_for(timepoint)) == NORMAL
    assert flag(Decimal(value), ">", SPECS["BHCG"].reference_for(timepoint)) == NORMAL


@pytest.mark.parametrize(
    ("code", "timepoint", "censoring", "limit", "expected"),
    [
        ("FSH", "BASELINE", "<", "1.0", LOW),  # every value below 1.0 is below 1.5
        ("FSH", "BASELINE", "<", "1.5", LOW),  # below 1.5 is below the lower limit
        ("FSH", "BASELINE", "<", "2.0", NORMAL),  # could be 1.7: not known to be low
        ("FSH", "BASELINE", "<", "20", NORMAL),  # never high: the true value may be anything below 20
        ("FSH", "ET14", ">", "20", HIGH),  # every value above 20 is above 12.4
        ("FSH", "ET14", ">", "12.4", HIGH),
        ("FSH", "ET14", ">", "10", NORMAL),
        ("FSH", "ET14", ">", "1.0", NORMAL),  # never low
        ("CA125", "ET28", "<", "0.5", NORMAL),  # lower limit 0: a small censored value is normal
        ("IL6", "ET28", ">", "7", HIGH),
        ("E2", "BASELINE", "<", "70", LOW),
        ("E2", "BASELINE", ">", "1800", HIGH),
        ("BHCG", "BASELINE", ">", "5", HIGH),
        ("BHCG", "BASELINE", "<", "5", NORMAL),
        ("BHCG", "BASELINE", ">", "2", NORMAL),
    ],
)
def test_censored_value_is_judged_by_its_limit(code, timepoint, censoring, limit, expected):
    assert flag(Decimal(limit).quantize(STEP), censoring, SPECS[code].reference_for(timepoint)) == expected


def test_no_reference_range_means_normal():
    assert flag(Decimal("999999"), "", None) == NORMAL
    assert flag(Decimal("0"), "<", None) == NORMAL


def test_open_ended_ranges_only_flag_on_their_known_side():
    upper_only = ReferenceRange(None, Decimal("5"))
    lower_only = ReferenceRange(Decimal("1"), None)
    assert [flag(Decimal(v), "", upper_only) for v in ("0", "5", "6")] == [NORMAL, NORMAL, HIGH]
    assert [flag(Decimal(v), "", lower_only) for v in ("0", "1", "1000000")] == [LOW, NORMAL, NORMAL]
    assert flag(Decimal("0.5"), "<", upper_only) == NORMAL
    assert flag(Decimal("9"), ">", lower_only) == NORMAL


# --- visit windows around the embryo transfer (ET) ---

TRANSFER = date(2025, 3, 10)

WINDOW_CASES = [
    # timepoint, day relative to ET, inside?
    ("BASELINE", -3, True),
    ("BASELINE", -1, True),
    ("BASELINE", 0, True),
    ("BASELINE", -4, False),
    ("BASELINE", 1, False),
    ("ET14", 12, True),
    ("ET14", 14, True),
    ("ET14", 16, True),
    ("ET14", 11, False),
    ("ET14", 17, False),
    ("ET14", 0, False),
    ("ET28", 25, True),
    ("ET28", 28, True),
    ("ET28", 31, True),
    ("ET28", 24, False),
    ("ET28", 32, False),
]


@pytest.mark.parametrize(("timepoint", "day", "inside"), WINDOW_CASES)
def test_draw_inside_its_window_has_no_warning_outside_it_names_the_et_offset(timepoint, day, inside):
    warning = window_warning(TRANSFER + timedelta(days=day), TRANSFER, WINDOWS[timepoint], timepoint)
    if inside:
        assert warning == ""
    else:
        assert warning.startswith(f"Drawn on ET{day:+d}, outside the {timepoint} window")


@pytest.mark.parametrize(
    ("timepoint", "day", "message"),
    [
        ("BASELINE", -4, "Drawn on ET-4, outside the BASELINE window (ET-3 to ET+0)."),
        ("BASELINE", 1, "Drawn on ET+1, outside the BASELINE window (ET-3 to ET+0)."),
        ("ET14", 17, "Drawn on ET+17, outside the ET14 window (ET+12 to ET+16)."),
        ("ET14", 11, "Drawn on ET+11, outside the ET14 window (ET+12 to ET+16)."),
        ("ET28", 32, "Drawn on ET+32, outside the ET28 window (ET+25 to ET+31)."),
        ("ET28", 0, "Drawn on ET+0, outside the ET28 window (ET+25 to ET+31)."),
    ],
)
def test_window_warning_states_the_draw_day_and_the_allowed_window(timepoint, day, message):
    assert window_warning(TRANSFER + timedelta(days=day), TRANSFER, WINDOWS[timepoint], timepoint) == message


def test_window_counts_calendar_days_across_month_and_leap_day():
    transfer = date(2024, 2, 20)
    assert window_warning(date(2024, 3, 5), transfer, WINDOWS["ET14"], "ET14") == ""  # ET+14 over 29 Feb
    assert window_warning(date(2024, 3, 9), transfer, WINDOWS["ET14"], "ET14").startswith("Drawn on ET+18,")


@pytest.mark.parametrize("timepoint", sorted(WINDOWS))
def test_without_a_transfer_date_the_window_could_not_be_checked(timepoint):
    warning = window_warning(date(2025, 3, 10), None, WINDOWS[timepoint], timepoint)
    assert warning == f"No embryo transfer recorded: the {timepoint} window could not be checked."


def test_window_is_built_from_offset_and_days_before_and_after():
    odd = Window(day_offset=7, before=0, after=1)
    assert [window_warning(TRANSFER + timedelta(days=d), TRANSFER, odd, "X") == "" for d in (6, 7, 8, 9)] == [
        False,
        True,
        True,
        False,
    ]
