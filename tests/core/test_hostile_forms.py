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
import json
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
from tests.labs.test_validation import SPECS, TIMEPOINTS
from tests.module_data import module_data

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


def _build_subjects() -> dict:
    """Site A's staff and patients at each step a form needs."""
    from tests import factories as f

    site = f.site("SZ")
    staff = f.make_user("staff_a", "site_staff", site)
    statistician = f.make_user("statistician", "statistician")
    treated = f.randomized_patient(site, staff, statistician)
    f.backdated_transfer(treated, staff)
    return {"site": site, "staff": staff, "consented": f.consented_patient(site, staff), "treated": treated}


subjects = module_data(_build_subjects)


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


# --- Issue 18, finding 9: each of these was a 500 (or a silent acceptance); now a 4xx with a message --------
# The request guard (core.request_guard) refuses control characters wherever text arrives; bounds come from
# core.input_bounds, core.api's cursor, page size and date-time checks, and the lab value parser.


def _api_post(client, url: str, body, content_type: str = "application/json"):
    """POST in a savepoint (rolled back): (response, whether any clinical row or audit event changed)."""
    before = row_counts()
    if not isinstance(body, str | bytes):
        body = json.dumps(body)
    response = in_savepoint(lambda: (client.post(url, body, content_type=content_type), row_counts()))
    if isinstance(response, Exception):
        raise response
    return response[0], response[1] != before


def _ae_body(subjects, **overrides) -> dict:
    return {
        "study_id": subjects["treated"].study_id,
        "term": "other",
        "term_other": "Headache",
        "onset_date": _days_ago(2),
        "grade": 1,
        "serious": False,
        "related_to_dalteparin": "not",
        "action_taken": "none",
        "outcome": "recovering",
        **overrides,
    }


@needs_db
@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/patients/{study_id}%00/", "page"),
        ("/patients/{study_id}%01/history/", "page"),
        ("/api/v1/patients/{study_id}%00/", "api"),
        ("/api/v1/lab-results/1%00/", "api"),
    ],
)
def test_a_control_character_in_the_path_is_a_400_with_a_message(subjects, staff_client, url, kind):
    staff_client.raise_request_exception = False
    response = staff_client.get(url.format(study_id=subjects["treated"].study_id))
    assert response.status_code == 400
    message = response.json()["detail"] if kind == "api" else response.content.decode()
    assert "control character U+000" in message and "in the address" in message


@needs_db
@pytest.mark.parametrize(
    "url",
    [
        "/patients/?q=SZ%00",
        "/api/v1/patients/?study_id=%00",
        "/api/v1/queries/?study_id=a%00b",
        "/api/v1/lab-results/?updated_since=%1B",
        "/api/v1/audit/?patient=SZ-0001%00",
        "/api/v1/patients/?na%00me=1",
    ],
)
def test_a_control_character_in_a_query_parameter_is_a_400_naming_it(subjects, staff_client, url):
    staff_client.raise_request_exception = False
    response = staff_client.get(url)
    assert response.status_code == 400
    body = response.json()["detail"] if "/api/" in url else response.content.decode()
    assert "control character" in body and "query parameter" in body


@needs_db
def test_a_control_character_in_a_header_is_a_400(subjects, staff_client):
    response = staff_client.get(reverse("api-patients"), HTTP_AUTHORIZATION="Token abc\x00def")
    assert response.status_code == 400
    assert "header Authorization" in response.json()["detail"]


@needs_db
@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"term_other": "Head\x00ache"}, "$.term_other"),
        ({"term_other": "Head\x1bache"}, "$.term_other"),
        ({"term_other": "Head\ud800ache"}, "$.term_other"),  # a lone surrogate cannot be stored either
        ({"na\x00me": "x"}, "$ (a key)"),
    ],
)
def test_a_control_character_in_a_json_body_is_a_400_and_saves_nothing(subjects, staff_client, change, where):
    response, changed = _api_post(staff_client, reverse("api-adverse-events"), _ae_body(subjects, **change))
    assert response.status_code == 400 and not changed
    assert where in response.json()["detail"]


