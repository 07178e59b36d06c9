"""The data-quality pages: query thread actions, casebook review (verify, raise, sign, lock), missing
forms, database lock; refusals shown on the page, never a 500."""

import pytest
from django.urls import reverse

from core.models import Trial
from patients import services as patient_services
from patients.models import CasebookLock
from quality.models import CasebookSignature, DataQuery, SourceVerification
from quality.services import query_raise
from tests.factories import PASSWORD, baseline_input, consented_patient, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(site_a, staff_site_a):
    return consented_patient(site_a, staff_site_a)


def _client(client, user):
    client.force_login(user)
    return client


def test_query_thread_answer_and_close_from_the_page(client, patient, staff_site_a, monitor):
    query = query_raise(patient=patient, form="consent", field="signed_on", message="Date?", by=monitor)
    url = reverse("quality:query", args=[query.pk])
    staff = _client(client, staff_site_a)
    page = staff.get(url).content.decode()
    assert 'value="answer"' in page and 'value="close"' not in page
    assert staff.post(url, {"action": "answer", "message": "Right as entered."}).status_code == 302
    refused = staff.post(url, {"action": "close", "message": "x"})
    assert refused.status_code == 403
    mon = _client(client, monitor)
    assert 'value="close"' in mon.get(url).content.decode()
    assert mon.post(url, {"action": "close", "message": "ok"}).status_code == 302
    assert DataQuery.objects.get().status == "closed"


def test_query_list_shows_own_sites_only(client, patient, staff_site_b, monitor):
    query_raise(patient=patient, form="consent", field="signed_on", message="Date?", by=monitor)
    assert (
        f'data-query="{DataQuery.objects.get().pk}"'
        in _client(client, monitor).get(reverse("quality:queries")).content.decode()
    )
    assert "No queries." in _client(client, staff_site_b).get(reverse("quality:queries")).content.decode()


def test_casebook_review_monitor_verifies_and_raises(client, patient, staff_site_a, monitor):
    patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    url = reverse("casebook:review", args=[patient.study_id])
    mon = _client(client, monitor)
    assert mon.post(url, {"action": "verify", "form": "baseline"}).status_code == 302
    assert SourceVerification.objects.get().form == "baseline"
    refused = mon.post(url, {"action": "verify", "form": "randomization"}, follow=True)
    assert "only a complete form can be verified" in refused.content.decode()
    assert SourceVerification.objects.count() == 1
    assert 'data-form="baseline" data-state="verified"' in mon.get(url).content.decode()
    raised = mon.post(url, {"action": "raise", "form": "baseline", "field": "weight_kg", "message": "Scale?"})
    assert raised.status_code == 302 and DataQuery.objects.get().field == "weight_kg"
    bad = mon.post(url, {"action": "raise", "form": "baseline", "field": "", "message": ""})
    assert bad.status_code == 400 and DataQuery.objects.count() == 1


def test_casebook_review_investigator_signs_with_password(client, site_a, staff_site_a, investigator_site_a):
    patient = screen(site_a, staff_site_a, eligible=False)
    url = reverse("casebook:review", args=[patient.study_id])
    inv = _client(client, investigator_site_a)
    wrong = inv.post(url, {"action": "sign", "username": "investigator_a", "password": "nope", "meaning": "approval"})
    assert wrong.status_code == 400 and "not correct" in wrong.content.decode()
    assert not CasebookSignature.objects.exists()
    ok = inv.post(url, {"action": "sign", "username": "investigator_a", "password": PASSWORD, "meaning": "approval"})
    assert ok.status_code == 302
    page = inv.get(url).content.decode()
    assert 'data-valid="true"' in page and " UTC" in page and "Approval" in page


def test_incomplete_casebook_shows_why_it_cannot_be_signed(client, patient, investigator_site_a):
    page = (
        _client(client, investigator_site_a).get(reverse("casebook:review", args=[patient.study_id])).content.decode()
    )
    assert 'id="sign-blockers"' in page and "Baseline is not started." in page and 'id="sign-form"' not in page


def test_locked_casebook_refuses_an_edit_on_the_form_page(client, patient, staff_site_a, statistician):
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    stat = _client(client, statistician)
    url = reverse("casebook:review", args=[patient.study_id])
    assert stat.post(url, {"action": "lock", "reason": "clean"}).status_code == 302
    assert CasebookLock.objects.filter(unlocked_at__isnull=True).count() == 1
    staff = _client(client, staff_site_a)
    detail = staff.get(reverse("casebook:patient", args=[patient.study_id])).content.decode()
    assert 'id="locked-banner"' in detail
    response = staff.post(
        reverse("patients:baseline", args=[patient.study_id]),
        {
            **{k: ("" if v is None else str(v)) for k, v in baseline_input(weight_kg=80).as_dict().items()},
            "version": "1",
            "reason": "typo",
        },
    )
    assert "casebook was locked by statistician" in response.content.decode()
    baseline.refresh_from_db()
    assert baseline.weight_kg != 80


def test_database_lock_page_is_the_statisticians(client, staff_site_a, statistician):
    url = reverse("quality:database_lock")
    assert _client(client, staff_site_a).get(url).status_code == 403
    stat = _client(client, statistician)
    assert stat.post(url, {"action": "lock", "reason": ""}).status_code == 400
    assert Trial.objects.get().status != "locked"
    override = "Statistics are recomputed after the lock"
    assert (
        stat.post(url, {"action": "lock", "reason": "final analysis", "override_reason": override}).status_code == 302
    )
    assert Trial.objects.get().status == "locked"
    assert stat.post(url, {"action": "unlock", "reason": "late data"}).status_code == 302
    assert Trial.objects.get().status != "locked"


def test_missing_forms_page(client, patient, staff_site_a):
    page = _client(client, staff_site_a).get(reverse("quality:missing")).content.decode()
    assert f'data-patient="{patient.study_id}" data-form="baseline"' in page


def test_unknown_actions_are_404_not_500(client, patient, monitor):
    mon = _client(client, monitor)
    assert mon.post(reverse("casebook:review", args=[patient.study_id]), {"action": "explode"}).status_code == 404
    query = query_raise(patient=patient, form="consent", field="signed_on", message="?", by=monitor)
    assert mon.post(reverse("quality:query", args=[query.pk]), {"action": "explode"}).status_code == 404
