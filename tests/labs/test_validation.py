"""One lab result checked end to end (parse → convert → hard limit → flag). Pure: no database.

The analyte specs below are built by hand to mirror the trial's seeded configuration
(`labs/migrations/0002_seed_analytes.py`, `core/migrations/0002_seed_trial_configuration.py`) the way
`labs.selectors.analyte_specs()` would build them from the database (float columns → Decimal(str(x))).
The other lab test modules import SPECS, TIMEPOINTS and WINDOWS from here.
"""

import importlib
import re
from decimal import Decimal

import pytest

from labs.ranges import HIGH, LOW, NORMAL, ReferenceRange, Window
from labs.validation import AnalyteSpec, CheckedResult, ResultProblem, check_result


def _dec(value) -> Decimal | None:
    """As `labs.selectors._decimal` does with the FloatField columns."""
    return None if value is None else Decimal(str(float(value)))


def _range(low, high) -> ReferenceRange:
    return ReferenceRange(_dec(low), _dec(high))


def _spec(code, unit, accepted, hard_max, general=None, by_timepoint=None) -> AnalyteSpec:
    return AnalyteSpec(
        code=code,
        canonical_unit=unit,
        accepted_units=dict(accepted),
        hard_max=_dec(hard_max),
        general_range=_range(*general) if general else None,
        timepoint_ranges={tp: _range(*bounds) for tp, bounds in (by_timepoint or {}).items()},
    )


SPECS = {
    "BHCG": _spec("BHCG", "IU/L", {"IU/L": 1, "mIU/mL": 1}, 1_000_000, None, {"BASELINE": (0.0, 5.0)}),
    "FSH": _spec("FSH", "IU/L", {"IU/L": 1, "mIU/mL": 1}, 500, (1.5, 12.4)),
    "LH": _spec("LH", "IU/L", {"IU/L": 1, "mIU/mL": 1}, 500, (1.0, 15.0)),
    "E2": _spec("E2", "pmol/L", {"pmol/L": 1, "pg/mL": 3.671}, 50_000, (70.0, 1800.0)),
    "CA125": _spec("CA125", "U/mL", {"U/mL": 1, "kU/L": 1}, 100_000, (0.0, 35.0)),
    "IL6": _spec("IL6", "pg/mL", {"pg/mL": 1, "ng/L": 1}, 100_000, (0.0, 7.0)),
}
WINDOWS = {"BASELINE": Window(0, 3, 0), "ET14": Window(14, 2, 2), "ET28": Window(28, 3, 3)}
TIMEPOINTS = set(WINDOWS)


# --- the hand-built configuration mirrors the seed migrations (no database: module constants only) ---


def test_hand_built_specs_mirror_the_seeded_analytes():
    seed = importlib.import_module("labs.migrations.0002_seed_analytes")
    assert [row[0] for row in seed.ANALYTES] == list(SPECS)
    for code, _name, unit, accepted, hard_max, general in seed.ANALYTES:
        spec = SPECS[code]
        assert (spec.canonical_unit, spec.accepted_units, spec.hard_max) == (unit, accepted, _dec(hard_max))
        assert spec.general_range == (_range(*general) if general else None)
    assert SPECS["BHCG"].timepoint_ranges == {"BASELINE": _range(*seed.BHCG_BASELINE_RANGE)}
    assert all(not SPECS[code].timepoint_ranges for code in SPECS if code != "BHCG")


def test_hand_built_windows_mirror_the_seeded_timepoints():
    seed = importlib.import_module("core.migrations.0002_seed_trial_configuration")
    assert {code: Window(offset, before, after) for code, _label, offset, before, after in seed.TIMEPOINTS} == WINDOWS


# --- AnalyteSpec.reference_for ---


def test_timepoint_specific_range_wins_over_the_general_one():
    assert SPECS["BHCG"].reference_for("BASELINE") == ReferenceRange(Decimal("0.0"), Decimal("5.0"))


@pytest.mark.parametrize("timepoint", ["ET14", "ET28"])
def test_bhcg_has_no_reference_range_after_transfer(timepoint):
    assert SPECS["BHCG"].reference_for(timepoint) is None


