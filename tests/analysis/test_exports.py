"""Streamed exports of the analysis data sets and the data dictionary (views called without a URLconf)."""

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from analysis import export_api, exports
from analysis.export_api import DataDictionaryApi, ExportApi
from core.audit import reset_request_id, set_request_id
from core.models import Trial
from core.services import record_void
from labs.models import LabDraw, LabResult
from labs.services import lab_draw_record
from outcomes.models import AdverseEvent, QuestionnaireResponse
from outcomes.services import adverse_event_record, outcome_record, questionnaire_record
from patients.models import Baseline, Randomization
from tests.factories import adverse_event_form, backdated_transfer, make_user, randomized_patient, screen

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "json")
PATIENT_CONTRACT = [
    "study_id",
    "site",
    "arm",
    "randomized_at",
    "in_error",
    "per_protocol",
    "age",
    "bmi",
    "previous_failed_transfers",
    "prior_miscarriages",
    "education",
    "embryos_transferred",
    "biochemical_pregnancy",
    "clinical_pregnancy",
    "gestational_sacs",
    "miscarriage",
    "ongoing_pregnancy",
    "live_birth",
    "any_adverse_event",
    "serious_adverse_event",
]
ANALYTES = ["BHCG", "FSH", "LH", "E2", "CA125", "IL6"]
TIMEPOINTS = ["BASELINE", "ET14", "ET28"]
RAND36 = [
    "physical_functioning",
    "role_physical",
    "role_emotional",
    "energy_fatigue",
    "emotional_wellbeing",
    "social_functioning",
    "pain",
    "general_health",
]
SSRS = ["objective", "subjective", "utilization", "total"]
LAB_RESULTS_HEADER = [
    "study_id",
    "site",
    "arm",
    "timepoint",
    "analyte",
    "drawn_at",
    "value_as_entered",
    "unit_as_entered",
    "canonical_value",
    "canonical_unit",
    "censored",
    "flag",
]

# Distinctive identities: none of these strings may appear in any export.
IDENTITIES = {
    "a1": {
        "full_name": "Xiomara Quenby-Thistlewood",
        "medical_record_number": "MRN-QX-770391",
        "date_of_birth": date(1990, 6, 17),
        "phone": "+86 755 8123 9944",
    },
    "a2": {
        "full_name": "Ottoline Brackenbury",
        "medical_record_number": "MRN-OB-118824",
        "date_of_birth": date(1988, 9, 23),
        "phone": "+86 138 0271 5566",
    },
    "a3": {
        "full_name": "Perpetua Ingleby-Marchbank",
        "medical_record_number": "MRN-PI-556102",
        "date_of_birth": date(1993, 2, 11),
        "phone": "+86 755 2468 1357",
    },
    "b1": {
        "full_name": "Wilhelmina Trevithick",
        "medical_record_number": "MRN-WT-330917",
        "date_of_birth": date(1994, 12, 5),
        "phone": "+86 10 6655 4433",
    },
}
RAND36_ANSWERS = {str(k): 3 for k in range(3, 13)} | {"21": 2, "22": 1}  # PF 100, pain 90, RE unscored
SSRS_ANSWERS = {"1": 2, "2": 3, "3": 2, "4": 3, "5a": 4, "5b": 3, "5c": 1, "5d": 2, "5e": 1}
SSRS_ANSWERS |= {"6": 2, "7": 3, "8": 2, "9": 3, "10": 1}  # objective 8, subjective 18, utilization 6, total 32

factory = APIRequestFactory()


@dataclass
class Trial4:
    a1: object
    a2: object
    a3: object
    b1: object


def _questionnaire(patient, instrument, timepoint, answers, by):
    return questionnaire_record(
        patient=patient,
        instrument=instrument,
        timepoint=timepoint,
        completed_on=timezone.localdate(),
        answers=answers,
        by=by,
    )


def _draw(patient, timepoint, entries, by):
    drawn_at = timezone.now() - timedelta(hours=1)
    return lab_draw_record(patient=patient, timepoint=timepoint, drawn_at=drawn_at, entries=entries, by=by)


