"""Bad input on every registry form: a specific message beside the field, and nothing saved."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from pghistory.models import Context

from patients import services
from patients.models import Baseline, Consent, Patient, PatientIdentity, Screening
from tests.factories import all_met_answers, baseline_input, consented_patient, screen

pytestmark = pytest.mark.django_db

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def _snapshot():
    """Row counts of every registry table and of audit contexts: all must be unchanged after bad input."""
    return [m.objects.count() for m in (Patient, PatientIdentity, Screening, Consent, Baseline, Context)]


def _screening_post(site, **overrides):
    data = {
        "site": site.pk,
        "screening_date": "2025-03-01",
        "full_name": "Wang Fang",
        "medical_record_number": "MRN-77",
        "date_of_birth": "1993-05-20",
        "phone": "",
    }
    for code, met in all_met_answers().items():
        data[f"criterion_{code}"] = "yes" if met else "no"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _field_errors(response, field):
    return [str(e) for e in response.context["form"].errors.get(field, [])]


@pytest.fixture
def staff_client(client, staff_site_a):
    client.force_login(staff_site_a)
    return client


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": None}, "full_name", "This field is required."),
        ({"date_of_birth": "1993-02-30"}, "date_of_birth", "Enter a valid date."),
        ({"screening_date": TOMORROW}, "screening_date", "Screening date cannot be in the future."),
        ({"date_of_birth": "2025-04-01"}, "date_of_birth", "Date of birth must be before the screening date."),
        ({"date_of_birth": "1980-01-01"}, "date_of_birth", "Age at screening is 45, outside 20–40 years"),
        ({"criterion_NORMAL_CAVITY": None}, "criterion_NORMAL_CAVITY", "This field is required."),
        ({"criterion_NORMAL_CAVITY": "perhaps"}, "criterion_NORMAL_CAVITY", "Select a valid choice."),
    ],
)
def test_screening_form_refuses_bad_input(staff_client, site_a, overrides, field, message):
    before = _snapshot()
    response = staff_client.post(reverse("patients:screen"), _screening_post(site_a, **overrides))
    assert response.status_code == 200
    assert any(message in e for e in _field_errors(response, field)), _field_errors(response, field)
    assert message in response.content.decode()
    assert _snapshot() == before


def test_screening_refuses_a_site_the_user_does_not_belong_to(staff_client, site_b):
    before = _snapshot()
    response = staff_client.post(reverse("patients:screen"), _screening_post(site_b))
    assert "Select a valid choice" in _field_errors(response, "site")[0]
    assert _snapshot() == before


def test_screening_refuses_a_second_registration_of_the_same_record_number(staff_client, site_a, staff_site_a):
    existing = screen(site_a, staff_site_a, medical_record_number="MRN-77")
    before = _snapshot()
    response = staff_client.post(reverse("patients:screen"), _screening_post(site_a))
    assert _field_errors(response, "medical_record_number") == [
        f"Medical record number MRN-77 is already registered at SZ as {existing.study_id}."
    ]
    assert _snapshot() == before


def test_good_screening_registers_and_redirects_to_the_patient(staff_client, site_a):
    response = staff_client.post(reverse("patients:screen"), _screening_post(site_a))
    patient = Patient.objects.get()
    assert response.status_code == 302 and response.url == reverse("casebook:patient", args=[patient.study_id])
    assert (patient.study_id, patient.status, patient.age_at_enrolment) == ("SZ-0001", "eligible", 31)


def test_ineligible_woman_stays_on_the_screening_log_with_failed_criteria(staff_client, site_a):
    staff_client.post(
        reverse("patients:screen"),
        _screening_post(site_a, criterion_BLEEDING_DISORDER="yes", criterion_PLATELETS_100PLUS="no"),
    )
    patient = Patient.objects.get()
    assert patient.status == "ineligible"
    assert patient.screening.failed_criteria == ["PLATELETS_100PLUS", "BLEEDING_DISORDER"]
    page = staff_client.get(reverse("casebook:patient", args=[patient.study_id])).content.decode()
    assert 'data-failed="BLEEDING_DISORDER"' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"form_version": "", "signed_on": "2025-03-02"}, "form_version", "This field is required."),
        ({"form_version": "v2", "signed_on": "2025-02-28"}, "signed_on", "before the screening date (2025-03-01)"),
        ({"form_version": "v2", "signed_on": TOMORROW}, "signed_on", "Consent cannot be signed in the future."),
        ({"form_version": "v2", "signed_on": "02/03/2025x"}, "signed_on", "Enter a valid date."),
    ],
)
def test_consent_form_refuses_bad_input(staff_client, site_a, staff_site_a, data, field, message):
    patient = screen(site_a, staff_site_a)
    before = _snapshot()
    response = staff_client.post(reverse("patients:consent", args=[patient.study_id]), data)
    assert any(message in e for e in _field_errors(response, field))
    assert _snapshot() == before
    patient.refresh_from_db()
    assert patient.status == "eligible"


def test_consent_is_refused_for_an_ineligible_woman(staff_client, site_a, staff_site_a):
    patient = screen(site_a, staff_site_a, eligible=False)
    before = _snapshot()
    response = staff_client.post(
        reverse("patients:consent", args=[patient.study_id]), {"form_version": "v2", "signed_on": "2025-03-02"}
    )
    assert "only be recorded for an eligible patient" in response.content.decode()
    assert _snapshot() == before


def _baseline_post(**overrides):
    data = {k: ("" if v is None else str(v)) for k, v in baseline_input().as_dict().items()}
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"height_cm": ""}, "height_cm", "This field is required."),
        ({"height_cm": "400"}, "height_cm", "400 cm is outside the plausible range 120–220 cm."),
        ({"weight_kg": "12"}, "weight_kg", "12 kg is outside the plausible range 30–200 kg."),
        ({"height_cm": "215", "weight_kg": "31"}, "weight_kg", "BMI of 6.71 kg/m², outside 12–60"),
        ({"weight_kg": "abc"}, "weight_kg", "Enter a number."),
        ({"prior_miscarriages": "-1"}, "prior_miscarriages", "greater than or equal to 0"),
        ({"infertility_years": "45"}, "infertility_years", "outside the plausible range 0–30 years"),
        ({"education": "phd"}, "education", "Select a valid choice."),
        ({"amh_ng_ml": "99"}, "amh_ng_ml", "outside the plausible range 0–30 ng/mL"),
    ],
)
def test_baseline_form_refuses_bad_input(staff_client, site_a, staff_site_a, overrides, field, message):
    patient = consented_patient(site_a, staff_site_a)
    before = _snapshot()
    response = staff_client.post(reverse("patients:baseline", args=[patient.study_id]), _baseline_post(**overrides))
    assert any(message in e for e in _field_errors(response, field)), _field_errors(response, field)
    assert _snapshot() == before


def test_baseline_correction_needs_a_reason_and_the_current_version(staff_client, site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    url = reverse("patients:baseline", args=[patient.study_id])
    before = _snapshot()
    no_reason = staff_client.post(url, _baseline_post(weight_kg="60", version="1"))
    assert _field_errors(no_reason, "reason") == ["This field is required."]
    stale = staff_client.post(url, _baseline_post(weight_kg="60", version="0", reason="typo"))
    assert "was changed by" in stale.content.decode()
    assert _snapshot() == before
    ok = staff_client.post(url, _baseline_post(weight_kg="60", version="1", reason="typo"))
    assert ok.status_code == 302
    assert Baseline.objects.get().weight_kg == 60


def test_baseline_is_refused_before_consent(staff_client, site_a, staff_site_a):
    patient = screen(site_a, staff_site_a)
    before = _snapshot()
    response = staff_client.post(reverse("patients:baseline", args=[patient.study_id]), _baseline_post())
    assert "Baseline is recorded after consent" in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"withdrawn_on": "2025-03-05", "reason": ""}, "reason", "This field is required."),
        ({"withdrawn_on": "2025-03-01", "reason": "Moved"}, "withdrawn_on", "before consent was signed"),
        ({"withdrawn_on": TOMORROW, "reason": "Moved"}, "withdrawn_on", "cannot be in the future"),
    ],
)
def test_withdrawal_form_refuses_bad_input(staff_client, site_a, staff_site_a, data, field, message):
    patient = consented_patient(site_a, staff_site_a)
    before = _snapshot()
    response = staff_client.post(reverse("patients:withdraw", args=[patient.study_id]), data)
    assert any(message in e for e in _field_errors(response, field))
    assert _snapshot() == before


def test_withdrawal_records_date_and_reason(staff_client, site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    staff_client.post(
        reverse("patients:withdraw", args=[patient.study_id]), {"withdrawn_on": "2025-03-05", "reason": "Moved away"}
    )
    patient.refresh_from_db()
    consent = patient.consents.get()
    assert (patient.status, consent.withdrawn_on, consent.withdrawal_reason) == (
        "withdrawn",
        date(2025, 3, 5),
        "Moved away",
    )


def test_void_needs_a_reason(staff_client, site_a, staff_site_a):
    patient = screen(site_a, staff_site_a)
    before = _snapshot()
    response = staff_client.post(reverse("patients:void", args=[patient.study_id]), {"reason": ""})
    assert _field_errors(response, "reason") == ["This field is required."]
    assert _snapshot() == before
    staff_client.post(reverse("patients:void", args=[patient.study_id]), {"reason": "Duplicate of SZ-0002"})
    patient.refresh_from_db()
    assert patient.void_reason == "Duplicate of SZ-0002" and patient.voided_at is not None
    assert patient.study_id not in staff_client.get(reverse("patients:list")).content.decode()


def test_voided_consent_returns_patient_to_eligible_and_can_be_entered_again(staff_client, site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    staff_client.post(reverse("patients:consent_void", args=[patient.study_id]), {"reason": "Wrong patient"})
    patient.refresh_from_db()
    assert patient.status == "eligible"
    staff_client.post(
        reverse("patients:consent", args=[patient.study_id]), {"form_version": "v3", "signed_on": "2025-03-03"}
    )
    assert [c.form_version for c in patient.consents.order_by("pk")] == ["v2.1", "v3"]
    patient.refresh_from_db()
    assert patient.status == "consented"


def test_an_identity_correction_is_a_new_version_of_the_patient(site_a, staff_site_a):
    """The API's patient resource carries her version: a second client correcting from the old version
    must be refused, not silently overwrite the first correction."""
    from tests.factories import identity

    patient = consented_patient(site_a, staff_site_a)
    version = Patient.objects.get(pk=patient.pk).version
    corrected = identity(phone="+86 1")
    services.identity_update(
        patient=patient, identity=corrected, by=staff_site_a, reason="new phone", expected_version=None
    )
    assert Patient.objects.get(pk=patient.pk).version == version + 1
    services.identity_update(
        patient=patient, identity=corrected, by=staff_site_a, reason="same again", expected_version=None
    )
    assert Patient.objects.get(pk=patient.pk).version == version + 1, "an unchanged identity is not a new version"