@needs_db
def test_tab_newline_and_carriage_return_stay_allowed_in_text(subjects, staff_client):
    response, changed = _api_post(
        staff_client, reverse("api-adverse-events"), _ae_body(subjects, term_other="Head-\tache,\r\nthen nausea")
    )
    assert response.status_code == 201, response.content
    assert changed


@needs_db
def test_a_control_character_in_a_form_post_is_a_400_page_and_saves_nothing(subjects, staff_client):
    url = reverse("outcomes:ae_create", kwargs={"study_id": subjects["treated"].study_id})
    before = row_counts()
    response = in_savepoint(lambda: staff_client.post(url, {**ADVERSE_EVENT, "term": "other", "term_other": "a\x00b"}))
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "the form field &#x27;term_other&#x27;" in response.content.decode()
    assert row_counts() == before


@needs_db
def test_a_nul_in_a_lab_csv_cell_is_a_problem_of_its_line_and_column_and_nothing_is_saved(subjects, staff_client):
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    study_id = subjects["treated"].study_id
    csv = f"{HEADER_LINE}\n{study_id},ET14,{drawn_at},FSH,5,IU/L\n{study_id}\x00,ET14,{drawn_at},LH,5,IU/L\n"
    response, changed = _api_post(staff_client, reverse("api-lab-imports"), csv.encode(), "text/csv")
    assert response.status_code == 400 and not changed
    assert response.json()["errors"] == [
        {"line": 3, "column": "study_id", "message": "The cell contains the control character U+0000; remove it."}
    ]


