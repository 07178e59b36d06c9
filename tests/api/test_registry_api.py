"""API v1 registry: token auth, register → consent → baseline → randomize, errors as JSON, scoping."""

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, all_met_answers, live_list, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def _register(api, **overrides):
    body = {
        "site": "SZ",
        "full_name": "Api Patient",
        "date_of_birth": "1992-04-01",
        "medical_record_number": "API-0001",
        "phone": "",
        "screening_date": "2025-03-01",
        "criteria": all_met_answers(),
    }
    body.update(overrides)
    return api.post("/api/v1/patients/", body, format="json")


def test_token_authentication(api, staff_site_a):
    assert api.get("/api/v1/patients/").status_code == 401
    refused = api.post("/api/v1/auth/token/", {"username": staff_site_a.username, "password": "wrong"}, format="json")
    assert refused.status_code == 400
    token = api.post("/api/v1/auth/token/", {"username": staff_site_a.username, "password": PASSWORD}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert api.get("/api/v1/patients/").status_code == 200


def test_journey_register_consent_baseline_randomize(api, site_a, staff_site_a, statistician):
    live_list(site_a, statistician)
    api.force_authenticate(staff_site_a)
    created = _register(api)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["study_id"], body["status"], body["arm"]) == ("SZ-0001", "eligible", None)
    assert "full_name" not in body and "Api Patient" not in created.content.decode()
    consent = api.post(
        "/api/v1/patients/SZ-0001/consent/", {"form_version": "v2", "signed_on": "2025-03-02"}, format="json"
    )
    assert consent.status_code == 201 and consent.json()["status"] == "consented"
    baseline = {
        "height_cm": "160.0",
        "weight_kg": "56.0",
        "previous_failed_transfers": 2,
        "prior_miscarriages": 1,
        "infertility_type": "secondary",
        "infertility_years": "3.0",
        "education": "college_or_higher",
    }
    made = api.post("/api/v1/patients/SZ-0001/baseline/", baseline, format="json")
    assert made.status_code == 201 and made.json()["bmi"] == "21.88"
    randomized = api.post("/api/v1/patients/SZ-0001/randomize/", format="json")
    assert randomized.status_code == 201
    assert randomized.json()["arm"] == live_list_first_arm(site_a)
    assert set(randomized.json()) == {"study_id", "arm", "randomized_at"}
    again = api.post("/api/v1/patients/SZ-0001/randomize/", format="json")
    assert again.status_code == 409 and "already randomized" in again.json()["non_field_errors"][0]


def live_list_first_arm(site):
    from patients.models import AllocationList

    return AllocationList.objects.get(site=site, age_group="<35").slots.get(sequence=1).arm.code


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"nickname": "x"}, "nickname", "Unknown field."),
        ({"date_of_birth": "1992-02-30"}, "date_of_birth", "Date has wrong format"),
        ({"date_of_birth": "1970-01-01"}, "date_of_birth", "Age at screening is 55"),
        ({"screening_date": "2099-01-01"}, "screening_date", "cannot be in the future"),
        ({"criteria": {"AGE_20_40": True}}, "criterion_NORMAL_CAVITY", "Answer “Normal uterine cavity”: yes or no."),
        ({"site": "XX"}, "site", "Unknown site 'XX'."),
        ({"full_name": ""}, "full_name", "may not be blank"),
    ],
)
def test_bad_registrations_get_field_level_json_errors_and_save_nothing(api, staff_site_a, overrides, field, message):
    from patients.models import Patient

    api.force_authenticate(staff_site_a)
    response = _register(api, **overrides)
    assert response.status_code == 400
    assert any(message in m for m in response.json()[field]), response.json()
    assert not Patient.objects.exists()


def test_other_sites_patients_are_404_and_read_only_roles_cannot_write(
    api, site_a, staff_site_a, staff_site_b, monitor
):
    patient = screen(site_a, staff_site_a)
    api.force_authenticate(staff_site_b)
    assert api.get(f"/api/v1/patients/{patient.study_id}/").status_code == 404
    assert api.post(f"/api/v1/patients/{patient.study_id}/consent/", {}, format="json").status_code == 404
    assert patient.study_id not in api.get("/api/v1/patients/").content.decode()
    # Sites are public (/api/v1/sites/): an existing site she may not enter data for is a 403, not "unknown".
    refused = _register(api)
    assert refused.status_code == 403 and refused.json() == {"detail": "You may not enter data for this site."}
    api.force_authenticate(monitor)
    assert api.get(f"/api/v1/patients/{patient.study_id}/").status_code == 200
    assert _register(api).status_code == 403
    consent = {"form_version": "v2", "signed_on": "2025-03-02"}
    assert api.post(f"/api/v1/patients/{patient.study_id}/consent/", consent, format="json").status_code == 403


def test_patient_list_supports_updated_since_and_cursor_pagination(api, site_a, staff_site_a):
    for _ in range(3):
        screen(site_a, staff_site_a)
    api.force_authenticate(staff_site_a)
    page = api.get("/api/v1/patients/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"] and "cursor=" in page["next"]
    assert api.get(page["next"]).json()["results"][0]["study_id"] == "SZ-0003"
    assert api.get("/api/v1/patients/", {"updated_since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    bad = api.get("/api/v1/patients/", {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in bad.json()


def test_patient_list_query_count_is_flat(api, site_a, staff_site_a, django_assert_max_num_queries):
    api.force_authenticate(staff_site_a)
    counts = []
    for new_patients in (3, 27):  # 3, then 30 in all
        for _ in range(new_patients):
            screen(site_a, staff_site_a)
        # token/session user, group permissions, memberships (site scoping), one page of patients with
        # site, screening and randomization joined.
        with django_assert_max_num_queries(8) as captured:
            assert api.get("/api/v1/patients/").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_configuration_lists(api, staff_site_a):
    api.force_authenticate(staff_site_a)
    assert [a["code"] for a in api.get("/api/v1/arms/").json()["results"]] == ["CTRL", "EXP"]
    assert {t["code"] for t in api.get("/api/v1/timepoints/").json()["results"]} == {"BASELINE", "ET14", "ET28"}
    e2 = next(a for a in api.get("/api/v1/analytes/").json()["results"] if a["code"] == "E2")
    assert e2["accepted_units"]["pg/mL"] == 3.671
    assert api.get("/api/v1/sites/", {"updated_since": "2999-01-01T00:00:00Z"}).json()["results"] == []
