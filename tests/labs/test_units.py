"""Values as entered → numbers and canonical units (labs.units). Pure: no database."""

from decimal import Decimal

import pytest

from labs.units import CANONICAL_PLACES, LabValueError, ParsedValue, parse_value, to_canonical
from tests.labs.test_validation import SPECS

# --- parse_value ---


@pytest.mark.parametrize(
    ("text", "number"),
    [("12.5", "12.5"), ("0", "0"), ("7", "7"), ("1000000", "1000000"), ("0.0001", "0.0001")],
)
def test_plain_number_is_parsed_exactly_as_a_decimal(text, number):
    parsed = parse_value(text)
    assert parsed == ParsedValue(Decimal(number), "")
    assert isinstance(parsed.number, Decimal)


def test_decimal_comma_is_read_as_a_decimal_point():
    assert parse_value("12,5") == ParsedValue(Decimal("12.5"), "")
    assert parse_value("<0,5") == ParsedValue(Decimal("0.5"), "<")


@pytest.mark.parametrize("text", [" 12.5", "12.5 ", "\t12.5\r\n", "  12,5  "])
def test_surrounding_whitespace_is_ignored(text):
    assert parse_value(text) == ParsedValue(Decimal("12.5"), "")


@pytest.mark.parametrize(
    ("text", "number", "censoring"),
    [
        ("<0.5", "0.5", "<"),
        (">1000", "1000", ">"),
        ("< 0.5", "0.5", "<"),
        (" >1000 ", "1000", ">"),
    ],
)
def test_censored_value_keeps_its_limit_and_direction(text, number, censoring):
    assert parse_value(text) == ParsedValue(Decimal(number), censoring)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "12 5", "<", ">abc", "<<1", "≤0.5", "1,2,3", "12.5 IU/L"])
def test_non_numeric_text_is_refused_asking_for_digits(text):
    with pytest.raises(LabValueError, match=r"is not a number \(use digits, optionally with < or >\)\.$") as error:
        parse_value(text)
    assert f"'{text}'" in str(error.value)


@pytest.mark.parametrize("text", ["", "   ", "\t", None])
def test_missing_value_is_refused_asking_for_one(text):
    with pytest.raises(LabValueError, match=r"^Enter a value\.$"):
        parse_value(text)


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "inf", "Infinity", "-inf", "<inf", ">NaN"])
def test_nan_and_infinity_are_refused_as_not_a_number(text):
    with pytest.raises(LabValueError, match=r"is not a number"):
        parse_value(text)


@pytest.mark.parametrize("text", ["-1", "-0.5", "<-1", ">-3", "-1,5"])
def test_negative_value_is_refused_as_impossible(text):
    with pytest.raises(LabValueError, match=r"is negative; a concentration cannot be below zero\.$"):
        parse_value(text)


def test_lab_value_error_is_a_value_error():
    assert issubclass(LabValueError, ValueError)


# --- to_canonical ---

ONE_TO_ONE = [
    (code, unit) for code, spec in SPECS.items() for unit, factor in spec.accepted_units.items() if factor == 1
]


def test_every_analyte_has_its_canonical_unit_among_the_one_to_one_units():
    assert {(code, spec.canonical_unit) for code, spec in SPECS.items()} <= set(ONE_TO_ONE)
    assert len(ONE_TO_ONE) == 11  # every accepted unit except E2 pg/mL


@pytest.mark.parametrize(("code", "unit"), ONE_TO_ONE)
@pytest.mark.parametrize(("number", "canonical"), [("12.5", "12.5000"), ("0", "0.0000"), ("3.14159", "3.1416")])
def test_one_to_one_unit_keeps_the_number_quantized_to_four_places(code, unit, number, canonical):
    result = to_canonical(Decimal(number), unit, SPECS[code].accepted_units)
    assert isinstance(result, Decimal)
    assert str(result) == canonical


@pytest.mark.parametrize(
    ("pg_per_ml", "pmol_per_l"),
    [
        ("50", "183.5500"),
        ("1", "3.6710"),
        ("0.1", "0.3671"),
        ("12.34", "45.3001"),
        ("490.33", "1800.0014"),
        ("0.05", "0.1836"),  # exactly 0.18355 rounds up; a float factor (3.67099…) would give 0.1835
    ],
)
def test_e2_pg_per_ml_is_multiplied_by_3_671_exactly(pg_per_ml, pmol_per_l):
    result = to_canonical(Decimal(pg_per_ml), "pg/mL", SPECS["E2"].accepted_units)
    assert isinstance(result, Decimal)
    assert str(result) == pmol_per_l  # exact Decimal arithmetic, no float error


