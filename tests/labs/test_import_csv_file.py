"""The lab CSV read as a file (labs.import_csv): a good file with any line ending, BOM and time zone,
malformed files (empty, wrong header, not UTF-8) as one file-level problem, and stray quotes or absurd
values as problems, not crashes. Pure: no database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from labs.import_csv import HEADER, ImportRow, RowProblem
from labs.ranges import HIGH, NORMAL
from labs.validation import CheckedResult
from tests.labs.lab_csv import BOM, HEADER_LINE, SHANGHAI, csv_bytes, good_line, parse


def test_header_constant_is_the_documented_column_order():
    assert HEADER_LINE.split(",") == HEADER


# --- a good file ---

GOOD_FILE = csv_bytes(
    HEADER_LINE,
    "P001,BASELINE,2025-03-14 08:30,FSH,7.2,IU/L",
    "P001,BASELINE,2025-03-14 08:30,E2,50,pg/mL",
    "P001,ET14,2025-03-28T09:15:00+08:00,BHCG,<2,mIU/mL",
    'P002,BASELINE,2025-03-14T00:30:00Z,LH,"15,5",IU/L',
    "P002,BASELINE,2025-03-14T00:30:00Z,CA125,>40,kU/L",
    "",
    bom=True,
)


def test_good_file_with_bom_crlf_and_trailing_blank_line_yields_every_row():
    rows, problems = parse(GOOD_FILE)
    assert problems == []
    assert [(r.row, r.study_id, r.timepoint, r.result.analyte) for r in rows] == [
        (2, "P001", "BASELINE", "FSH"),
        (3, "P001", "BASELINE", "E2"),
        (4, "P001", "ET14", "BHCG"),
        (5, "P002", "BASELINE", "LH"),
        (6, "P002", "BASELINE", "CA125"),
    ]
    assert all(isinstance(r, ImportRow) for r in rows)


def test_good_file_rows_carry_checked_results_with_values_as_entered():
    rows, _ = parse(GOOD_FILE)
    assert [r.result for r in rows] == [
        CheckedResult("FSH", "7.2", "IU/L", "", Decimal("7.2000"), NORMAL),
        CheckedResult("E2", "50", "pg/mL", "", Decimal("183.5500"), NORMAL),
        CheckedResult("BHCG", "<2", "mIU/mL", "<", Decimal("2.0000"), NORMAL),
        CheckedResult("LH", "15,5", "IU/L", "", Decimal("15.5000"), HIGH),
        CheckedResult("CA125", ">40", "kU/L", ">", Decimal("40.0000"), HIGH),
    ]


def test_drawn_at_is_timezone_aware_naive_times_taking_the_default_zone():
    rows, _ = parse(GOOD_FILE)
    naive, _, offset, zulu, _ = (r.drawn_at for r in rows)
    assert all(r.drawn_at.tzinfo is not None for r in rows)
    assert naive == datetime(2025, 3, 14, 8, 30, tzinfo=SHANGHAI)
    assert naive.tzinfo is SHANGHAI and naive.utcoffset() == timedelta(hours=8)
    assert offset == datetime(2025, 3, 28, 1, 15, tzinfo=UTC) and offset.utcoffset() == timedelta(hours=8)
    assert zulu == datetime(2025, 3, 14, 0, 30, tzinfo=UTC) and zulu.utcoffset() == timedelta(0)
    assert zulu == naive  # the same instant, written two ways


def test_naive_times_follow_the_default_zone_passed_in():
    content = csv_bytes(HEADER_LINE, good_line(drawn_at="2025-03-14T08:30"))
    (row,), _ = parse(content, default_tz=UTC)
    assert row.drawn_at == datetime(2025, 3, 14, 8, 30, tzinfo=UTC)
    (row,), _ = parse(content, default_tz=SHANGHAI)
    assert row.drawn_at == datetime(2025, 3, 14, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("newline", "bom"), [("\n", False), ("\r\n", False), ("\n", True), ("\r", False)])
def test_line_endings_and_bom_do_not_matter(newline, bom):
    content = csv_bytes(HEADER_LINE, good_line(), good_line(analyte="LH"), newline=newline, bom=bom)
    rows, problems = parse(content)
    assert problems == [] and [r.row for r in rows] == [2, 3]


def test_header_is_read_ignoring_case_and_surrounding_spaces():
    rows, problems = parse(csv_bytes(" Study_ID , TimePoint,DRAWN_AT,analyte,value,unit", good_line()))
    assert problems == [] and len(rows) == 1


def test_cells_are_trimmed_and_blank_lines_inside_the_file_are_skipped_but_counted():
    content = csv_bytes(HEADER_LINE, "", " P001 , BASELINE , 2025-03-14 08:30 , FSH , 7.2 , IU/L ", ",,,,,", "")
    (row,), problems = parse(content)
    assert problems == []
    assert (row.row, row.study_id, row.timepoint, row.result.unit_as_entered) == (3, "P001", "BASELINE", "IU/L")


# --- malformed files: exactly one file-level problem, no rows ---

FILE_PROBLEMS = {
    "empty": (b"", 0, "The file is empty."),
    "only whitespace": (b"  \r\n\r\n", 0, "The file is empty."),
    "header only": (csv_bytes(HEADER_LINE, bom=True), 0, "The file has a header but no rows."),
    "header and blank lines": (csv_bytes(HEADER_LINE, "", "  ", ""), 0, "The file has a header but no rows."),
    "header without newline": (HEADER_LINE.encode(), 0, "The file has a header but no rows."),
    "columns in another order": (
        csv_bytes("study_id,drawn_at,timepoint,analyte,value,unit", good_line()),
        1,
        "The header must be exactly: study_id,timepoint,drawn_at,analyte,value,unit "
        "(found: study_id,drawn_at,timepoint,analyte,value,unit).",
    ),
    "missing column": (
        csv_bytes("study_id,timepoint,drawn_at,analyte,value", "P001,BASELINE,2025-03-14 08:30,FSH,7.2"),
        1,
        "The header must be exactly: study_id,timepoint,drawn_at,analyte,value,unit",
    ),
    "extra column": (
        csv_bytes(HEADER_LINE + ",comment", good_line() + ",ok"),
        1,
        "The header must be exactly: study_id,timepoint,drawn_at,analyte,value,unit",
    ),
    "data without header": (csv_bytes(good_line(), good_line(analyte="LH")), 1, "The header must be exactly:"),
    "utf-16 with bom": (csv_bytes(HEADER_LINE, good_line(), encoding="utf-16"), 0, "The file is not UTF-8 text"),
    "utf-16 explicit bom bytes": (
        b"\xff\xfe" + csv_bytes(HEADER_LINE, encoding="utf-16-le"),
        0,
        "The file is not UTF-8 text",
    ),
    "latin-1 in a row": (
        csv_bytes(HEADER_LINE, good_line(study_id="Pé01"), encoding="latin-1"),
        0,
        "The file is not UTF-8 text",
    ),
    "latin-1 in the header": (csv_bytes("étude," + HEADER_LINE, encoding="latin-1"), 0, "The file is not UTF-8 text"),
}


@pytest.mark.parametrize(("content", "row", "message"), FILE_PROBLEMS.values(), ids=FILE_PROBLEMS.keys())
def test_malformed_file_gives_exactly_one_file_level_problem_and_no_rows(content, row, message):
    rows, problems = parse(content)
    assert rows == []
    assert len(problems) == 1
    (problem,) = problems
    assert (problem.row, problem.column) == (row, "")
    assert problem.message.startswith(message)


def test_wrong_encoding_message_says_to_save_as_utf8_and_points_at_the_bad_byte():
    content = csv_bytes(HEADER_LINE, good_line(study_id="Pé01"), encoding="latin-1")
    (problem,) = parse(content)[1]
    bad_byte = content.index(b"\xe9")
    assert problem == RowProblem(0, "", f"The file is not UTF-8 text (byte {bad_byte}); save it as UTF-8 CSV.")


def test_wrong_encoding_byte_offset_counts_the_bom():
    content = csv_bytes(HEADER_LINE, good_line(study_id="Pé01"), bom=True).replace("é".encode(), b"\xe9")
    bad_byte = content.index(b"\xe9")
    (problem,) = parse(content)[1]
    assert f"(byte {bad_byte})" in problem.message


def test_file_with_only_a_bom_is_one_file_level_problem():
    rows, problems = parse(BOM.encode())
    assert rows == [] and len(problems) == 1 and problems[0].column == "" and problems[0].row in (0, 1)


# --- robustness ---


def test_absurdly_large_value_is_a_row_problem_not_a_crash():
    content = csv_bytes(HEADER_LINE, good_line(), good_line(analyte="LH", value="99999999999999999999999999"))
    rows, problems = parse(content)
    assert [(p.row, p.column) for p in problems] == [(3, "value")]
    assert [r.row for r in rows] == [2]


def test_stray_quote_is_reported_on_its_line():
    content = csv_bytes(HEADER_LINE, good_line(), 'P002,BASELINE,2025-03-14 08:30,FSH,"7.2,IU/L', good_line("P003"))
    rows, problems = parse(content)
    assert [(p.row, p.column) for p in problems] == [(3, "")]
    assert [r.row for r in rows] == [2]


def test_stray_quote_in_a_large_file_is_a_problem_not_a_crash():
    lines = [HEADER_LINE, 'P0000,BASELINE,2025-03-14 08:30,FSH,"7.2,IU/L']
    lines += [good_line(study_id=f"P{n:04d}") for n in range(1, 4000)]
    _, problems = parse(csv_bytes(*lines))
    assert problems and problems[0].row == 2


def test_line_numbers_stay_right_after_a_quoted_cell_spanning_lines():
    content = csv_bytes(
        HEADER_LINE, 'P001,BASELINE,2025-03-14 08:30,FSH,"7.2\r\n",IU/L', good_line("P002", value="abc")
    )
    rows, problems = parse(content)
    assert [r.row for r in rows] == [2]
    assert [(p.row, p.column) for p in problems] == [(4, "value")]
