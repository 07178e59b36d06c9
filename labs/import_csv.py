"""The lab CSV (`study_id,timepoint,drawn_at,analyte,value,unit`) read and checked row by row. Pure (no
Django but its translation function: the problems are shown to the user).

Every problem is collected with its line number and column; the caller decides what happens to a
file with problems (by default: nothing is imported).
"""

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import NamedTuple

from django.utils.translation import gettext as _

from labs.validation import AnalyteSpec, CheckedResult, ResultProblem, check_result

HEADER = ["study_id", "timepoint", "drawn_at", "analyte", "value", "unit"]


@dataclass(frozen=True)
class RowProblem:
    row: int  # line number in the file (the header is line 1); 0 for the file as a whole
    column: str
    message: str


class ImportRow(NamedTuple):
    """One good row. A named tuple: a file makes 100,000 of them, and a frozen dataclass took 3× as long
    to build (each field set through object.__setattr__)."""

    row: int
    study_id: str
    timepoint: str
    drawn_at: datetime
    result: CheckedResult


_BOM = b"\xef\xbb\xbf"


# A report lists the problems of this many bad rows and counts the rest: a 10 MB file of garbage has some
# 300,000 bad rows, and listing every one made a 77 MB page.
MAX_LISTED_ROWS = 1000


class Problems(list):
    """RowProblems of the first MAX_LISTED_ROWS bad rows, in line order; the bad rows after those are only
    counted (their problems are not even worked out)."""

    def __init__(self):
        super().__init__()
        self.listed_rows = 0
        self.unlisted_rows = 0

    @property
    def full(self) -> bool:
        return self.listed_rows >= MAX_LISTED_ROWS

    def add_row(self, found: list[RowProblem]) -> None:
        """The problems of one bad row: listed while there is room, else counted."""
        if self.full:
            self.unlisted_rows += 1
        else:
            self.listed_rows += 1
            self.extend(found)