def test_e2_in_pmol_per_l_is_unchanged():
    assert str(to_canonical(Decimal("183.55"), "pmol/L", SPECS["E2"].accepted_units)) == "183.5500"


@pytest.mark.parametrize("number", ["1e3", "0.00006", "123.456789", "7"])
def test_canonical_value_always_has_exactly_four_decimal_places(number):
    result = to_canonical(Decimal(number), "IU/L", SPECS["FSH"].accepted_units)
    assert result.as_tuple().exponent == CANONICAL_PLACES.as_tuple().exponent == -4
    assert result == Decimal(number).quantize(Decimal("0.0001"))


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("BHCG", "ng/mL"),
        ("FSH", "IU/mL"),
        ("LH", "mIU/L"),
        ("E2", "ng/mL"),
        ("E2", "PG/ML"),
        ("CA125", "U/L"),
        ("IL6", "pg/L"),
    ],
)
def test_unknown_unit_is_refused_naming_every_accepted_unit(code, unit):
    accepted = SPECS[code].accepted_units
    with pytest.raises(LabValueError, match=r"use one of: ") as error:
        to_canonical(Decimal("1"), unit, accepted)
    message = str(error.value)
    assert f"Unit '{unit}' is not accepted here" in message
    assert set(message.split("use one of: ", 1)[1].removesuffix(".").split(", ")) == set(accepted)


def test_e2_unknown_unit_message_lists_pmol_and_pg():
    with pytest.raises(LabValueError) as error:
        to_canonical(Decimal("1"), "nmol/L", SPECS["E2"].accepted_units)
    assert str(error.value) in {
        "Unit 'nmol/L' is not accepted here; use one of: pmol/L, pg/mL.",
        "Unit 'nmol/L' is not accepted here; use one of: pg/mL, pmol/L.",
    }


def test_thousands_separator_is_refused_as_ambiguous():
    with pytest.raises(LabValueError, match="ambiguous"):
        parse_value("1,000")
    assert parse_value("1,5").number == Decimal("1.5")


def test_below_zero_is_impossible():
    with pytest.raises(LabValueError, match="nothing is below zero"):
        parse_value("<0")


# --- Only ASCII decimal numbers; nothing the stored column cannot hold (issue 18, finding 11) ---


@pytest.mark.parametrize(
    "text",
    [
        "1_0",  # Python's Decimal() reads underscores as digit grouping
        "١٢",  # Arabic-Indic digits
        "۱۲",  # Extended Arabic-Indic (Persian) digits
        "１２",  # full-width digits
        "१२",  # Devanagari digits
        "5e-400",
        "1e400",
        "1E3",
        "<1e-5",
        "nan",
        "inf",
        "Infinity",
        "+5",
        "0x10",
        "1 000",
        "5\x00",
    ],
)
def test_only_ascii_decimal_numbers_are_accepted(text):
    with pytest.raises(LabValueError, match=r"is not a number \(use digits, optionally with < or >\)\.$"):
        parse_value(text)


@pytest.mark.parametrize(("text", "number"), [("5.", "5"), (".5", "0.5"), ("007", "7"), ("<,5", "0.5")])
def test_a_bare_decimal_point_on_either_side_is_still_a_number(text, number):
    assert parse_value(text).number == Decimal(number)


def test_a_value_that_rounds_to_zero_in_the_canonical_unit_is_refused_as_too_small():
    with pytest.raises(LabValueError, match=r"too small to be stored") as error:
        to_canonical(parse_value("0.00001").number, "IU/L", SPECS["FSH"].accepted_units)
    assert error.value.column == "value"
    assert to_canonical(Decimal("0"), "IU/L", SPECS["FSH"].accepted_units) == 0  # zero itself is a value


def test_the_hard_maximum_is_capped_at_what_the_canonical_column_holds():
    from dataclasses import replace

    from labs.units import CANONICAL_MAX
    from labs.validation import ResultProblem, check_result

    unbounded = replace(SPECS["FSH"], hard_max=Decimal("1e30"))  # a configuration beyond NUMERIC(14, 4)
    problem = check_result(unbounded, "BASELINE", "10000000000", "IU/L")
    assert isinstance(problem, ResultProblem) and problem.column == "value"
    assert f"({CANONICAL_MAX.normalize():f} IU/L)" in problem.message
    assert check_result(unbounded, "BASELINE", "9999999999", "IU/L").canonical_value == Decimal("9999999999")
