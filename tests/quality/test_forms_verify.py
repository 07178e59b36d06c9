"""Verifying several forms in one action (quality.services.forms_verify, and the review page's buttons): each
verifiable form gets its own audited SourceVerification in one transaction; the rest are skipped and said."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from core.exceptions import ValidationFailed
from patients import services as patient_services
from quality import services
from quality.models import SourceVerification
from tests.factories import PASSWORD, UserFactory, baseline_input, consented_patient, screen
from tests.quality.helpers import _states

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(site_a, staff_site_a):
    """Screening, consent and baseline complete; randomization not started."""
    patient = consented_patient(site_a, staff_site_a)
    patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    return patient


def _verification_events(patient) -> list[tuple[str, str]]:
    return list(
        SourceVerification.pgh_event_model.objects.filter(patient_id=patient.pk)
        .order_by("pgh_id")
        .values_list("form", "pgh_context__metadata__reason")
    )


def test_every_complete_form_is_verified_once_each_audited(patient, monitor):
    report = services.forms_verify(
        patient=patient, forms=["screening", "consent", "baseline", "randomization"], by=monitor
    )
    assert report.verified == ["Screening", "Consent", "Baseline"]
    assert report.skipped == ["Randomization is not started: only a complete form can be verified."]
    assert sorted(SourceVerification.objects.values_list("form", flat=True)) == ["baseline", "consent", "screening"]
    assert sorted(_verification_events(patient)) == [
        ("baseline", "Source data verified"),
        ("consent", "Source data verified"),
        ("screening", "Source data verified"),
    ]
    assert _states(patient) == {
        "screening": "verified",
        "consent": "verified",
        "baseline": "verified",
        "randomization": "not started",
    }
    again = services.forms_verify(patient=patient, forms=["screening", "baseline"], by=monitor)
    assert (again.verified, again.already) == ([], ["Screening", "Baseline"])
    assert SourceVerification.objects.count() == 3


def test_a_form_with_an_unresolved_query_is_skipped_and_said(patient, monitor, staff_site_a):
    query = services.query_raise(patient=patient, form="baseline", field="weight_kg", message="Scale?", by=monitor)
    services.query_answer(query=query, message="Re-weighed: right.", by=staff_site_a)
    report = services.forms_verify(patient=patient, forms=["consent", "baseline"], by=monitor)
    assert report.verified == ["Consent"]
    assert report.skipped == ["Baseline has 1 data query not closed: close it before verifying the form."]
    assert not SourceVerification.objects.filter(form="baseline").exists()


def test_an_unknown_form_refuses_the_whole_action(patient, monitor):
    with pytest.raises(ValidationFailed, match="'nonsense' is not a form of"):
        services.forms_verify(patient=patient, forms=["screening", "nonsense"], by=monitor)
    with pytest.raises(ValidationFailed):
        services.forms_verify(patient=patient, forms=[], by=monitor)
    assert not SourceVerification.objects.exists()


def test_only_a_verifier_who_reads_the_site(patient, staff_site_a, investigator_site_a, site_b):
    for user in (staff_site_a, investigator_site_a):
        with pytest.raises(PermissionDenied):
            services.forms_verify(patient=patient, forms=["screening"], by=user)
    # The right to verify without seeing every site, and no membership of hers: refused.
    outsider = UserFactory(username="verifier_elsewhere")
    outsider.user_permissions.add(Permission.objects.get(codename="verify_source_data"))
    outsider = type(outsider).objects.get(pk=outsider.pk)
    with pytest.raises(PermissionDenied, match="may not read this site"):
        services.forms_verify(patient=patient, forms=["screening"], by=outsider)
    assert not SourceVerification.objects.exists()


# --- The review page's buttons ----------------------------------------------------------------------


def _post(client, user, patient, data):
    client.force_login(user)
    return client.post(reverse("casebook:review", args=[patient.study_id]), {"action": "verify", **data}, follow=True)


def test_verify_all_from_the_page_names_what_was_and_was_not_verified(client, patient, monitor):
    page = _post(client, monitor, patient, {"scope": "all"}).content.decode()
    assert "Verified 3 forms: Screening, Consent, Baseline." in page
    assert "Not verified: Randomization is not started: only a complete form can be verified." in page
    assert SourceVerification.objects.count() == 3
    assert 'id="verify-all"' not in page  # nothing left to verify


def test_verify_a_visit_from_the_page(client, patient, monitor):
    _post(client, monitor, patient, {"visit": "enrolment"})
    assert SourceVerification.objects.count() == 3
    page = _post(client, monitor, patient, {"visit": "timepoint:NOPE"}).content.decode()
    assert "Choose the forms to verify." in page and SourceVerification.objects.count() == 3


def test_site_staff_cannot_verify_from_the_page(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    url = reverse("casebook:review", args=[patient.study_id])
    assert client.post(url, {"action": "verify", "scope": "all"}).status_code == 403
    assert 'id="verify-all"' not in client.get(url).content.decode()
    assert not SourceVerification.objects.exists()


def test_a_signed_casebook_can_still_be_verified_from_the_page(
    client, site_a, staff_site_a, investigator_site_a, monitor
):
    patient = screen(site_a, staff_site_a, eligible=False)  # complete with its screening form alone
    client.force_login(investigator_site_a)
    body = {"action": "sign", "username": "investigator_a", "password": PASSWORD, "meaning": "review"}
    assert client.post(reverse("casebook:review", args=[patient.study_id]), body).status_code == 302
    assert _states(patient) == {"screening": "signed"}
    client.force_login(monitor)
    assert 'id="verify-all"' in client.get(reverse("casebook:review", args=[patient.study_id])).content.decode()
    page = _post(client, monitor, patient, {"scope": "all"}).content.decode()
    assert "Verified 1 form: Screening." in page and 'id="verify-all"' not in page
    assert SourceVerification.objects.get().form == "screening" and _states(patient) == {"screening": "signed"}