def parse_lab_csv(
    content: bytes, *, specs: dict[str, AnalyteSpec], timepoints: set[str], default_tz: tzinfo
) -> tuple[list[ImportRow], Problems]:
    """Rows that passed every check, and the problems found (a file problem stops at once)."""
    problems = Problems()
    if not content.strip():
        problems.add_row([RowProblem(0, "", _("The file is empty."))])
        return [], problems
    body = content.removeprefix(_BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + len(content) - len(body)
        message = _("The file is not UTF-8 text (byte %(offset)s); save it as UTF-8 CSV.") % {"offset": offset}
        problems.add_row([RowProblem(0, "", message)])
        return [], problems
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != HEADER:
        message = _("The header must be exactly: %(expected)s (found: %(found)s).") % {
            "expected": ",".join(HEADER),
            "found": ",".join(_FORBIDDEN.sub("?", cell) for cell in header),
        }
        problems.add_row([RowProblem(1, "", message)])
        return [], problems
    rows = []
    draws_seen: dict[tuple[str, str], _DrawSeen] = {}
    check = _memoized_checks(specs, default_tz)
    # One search of the whole text (at C speed) spares a clean file the check of each cell.
    dirty = _FORBIDDEN.search(text) is not None
    for line, cells in _records(reader, problems):
        row = None if dirty and _has_forbidden(cells) else _valid_row(line, cells, check, timepoints)
        if row is None:
            problems.add_row([] if problems.full else _row_problems(line, cells, check, timepoints))
            continue
        duplicate = _duplicate_problem(row, draws_seen)
        if duplicate:
            problems.add_row([duplicate])
        else:
            rows.append(row)
    if not rows and not problems and not problems.unlisted_rows:
        problems.add_row([RowProblem(0, "", _("The file has a header but no rows."))])
    return rows, problems


# As core.request_guard refuses in any other input: C0 controls but TAB, LF and CR (PostgreSQL cannot store
# NUL). Lone surrogates cannot arise here: the file was decoded as UTF-8.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _has_forbidden(cells: list[str]) -> bool:
    return any(_FORBIDDEN.search(cell) for cell in cells)


def _control_problems(line: int, cells: list[str]) -> list[RowProblem]:
    problems = []
    for column, cell in zip(HEADER, cells, strict=False):
        found = _FORBIDDEN.search(cell)
        if found:
            message = _("The cell contains the control character U+%(code)04X; remove it.") % {
                "code": ord(found.group())
            }
            problems.append(RowProblem(line, column, message))
    if len(cells) > len(HEADER) and _has_forbidden(cells[len(HEADER) :]):
        problems.append(RowProblem(line, "", _("A cell past the last column contains a control character.")))
    return problems


def _records(reader, problems: Problems):
    """(first physical line, cells) per non-blank record; a broken quote ends the file with a problem."""
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            message = _("Malformed CSV from this line on (%(error)s); check the quotes.") % {"error": error}
            problems.add_row([RowProblem(line, "", message)])
            return
        if "".join(cells).strip():  # not blank (a third of the cost of testing each cell)
            yield line, cells
        line = reader.line_num + 1


@dataclass(frozen=True)
class _Checks:
    result: Callable[[str, str, str, str], CheckedResult | ResultProblem]  # (analyte, timepoint, value, unit)
    drawn_at: Callable[[str], datetime | None]
    analytes: frozenset[str]


def _memoized_checks(specs: dict[str, AnalyteSpec], default_tz: tzinfo) -> _Checks:
    """The value and date checks, each computed once per distinct input within one file.

    Both are pure, and a lab file repeats itself: one drawn_at per draw (six results share it) and
    values of a few significant digits. Even the benchmark's file of random values repeats 58% of its
    (analyte, time point, value, unit); judging each once made its dry run 1.3× faster. The memo lives
    for one file only: messages are in the language of the request that reads it.
    """
    results: dict[tuple[str, str, str, str], CheckedResult | ResultProblem] = {}
    dates: dict[str, datetime | None] = {}

    def result(analyte: str, timepoint: str, value: str, unit: str) -> CheckedResult | ResultProblem:
        key = (analyte, timepoint, value, unit)
        try:
            return results[key]
        except KeyError:
            judged = results[key] = check_result(specs[analyte], timepoint, value, unit)
            return judged

    def drawn_at(text: str) -> datetime | None:
        try:
            return dates[text]
        except KeyError:
            parsed = dates[text] = _parse_datetime(text, default_tz)
            return parsed

    return _Checks(result, drawn_at, frozenset(specs))


_strip = str.strip


def _valid_row(line: int, cells: list[str], check: _Checks, timepoints) -> ImportRow | None:
    """The row when every cell passes, else None (then `_row_problems` says why): the common case costs
    two memo look-ups and no message is formatted."""
    if len(cells) != len(HEADER):
        return None
    study_id, timepoint, drawn_text, analyte, value, unit = map(_strip, cells)
    if not study_id or timepoint not in timepoints or analyte not in check.analytes:
        return None
    drawn_at = check.drawn_at(drawn_text)
    checked = check.result(analyte, timepoint, value, unit)
    if drawn_at is None or type(checked) is not CheckedResult:
        return None
    return ImportRow(line, study_id, timepoint, drawn_at, checked)


def _row_problems(line, cells, check: _Checks, timepoints) -> list[RowProblem]:
    """Every problem of a row `_valid_row` refused, each with its column and a specific message."""
    control = _control_problems(line, cells)
    if control:  # such a cell's other checks would only repeat it, naming the character in their message
        return control
    if len(cells) != len(HEADER):
        message = _("Expected %(expected)s columns, found %(found)s.") % {"expected": len(HEADER), "found": len(cells)}
        return [RowProblem(line, "", message)]
    study_id, timepoint, drawn_text, analyte, value, unit = map(_strip, cells)
    problems = []
    if not study_id:
        problems.append(RowProblem(line, "study_id", _("The study id is empty.")))
    if timepoint not in timepoints:
        message = _("Unknown time point '%(timepoint)s'; use %(known)s.") % {
            "timepoint": timepoint,
            "known": ", ".join(sorted(timepoints)),
        }
        problems.append(RowProblem(line, "timepoint", message))
    if check.drawn_at(drawn_text) is None:
        message = _("'%(value)s' is not a date and time (use 2025-03-14T08:30:00+08:00).") % {"value": drawn_text}
        problems.append(RowProblem(line, "drawn_at", message))
    if analyte not in check.analytes:
        message = _("Unknown analyte '%(analyte)s'; use %(known)s.") % {
            "analyte": analyte,
            "known": ", ".join(sorted(check.analytes)),
        }
        problems.append(RowProblem(line, "analyte", message))
    else:
        # An unknown time point still gets its value checked (against the general range), so every
        # problem of the row is reported at once.
        checked = check.result(analyte, timepoint, value, unit)
        if isinstance(checked, ResultProblem):
            problems.append(RowProblem(line, checked.column, checked.message))
    return problems


def _parse_datetime(text: str, default_tz: tzinfo) -> datetime | None:
    if "T" not in text and " " not in text.strip():
        return None  # a bare date: the time of the draw matters for windows and cannot be guessed
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=default_tz)


class _DrawSeen(NamedTuple):
    line: int  # the draw's first good row
    drawn_at: datetime
    analytes: dict[str, int]  # analyte → its line


def _duplicate_problem(row: ImportRow, draws_seen: dict[tuple[str, str], _DrawSeen]) -> RowProblem | None:
    """An analyte twice in one draw, or one draw with two drawn_at; otherwise the row is remembered."""
    draw_key = (row.study_id, row.timepoint)
    analyte = row.result.analyte
    seen = draws_seen.get(draw_key)
    if seen is None:
        draws_seen[draw_key] = _DrawSeen(row.row, row.drawn_at, {analyte: row.row})
        return None
    if analyte in seen.analytes:
        return RowProblem(
            row.row,
            "analyte",
            _("%(analyte)s appears twice in one draw (also on line %(line)s).")
            % {"analyte": analyte, "line": seen.analytes[analyte]},
        )
    if seen.drawn_at != row.drawn_at:
        return RowProblem(
            row.row,
            "drawn_at",
            _("The %(timepoint)s draw of %(study_id)s has another drawn_at on line %(line)s.")
            % {"timepoint": row.timepoint, "study_id": row.study_id, "line": seen.line},
        )
    seen.analytes[analyte] = row.row
    return None