def _pregnant(transfer) -> dict:
    et = transfer.transfer_date
    return {
        "beta_hcg_positive": True,
        "beta_hcg_date": et + timedelta(days=14),
        "beta_hcg_value": 850,
        "clinical_pregnancy": True,
        "ultrasound_date": et + timedelta(days=28),
        "gestational_sacs": 1,
        "fetal_heartbeat": True,
        "ectopic": False,
        "miscarriage": False,
    }


@pytest.fixture
def trial(site_a, site_b, staff_site_a, staff_site_b, statistician) -> Trial4:
    """Site A: a1 (pregnant, AE, labs incl. a censored value, both questionnaires), a2 (every record of
    a kind voided except one FSH result, no outcome), a3 (screened out). Site B: b1 (lab, AE, SSRS)."""
    a1 = randomized_patient(site_a, staff_site_a, statistician, **IDENTITIES["a1"])
    transfer = backdated_transfer(a1, staff_site_a, embryos=2)
    outcome_record(patient=a1, data=_pregnant(transfer), by=staff_site_a)
    adverse_event_record(patient=a1, data=adverse_event_form(), by=staff_site_a)
    _draw(a1, "BASELINE", [("E2", "50", "pg/mL"), ("FSH", "<0.5", "mIU/mL"), ("LH", "5", "IU/L")], staff_site_a)
    _questionnaire(a1, "RAND36", "BASELINE", RAND36_ANSWERS, staff_site_a)
    _questionnaire(a1, "SSRS", "BASELINE", SSRS_ANSWERS, staff_site_a)

    a2 = randomized_patient(site_a, staff_site_a, statistician, **IDENTITIES["a2"])
    baseline = _draw(a2, "BASELINE", [("FSH", "6", "IU/L"), ("LH", "4", "IU/L")], staff_site_a)
    void = {"by": staff_site_a, "reason": "entered in error"}
    record_void(baseline.results.get(analyte__code="LH"), **void)
    record_void(_draw(a2, "ET14", [("BHCG", "250", "IU/L")], staff_site_a), **void)
    record_void(adverse_event_record(patient=a2, data=adverse_event_form(), by=staff_site_a), **void)
    record_void(_questionnaire(a2, "SSRS", "BASELINE", SSRS_ANSWERS, staff_site_a), **void)

    a3 = screen(site_a, staff_site_a, eligible=False, **IDENTITIES["a3"])

    b1 = randomized_patient(site_b, staff_site_b, statistician, **IDENTITIES["b1"])
    _draw(b1, "BASELINE", [("CA125", "20", "kU/L")], staff_site_b)
    adverse_event_record(patient=b1, data=adverse_event_form(term="bleeding", grade=2), by=staff_site_b)
    _questionnaire(b1, "SSRS", "ET28", SSRS_ANSWERS, staff_site_b)
    return Trial4(a1, a2, a3, b1)


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def _export(user, dataset: str, fmt: str, **headers):
    request = factory.get(f"/api/v1/export/{dataset}.{fmt}", **headers)
    if user is not None:
        force_authenticate(request, user=user)
    return ExportApi.as_view()(request, dataset=dataset, fmt=fmt)


