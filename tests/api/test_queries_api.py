"""`/api/v1/queries/`: monitors raise, staff answer, monitors close; site scoping; query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from quality.models import DataQuery
from quality.services import query_raise
from tests.factories import consented_patient

pytestmark = pytest.mark.django_db


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def patient(site_a, staff_site_a):
    return consented_patient(site_a, staff_site_a)


def test_monitor_raises_staff_answers_monitor_closes_through_the_api(patient, staff_site_a, monitor):
    raised = _api(monitor).post(
        "/api/v1/queries/",
        {"study_id": patient.study_id, "form": "consent", "field": "signed_on", "message": "Check the date."},
        format="json",
    )
    assert raised.status_code == 201, raised.json()
    body = raised.json()
    assert (body["study_id"], body["form"], body["field"], body["status"], body["origin"], body["raised_by"]) == (
        patient.study_id,
        "consent",
        "signed_on",
        "open",
        "manual",
        "monitor",
    )
    url = f"/api/v1/queries/{body['id']}/"
    answered = _api(staff_site_a).patch(url, {"status": "answered", "message": "Correct as entered."}, format="json")
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    refused = _api(staff_site_a).patch(url, {"status": "closed"}, format="json")
    assert refused.status_code == 403
    closed = _api(monitor).patch(url, {"status": "closed", "message": "Thanks.", "version": 2}, format="json")
    assert closed.status_code == 200, closed.json()
    assert closed.json()["closed_by"] == "monitor"
    assert [m["kind"] for m in closed.json()["messages"]] == ["raised", "answered", "closed"]


def test_staff_cannot_raise_and_bad_input_is_a_field_error(patient, staff_site_a, monitor):
    payload = {"study_id": patient.study_id, "form": "consent", "field": "x", "message": "?"}
    assert _api(staff_site_a).post("/api/v1/queries/", payload, format="json").status_code == 403
    unknown = _api(monitor).post("/api/v1/queries/", {**payload, "colour": "red"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["colour"] == ["Unknown field."]
    wrong_form = _api(monitor).post("/api/v1/queries/", {**payload, "form": "nonsense"}, format="json")
    assert wrong_form.status_code == 400 and "is not a form of" in wrong_form.json()["form"][0]
    assert not DataQuery.objects.exists()


def test_stale_version_and_bad_transition(patient, staff_site_a, monitor):
    query = query_raise(patient=patient, form="consent", field="signed_on", message="?", by=monitor)
    url = f"/api/v1/queries/{query.pk}/"
    _api(staff_site_a).patch(url, {"status": "answered", "message": "done"}, format="json")
    stale = _api(monitor).patch(url, {"status": "closed", "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["changed_by"] == "staff_a"
    again = _api(staff_site_a).patch(url, {"status": "answered", "message": "again"}, format="json")
    assert again.status_code == 409
    bad = _api(monitor).patch(url, {"status": "maybe"}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()


def test_queries_are_site_scoped(patient, staff_site_b, monitor):
    query = query_raise(patient=patient, form="consent", field="signed_on", message="?", by=monitor)
    assert _api(staff_site_b).get("/api/v1/queries/").json()["results"] == []
    assert _api(staff_site_b).get(f"/api/v1/queries/{query.pk}/").status_code == 404
    assert [q["id"] for q in _api(monitor).get("/api/v1/queries/").json()["results"]] == [query.pk]
    assert _api(monitor).get("/api/v1/queries/?status=closed").json()["results"] == []
    assert _api(monitor).get("/api/v1/queries/?status=bogus").status_code == 400


def test_query_list_query_count_is_the_same_for_3_and_30_queries(patient, monitor):
    def cost():
        with CaptureQueriesContext(connection) as captured:
            response = _api(monitor).get(f"/api/v1/queries/?study_id={patient.study_id}")
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    for _ in range(3):
        query_raise(patient=patient, form="consent", field="signed_on", message="?", by=monitor)
    small, rows = cost()
    assert rows == 3
    for _ in range(27):
        query_raise(patient=patient, form="consent", field="withdrawn_on", message="?", by=monitor)
    assert cost() == (small, 30)
