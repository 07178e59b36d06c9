"""Hostile input (SPEC §8: bad input anywhere gets a clear error and saves nothing; a 500 is a bug).

Property-based with hypothesis, derandomized (the same examples on every run) and bounded:
- the lab CSV parser on arbitrary bytes and on near-valid files: it never raises, and every problem has the
  line number of its row (0 only for a problem of the whole file);
- questionnaire answers: scoring never crashes on any answer dict, and the service refuses what scoring
  refuses with ValidationFailed, saving nothing;
- the main forms (screening, baseline, lab draw, pregnancy outcome, adverse event) posted through the test
  client with generated values: never a 500, and a refused post changes no row (audit events included).
Then oversized bodies (413 with a message, nothing read) and a few malformed API parameters.
"""

import importlib
import io
import string
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.exceptions import ValidationFailed
from labs.import_csv import HEADER, RowProblem, parse_lab_csv
from outcomes import scoring
from outcomes.instruments import INSTRUMENT_ITEMS
from tests.factories import ensure_trial_configuration
from tests.labs.test_validation import SPECS, TIMEPOINTS

SHANGHAI = ZoneInfo("Asia/Shanghai")
needs_db = pytest.mark.django_db  # the pure properties (parser, scoring) run without database access
HEADER_LINE = ",".join(HEADER)


def bounded(examples: int):
    """Deterministic (derandomize) and bounded; no example database, no deadline on a shared machine."""
    return hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- (a) The lab CSV parser ---------------------------------------------------------------------------


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


# --- (b) Questionnaire answers ------------------------------------------------------------------------

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


# --- Data for the database-backed properties ------------------------------------------------------------
COUNTED_MODELS = [
    "patients.Patient",
    "patients.PatientIdentity",
    "patients.Screening",
    "patients.Baseline",
    "labs.LabDraw",
    "labs.LabResult",
    "outcomes.PregnancyOutcome",
    "outcomes.AdverseEvent",
    "outcomes.QuestionnaireResponse",
    "quality.DataQuery",
]


def _counted_tables() -> list[str]:
    tables = []
    for label in COUNTED_MODELS:
        model = django_apps.get_model(label)
        tables.append(model._meta.db_table)
        event = django_apps.all_models[model._meta.app_label].get(f"{model._meta.model_name}event")
        if event is not None:  # the model's audit events
            tables.append(event._meta.db_table)
    return tables


def row_counts() -> tuple[int, ...]:
    """Rows of every clinical table and its audit events, in one query."""
    tables = _counted_tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables))
        return tuple(cursor.fetchone())


@pytest.fixture(scope="module")
def subjects(django_db_setup, django_db_blocker):
    """Site A's staff and patients at each step a form needs, built once for the module."""
    from core.roles import roles_sync
    from tests import factories as f

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            ensure_trial_configuration()
            roles_sync()
            site = f.site("SZ")
            staff = f.make_user("staff_a", "site_staff", site)
            statistician = f.make_user("statistician", "statistician")
            treated = f.randomized_patient(site, staff, statistician)
            f.backdated_transfer(treated, staff)
            connection.check_constraints()
            yield {
                "site": site,
                "staff": staff,
                "consented": f.consented_patient(site, staff),
                "treated": treated,
            }
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def trial_configuration(request):
    """Replaces the suite's per-test seeding: the module's subjects seeded the configuration once."""
    if "subjects" in request.fixturenames:
        request.getfixturevalue("db")


@pytest.fixture
def staff_client(subjects):
    client = Client()
    client.force_login(subjects["staff"])
    return client


def in_savepoint(action):
    """Run `action()` and roll back whatever it wrote; returns its result, or the exception it raised."""
    with transaction.atomic():
        try:
            return action()
        except Exception as error:
            return error
        finally:
            transaction.set_rollback(True)


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


# --- (c) The main forms, posted with generated values ---------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "-1e-400",
            "NaN",
            "Infinity",
            "99999999999999999999",
            "2025-13-01",
            "2025-02-30",
            "0000-00-00",
            "9999-12-31",
            "0001-01-01",
            "<0.5",
            ">1e400",
            "1,5",
            "١٢",  # Arabic-Indic digits
            "０１",  # full-width digits
            "true",
            "null",
            "'; DROP TABLE patients_patient; --",
            "\x00",
            "A" * 300,
            "0." + "0" * 45 + "1",
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(str),
)