@pytest.mark.parametrize("timepoint", sorted(TIMEPOINTS))
def test_other_analytes_use_their_general_range_at_every_timepoint(timepoint):
    assert SPECS["FSH"].reference_for(timepoint) == ReferenceRange(Decimal("1.5"), Decimal("12.4"))
    assert SPECS["E2"].reference_for(timepoint) == ReferenceRange(Decimal("70.0"), Decimal("1800.0"))


# --- check_result: accepted values ---


def test_accepted_value_returns_checked_result_with_canonical_value_and_flag():
    assert check_result(SPECS["FSH"], "BASELINE", "7.2", "IU/L") == CheckedResult(
        analyte="FSH",
        value_as_entered="7.2",
        unit_as_entered="IU/L",
        censoring="",
        canonical_value=Decimal("7.2000"),
        flag=NORMAL,
    )


def test_e2_in_pg_per_ml_is_converted_but_kept_as_entered():
    result = check_result(SPECS["E2"], "ET14", "50", "pg/mL")
    assert result == CheckedResult("E2", "50", "pg/mL", "", Decimal("183.5500"), NORMAL)
    assert str(result.canonical_value) == "183.5500"


def test_decimal_comma_value_is_kept_verbatim_and_converted():
    result = check_result(SPECS["E2"], "BASELINE", "12,5", "pg/mL")
    assert (result.value_as_entered, result.unit_as_entered) == ("12,5", "pg/mL")
    assert result.canonical_value == Decimal("45.8875")  # 12.5 × 3.671
    assert result.flag == LOW  # below 70 pmol/L


def test_censored_value_keeps_its_sign_as_entered_and_its_censoring():
    result = check_result(SPECS["CA125"], "ET28", "<0.5", "kU/L")
    assert result == CheckedResult("CA125", "<0.5", "kU/L", "<", Decimal("0.5000"), NORMAL)


def test_surrounding_whitespace_is_trimmed_from_the_value_as_entered():
    result = check_result(SPECS["LH"], "BASELINE", "  >20 \t", "mIU/mL")
    assert result == CheckedResult("LH", ">20", "mIU/mL", ">", Decimal("20.0000"), HIGH)


@pytest.mark.parametrize(
    ("code", "timepoint", "value", "unit", "expected_flag"),
    [
        ("FSH", "BASELINE", "1.4", "IU/L", LOW),
        ("FSH", "BASELINE", "12.5", "mIU/mL", HIGH),
        ("FSH", "ET14", "<1.0", "IU/L", LOW),
        ("FSH", "ET14", "<2.0", "IU/L", NORMAL),
        ("FSH", "ET28", ">20", "IU/L", HIGH),
        ("E2", "BASELINE", "19", "pg/mL", LOW),  # 69.749 pmol/L
        ("E2", "BASELINE", "19.07", "pg/mL", NORMAL),  # 70.0060 pmol/L
        ("E2", "BASELINE", "490.4", "pg/mL", HIGH),  # 1800.2584 pmol/L
        ("BHCG", "BASELINE", "6", "mIU/mL", HIGH),
        ("BHCG", "ET14", "6", "mIU/mL", NORMAL),
        ("BHCG", "ET14", "250000", "IU/L", NORMAL),
        ("IL6", "ET28", "7.5", "ng/L", HIGH),
    ],
)
def test_flag_is_judged_on_the_canonical_value_against_the_timepoint_range(code, timepoint, value, unit, expected_flag):
    assert check_result(SPECS[code], timepoint, value, unit).flag == expected_flag


# --- check_result: problems, with the column to blame ---


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "FSH: 'abc' is not a number (use digits, optionally with < or >)."),
        ("1.2.3", "FSH: '1.2.3' is not a number (use digits, optionally with < or >)."),
        ("", "FSH: Enter a value."),
        ("NaN", "FSH: 'NaN' is not a number (use digits, optionally with < or >)."),
        ("1e30", "FSH: '1e30' is not a number (use digits, optionally with < or >)."),
        ("-1", "FSH: -1 is negative; a concentration cannot be below zero."),
        ("<-1", "FSH: <-1 is negative; a concentration cannot be below zero."),
    ],
)
def test_unparseable_value_is_a_value_problem_naming_the_analyte(value, message):
    assert check_result(SPECS["FSH"], "BASELINE", value, "IU/L") == ResultProblem("value", message)


