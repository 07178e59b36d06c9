"""Hostile input to the parsers (SPEC §8): the lab CSV parser and questionnaire scoring, on anything.

Property-based with hypothesis, derandomized (the same examples on every run) and bounded:
- the lab CSV parser on arbitrary bytes and on near-valid files: it never raises, and every problem has the
  line number of its row (0 only for a problem of the whole file);
- questionnaire answers: scoring never crashes on any answer dict, and the service refuses what scoring
  refuses with ValidationFailed, saving nothing.
The parser and scoring properties run without database access; the service's runs on the module's records.
"""

import io
import string
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from core.exceptions import ValidationFailed
from labs.import_csv import HEADER, RowProblem, parse_lab_csv
from outcomes import scoring
from outcomes.instruments import INSTRUMENT_ITEMS
from tests.core.hostile import (
    HEADER_LINE,
    bounded,
    build_subjects,
    in_savepoint,
    needs_db,
    row_counts,
)
from tests.labs.test_validation import SPECS, TIMEPOINTS
from tests.module_data import module_data

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- (a) The lab CSV parser ---------------------------------------------------------------------------------


def parse(content: bytes):
    return parse_lab_csv(content, specs=SPECS, timepoints=TIMEPOINTS, default_tz=SHANGHAI)


def _physical_lines(content: bytes) -> int:
    text = content.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    return len(io.StringIO(text, newline="").readlines()) + 1


def _assert_well_formed(content: bytes, rows, problems) -> None:
    assert all(isinstance(p, RowProblem) and isinstance(p.row, int) and p.message for p in problems)
    last = _physical_lines(content)
    for problem in problems:
        assert 0 <= problem.row <= last, problem
        if problem.row == 0:  # a problem of the whole file stops the check: it is the only one
            assert problems == [problem] and rows == []
    assert all(2 <= row.row <= last for row in rows)
    assert not {row.row for row in rows} & {problem.row for problem in problems}


CSV_NOISE = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda text: f"{HEADER_LINE}\n{text}".encode()),
    st.binary(max_size=300).map(lambda raw: f"{HEADER_LINE}\r\n".encode() + raw),
    st.lists(st.text(alphabet='",\r\n ;PBT0123456789<>.-:ABCDEFGHIJKLMNOPQRSTUVWXYZ', max_size=40), max_size=8).map(
        lambda lines: "\n".join([HEADER_LINE, *lines]).encode()
    ),
)


@bounded(300)
@given(content=CSV_NOISE)
@example(content=b"")
@example(content=b"\xff\xfe")
@example(content=f'{HEADER_LINE}\nP1,BASELINE,"2025-03-14 08:30,FSH,7,IU/L\n'.encode())
def test_the_lab_csv_parser_never_raises_and_numbers_every_problem(content):
    rows, problems = parse(content)
    _assert_well_formed(content, rows, problems)


WORD = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8)
CORRUPTIONS = {
    "timepoint": lambda cells, word: {**cells, "timepoint": f"TP{word}"},
    "drawn_at": lambda cells, word: {**cells, "drawn_at": f"2025-13-{word}"},
    "analyte": lambda cells, word: {**cells, "analyte": f"ZZ{word}"},
    "value": lambda cells, word: {**cells, "value": f"x{word}"},
    "negative": lambda cells, word: {**cells, "value": "-1"},
    "unit": lambda cells, word: {**cells, "unit": f"u{word}"},
    "too_high": lambda cells, word: {**cells, "value": "1e12"},
    "columns": lambda cells, word: {**cells, "unit": f"{cells['unit']},{word}"},
    "study_id": lambda cells, word: {**cells, "study_id": " "},
}
GOOD_CELLS = [
    {"timepoint": "BASELINE", "drawn_at": "2025-03-14 08:30", "analyte": "FSH", "value": "7.2", "unit": "IU/L"},
    {"timepoint": "ET14", "drawn_at": "2025-03-28T09:15:00+08:00", "analyte": "E2", "value": "<50", "unit": "pg/mL"},
    {"timepoint": "BASELINE", "drawn_at": "2025-03-14T00:30:00Z", "analyte": "LH", "value": "15.5", "unit": "IU/L"},
]
NEAR_VALID_ROW = st.tuples(
    st.sampled_from(range(len(GOOD_CELLS))),
    st.one_of(st.none(), st.sampled_from(sorted(CORRUPTIONS))),
    WORD,
    st.integers(min_value=0, max_value=2),  # blank lines before the row
)


