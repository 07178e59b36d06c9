"""core.audit_display: audited values as people read them (issue 20, found item 7: `True`, dicts, mixed
time formats). Pure: no database, no Django."""

import ast
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core import audit_display
from core.audit_display import MAX_ITEMS, Reading, changed_parts, moment_text, number_text, value_text

CHINESE = Reading(zone="Asia/Shanghai", yes="是", no="否")


def test_the_module_imports_no_django():
    tree = ast.parse(Path(audit_display.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] == "django"}


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Shanghai", "2026-03-11 14:05 +08:00"),
        ("UTC", "2026-03-11 06:05 +00:00"),
        ("America/New_York", "2026-03-11 02:05 -04:00"),  # daylight saving time began on 8 March 2026
        ("Asia/Kolkata", "2026-03-11 11:35 +05:30"),
    ],
)
def test_a_moment_reads_in_the_zone_with_its_offset(zone, expected):
    assert moment_text(datetime(2026, 3, 11, 6, 5, 59, 900000, tzinfo=UTC), zone) == expected


def test_a_moment_given_in_another_offset_is_the_same_instant():
    moment = datetime(2026, 3, 11, 14, 5, tzinfo=timezone(timedelta(hours=8)))
    assert moment_text(moment, "UTC") == "2026-03-11 06:05 +00:00"
    assert moment_text(moment.replace(tzinfo=None), "UTC") == "2026-03-11 14:05 +00:00"  # naive: taken as UTC


def test_the_offset_follows_daylight_saving_time():
    winter, summer = (datetime(2026, month, 1, 12, tzinfo=UTC) for month in (1, 7))
    assert moment_text(winter, "Europe/London").endswith("+00:00")
    assert moment_text(summer, "Europe/London").endswith("+01:00")
    assert ZoneInfo("Europe/London")  # the zone database is present


def test_yes_and_no_in_the_readers_words():
    assert (value_text(True), value_text(False)) == ("Yes", "No")
    assert (value_text(True, CHINESE), value_text(False, CHINESE)) == ("是", "否")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("56.0"), "56.0"),
        (Decimal("120.00"), "120.00"),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.5"), "-0.5"),
        (25.0, "25"),
        (764.3022, "764.3022"),
        (1e-7, "0.0000001"),
        (3, "3"),
        (0, "0"),
    ],
)
def test_numbers_read_without_python_spelling(value, expected):
    assert value_text(value) == expected
    if not isinstance(value, int):
        assert number_text(value) == expected


def test_nothing_reads_as_empty_and_dates_as_iso():
    assert value_text(None) == "" and value_text("") == "" and value_text([]) == "" and value_text({}) == ""
    assert value_text(date(2025, 3, 1)) == "2025-03-01"
    assert value_text(datetime(2025, 3, 1, 0, 30, tzinfo=UTC), CHINESE) == "2025-03-01 08:30 +08:00"


def test_json_reads_as_key_value_lists():
    assert value_text({"AGE_20_40": True, "UTERINE_ANOMALY": False}) == "AGE_20_40: Yes; UTERINE_ANOMALY: No"
    assert value_text({"pain": None, "role_physical": 25.0}) == "pain: —; role_physical: 25"
    assert value_text(["AGE_20_40", "PLATELETS_100PLUS"]) == "AGE_20_40, PLATELETS_100PLUS"
    assert value_text({"a": {"b": [1, 2]}, "c": []}) == "a: (b: (1, 2)); c: —"
    for value in ({"a": True}, [None, False], {"x": Decimal("1.5")}, [{"k": "v"}]):
        text = value_text(value)
        assert "True" not in text and "False" not in text and "None" not in text and "Decimal(" not in text
        assert "{" not in text and "[" not in text and "'" not in text


def test_a_runaway_list_is_cut_with_a_count():
    text = value_text(list(range(MAX_ITEMS + 5)))
    assert text.endswith("… (+5)") and text.count(",") == MAX_ITEMS


def test_a_changed_json_object_shows_only_what_changed():
    old = {str(item): 3 for item in range(1, 37)}
    assert changed_parts(old, {**old, "3": 1}) == ({"3": 3}, {"3": 1})
    assert changed_parts({"a": 1}, {"a": 1, "b": 2}) == ({}, {"b": 2})
    assert changed_parts({"a": 1, "b": 2}, {"a": 1}) == ({"b": 2}, {})
    assert changed_parts("56.0", "58.5") == ("56.0", "58.5")
    assert changed_parts(None, {"a": 1}) == (None, {"a": 1})