@pytest.mark.parametrize(
    ("code", "unit", "accepted"),
    [
        ("BHCG", "ng/mL", {"IU/L", "mIU/mL"}),
        ("FSH", "U/mL", {"IU/L", "mIU/mL"}),
        ("LH", "iu/l", {"IU/L", "mIU/mL"}),
        ("E2", "ng/mL", {"pmol/L", "pg/mL"}),
        ("CA125", "IU/L", {"U/mL", "kU/L"}),
        ("IL6", "", {"pg/mL", "ng/L"}),
    ],
)
def test_unknown_unit_is_a_unit_problem_naming_the_accepted_units(code, unit, accepted):
    problem = check_result(SPECS[code], "ET14", "1", unit)
    assert isinstance(problem, ResultProblem) and problem.column == "unit"
    assert problem.message.startswith(f"{code}: Unit '{unit}' is not accepted here; use one of: ")
    assert accepted_units_named(problem.message) == accepted


def accepted_units_named(message: str) -> set[str]:
    return set(message.split("use one of: ", 1)[1].removesuffix(".").split(", "))


def names_maximum(message: str, code: str, maximum: str, unit: str) -> bool:
    """The message names the analyte and its maximum in the canonical unit (trailing zeros optional)."""
    pattern = rf"above the physiological maximum for {code} \({maximum}(\.0+)? {re.escape(unit)}\)"
    return re.search(pattern, message) is not None


def test_value_problem_is_reported_before_a_unit_problem():
    assert check_result(SPECS["E2"], "ET14", "abc", "ng/mL").column == "value"


@pytest.mark.parametrize(
    ("code", "unit", "at_max", "above_max", "shown", "maximum", "canonical_unit"),
    [
        ("BHCG", "IU/L", "1000000", "1000000.0001", "1000000.0001", "1000000", "IU/L"),
        ("BHCG", "mIU/mL", "1000000", "1000001", "1000001", "1000000", "IU/L"),
        ("FSH", "IU/L", "500", "500.0001", "500.0001", "500", "IU/L"),
        ("FSH", "mIU/mL", "500", "501", "501", "500", "IU/L"),
        ("LH", "IU/L", "500", "500.0001", "500.0001", "500", "IU/L"),
        ("LH", "mIU/mL", "500", "501", "501", "500", "IU/L"),
        ("E2", "pmol/L", "50000", "50000.0001", "50000.0001", "50000", "pmol/L"),
        ("E2", "pg/mL", "13620.26", "13620.27", "50000.0112", "50000", "pmol/L"),  # 13620.27 × 3.671
        ("CA125", "U/mL", "100000", "100000.0001", "100000.0001", "100000", "U/mL"),
        ("CA125", "kU/L", "100000", "100001", "100001", "100000", "U/mL"),
        ("IL6", "pg/mL", "100000", "100000.0001", "100000.0001", "100000", "pg/mL"),
        ("IL6", "ng/L", "100000", "100001", "100001", "100000", "pg/mL"),
    ],
)
def test_hard_limit_accepts_the_maximum_and_rejects_just_above_it(
    code, unit, at_max, above_max, shown, maximum, canonical_unit
):
    assert isinstance(check_result(SPECS[code], "ET14", at_max, unit), CheckedResult)
    problem = check_result(SPECS[code], "ET14", above_max, unit)
    assert isinstance(problem, ResultProblem) and problem.column == "value"
    assert problem.message.startswith(f"{shown} {canonical_unit} is above")
    assert names_maximum(problem.message, code, maximum, canonical_unit), problem.message


def test_censored_value_above_the_hard_limit_is_rejected():
    problem = check_result(SPECS["BHCG"], "ET14", ">2000000", "IU/L")
    assert problem.column == "value" and names_maximum(problem.message, "BHCG", "1000000", "IU/L")


@pytest.mark.parametrize("value", ["99999999999999999999999999", "9" * 40])
def test_absurdly_large_value_is_a_hard_limit_problem_not_a_crash(value):
    problem = check_result(SPECS["BHCG"], "ET14", value, "IU/L")
    assert isinstance(problem, ResultProblem) and problem.column == "value"
    assert names_maximum(problem.message, "BHCG", "1000000", "IU/L")