def _body(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def _table(user, dataset: str, fmt: str) -> tuple[list[str], list[dict]]:
    """(header, rows as dicts) of an export; CSV values are strings, JSON values are typed."""
    body = _body(_export(user, dataset, fmt))
    if fmt == "csv":
        header, *lines = list(csv.reader(io.StringIO(body)))
        return header, [dict(zip(header, line, strict=True)) for line in lines]
    objects = json.loads(body)
    return (list(objects[0]) if objects else []), objects


def _utc(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _by(rows: list[dict], **match) -> dict:
    (found,) = [row for row in rows if all(row[k] == v for k, v in match.items())]
    return found


# --- contents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_row_counts_equal_the_active_records_in_the_database(trial, statistician, fmt):
    expected = {
        "patients": Randomization.objects.filter(voided_at__isnull=True).count(),
        "lab-results": LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True).count(),
        "adverse-events": AdverseEvent.objects.filter(voided_at__isnull=True).count(),
        "questionnaires": QuestionnaireResponse.objects.filter(voided_at__isnull=True).count(),
    }
    assert expected == {"patients": 3, "lab-results": 5, "adverse-events": 2, "questionnaires": 3}
    for dataset, count in expected.items():
        _, rows = _table(statistician, dataset, fmt)
        assert len(rows) == count, dataset
    _, patients = _table(statistician, "patients", fmt)
    assert {row["study_id"] for row in patients} == {trial.a1.study_id, trial.a2.study_id, trial.b1.study_id}


@pytest.mark.parametrize("fmt", FORMATS)
def test_patients_header_is_the_contract_then_labs_then_questionnaire_scales(trial, statistician, fmt):
    labs = [f"lab_{analyte}_{tp}" for analyte in ANALYTES for tp in TIMEPOINTS]
    rand36 = [f"rand36_{scale}_{tp}" for scale in RAND36 for tp in ("BASELINE", "ET28")]
    ssrs = [f"ssrs_{scale}_{tp}" for scale in SSRS for tp in ("BASELINE", "ET28")]
    header, _ = _table(statistician, "patients", fmt)
    assert header == PATIENT_CONTRACT + labs + rand36 + ssrs
    lab_header, _ = _table(statistician, "lab-results", fmt)
    assert lab_header == LAB_RESULTS_HEADER


def test_patients_csv_values(trial, statistician):
    _, rows = _table(statistician, "patients", "csv")
    a1, a2 = _by(rows, study_id=trial.a1.study_id), _by(rows, study_id=trial.a2.study_id)
    randomization = Randomization.objects.get(patient=trial.a1)
    assert (a1["site"], a1["arm"]) == ("SZ", randomization.arm.code)
    assert a1["randomized_at"] == _utc(randomization.randomized_at)
    assert (a1["in_error"], a1["age"]) == ("0", "34")
    assert a1["per_protocol"] in {"0", "1"}
    assert a1["bmi"] == str(float(Baseline.objects.get(patient=trial.a1).bmi))
    assert (a1["education"], a1["embryos_transferred"], a1["gestational_sacs"]) == ("college_or_higher", "2", "1")
    assert (a1["biochemical_pregnancy"], a1["clinical_pregnancy"], a1["miscarriage"]) == ("1", "1", "0")
    assert (a1["ongoing_pregnancy"], a1["live_birth"]) == ("", "")  # not known yet
    assert (a1["any_adverse_event"], a1["serious_adverse_event"]) == ("1", "0")
    assert a1["lab_E2_BASELINE"] == "183.55"  # 50 pg/mL × 3.671 → pmol/L
    assert a1["lab_FSH_BASELINE"] == "0.25"  # "<0.5" enters the analysis as half the limit
    assert (a1["lab_LH_BASELINE"], a1["lab_E2_ET28"]) == ("5.0", "")
    assert (a1["rand36_physical_functioning_BASELINE"], a1["rand36_pain_BASELINE"]) == ("100.0", "90.0")
    assert (a1["rand36_role_emotional_BASELINE"], a1["rand36_pain_ET28"]) == ("", "")
    assert (a1["ssrs_objective_BASELINE"], a1["ssrs_total_BASELINE"]) == ("8.0", "32.0")
    # a2: no transfer or outcome (missing is empty), and her voided records count for nothing.
    assert (a2["embryos_transferred"], a2["clinical_pregnancy"], a2["gestational_sacs"]) == ("", "", "")
    assert (a2["any_adverse_event"], a2["lab_FSH_BASELINE"], a2["lab_LH_BASELINE"]) == ("0", "6.0", "")
    assert (a2["lab_BHCG_ET14"], a2["ssrs_total_BASELINE"]) == ("", "")


def test_patients_json_values_are_typed_with_booleans_as_0_1_and_missing_as_null(trial, statistician):
    _, rows = _table(statistician, "patients", "json")
    a1, a2 = _by(rows, study_id=trial.a1.study_id), _by(rows, study_id=trial.a2.study_id)
    for key in ("in_error", "clinical_pregnancy", "miscarriage", "any_adverse_event"):
        assert type(a1[key]) is int, key  # 0/1, never true/false
    assert (a1["clinical_pregnancy"], a1["in_error"], a1["age"], a1["lab_E2_BASELINE"]) == (1, 0, 34, 183.55)
    assert a1["randomized_at"].endswith("Z")
    assert (a1["live_birth"], a2["clinical_pregnancy"], a2["embryos_transferred"]) == (None, None, None)
    assert (a2["any_adverse_event"], a2["lab_LH_BASELINE"]) == (0, None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lab_results_keep_what_was_entered_and_mark_censored_values(trial, statistician, fmt):
    _, rows = _table(statistician, "lab-results", fmt)
    study_id = trial.a1.study_id
    fsh, e2 = _by(rows, study_id=study_id, analyte="FSH"), _by(rows, study_id=study_id, analyte="E2")
    missing = "" if fmt == "csv" else None
    number = str if fmt == "csv" else (lambda value: value)
    assert (fsh["value_as_entered"], fsh["unit_as_entered"]) == ("<0.5", "mIU/mL")
    assert (fsh["canonical_value"], fsh["canonical_unit"], fsh["censored"], fsh["flag"]) == (
        number(0.5),
        "IU/L",
        "<",
        "low",
    )
    assert (e2["value_as_entered"], e2["unit_as_entered"], e2["canonical_value"]) == ("50", "pg/mL", number(183.55))
    assert (e2["canonical_unit"], e2["censored"], e2["timepoint"], e2["site"]) == ("pmol/L", missing, "BASELINE", "SZ")
    assert e2["arm"] == trial.a1.randomization.arm.code
    assert e2["drawn_at"] == _utc(LabDraw.objects.get(patient=trial.a1).drawn_at)
    assert {(row["study_id"], row["analyte"]) for row in rows if row["study_id"] == trial.a2.study_id} == {
        (trial.a2.study_id, "FSH")  # the voided LH result and the voided ET14 draw are left out
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_adverse_events_and_questionnaires_rows(trial, statistician, fmt):
    to = str if fmt == "csv" else (lambda value: value)
    missing = "" if fmt == "csv" else None
    _, events = _table(statistician, "adverse-events", fmt)
    bleeding = _by(events, study_id=trial.b1.study_id)
    assert (bleeding["term"], bleeding["grade"], bleeding["serious"], bleeding["term_other"]) == (
        "bleeding",
        to(2),
        to(0),
        missing,
    )
    assert bleeding["onset_date"] == (timezone.localdate() - timedelta(days=1)).isoformat()
    header, responses = _table(statistician, "questionnaires", fmt)
    assert header[:6] == ["study_id", "site", "arm", "instrument", "timepoint", "completed_on"]
    rand36 = _by(responses, study_id=trial.a1.study_id, instrument="RAND36")
    assert (rand36["rand36_physical_functioning"], rand36["rand36_item_3"], rand36["rand36_item_1"]) == (
        to(100.0),
        to(3),
        missing,
    )
    assert (rand36["ssrs_total"], rand36["ssrs_item_5a"]) == (missing, missing)  # the other instrument's columns
    ssrs = _by(responses, study_id=trial.b1.study_id)
    assert (ssrs["timepoint"], ssrs["ssrs_total"], ssrs["ssrs_item_5a"], ssrs["ssrs_item_6"]) == (
        "ET28",
        to(32.0),
        to(4),
        to(2),
    )


# --- privacy and access -----------------------------------------------------------------------------


def test_no_identity_field_or_value_appears_in_any_export(trial, statistician):
    forbidden = set()
    for identity in IDENTITIES.values():
        dob = identity["date_of_birth"]
        forbidden |= {identity["full_name"], identity["medical_record_number"], identity["phone"]}
        forbidden |= {*identity["full_name"].split(), identity["phone"].replace(" ", "")}
        forbidden |= {dob.isoformat(), dob.strftime("%d/%m/%Y"), dob.strftime("%m/%d/%Y"), dob.strftime("%Y%m%d")}
    for dataset in exports.DATASETS:
        for fmt in FORMATS:
            body = _body(_export(statistician, dataset, fmt))
            header = next(csv.reader(io.StringIO(body))) if fmt == "csv" else list(json.loads(body)[0])
            for name in header:
                assert name not in {"name", "mrn", "dob"}, (dataset, fmt, name)
                for part in ("full_name", "medical_record", "date_of_birth", "birth_date", "phone"):
                    assert part not in name, (dataset, fmt, name)
            leaked = sorted(value for value in forbidden if value.lower() in body.lower())
            assert leaked == [], (dataset, fmt)


@pytest.mark.parametrize("dataset", exports.DATASETS)
def test_exports_are_limited_to_the_sites_the_user_may_read(trial, statistician, exporter_site_b, dataset):
    for fmt in FORMATS:
        _, own_site = _table(exporter_site_b, dataset, fmt)
        assert own_site, (dataset, fmt)
        assert {row["site"] for row in own_site} == {"BJ"}
        assert {row["study_id"] for row in own_site} == {trial.b1.study_id}
    _, everything = _table(statistician, dataset, "csv")
    assert {row["site"] for row in everything} == {"SZ", "BJ"}


def test_blinded_results_leave_the_arm_empty_for_users_without_unblinded_access(trial, statistician, exporter_site_b):
    Trial.objects.update(results_blinded=True)
    for dataset in exports.DATASETS:
        _, blinded = _table(exporter_site_b, dataset, "json")
        assert {row["arm"] for row in blinded} == {None}, dataset
        _, unblinded = _table(statistician, dataset, "json")
        assert {row["arm"] for row in unblinded} <= {"CTRL", "EXP"}
        assert None not in {row["arm"] for row in unblinded}


@pytest.mark.parametrize("persona", ["staff_site_a", "investigator_site_a", "monitor"])
def test_only_statisticians_may_export(request, persona):
    user = request.getfixturevalue(persona)
    for fmt in FORMATS:
        response = _export(user, "patients", fmt)
        assert response.status_code == 403
        assert not response.streaming
        assert "export" in response.data["detail"]


def test_anonymous_users_may_not_export(db):
    assert _export(None, "lab-results", "csv").status_code in (401, 403)


@pytest.mark.parametrize("path", [("patient-identities", "csv"), ("labs", "json"), ("patients", "xml")])
def test_unknown_dataset_or_format_is_404(statistician, path):
    dataset, fmt = path
    response = _export(statistician, dataset, fmt)
    assert response.status_code == 404
    assert "datasets are patients, lab-results, adverse-events, questionnaires" in response.data["detail"]


# --- streaming, audit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_are_streamed_attachments(trial, statistician, fmt, monkeypatch):
    monkeypatch.setattr(export_api, "BATCH_ROWS", 2)
    response = _export(statistician, "lab-results", fmt, HTTP_ACCEPT="text/csv")  # the URL decides, not Accept
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="lab-results.{fmt}"'
    assert response["Content-Type"] == export_api.CONTENT_TYPES[fmt]
    chunks = list(response.streaming_content)
    assert len(chunks) >= 4  # header/bracket, 5 rows in batches of 2, closing: never one buffered body
    body = b"".join(chunks).decode()
    rows = json.loads(body) if fmt == "json" else list(csv.reader(io.StringIO(body)))[1:]
    assert len(rows) == 5


def test_an_empty_export_is_a_valid_document(statistician):
    assert json.loads(_body(_export(statistician, "adverse-events", "json"))) == []
    assert _body(_export(statistician, "adverse-events", "csv")).splitlines()[0].startswith("study_id,site,arm,")


def test_every_export_is_logged_with_user_dataset_format_and_request_id(trial, statistician, caplog):
    caplog.set_level(logging.INFO, logger="ivf_trial.exports")
    token = set_request_id("req-export-0001")
    try:
        response = _export(statistician, "lab-results", "json")
    finally:
        reset_request_id(token)
    _body(response)
    (record,) = [r for r in caplog.records if r.name == "ivf_trial.exports"]
    message = record.getMessage()
    assert "dataset=lab-results format=json user=statistician" in message
    assert "request_id=req-export-0001" in message
    assert _export(make_user("curious", "monitor"), "patients", "csv").status_code == 403
    assert len([r for r in caplog.records if r.name == "ivf_trial.exports"]) == 1  # refusals export nothing


def test_lab_results_stream_from_a_held_server_side_cursor_in_chunks(trial, statistician, monkeypatch):
    monkeypatch.setattr(exports.builders, "CHUNK_SIZE", 2)
    produced = exports.rows("lab-results", user=statistician)
    first = next(produced)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchone() == (1,)  # a named (server-side) cursor, fetched chunk by chunk
    assert len([first, *produced]) == 5


@pytest.mark.django_db(transaction=True)
def test_streaming_outside_a_transaction_uses_a_cursor_held_across_commits(site_a, staff_site_a, statistician):
    """The response body is consumed after the view returned, in autocommit mode: Django must declare
    the cursor WITH HOLD, or its first fetch after the implicit commit would fail."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    _draw(patient, "BASELINE", [("FSH", "5", "IU/L"), ("LH", "4", "IU/L"), ("E2", "300", "pmol/L")], staff_site_a)
    assert not connection.in_atomic_block
    produced = exports.rows("lab-results", user=statistician)
    first = next(produced)
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchall() == [(True,)]
    assert len([first, *produced]) == 3
    response = _export(statistician, "lab-results", "csv")
    assert len(_body(response).splitlines()) == 4


def test_lab_results_query_count_does_not_grow_with_rows(trial, statistician, django_assert_num_queries):
    user = _fresh(statistician)  # no cached permissions
    # trial (blinding), the user's permissions (her own and her groups', one query), the results (one cursor)
    with django_assert_num_queries(3):
        assert len(list(exports.rows("lab-results", user=user))) == 5


# --- data dictionary ------------------------------------------------------------------------------------


def test_data_dictionary_lists_every_exported_column_with_header_names(trial, statistician, staff_site_a):
    request = factory.get("/api/v1/data-dictionary/")
    force_authenticate(request, user=staff_site_a)  # any authenticated user may read it
    response = DataDictionaryApi.as_view()(request)
    assert response.status_code == 200
    datasets = response.data["datasets"]
    assert list(datasets) == list(exports.DATASETS)
    for dataset, entries in datasets.items():
        header, _ = _table(statistician, dataset, "csv")
        assert [entry["name"] for entry in entries] == header, dataset
        for entry in entries:
            assert set(entry) == {"name", "label", "type", "unit", "allowed_values"}
            assert entry["label"]
            assert entry["type"] in {"string", "integer", "number", "boolean", "date", "datetime"}
    patients = {entry["name"]: entry for entry in datasets["patients"]}
    assert (patients["lab_E2_BASELINE"]["unit"], patients["lab_E2_BASELINE"]["type"]) == ("pmol/L", "number")
    assert (patients["clinical_pregnancy"]["type"], patients["clinical_pregnancy"]["allowed_values"]) == (
        "boolean",
        [0, 1],
    )
    assert patients["arm"]["allowed_values"] == ["CTRL", "EXP"]
    assert patients["education"]["allowed_values"] == [
        "junior_high_or_below",
        "high_school_or_vocational",
        "college_or_higher",
    ]
    lab = {entry["name"]: entry for entry in datasets["lab-results"]}
    assert lab["censored"]["allowed_values"] == ["<", ">"]
    assert lab["flag"]["allowed_values"] == ["normal", "low", "high"]


def test_data_dictionary_needs_a_logged_in_user(db):
    assert DataDictionaryApi.as_view()(factory.get("/api/v1/data-dictionary/")).status_code in (401, 403)
