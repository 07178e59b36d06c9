"""API v1 GET /audit/?patient=&since=: the history page's events as JSON — oldest first, UTC, old → new,
identity only for staff of her site, site-scoped, cursor-paginated, query count flat."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.audit_trail import patient_trail_sources
from patients import services
from patients.models import Baseline, Patient
from tests.factories import baseline_input, randomizable_patient

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/"
# SPEC §11.1: `record` (stable record-type name) and `field_label` beside the keys of SPEC §7.
KEYS = {
    "id",
    "at",
    "user",
    "action",
    "model",
    "record",
    "record_label",
    "changes",
    "field_label",
    "reason",
    "request_id",
}


@pytest.fixture
def patient(site_a, staff_site_a):
    return randomizable_patient(site_a, staff_site_a, full_name="Li Na Secret", medical_record_number="MRN-AUDIT-7")


@pytest.fixture
def api(staff_site_a):
    client = APIClient()
    client.force_authenticate(staff_site_a)
    return client


def _correct_weight(patient, by, times: int) -> None:
    for i in range(times):
        baseline = Baseline.objects.get(patient=patient, voided_at__isnull=True)
        data = baseline_input(weight_kg=Decimal("57.0") + i)
        services.baseline_update(baseline=baseline, data=data, by=by, reason=f"Scale {i}", expected_version=None)


def _all(api, patient, **params):
    response = api.get(URL, {"patient": patient.study_id, "page_size": 1000, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_route_name():
    assert reverse("api-audit") == URL


def test_events_show_who_when_what_and_why_oldest_first(api, patient, staff_site_a):
    _correct_weight(patient, staff_site_a, 1)
    events = _all(api, patient)
    assert all(set(event) == KEYS for event in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert all(e["at"].endswith("Z") for e in events) and len({e["id"] for e in events}) == len(events)
    [correction] = [e for e in events if e["model"] == "patients.Baseline" and e["action"] == "changed"]
    assert correction["user"] == "staff_a" and correction["reason"] == "Scale 0" and correction["record"] == "baseline"
    assert correction["record_label"] == "Baseline"
    assert correction["changes"]["weight_kg"] == ["56.0", "57.0"]
    assert correction["field_label"] == {"weight_kg": "Weight (kg)", "bmi": "BMI (kg/m²)"}
    assert correction["changes"]["bmi"] == ["21.88", "22.27"]
    assert correction["id"].startswith("patients.Baseline:") and correction["request_id"]
    [screening] = [e for e in events if e["model"] == "patients.Screening"]
    assert screening["action"] == "created" and screening["changes"]["screening_date"] == [None, "2025-03-01"]
    assert {"patients.Patient", "patients.Consent", "patients.PatientIdentity"} <= {e["model"] for e in events}


def test_identity_values_appear_only_for_staff_of_her_site(api, patient, staff_site_a, monitor, statistician):
    services.identity_update(
        patient=patient,
        identity=services.IdentityInput("Li Na Secret", "MRN-AUDIT-8", date(1992, 3, 15), "+86 000"),
        by=staff_site_a,
        reason="MRN typo",
        expected_version=None,
    )
    staff_view = api.get(URL, {"patient": patient.study_id}).content.decode()
    assert "Li Na Secret" in staff_view and "MRN-AUDIT-8" in staff_view
    for user in (monitor, statistician):
        api.force_authenticate(user)
        response = api.get(URL, {"patient": patient.study_id})
        assert response.status_code == 200
        text = response.content.decode()
        assert "Li Na Secret" not in text and "MRN-AUDIT" not in text and "1992-03-15" not in text
        assert "+86 000" not in text and "PatientIdentity" not in text
        assert {e["model"] for e in response.json()["results"]} >= {"patients.Patient", "patients.Baseline"}


def test_site_scoping_and_bad_parameters(api, patient, staff_site_b, admin_user):
    assert api.get(URL).json() == {"patient": ["Give the patient's study id: ?patient=SZ-0001."]}
    assert api.get(URL, {"patient": "SZ-9999"}).status_code == 404
    for bad in ("yesterday", "2025-13-01T00:00:00Z", "2025-03-01T00:00:00", "2025-03-01"):
        response = api.get(URL, {"patient": patient.study_id, "since": bad})
        assert response.status_code == 400 and "time zone" in response.json()["since"][0], bad
    bad_cursor = api.get(URL, {"patient": patient.study_id, "cursor": "not-base64!"})
    assert 400 <= bad_cursor.status_code < 500  # refused with a message (issue 18, finding 9)
    for outsider in (staff_site_b, admin_user):
        api.force_authenticate(outsider)
        assert api.get(URL, {"patient": patient.study_id}).status_code == 404
    api.force_authenticate(None)
    assert api.get(URL, {"patient": patient.study_id}).status_code == 401


def test_since_is_exclusive_and_accepts_offsets(api, patient):
    events = _all(api, patient)
    at = events[-1]["at"]  # every event of one test transaction shares its timestamp
    assert _all(api, patient, since=at) == []
    just_before = (Patient.objects.get(pk=patient.pk).created_at - timedelta(seconds=1)).isoformat()
    assert _all(api, patient, since=just_before) == events
    assert _all(api, patient, since="2999-01-01T08:00:00+08:00") == []


@pytest.mark.django_db(transaction=True)
def test_since_returns_only_later_events(site_a, staff_site_a):
    patient = randomizable_patient(site_a, staff_site_a)  # committed: its events carry an earlier time
    api = APIClient()
    api.force_authenticate(staff_site_a)
    first = _all(api, patient)
    _correct_weight(patient, staff_site_a, 2)
    later = _all(api, patient, since=first[-1]["at"])
    assert [e["reason"] for e in later] == ["Scale 0", "Scale 1"]
    assert [e["changes"]["weight_kg"] for e in later] == [["56.0", "57.0"], ["57.0", "58.0"]]
    assert _all(api, patient) == first + later


def test_cursor_pagination_walks_every_event_once_in_order(api, patient, staff_site_a):
    _correct_weight(patient, staff_site_a, 4)
    everything = [e["id"] for e in _all(api, patient)]
    seen, url, pages = [], f"{URL}?patient={patient.study_id}&page_size=3", []
    while url:
        page = api.get(url).json()
        pages.append(page)
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert seen == everything and len(pages) == -(-len(everything) // 3)
    assert pages[0]["previous"] is None
    back = api.get(pages[2]["previous"]).json()
    assert [e["id"] for e in back["results"]] == everything[3:6]


def test_query_count_does_not_grow_with_the_events(api, patient, staff_site_a, django_assert_num_queries):
    counts = []
    for corrections in (3, 27):  # 3, then 30 corrections in all
        _correct_weight(patient, staff_site_a, corrections)
        api.force_authenticate(type(staff_site_a).objects.get(pk=staff_site_a.pk))  # nothing cached on the user
        # the patient; the user's own and her groups' permissions (one query), her site memberships; then
        # one query per record type of her trail (core.audit_trail.patient_trail_sources: 20 today, the
        # identity's included for her site's staff), each joined to its audit context.
        with django_assert_num_queries(3 + len(patient_trail_sources())) as captured:
            events = _all(api, patient)
        counts.append(len(captured.captured_queries))
        assert sum(e["model"] == "patients.Baseline" for e in events) == 1 + (3 if len(counts) == 1 else 30)
    assert counts[0] == counts[1]


def test_the_openapi_schema_documents_record_and_field_label():
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator

    from casebook.api import AuditListApi

    generator = SchemaGenerator(patterns=[path("api/v1/audit/", AuditListApi.as_view())])
    entry = generator.get_schema(request=None, public=True)["components"]["schemas"]["AuditEvent"]
    assert set(entry["required"]) == KEYS
    assert entry["properties"]["field_label"]["additionalProperties"] == {"type": "string"}
    assert "pregnancy_outcome" in entry["properties"]["record"]["description"]