def form_values(valid: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """Each field mostly valid (so the later checks are reached), often something hostile."""
    return st.fixed_dictionaries({name: st.one_of(st.just(value), HOSTILE_TEXT) for name, value in valid.items()})


def _post_and_check(client, url: str, data: dict) -> None:
    before = row_counts()

    def post():
        response = client.post(url, data)
        return response, row_counts()

    outcome = in_savepoint(post)
    if isinstance(outcome, Exception):  # the test client re-raises a view's exception: the user got a 500
        raise outcome
    response, after = outcome
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code == 302:
        assert after != before  # accepted: something was saved (and rolled back)
    else:
        assert after == before, "a refused post changed rows"
    assert row_counts() == before


def _days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


HUGE = "99999999999"  # past every integer column
LONG_NUMBER = "0." + "0" * 45 + "1"  # a valid number, longer than the column keeping the value as entered
CRITERIA = importlib.import_module("core.migrations.0002_seed_trial_configuration").CRITERIA
SCREENING = {
    "screening_date": "2025-03-01",
    "full_name": "Hostile Input",
    "medical_record_number": "MRN-HOSTILE",
    "date_of_birth": "1992-03-15",
    "phone": "",
    **{f"criterion_{code}": "yes" if kind == "inclusion" else "no" for code, _text, kind, *_ in CRITERIA},
}
BASELINE = {
    "height_cm": "160.0",
    "weight_kg": "56.0",
    "previous_failed_transfers": "2",
    "prior_miscarriages": "1",
    "infertility_type": "primary",
    "infertility_years": "3.5",
    "education": "college_or_higher",
    "amh_ng_ml": "2.10",
}
LAB_DRAW = {
    "timepoint": "ET14",
    "drawn_at": (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    **{f"{code}_value": "5" for code in SPECS},
    **{f"{code}_unit": spec.canonical_unit for code, spec in SPECS.items()},
}
OUTCOME = {
    "beta_hcg_positive": "True",
    "beta_hcg_date": _days_ago(20),
    "beta_hcg_value": "250.5",
    "clinical_pregnancy": "True",
    "ultrasound_date": _days_ago(5),
    "gestational_sacs": "1",
    "fetal_heartbeat": "True",
    "ectopic": "False",
    "miscarriage": "False",
    "miscarriage_date": "",
    "miscarriage_week": "",
    "ongoing_pregnancy": "",
    "live_birth": "",
    "live_birth_date": "",
    "infants": "",
    "confirm_sacs": "",
}
ADVERSE_EVENT = {
    "term": "injection_site_bruising",
    "term_other": "",
    "onset_date": _days_ago(2),
    "resolution_date": "",
    "grade": "1",
    "serious": "",
    "related_to_dalteparin": "possible",
    "action_taken": "none",
    "outcome": "recovering",
}


@needs_db
@bounded(30)
@given(post=form_values(SCREENING))
@example(post={**SCREENING, "full_name": "A" * 201})
@example(post={**SCREENING, "phone": "\x00"})
def test_the_screening_form_never_fails_or_saves_half(subjects, staff_client, post):
    post = {**post, "site": str(subjects["site"].pk)}
    _post_and_check(staff_client, reverse("patients:screen"), post)


@needs_db
@bounded(30)
@given(post=form_values(BASELINE))
@example(post={**BASELINE, "previous_failed_transfers": HUGE})
@example(post={**BASELINE, "amh_ng_ml": "1e309"})
def test_the_baseline_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("patients:baseline", kwargs={"study_id": subjects["consented"].study_id})
    _post_and_check(staff_client, url, post)


@needs_db
@bounded(30)
@given(post=form_values(LAB_DRAW))
@example(post={**LAB_DRAW, "FSH_value": "1e-400"})
@example(post={**LAB_DRAW, "FSH_value": "<" + "9" * 30})
def test_the_lab_draw_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("labs:draw_create", kwargs={"study_id": subjects["treated"].study_id})
    _post_and_check(staff_client, url, post)


@needs_db
def test_a_lab_value_longer_than_its_column_is_refused_everywhere(subjects, staff_client):
    study_id = subjects["treated"].study_id
    _post_and_check(
        staff_client, reverse("labs:draw_create", kwargs={"study_id": study_id}), {**LAB_DRAW, "FSH_value": LONG_NUMBER}
    )
    staff_client.raise_request_exception = False
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    api = {"study_id": study_id, "timepoint": "ET14", "analyte": "FSH", "value": LONG_NUMBER, "unit": "IU/L"}
    response = in_savepoint(
        lambda: staff_client.post(reverse("api-lab-results"), {**api, "drawn_at": drawn_at}, "application/json")
    )
    assert response.status_code == 400
    csv = f"{HEADER_LINE}\n{study_id},ET14,{drawn_at},FSH,{LONG_NUMBER},IU/L\n".encode()
    response = in_savepoint(lambda: staff_client.post(reverse("api-lab-imports"), csv, "text/csv"))
    assert response.status_code == 400


MISCARRIAGE = {**OUTCOME, "miscarriage": "True", "miscarriage_date": _days_ago(2), "miscarriage_week": "8"}
LIVE_BIRTH = {**OUTCOME, "ongoing_pregnancy": "True", "live_birth": "True", "live_birth_date": _days_ago(1)}


@needs_db
@bounded(30)
@given(post=form_values(OUTCOME))
@example(post={**MISCARRIAGE, "miscarriage_week": HUGE})
@example(post={**LIVE_BIRTH, "infants": HUGE})
@example(post={**OUTCOME, "beta_hcg_value": "1e12"})
def test_the_pregnancy_outcome_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("outcomes:pregnancy", kwargs={"study_id": subjects["treated"].study_id})
    _post_and_check(staff_client, url, post)


@needs_db
@bounded(30)
@given(post=form_values(ADVERSE_EVENT))
@example(post={**ADVERSE_EVENT, "term": "other", "term_other": "A" * 201})
def test_the_adverse_event_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("outcomes:ae_create", kwargs={"study_id": subjects["treated"].study_id})
    _post_and_check(staff_client, url, post)


# --- Oversized bodies and malformed parameters ------------------------------------------------------------


@needs_db
def test_an_oversized_json_body_gets_413_with_a_message_and_saves_nothing(subjects, staff_client):
    before = row_counts()
    body = b'{"full_name": "' + b"x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = staff_client.post(reverse("api-patients"), body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large: the largest accepted is 2.5 MB. Nothing was saved."}
    assert row_counts() == before


@needs_db
def test_an_oversized_form_post_gets_413_with_a_message_and_saves_nothing(subjects, staff_client):
    before = row_counts()
    response = staff_client.post(
        reverse("patients:screen"), {"full_name": "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )
    assert response.status_code == 413 and response["Content-Type"].startswith("text/html")
    assert "Nothing was saved" in response.content.decode()
    assert row_counts() == before


@needs_db
def test_an_oversized_upload_gets_413_before_it_is_read(subjects, staff_client):
    too_big = SimpleUploadedFile("labs.csv", b"x" * (django_settings.UPLOAD_MAX_REQUEST_BYTES + 1), "text/csv")
    response = staff_client.post(reverse("labs:import"), {"file": too_big})
    assert response.status_code == 413
    assert "the largest accepted is 24.0 MB" in response.content.decode()


@needs_db
def test_a_lab_file_just_over_its_limit_is_refused_by_the_import_form(subjects, staff_client):
    from labs.forms import MAX_IMPORT_BYTES

    upload = SimpleUploadedFile("labs.csv", HEADER_LINE.encode() + b"\n" + b"x" * MAX_IMPORT_BYTES, "text/csv")
    response = staff_client.post(reverse("labs:import"), {"file": upload})
    assert response.status_code == 200
    assert "larger than 20 MB" in response.content.decode()


@needs_db
def test_too_many_form_fields_are_a_400_with_a_message_not_a_500(subjects, staff_client):
    fields = {f"f{n}": "1" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = staff_client.post(reverse("patients:screen"), fields)
    assert response.status_code == 400
    assert "more fields than the 1000 accepted" in response.content.decode()


@needs_db
@pytest.mark.parametrize(
    "query",
    [
        "updated_since=2025-13-01T00:00:00Z",  # well-formed, impossible month: parse_datetime raises
        "updated_since=2025-02-30T00:00:00Z",
        "updated_since=2025-03-01T25:00:00Z",
        "updated_since=yesterday",
        "updated_since=2025-03-01T00:00:00",  # no zone
    ],
)
def test_a_bad_updated_since_is_a_400_naming_the_parameter(subjects, staff_client, query):
    for route in ("api-patients", "api-lab-results", "api-transfers"):
        response = staff_client.get(f"{reverse(route)}?{query}")
        assert response.status_code == 400, (route, response.status_code)
        assert "updated_since" in response.json()