@bounded(150)
@given(rows=st.lists(NEAR_VALID_ROW, min_size=1, max_size=12), newline=st.sampled_from(["\n", "\r\n"]))
def test_every_bad_row_of_a_near_valid_file_is_reported_on_its_own_line(rows, newline):
    lines, bad, good = [HEADER_LINE], set(), set()
    for index, (template, corruption, word, blanks) in enumerate(rows):
        lines += [""] * blanks
        cells = {"study_id": f"P{index:03d}", **GOOD_CELLS[template]}  # one study id per row: no duplicates
        if corruption:
            cells = CORRUPTIONS[corruption](cells, word)
        lines.append(",".join(cells[column] for column in HEADER))
        (bad if corruption else good).add(len(lines))
    content = (newline.join(lines) + newline).encode()
    parsed, problems = parse(content)
    _assert_well_formed(content, parsed, problems)
    assert {problem.row for problem in problems} == bad
    assert {row.row for row in parsed} == good


# --- (b) Questionnaire answers ------------------------------------------------------------------------------


ITEM_KEYS = sorted({item.key for items in INSTRUMENT_ITEMS.values() for item in items})
ANSWER_KEY = st.one_of(st.sampled_from(ITEM_KEYS), st.text(max_size=4), st.integers(-3, 40))
ANSWER_VALUE = st.one_of(
    st.integers(-3, 12),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(),
    st.text(max_size=3),
    st.lists(st.integers(0, 4), max_size=2),
)
ANSWERS = st.dictionaries(ANSWER_KEY, ANSWER_VALUE, max_size=40)
VALID_ANSWERS = st.sampled_from(sorted(INSTRUMENT_ITEMS)).flatmap(
    lambda code: st.tuples(
        st.just(code),
        st.fixed_dictionaries(
            {},
            optional={
                item.key: st.integers(*item.count_range)
                if item.count_range
                else st.sampled_from([o.value for o in item.options])
                for item in INSTRUMENT_ITEMS[code]
            },
        ),
    )
)


@bounded(400)
@given(instrument=st.sampled_from([*INSTRUMENT_ITEMS, "SF12", ""]), answers=ANSWERS)
def test_scoring_never_crashes_and_refuses_exactly_what_it_reports(instrument, answers):
    errors = scoring.answer_errors(instrument, answers)
    assert all(isinstance(k, str) and v and all(isinstance(m, str) for m in v) for k, v in errors.items())
    if errors:
        with pytest.raises(ValueError, match="Cannot score"):
            scoring.score(instrument, answers)
    else:
        _assert_scores(instrument, scoring.score(instrument, answers))


@bounded(150)
@given(instrument_and_answers=VALID_ANSWERS)
def test_every_valid_partial_form_is_scored_within_the_scale(instrument_and_answers):
    instrument, answers = instrument_and_answers
    assert scoring.answer_errors(instrument, answers) == {}
    _assert_scores(instrument, scoring.score(instrument, answers))


def _assert_scores(instrument, scores) -> None:
    for name, value in scores.items():
        assert value is None or isinstance(value, float), (name, value)
        if value is not None and instrument == "RAND36":
            assert 0.0 <= value <= 100.0, (name, value)
        if value is not None:
            assert value >= 0.0, (name, value)


subjects = module_data(build_subjects)


@needs_db
@bounded(40)
@given(answers=ANSWERS, instrument_and_valid=VALID_ANSWERS)
def test_the_questionnaire_service_refuses_bad_answers_and_saves_nothing(subjects, answers, instrument_and_valid):
    from outcomes.services import questionnaire_record

    instrument, valid = instrument_and_valid
    for given_answers in (answers, valid):
        before = row_counts()

        def record(given_answers=given_answers):
            saved = questionnaire_record(
                patient=subjects["consented"],
                instrument=instrument,
                timepoint="BASELINE",
                completed_on=timezone.localdate(),
                answers=given_answers,
                by=subjects["staff"],
            )
            return saved, row_counts()

        outcome = in_savepoint(record)
        if scoring.answer_errors(instrument, given_answers):
            assert isinstance(outcome, ValidationFailed), outcome
            assert row_counts() == before
        else:
            assert not isinstance(outcome, Exception), outcome
            assert outcome[1] != before  # the valid form was saved (then rolled back)
