"""SPEC §1 on API writes: the role is checked before the body, so a read-only role is refused (403) whatever
it sends, and only a caller who may make the change learns what is wrong with the body (400)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import backdated_transfer, consented_patient, randomizable_patient, randomized_patient, screen

pytestmark = pytest.mark.django_db

COLLECTIONS = ["patients", "transfers", "lab-results", "outcomes", "adverse-events", "questionnaires"]
INVALID = {"unexpected": "field"}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_read_only_role_posting_an_invalid_body_is_refused_for_its_role(collection, monitor, staff_site_a):
    assert _client(monitor).post(f"/api/v1/{collection}/", INVALID, format="json").status_code == 403
    assert _client(staff_site_a).post(f"/api/v1/{collection}/", INVALID, format="json").status_code == 400


def test_consent_baseline_and_randomize_check_the_role_first(site_a, staff_site_a, monitor):
    stages = {
        "consent": screen(site_a, staff_site_a),
        "baseline": consented_patient(site_a, staff_site_a),
        "randomize": randomizable_patient(site_a, staff_site_a),
    }
    for step, patient in stages.items():
        url = f"/api/v1/patients/{patient.study_id}/{step}/"
        assert _client(monitor).post(url, INVALID, format="json").status_code == 403, step
        assert _client(staff_site_a).post(url, INVALID, format="json").status_code == 400, step


def test_a_read_only_role_patching_with_an_invalid_body_is_refused_for_its_role(
    site_a, staff_site_a, statistician, monitor
):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    transfer = backdated_transfer(patient, staff_site_a)
    url = f"/api/v1/transfers/{transfer.pk}/"
    assert _client(monitor).patch(url, INVALID, format="json").status_code == 403
    assert _client(staff_site_a).patch(url, INVALID, format="json").status_code == 400


def test_only_a_monitor_learns_what_is_wrong_with_a_query(site_a, staff_site_a, statistician, monitor):
    assert _client(staff_site_a).post("/api/v1/queries/", INVALID, format="json").status_code == 403
    assert _client(monitor).post("/api/v1/queries/", INVALID, format="json").status_code == 400


def test_registering_at_an_existing_site_without_rights_is_403_and_an_unknown_site_400(
    staff_site_b, admin_user, site_a
):
    from tests.factories import all_met_answers

    body = {
        "site": site_a.code,
        "full_name": "Api Patient",
        "date_of_birth": "1992-04-01",
        "medical_record_number": "API-0001",
        "screening_date": "2025-03-01",
        "criteria": all_met_answers(),
    }
    assert _client(staff_site_b).post("/api/v1/patients/", body, format="json").status_code == 403
    assert _client(admin_user).post("/api/v1/patients/", body, format="json").status_code == 403
    unknown = _client(staff_site_b).post("/api/v1/patients/", {**body, "site": "XX"}, format="json")
    assert unknown.status_code == 400 and unknown.json() == {"site": ["Unknown site 'XX'."]}
