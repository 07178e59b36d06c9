"""API v1 PATCH /patients/{study_id}/: identity corrections and withdrawal through the registry services,
with reason and version (409 when stale), identity never shown, refused for roles and sites that may not."""

from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from core.models import SiteMembership
from patients.models import Consent, Patient, PatientIdentity
from tests.factories import UserFactory, consented_patient, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff_site_a):
    client = APIClient()
    client.force_authenticate(staff_site_a)
    return client


@pytest.fixture
def patient(site_a, staff_site_a):
    return consented_patient(site_a, staff_site_a, full_name="Wang Fang", medical_record_number="MRN-PATCH-1")


def _url(patient):
    return f"/api/v1/patients/{patient.study_id}/"


def _identity(patient):
    return PatientIdentity.objects.get(patient=patient)


def test_identity_correction_goes_through_the_service_and_never_echoes_identity(api, patient):
    version = Patient.objects.get(pk=patient.pk).version
    body = {"phone": "+86 755 1234 5678", "date_of_birth": "1989-01-20", "reason": "Typo on intake", "version": version}
    response = api.patch(_url(patient), body, format="json")
    assert response.status_code == 200, response.json()
    identity = _identity(patient)
    assert (identity.phone, identity.date_of_birth, identity.full_name) == (
        "+86 755 1234 5678",
        date(1989, 1, 20),
        "Wang Fang",
    )
    # The service re-derives the age from the new date of birth, which bumps the patient's version.
    assert response.json()["age_at_enrolment"] == 36 and response.json()["version"] == version + 1
    text = response.content.decode()
    assert not {"full_name", "phone", "date_of_birth", "medical_record_number"} & set(response.json())
    assert "1234 5678" not in text and "Wang Fang" not in text and "1989-01-20" not in text
    event = PatientIdentity.pgh_event_model.objects.filter(pgh_obj_id=identity.pk).order_by("pgh_id").last()
    assert event.phone == "+86 755 1234 5678" and event.pgh_context.metadata["reason"] == "Typo on intake"


def test_withdrawal_goes_through_the_service(api, patient):
    body = {"status": "withdrawn", "withdrawn_on": "2025-04-01", "reason": "Moved away", "version": patient.version}
    response = api.patch(_url(patient), body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "withdrawn" and response.json()["version"] == patient.version + 1
    consent = Consent.objects.get(patient=patient)
    assert (consent.withdrawn_on, consent.withdrawal_reason) == (date(2025, 4, 1), "Moved away")
    again = api.patch(_url(patient), body | {"version": patient.version + 1}, format="json")
    assert again.status_code == 409 and "Only a consented or randomized patient" in again.json()["non_field_errors"][0]


def test_a_stale_version_answers_409_naming_who_changed_her(api, patient, staff_site_a, investigator_site_a):
    base = patient.version
    api.force_authenticate(investigator_site_a)
    first = api.patch(_url(patient), {"date_of_birth": "1990-06-01", "reason": "Chart", "version": base}, format="json")
    assert first.status_code == 200, first.json()
    api.force_authenticate(staff_site_a)
    stale = api.patch(_url(patient), {"phone": "123", "reason": "Also a typo", "version": base}, format="json")
    assert stale.status_code == 409
    body = stale.json()
    assert body["changed_by"] == "investigator_a" and body["current_version"] == base + 1 and body["changed_at"]
    assert "investigator_a" in body["detail"]
    assert _identity(patient).phone != "123"
    withdraw = {"status": "withdrawn", "withdrawn_on": "2025-04-01", "reason": "x", "version": base}
    assert api.patch(_url(patient), withdraw, format="json").status_code == 409
    assert Patient.objects.get(pk=patient.pk).status == "consented"


CURRENT = object()  # stands for the patient's present version


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"phone": "1"}, "reason", "This field is required."),
        ({"phone": "1", "reason": "x"}, "version", "This field is required."),
        ({"phone": "1", "reason": " ", "version": CURRENT}, "reason", "may not be blank"),
        ({"nickname": "x", "reason": "x", "version": CURRENT}, "nickname", "Unknown field."),
        ({"study_id": "SZ-9999", "reason": "x", "version": CURRENT}, "study_id", "Unknown field."),
        ({"reason": "x", "version": CURRENT}, "non_field_errors", "Nothing to change"),
        ({"date_of_birth": "1992-02-30", "reason": "x", "version": CURRENT}, "date_of_birth", "Date has wrong format"),
        ({"date_of_birth": "1970-01-01", "reason": "x", "version": CURRENT}, "date_of_birth", "Age at screening is 55"),
        ({"full_name": "", "reason": "x", "version": CURRENT}, "full_name", "may not be blank"),
        ({"full_name": None, "reason": "x", "version": CURRENT}, "full_name", "may not be null"),
        ({"status": "randomized", "reason": "x", "version": CURRENT}, "status", 'Only "withdrawn" is set here'),
        ({"status": "withdrawn", "reason": "x", "version": CURRENT}, "withdrawn_on", "Give the date of withdrawal"),
        ({"withdrawn_on": "2025-04-01", "reason": "x", "version": CURRENT}, "status", 'Send "status": "withdrawn"'),
        (
            {"status": "withdrawn", "withdrawn_on": "2099-01-01", "reason": "x", "version": CURRENT},
            "withdrawn_on",
            "future",
        ),
        (
            {"phone": "1", "status": "withdrawn", "reason": "x", "version": CURRENT},
            "non_field_errors",
            "separate requests",
        ),
        ({"phone": "1", "reason": "x", "version": "two"}, "version", "A valid integer is required."),
    ],
)
def test_bad_patches_get_field_level_errors_and_change_nothing(api, patient, body, field, message):
    before = (_identity(patient).version, Patient.objects.get(pk=patient.pk).version)
    body = {k: patient.version if v is CURRENT else v for k, v in body.items()}
    response = api.patch(_url(patient), body, format="json")
    assert response.status_code == 400, response.content
    assert any(message in m for m in response.json()[field]), response.json()
    assert (_identity(patient).version, Patient.objects.get(pk=patient.pk).version) == before


