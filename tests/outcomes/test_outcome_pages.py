"""Outcome pages: forms reach the services, refusals are shown, access follows the site and role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from tests.factories import backdated_transfer, randomized_patient

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    backdated_transfer(patient, staff_site_a, embryos=2)
    return patient


def _urls(patient):
    return [
        reverse("outcomes:pregnancy", args=[patient.study_id]),
        reverse("outcomes:ae_create", args=[patient.study_id]),
        reverse("outcomes:questionnaire", args=[patient.study_id, "RAND36", "BASELINE"]),
    ]


def test_other_sites_get_404_and_read_only_roles_403(client, patient, staff_site_b, monitor):
    for user, status in ((staff_site_b, 404), (monitor, 403)):
        client.force_login(user)
        for url in _urls(patient):
            assert client.get(url).status_code == status, url


def test_adverse_event_form_shows_refusals_and_the_page_shows_the_sae(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    url = reverse("outcomes:ae_create", args=[patient.study_id])
    data = {
        "term": "other",
        "term_other": "",
        "onset_date": (TODAY - timedelta(days=2)).isoformat(),
        "grade": "3",
        "serious": "on",
        "related_to_dalteparin": "possible",
        "action_taken": "interrupted",
        "outcome": "recovering",
    }
    refused = client.post(url, data)
    assert "Describe the event when the term is &#x27;other&#x27;." in refused.content.decode()
    assert not AdverseEvent.objects.exists()
    page = client.post(url, data | {"term_other": "Epistaxis"}, follow=True).content.decode()
    assert 'data-sae="true"' in page and "Epistaxis" in page


def test_outcome_form_records_and_corrects_with_a_reason(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    url = reverse("outcomes:pregnancy", args=[patient.study_id])
    negative = {"beta_hcg_positive": "False", "clinical_pregnancy": "False", "ectopic": "False", "miscarriage": "False"}
    assert client.post(url, negative).status_code == 302
    assert PregnancyOutcome.objects.get().beta_hcg_positive is False
    no_reason = client.post(url, negative | {"beta_hcg_positive": "True", "version": "1"})
    assert "This field is required." in no_reason.content.decode()
    et = patient.transfers.get().transfer_date
    corrected = negative | {
        "beta_hcg_positive": "True",
        "beta_hcg_date": (et + timedelta(days=14)).isoformat(),
        "beta_hcg_value": "120",
        "version": "1",
        "reason": "Result arrived late",
    }
    assert client.post(url, corrected).status_code == 302
    assert PregnancyOutcome.objects.get().beta_hcg_positive is True


def test_questionnaire_form_scores_partial_answers(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    url = reverse("outcomes:questionnaire", args=[patient.study_id, "SSRS", "BASELINE"])
    answers = {"item_1": "3", "item_3": "2", "item_4": "2", "item_5a": "4", "item_5b": "3", "item_5c": "1"}
    answers |= {"item_5d": "2", "item_5e": "1", "item_2": "4", "item_6": "2", "item_7": "0"}
    client.post(url, {"completed_on": TODAY.isoformat(), **answers})
    response = QuestionnaireResponse.objects.get()
    # subjective 3+2+2+(4+3+1+2+1)=18; objective 4+2+0=6; utilization unanswered
    assert (response.scores["subjective"], response.scores["objective"], response.scores["utilization"]) == (
        18,
        6,
        None,
    )
    page = client.get(reverse("casebook:patient", args=[patient.study_id])).content.decode()
    assert 'data-questionnaire="SSRS-BASELINE"' in page
