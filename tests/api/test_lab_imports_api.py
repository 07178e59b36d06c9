"""API v1 POST /lab-imports/: the lab CSV through `lab_results_import` — dry run, line-level errors with
nothing saved, idempotent re-upload, reasons for updates, size limit, roles and sites."""

from datetime import timedelta
from hashlib import sha256

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from labs.models import LabDraw, LabImport, LabResult
from tests.factories import randomized_patient, with_transfer

pytestmark = pytest.mark.django_db

URL = "/api/v1/lab-imports/"
HEADER = "study_id,timepoint,drawn_at,analyte,value,unit\n"
DRAWN_AT = (timezone.now() - timedelta(hours=2)).replace(microsecond=0).isoformat()


@pytest.fixture
def patients(site_a, staff_site_a, statistician):
    return [with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a) for _ in range(2)]


@pytest.fixture
def api(staff_site_a):
    client = APIClient()
    client.force_authenticate(staff_site_a)
    return client


def _csv(patients, fsh="6.1", e2="50") -> bytes:
    rows = [
        f"{p.study_id},BASELINE,{DRAWN_AT},FSH,{fsh},IU/L\n{p.study_id},BASELINE,{DRAWN_AT},E2,{e2},pg/mL\n"
        for p in patients
    ]
    return (HEADER + "".join(rows)).encode()


def _upload(api, content: bytes, query: str = "", **fields):
    upload = SimpleUploadedFile("labs.csv", content, content_type="text/csv")
    return api.post(URL + query, {"file": upload, **fields}, format="multipart")


def _state():
    return LabDraw.objects.count(), LabResult.objects.count(), LabImport.objects.count()


def test_route_name():
    assert reverse("api-lab-imports") == URL


def test_a_good_file_is_imported_and_logged(api, patients, staff_site_a):
    content = _csv(patients)
    response = _upload(api, content)
    assert response.status_code == 201, response.json()
    body = response.json()
    log = LabImport.objects.get()
    assert body["import_id"] == log.pk and log.imported_by == staff_site_a and log.filename == "labs.csv"
    assert body["file_sha256"] == sha256(content).hexdigest() == log.file_sha256
    assert (body["imported"], body["dry_run"], body["rows_total"]) == (True, False, 4)
    assert (body["created"], body["updated"], body["unchanged"], body["errors"]) == (4, 0, 0, [])
    assert _state() == (2, 4, 1)


def test_dry_run_reports_the_plan_and_saves_nothing(api, patients):
    response = _upload(api, _csv(patients), "?dry_run=1")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["dry_run"], body["imported"], body["import_id"]) == (True, False, None)
    assert (body["created"], body["updated"], body["unchanged"]) == (4, 0, 0)
    assert _state() == (0, 0, 0)
    refused = _upload(api, _csv(patients), "?dry_run=maybe")
    assert refused.status_code == 400 and refused.json()["errors"] == [_refusal("dry_run", "Use 1 or 0.")]


def test_the_same_file_again_changes_nothing(api, patients):
    content = _csv(patients)
    assert _upload(api, content).status_code == 201
    before = _state(), LabResult.pgh_event_model.objects.count()
    again = _upload(api, content)
    assert again.status_code == 200
    assert (again.json()["imported"], again.json()["import_id"], again.json()["unchanged"]) == (False, None, 4)
    assert (_state(), LabResult.pgh_event_model.objects.count()) == before


def test_changing_a_stored_value_needs_a_reason(api, patients):
    assert _upload(api, _csv(patients)).status_code == 201
    changed = _csv(patients, fsh="7.2")
    refused = _upload(api, changed)
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(2, "value"), (4, "value")]
    assert "give a reason" in errors[0]["message"]
    assert set(LabResult.objects.filter(analyte__code="FSH").values_list("value_as_entered", flat=True)) == {"6.1"}
    planned = _upload(api, changed, "?dry_run=1", reason="Lab re-run")
    assert (
        planned.status_code == 200
        and planned.json()["updated"] == 2
        and planned.json()["updates"][0]["old"] == "6.1 IU/L"
    )
    done = _upload(api, changed, reason="Lab re-run")
    assert done.status_code == 201 and (done.json()["updated"], done.json()["unchanged"]) == (2, 2)
    assert set(LabResult.objects.filter(analyte__code="FSH").values_list("value_as_entered", flat=True)) == {"7.2"}
    assert LabImport.objects.order_by("pk").last().reason == "Lab re-run"