def test_a_duplicate_record_number_is_refused(api, site_a, staff_site_a, patient):
    other = screen(site_a, staff_site_a, medical_record_number="MRN-OTHER")
    body = {"medical_record_number": "MRN-PATCH-1", "reason": "Merge", "version": other.version}
    response = api.patch(_url(other), body, format="json")
    assert response.status_code == 400
    assert f"already registered at SZ as {patient.study_id}" in response.json()["medical_record_number"][0]
    assert _identity(other).medical_record_number == "MRN-OTHER"


def test_non_object_bodies_are_400_not_500(api, patient):
    assert api.patch(_url(patient), [1, 2], format="json").status_code == 400
    assert api.patch(_url(patient), "null", content_type="application/json").status_code == 400
    broken = api.patch(_url(patient), "{not json", content_type="application/json")
    assert broken.status_code == 400


def test_other_sites_404_and_read_only_roles_403(api, patient, staff_site_b, monitor, statistician, admin_user):
    body = {"phone": "1", "reason": "x", "version": patient.version}
    api.force_authenticate(staff_site_b)
    assert api.patch(_url(patient), body, format="json").status_code == 404
    assert api.patch("/api/v1/patients/SZ-9999/", body, format="json").status_code == 404
    for user in (monitor, statistician):
        api.force_authenticate(user)
        assert api.patch(_url(patient), body, format="json").status_code == 403
        withdraw = {"status": "withdrawn", "withdrawn_on": "2025-04-01", "reason": "x", "version": patient.version}
        assert api.patch(_url(patient), withdraw, format="json").status_code == 403
    api.force_authenticate(admin_user)
    assert api.patch(_url(patient), body, format="json").status_code == 404
    assert _identity(patient).phone != "1" and Patient.objects.get(pk=patient.pk).status == "consented"


def test_identity_needs_identity_access_but_withdrawal_does_not(api, site_a, patient):
    """A role that may enter data but not see identity (e.g. a data-entry clerk) may withdraw, not correct PHI."""
    clerks = Group.objects.create(name="entry_without_identity")
    clerks.permissions.add(Permission.objects.get(codename="enter_clinical_data"))
    clerk = UserFactory(username="clerk")
    clerk.groups.add(clerks)
    SiteMembership.objects.create(user=clerk, site=site_a)
    api.force_authenticate(clerk)
    duplicate = {"medical_record_number": "MRN-PATCH-1", "reason": "x", "version": patient.version}
    refused = api.patch(_url(patient), duplicate, format="json")
    assert refused.status_code == 403 and "MRN-PATCH-1" not in refused.content.decode()
    withdraw = {"status": "withdrawn", "withdrawn_on": "2025-04-01", "reason": "Moved", "version": patient.version}
    response = api.patch(_url(patient), withdraw, format="json")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
