"""The lab CSV checked row by row (labs.import_csv): each bad row one problem with its line, column and a
specific message, every problem reported, duplicates within one file, each distinct input judged on
its own. Pure: no database."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from labs.import_csv import RowProblem
from labs.ranges import HIGH, NORMAL
from tests.labs.lab_csv import HEADER_LINE, SHANGHAI, csv_bytes, good_line, parse

# --- row problems: line number, column and a specific message ---


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("P002,BASELINE,2025-03-14 08:30,FSH,7.2", 5),
        ("P002,BASELINE,2025-03-14 08:30,FSH,7.2,IU/L,extra", 7),
        ("P002", 1),
        ("P002,BASELINE,2025-03-14 08:30,FSH,7,2,IU/L", 7),  # decimal comma without quotes
    ],
)
def test_ragged_row_is_a_row_problem_with_its_line_number(line, found):
    rows, problems = parse(csv_bytes(HEADER_LINE, good_line(), line, good_line(study_id="P003")))
    assert problems == [RowProblem(3, "", f"Expected 6 columns, found {found}.")]
    assert [r.row for r in rows] == [2, 4]


ROW_PROBLEMS = {
    "unknown time point": (
        good_line(study_id="P002", timepoint="ET7"),
        "timepoint",
        "Unknown time point 'ET7'; use BASELINE, ET14, ET28.",
    ),
    "lower-case time point": (good_line(study_id="P002", timepoint="et14"), "timepoint", "Unknown time point 'et14'"),
    "empty time point": (good_line(study_id="P002", timepoint=""), "timepoint", "Unknown time point ''"),
    "unknown analyte": (
        good_line(study_id="P002", analyte="TSH"),
        "analyte",
        "Unknown analyte 'TSH'; use BHCG, CA125, E2, FSH, IL6, LH.",
    ),
    "bare date": (
        good_line(study_id="P002", drawn_at="2025-03-14"),
        "drawn_at",
        "'2025-03-14' is not a date and time (use 2025-03-14T08:30:00+08:00).",
    ),
    "garbage date": (
        good_line(study_id="P002", drawn_at="yesterday"),
        "drawn_at",
        "'yesterday' is not a date and time",
    ),
    "impossible hour": (
        good_line(study_id="P002", drawn_at="2025-03-14T25:00"),
        "drawn_at",
        "'2025-03-14T25:00' is not a date and time",
    ),
    "day-first date": (
        good_line(study_id="P002", drawn_at="14/03/2025 08:30"),
        "drawn_at",
        "'14/03/2025 08:30' is not a date and time",
    ),
    "empty drawn_at": (good_line(study_id="P002", drawn_at=""), "drawn_at", "'' is not a date and time"),
    "empty study id": (good_line(study_id=""), "study_id", "The study id is empty."),
    "blank study id": (good_line(study_id="   "), "study_id", "The study id is empty."),
    "non-numeric value": (
        good_line(study_id="P002", value="abc"),
        "value",
        "FSH: 'abc' is not a number (use digits, optionally with < or >).",
    ),
    "two decimal points": (good_line(study_id="P002", value="1.2.3"), "value", "FSH: '1.2.3' is not a number"),
    "empty value": (good_line(study_id="P002", value=""), "value", "FSH: Enter a value."),
    "negative value": (
        good_line(study_id="P002", value="-1"),
        "value",
        "FSH: -1 is negative; a concentration cannot be below zero.",
    ),
    "over the hard limit": (
        good_line(study_id="P002", value="501"),
        "value",
        "501 IU/L is above the physiological maximum for FSH (500",
    ),
    "E2 over the hard limit in pg/mL": (
        good_line(study_id="P002", analyte="E2", value="20000", unit="pg/mL"),
        "value",
        "73420 pmol/L is above the physiological maximum for E2 (50000",
    ),
    "unknown unit": (
        good_line(study_id="P002", analyte="E2", unit="ng/mL"),
        "unit",
        "E2: Unit 'ng/mL' is not accepted here; use one of: ",
    ),
    "empty unit": (good_line(study_id="P002", unit=""), "unit", "FSH: Unit '' is not accepted here"),
}


@pytest.mark.parametrize(("line", "column", "message"), ROW_PROBLEMS.values(), ids=ROW_PROBLEMS.keys())
def test_bad_row_is_one_problem_with_its_line_column_and_a_specific_message(line, column, message):
    content = csv_bytes(HEADER_LINE, good_line(), line, good_line(study_id="P003"), bom=True)
    rows, problems = parse(content)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert (problem.row, problem.column) == (3, column)
    assert problem.message.startswith(message), problem.message
    assert [r.row for r in rows] == [2, 4]  # the good rows around it are still checked and returned


def test_every_problem_of_one_row_is_reported():
    rows, problems = parse(csv_bytes(HEADER_LINE, ",BASELINE,2025-03-14,TSH,7.2,IU/L"))
    assert rows == []
    assert [(p.row, p.column) for p in problems] == [(2, "study_id"), (2, "drawn_at"), (2, "analyte")]


def test_value_problem_is_reported_alongside_a_bad_drawn_at():
    _, problems = parse(csv_bytes(HEADER_LINE, "P001,BASELINE,2025-03-14,FSH,abc,IU/L"))
    assert [(p.row, p.column) for p in problems] == [(2, "drawn_at"), (2, "value")]


def test_value_problem_is_reported_alongside_an_unknown_time_point():
    _, problems = parse(csv_bytes(HEADER_LINE, "P001,ET7,2025-03-14 08:30,FSH,abc,IU/L"))
    assert [(p.row, p.column) for p in problems] == [(2, "timepoint"), (2, "value")]


def test_every_bad_row_of_a_large_file_is_reported_not_just_the_first():
    lines = [HEADER_LINE]
    bad = {137: ("value", "abc"), 500: ("unit", "ng/mL"), 999: ("timepoint", "ET99")}
    for line in range(2, 1002):
        fields = {"study_id": f"P{line:04d}", "timepoint": "ET14", "value": str(line % 400), "unit": "IU/L"}
        if line in bad:
            column, text = bad[line]
            fields[column] = text
        lines.append(good_line(drawn_at="2025-03-28T08:00:00+08:00", analyte="LH", **fields))
    rows, problems = parse(csv_bytes(*lines, bom=True))
    assert [(p.row, p.column) for p in problems] == [(137, "value"), (500, "unit"), (999, "timepoint")]
    assert len(rows) == 997
    assert {r.row for r in rows} == set(range(2, 1002)) - set(bad)


# --- duplicates within one file ---


def test_duplicate_analyte_in_one_draw_is_reported_on_the_later_line_naming_the_earlier():
    content = csv_bytes(
        HEADER_LINE,
        good_line(analyte="FSH", value="7.2"),
        good_line(analyte="LH", value="5"),
        good_line(analyte="FSH", value="8.1"),
    )
    rows, problems = parse(content)
    assert problems == [RowProblem(4, "analyte", "FSH appears twice in one draw (also on line 2).")]
    assert [r.row for r in rows] == [2, 3]


def test_same_analyte_at_another_time_point_or_for_another_patient_is_not_a_duplicate():
    content = csv_bytes(
        HEADER_LINE,
        good_line(),
        good_line(timepoint="ET14", drawn_at="2025-03-28 08:30"),
        good_line(study_id="P002"),
    )
    rows, problems = parse(content)
    assert problems == [] and len(rows) == 3


def test_second_row_of_a_draw_with_another_drawn_at_is_reported():
    content = csv_bytes(
        HEADER_LINE,
        good_line(analyte="FSH", drawn_at="2025-03-14 08:30"),
        good_line(analyte="LH", drawn_at="2025-03-14 09:30"),
        good_line(analyte="BHCG", drawn_at="2025-03-14 08:30"),
    )
    rows, problems = parse(content)
    assert problems == [RowProblem(3, "drawn_at", "The BASELINE draw of P001 has another drawn_at on line 2.")]
    assert [r.row for r in rows] == [2, 4]


def test_same_instant_written_with_another_offset_is_the_same_draw():
    content = csv_bytes(
        HEADER_LINE,
        good_line(analyte="FSH", drawn_at="2025-03-14 08:30"),
        good_line(analyte="LH", drawn_at="2025-03-14T08:30:00+08:00"),
        good_line(analyte="BHCG", drawn_at="2025-03-14T00:30:00Z"),
    )
    rows, problems = parse(content)
    assert problems == [] and len(rows) == 3


# --- each distinct input judged on its own (the file-wide memo of checks) ---


def test_a_value_repeated_under_other_time_points_units_analytes_and_dates_is_judged_for_each():
    # The checks are remembered per distinct (analyte, time point, value, unit) and per drawn_at text within
    # a file; every part of the key changes the result here, so a memo keyed on less would mix them up.
    rows, problems = parse(
        csv_bytes(
            HEADER_LINE,
            "P001,BASELINE,2025-03-14 08:30,BHCG,6,mIU/mL",  # above the baseline range
            "P001,ET14,2025-03-28 08:30,BHCG,6,mIU/mL",  # no range after transfer
            "P002,BASELINE,2025-03-14T08:30:00Z,BHCG,6,mIU/mL",  # same value again, another drawn_at text
            "P002,BASELINE,2025-03-14T08:30:00Z,E2,6,pg/mL",
            "P003,BASELINE,2025-03-14 08:30,E2,6,pmol/L",
            "P003,BASELINE,2025-03-14 08:30,BHCG,6,g/L",  # an unit refused for this row only
            "P004,BASELINE,2025-03-14 08:30,BHCG,6,mIU/mL",  # a repeat: the same judgement as line 2
        )
    )
    judged = [(r.row, r.result.flag, r.result.canonical_value, r.drawn_at) for r in rows]
    local = datetime(2025, 3, 14, 8, 30, tzinfo=SHANGHAI)
    assert judged == [
        (2, HIGH, Decimal("6.0000"), local),
        (3, NORMAL, Decimal("6.0000"), datetime(2025, 3, 28, 8, 30, tzinfo=SHANGHAI)),
        (4, HIGH, Decimal("6.0000"), datetime(2025, 3, 14, 8, 30, tzinfo=UTC)),
        (5, rows[3].result.flag, Decimal("22.0260"), datetime(2025, 3, 14, 8, 30, tzinfo=UTC)),
        (6, rows[4].result.flag, Decimal("6.0000"), local),
        (8, HIGH, Decimal("6.0000"), local),
    ]
    assert [(p.row, p.column) for p in problems] == [(7, "unit")]