def _paginated_lists() -> list[str]:
    """Every cursor-paginated list of the API, from the schema it serves."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if "get" in operations
        and "{" not in path
        and "cursor" in {p["name"] for p in operations["get"].get("parameters", [])}
    )


@needs_db
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "cD1hYmM=",  # base64 of "p=abc": well encoded, a position that is no primary key
        "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==",  # a position beyond any integer column
        "bz0tMQ==",  # "o=-1"
    ],
)
def test_a_cursor_the_list_did_not_give_out_is_a_400_on_every_paginated_list(subjects, cursor):
    from tests.factories import make_user

    client = Client(raise_request_exception=False)
    client.force_login(make_user("statistician_cursor", "statistician"))  # may read every list
    lists = _paginated_lists()
    assert {"/api/v1/patients/", "/api/v1/audit/", "/api/v1/queries/", "/api/v1/sites/"} <= set(lists)
    for path in lists:
        response = client.get(path, {"cursor": cursor, "patient": subjects["treated"].study_id})
        assert response.status_code == 400, (path, response.status_code)
        assert "follow the `next` or `previous` link" in response.json()["cursor"][0], path


@needs_db
@pytest.mark.parametrize("size", ["0", "-1", "1001", "abc", "1e3", "٣"])
def test_a_page_size_outside_1_to_1000_is_a_400(subjects, staff_client, size):
    response = staff_client.get(reverse("api-patients"), {"page_size": size})
    assert response.status_code == 400
    assert response.json() == {"page_size": ["Give a whole number from 1 to 1000."]}


@needs_db
def test_a_page_size_within_bounds_is_used(subjects, staff_client):
    assert staff_client.get(reverse("api-patients"), {"page_size": "1000"}).status_code == 200
    assert len(staff_client.get(reverse("api-patients"), {"page_size": "1"}).json()["results"]) == 1


@needs_db
@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ("2025-03-01T00:00:00+23:59", "offset must be between -14:00 and +14:00"),
        ("2025-03-01T00:00:00-15:00", "offset must be between -14:00 and +14:00"),
        ("0001-01-01T00:00:00+01:00", "between the years 1 and 9999"),
        ("9999-12-31T23:59:59-01:00", "between the years 1 and 9999"),
    ],
)
def test_a_date_time_out_of_range_is_a_400_for_updated_since_and_the_audit_since(
    subjects, staff_client, moment, message
):
    for route in ("api-patients", "api-lab-results", "api-transfers", "api-sites"):
        response = staff_client.get(reverse(route), {"updated_since": moment})
        assert response.status_code == 400, (route, response.status_code)
        assert message in response.json()["updated_since"][0]
    response = staff_client.get(reverse("api-audit"), {"patient": subjects["treated"].study_id, "since": moment})
    assert response.status_code == 400 and message in response.json()["since"][0]


@needs_db
def test_the_extreme_offsets_in_use_are_accepted(subjects, staff_client):
    for moment in ("2025-03-01T00:00:00+14:00", "2025-03-01T00:00:00-12:00"):
        assert staff_client.get(reverse("api-patients"), {"updated_since": moment}).status_code == 200


@needs_db
@pytest.mark.parametrize("value", ["1e400", "5e-400", "1_0", "١٢", "０１", "nan", "0.00001"])
def test_a_lab_value_the_parser_refuses_is_a_400_in_the_api_and_a_message_in_the_form(subjects, staff_client, value):
    study_id = subjects["treated"].study_id
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    body = {"study_id": study_id, "timepoint": "ET14", "analyte": "FSH", "value": value, "unit": "IU/L"}
    response, changed = _api_post(staff_client, reverse("api-lab-results"), {**body, "drawn_at": drawn_at})
    assert response.status_code == 400 and not changed
    assert response.json()["value"][0].startswith("FSH: ")
    _post_and_check(
        staff_client, reverse("labs:draw_create", kwargs={"study_id": study_id}), {**LAB_DRAW, "FSH_value": value}
    )


@needs_db
def test_a_term_other_longer_than_its_column_is_a_400_naming_it(subjects, staff_client):
    response, changed = _api_post(staff_client, reverse("api-adverse-events"), _ae_body(subjects, term_other="A" * 201))
    assert response.status_code == 400 and not changed
    assert response.json() == {"term_other": ["Ensure this field has no more than 200 characters."]}
    response, changed = _api_post(staff_client, reverse("api-adverse-events"), _ae_body(subjects, term_other="A" * 200))
    assert response.status_code == 201 and changed


def _outcome_body(subjects, sacs) -> dict:
    return {
        "study_id": subjects["treated"].study_id,
        "beta_hcg_positive": True,
        "beta_hcg_date": _days_ago(20),
        "beta_hcg_value": "250.5",
        "clinical_pregnancy": True,
        "ultrasound_date": _days_ago(5),
        "gestational_sacs": sacs,
        "confirm_sacs": True,
    }


@needs_db
@pytest.mark.parametrize(
    ("sacs", "message"),
    [
        (40000, "Ensure this value is less than or equal to 32767."),  # past the smallint column
        (32767, "32767 gestational sacs is outside 0–9."),
        (10, "10 gestational sacs is outside 0–9."),
    ],
)
def test_gestational_sacs_beyond_nine_are_a_400(subjects, staff_client, sacs, message):
    response, changed = _api_post(staff_client, reverse("api-outcomes"), _outcome_body(subjects, sacs))
    assert response.status_code == 400 and not changed
    assert response.json() == {"gestational_sacs": [message]}


@needs_db
def test_nine_gestational_sacs_with_confirmation_are_accepted(subjects, staff_client):
    response, changed = _api_post(staff_client, reverse("api-outcomes"), _outcome_body(subjects, 9))
    assert response.status_code == 201 and changed


@needs_db
@pytest.mark.parametrize("depth", [33, 5000, 100_000])
def test_json_nested_deeper_than_32_levels_is_a_400(subjects, staff_client, depth):
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response, changed = _api_post(staff_client, reverse("api-patients"), body)
        assert response.status_code == 400 and not changed
        assert response.json() == {"detail": "The JSON body is nested more than 32 levels deep. Nothing was saved."}


@needs_db
def test_a_json_container_of_more_than_1000_members_is_a_400(subjects, staff_client):
    answers = {str(n): 1 for n in range(1001)}
    body = {"study_id": subjects["treated"].study_id, "instrument": "SSRS", "timepoint": "ET28", "answers": answers}
    response, changed = _api_post(staff_client, reverse("api-questionnaires"), body)
    assert response.status_code == 400 and not changed
    assert "1001 members at $.answers" in response.json()["detail"]


@needs_db
def test_questionnaire_answers_beyond_100_entries_are_a_400(subjects, staff_client):
    body = {"study_id": subjects["treated"].study_id, "instrument": "SSRS", "timepoint": "ET28"}
    response, changed = _api_post(
        staff_client, reverse("api-questionnaires"), {**body, "answers": {str(n): 1 for n in range(101)}}
    )
    assert response.status_code == 400 and not changed
    assert response.json() == {"answers": ["Send at most 100 entries (101 sent)."]}


@needs_db
def test_an_answer_of_thousands_of_digits_is_a_400_not_a_crash(subjects, staff_client):
    body = {"study_id": subjects["treated"].study_id, "instrument": "SSRS", "timepoint": "ET28"}
    response, changed = _api_post(staff_client, reverse("api-questionnaires"), {**body, "answers": {"1": "9" * 5000}})
    assert response.status_code == 400 and not changed
    assert "give the option number" in response.json()["answers"]["1"][0]


@needs_db
def test_a_reason_without_a_column_of_its_own_is_bounded_at_2000_characters(subjects, staff_client):
    def attempt(reason):
        body = json.dumps(_ae_body(subjects))
        created = staff_client.post(reverse("api-adverse-events"), body, content_type="application/json").json()
        url = reverse("api-adverse-events-detail", kwargs={"pk": created["id"]})
        change = {"grade": 2, "reason": reason, "version": created["version"]}
        return staff_client.patch(url, json.dumps(change), content_type="application/json")

    response = in_savepoint(lambda: attempt("x" * 2001))
    assert response.status_code == 400
    assert response.json() == {"reason": ["Ensure this field has no more than 2000 characters."]}
    assert in_savepoint(lambda: attempt("x" * 2000)).status_code == 200


@needs_db
def test_a_reason_of_a_form_is_bounded_at_2000_characters_too(subjects, staff_client):
    from outcomes.services import adverse_event_record
    from tests.factories import adverse_event_form

    def attempt(reason):
        event = adverse_event_record(
            patient=subjects["treated"],
            data=adverse_event_form(onset_date=timezone.localdate(), resolution_date=None, outcome="recovering"),
            by=subjects["staff"],
        )
        url = reverse("outcomes:ae_edit", kwargs={"study_id": subjects["treated"].study_id, "pk": event.pk})
        return staff_client.post(url, {**ADVERSE_EVENT, "reason": reason, "version": event.version})

    response = in_savepoint(lambda: attempt("x" * 2001))
    assert response.status_code == 200
    assert "Ensure this value has at most 2000 characters (it has 2001)." in response.content.decode()
    assert in_savepoint(lambda: attempt("x" * 2000)).status_code == 302


@needs_db
@pytest.mark.parametrize("number", ["5e-400", "1e400", "1E3"])
def test_a_lab_value_sent_as_a_json_number_reaches_the_parser_as_a_decimal_not_a_float(subjects, staff_client, number):
    """Read as a float, 5e-400 was a silent 0.0 and 1E3 a valid 1000.0: as a Decimal each keeps its exponent,
    which the value parser refuses."""
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    study_id = subjects["treated"].study_id
    body = f'{{"study_id": "{study_id}", "timepoint": "ET14", "analyte": "FSH", "value": {number}, '
    body += f'"unit": "IU/L", "drawn_at": "{drawn_at}"}}'
    response, changed = _api_post(staff_client, reverse("api-lab-results"), body)
    assert response.status_code == 400 and not changed
    assert response.json()["value"][0].endswith("is not a number (use digits, optionally with < or >).")


@needs_db
def test_a_json_number_keeps_its_trailing_zero_as_entered(subjects, staff_client):
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    study_id = subjects["treated"].study_id
    body = f'{{"study_id": "{study_id}", "timepoint": "ET14", "analyte": "FSH", "value": 12.50, '
    body += f'"unit": "IU/L", "drawn_at": "{drawn_at}"}}'
    response, changed = _api_post(staff_client, reverse("api-lab-results"), body)
    assert response.status_code == 201 and changed
    assert response.json()["value"] == "12.50"
