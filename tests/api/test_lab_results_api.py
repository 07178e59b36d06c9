"""API v1 lab results: one result per POST with canonical value and flag, errors as JSON, scoping."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from labs.models import LabDraw, LabResult
from tests.factories import randomized_patient, screen, with_transfer

pytestmark = pytest.mark.django_db
DRAWN_AT = (timezone.now() - timedelta(hours=2)).replace(microsecond=0).isoformat()


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    return with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)


@pytest.fixture
def api(staff_site_a):
    client = APIClient()
    client.force_authenticate(staff_site_a)
    return client


def _post(api, patient, **overrides):
    body = {"study_id": patient.study_id, "timepoint": "BASELINE", "analyte": "E2", "value": 50, "unit": "pg/mL"}
    body |= {"drawn_at": DRAWN_AT} | overrides
    return api.post("/api/v1/lab-results/", body, format="json")


def test_a_result_is_converted_flagged_and_joins_the_draw(api, patient):
    created = _post(api, patient)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["canonical_value"], body["canonical_unit"], body["flag"]) == ("183.5500", "pmol/L", "normal")
    assert (body["value"], body["unit"]) == ("50", "pg/mL")
    censored = _post(api, patient, analyte="IL6", value="<1", unit="pg/mL").json()
    assert censored["censoring"] == "<"
    high = _post(api, patient, analyte="LH", value=120, unit="IU/L").json()
    assert high["flag"] == "high"
    assert LabDraw.objects.count() == 1 and LabResult.objects.count() == 3
    listed = api.get("/api/v1/lab-results/").json()["results"]
    assert [r["analyte"] for r in listed] == ["E2", "IL6", "LH"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"value": "abc"}, "value", "not a number"),
        ({"value": -3}, "value", "negative"),
        ({"value": True}, "value", "Give a number"),
        ({"unit": "ng/dL"}, "unit", "use one of: pg/mL, pmol/L"),
        ({"timepoint": "ET99"}, "timepoint", "Unknown time point"),
        ({"analyte": "XYZ"}, "non_field_errors", "Unknown analyte 'XYZ'."),
        ({"drawn_at": "2025-13-01"}, "drawn_at", "Datetime has wrong format"),
        ({"comment": "x"}, "comment", "Unknown field."),
    ],
)
def test_bad_results_get_field_level_errors_and_save_nothing(api, patient, overrides, field, message):
    response = _post(api, patient, **overrides)
    assert response.status_code == 400
    assert any(message in m for m in response.json()[field]), response.json()
    assert not LabResult.objects.exists()


def test_duplicate_analyte_and_a_different_draw_time_are_refused(api, patient):
    _post(api, patient)
    again = _post(api, patient)
    assert again.status_code == 409 and "already has E2 at BASELINE" in again.json()["non_field_errors"][0]
    other_time = _post(api, patient, analyte="FSH", value=5, unit="IU/L", drawn_at=timezone.now().isoformat())
    assert other_time.status_code == 400 and "use that time" in other_time.json()["drawn_at"][0]


def test_scoping_and_roles(api, patient, site_a, staff_site_a, staff_site_b, monitor):
    _post(api, patient)
    api.force_authenticate(staff_site_b)
    assert api.get("/api/v1/lab-results/").json()["results"] == []
    assert _post(api, patient).status_code == 404
    api.force_authenticate(monitor)
    assert len(api.get("/api/v1/lab-results/").json()["results"]) == 1
    assert _post(api, patient, analyte="FSH", value=5, unit="IU/L").status_code == 403
    unrandomized = screen(site_a, staff_site_a)
    api.force_authenticate(staff_site_a)
    assert _post(api, unrandomized).status_code == 409


def test_a_result_is_corrected_with_reason_and_version(api, patient, investigator_site_a):
    created = _post(api, patient).json()
    url = f"/api/v1/lab-results/{created['id']}/"
    assert api.patch(url, {"value": 80}, format="json").status_code == 400  # no reason, no version
    fixed = api.patch(url, {"value": 5000, "unit": "pmol/L", "reason": "Reissued report", "version": 1}, format="json")
    assert fixed.status_code == 200
    assert (fixed.json()["canonical_value"], fixed.json()["flag"], fixed.json()["version"]) == ("5000.0000", "high", 2)
    api.force_authenticate(investigator_site_a)
    stale = api.patch(url, {"value": 10, "reason": "x", "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["changed_by"] == "staff_a"
    assert api.get(url).json()["value"] == "5000"