def test_bad_rows_are_listed_by_line_and_column_and_nothing_is_saved(api, patients):
    good = _csv(patients).decode()
    bad = (
        good
        + f"{patients[0].study_id},NOPE,{DRAWN_AT},FSH,6,IU/L\n"
        + f"{patients[1].study_id},ET14,yesterday,E2,-5,pg/mL\n"
    )
    response = _upload(api, bad.encode())
    assert response.status_code == 400
    errors = {(e["line"], e["column"]) for e in response.json()["errors"]}
    assert {(6, "timepoint"), (7, "drawn_at")} <= errors
    assert all(e["message"] for e in response.json()["errors"])
    assert _state() == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\xff\xfe garbage", "not UTF-8"),
        (b"a,b,c\n1,2,3\n", "The header must be exactly"),
        (HEADER.encode(), "header but no rows"),
    ],
)
def test_file_level_problems_are_400(api, patients, content, message):
    response = _upload(api, content)
    assert response.status_code == 400
    body = response.json()
    messages = body["file"] if "file" in body else [e["message"] for e in body["errors"]]
    assert any(message in m for m in messages), body
    assert _state() == (0, 0, 0)


def _refusal(column: str, message: str) -> dict:
    return {"line": None, "column": column, "message": message}


def test_missing_file_unknown_fields_and_json_bodies_are_refused(api, patients):
    # A refused upload answers in the import report's shape (the 400 the schema documents), nothing counted.
    missing = api.post(URL, {}, format="multipart")
    assert missing.status_code == 400 and missing.json()["errors"] == [_refusal("file", "No file was submitted.")]
    assert (missing.json()["imported"], missing.json()["rows_total"], missing.json()["created"]) == (False, 0, 0)
    upload = SimpleUploadedFile("labs.csv", _csv(patients), content_type="text/csv")
    unknown = api.post(URL, {"file": upload, "skip": "1"}, format="multipart")
    assert unknown.status_code == 400 and unknown.json()["errors"] == [_refusal("skip", "Unknown field.")]
    assert api.post(URL, {"rows": []}, format="json").status_code == 415
    assert _state() == (0, 0, 0)


def test_a_raw_text_csv_body_is_accepted(api, patients):
    content = _csv(patients)
    response = api.generic("POST", URL + "?dry_run=1", content, content_type="text/csv")
    assert response.status_code == 200 and response.json()["created"] == 4 and _state() == (0, 0, 0)
    response = api.generic("POST", URL, content, content_type="text/csv; charset=utf-8")
    assert response.status_code == 201 and response.json()["file_sha256"] == sha256(content).hexdigest()
    changed = _csv(patients, e2="60")
    assert api.generic("POST", URL, changed, content_type="text/csv").status_code == 400
    updated = api.generic("POST", URL + "?reason=Transcription+error", changed, content_type="text/csv")
    assert updated.status_code == 201 and updated.json()["updated"] == 2


def test_an_oversized_upload_is_refused_with_a_clear_message(api, patients, monkeypatch):
    too_big = HEADER.encode() + b"x" * (20 * 1024 * 1024)
    response = _upload(api, too_big)
    assert response.status_code == 413
    assert response.json() == {"file": ["The file is larger than the 20 MB limit; split it."]}
    raw = api.generic("POST", URL, too_big, content_type="text/csv")
    assert raw.status_code == 413 and "20 MB" in raw.json()["file"][0]
    # Just over the limit (inside the multipart allowance): the file's own size decides.
    monkeypatch.setattr("labs.forms.MAX_IMPORT_BYTES", 100)
    small_limit = _upload(api, _csv(patients))
    assert small_limit.status_code == 413 and "limit" in small_limit.json()["file"][0]
    assert api.generic("POST", URL, _csv(patients), content_type="text/csv").status_code == 413
    assert _state() == (0, 0, 0)


def test_other_sites_rows_are_errors_and_read_only_roles_are_refused(
    api, patients, staff_site_b, monitor, statistician
):
    api.force_authenticate(staff_site_b)
    response = _upload(api, _csv(patients))
    assert response.status_code == 400
    assert {e["column"] for e in response.json()["errors"]} == {"study_id"}
    assert "Unknown study id" in response.json()["errors"][0]["message"]
    for user in (monitor, statistician):
        api.force_authenticate(user)
        assert _upload(api, _csv(patients)).status_code == 403
        assert _upload(api, _csv(patients), "?dry_run=1").status_code == 403
    api.force_authenticate(None)
    assert _upload(api, _csv(patients)).status_code == 401
    assert _state() == (0, 0, 0)
