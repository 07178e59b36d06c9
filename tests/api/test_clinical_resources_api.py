"""API v1 transfers, outcomes, adverse events, questionnaires: POST through the services, PATCH with
reason and version (409 when stale), errors as JSON, site scoping."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from outcomes.models import AdverseEvent, QuestionnaireResponse
from tests.factories import backdated_transfer, randomized_patient

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    return randomized_patient(site_a, staff_site_a, statistician)


@pytest.fixture
def api(staff_site_a):
    client = APIClient()
    client.force_authenticate(staff_site_a)
    return client


def test_transfer_post_patch_and_stale_version(api, patient, investigator_site_a):
    body = {"study_id": patient.study_id, "transfer_date": TODAY.isoformat(), "cycle_type": "fresh"}
    body |= {"embryo_stage": "blastocyst", "embryos_transferred": 2}
    created = api.post("/api/v1/transfers/", body, format="json")
    assert created.status_code == 201, created.json()
    transfer = created.json()
    url = f"/api/v1/transfers/{transfer['id']}/"
    assert api.patch(url, {"embryos_transferred": 1}, format="json").json() == {
        "reason": ["This field is required."],
        "version": ["This field is required."],
    }
    changed = api.patch(url, {"embryos_transferred": 1, "reason": "Chart says 1", "version": 1}, format="json")
    assert changed.status_code == 200 and changed.json()["embryos_transferred"] == 1 and changed.json()["version"] == 2
    api.force_authenticate(investigator_site_a)
    stale = api.patch(url, {"embryos_transferred": 3, "reason": "x", "version": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["changed_by"] == "staff_a" and stale.json()["current_version"] == 2
    bad = api.patch(url, {"embryos_transferred": 4, "reason": "x", "version": 2}, format="json")
    assert bad.status_code == 400 and "Between 1 and 3" in bad.json()["embryos_transferred"][0]
    assert api.get(url).json()["embryos_transferred"] == 1


def test_adverse_event_post_and_follow_up(api, patient):
    body = {
        "study_id": patient.study_id,
        "term": "bleeding",
        "onset_date": (TODAY - timedelta(days=2)).isoformat(),
        "grade": 2,
        "serious": False,
        "related_to_dalteparin": "possible",
        "action_taken": "interrupted",
        "outcome": "recovering",
    }
    created = api.post("/api/v1/adverse-events/", body, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/adverse-events/{created.json()['id']}/"
    follow_up = {"outcome": "recovered", "resolution_date": TODAY.isoformat(), "reason": "Resolved", "version": 1}
    assert api.patch(url, follow_up, format="json").json()["outcome"] == "recovered"
    refused = api.post("/api/v1/adverse-events/", body | {"term": "other"}, format="json")
    assert refused.status_code == 400 and "Describe the event" in refused.json()["term_other"][0]
    assert AdverseEvent.objects.count() == 1


def test_pregnancy_outcome_with_cross_checks(api, patient, staff_site_a):
    transfer = backdated_transfer(patient, staff_site_a, embryos=1)
    et = transfer.transfer_date
    body = {
        "study_id": patient.study_id,
        "beta_hcg_positive": True,
        "beta_hcg_date": (et + timedelta(days=14)).isoformat(),
        "beta_hcg_value": "850",
        "clinical_pregnancy": True,
        "ultrasound_date": (et + timedelta(days=28)).isoformat(),
        "gestational_sacs": 2,
        "fetal_heartbeat": True,
    }
    warned = api.post("/api/v1/outcomes/", body, format="json")
    assert warned.status_code == 400 and "2 sacs but 1 embryo" in warned.json()["gestational_sacs"][0]
    created = api.post("/api/v1/outcomes/", body | {"confirm_sacs": True}, format="json")
    assert created.status_code == 201 and created.json()["sacs_exceed_embryos_confirmed"] is True
    inconsistent = {"miscarriage": True, "ongoing_pregnancy": True, "reason": "x", "version": 1}
    patched = api.patch(f"/api/v1/outcomes/{created.json()['id']}/", inconsistent, format="json")
    assert patched.status_code == 400


def test_questionnaire_answers_as_the_contract_sends_them(api, patient):
    answers = {str(k): "3" for k in range(3, 13)} | {"21": 2, "22": 1}
    body = {"study_id": patient.study_id, "instrument": "RAND36", "timepoint": "BASELINE", "answers": answers}
    created = api.post("/api/v1/questionnaires/", body, format="json")
    assert created.status_code == 201, created.json()
    scores = created.json()["scores"]
    assert (scores["physical_functioning"], scores["pain"], scores["role_emotional"]) == (100.0, 90.0, None)
    bad = api.post("/api/v1/questionnaires/", body | {"timepoint": "ET28", "answers": {"4": 5}}, format="json")
    assert bad.status_code == 400 and "choose 1–3, not 5" in bad.json()["4"][0]
    wrong_time = api.post("/api/v1/questionnaires/", body | {"timepoint": "ET14"}, format="json")
    assert wrong_time.status_code == 400 and "not ET14" in wrong_time.json()["timepoint"][0]
    junk = api.post("/api/v1/questionnaires/", body | {"timepoint": "ET28", "answers": {"1": True}}, format="json")
    assert junk.status_code == 400
    url = f"/api/v1/questionnaires/{created.json()['id']}/"
    patch = {"answers": answers | {"3": 1}, "reason": "Item 3 misread", "version": 1}
    assert api.patch(url, patch, format="json").json()["scores"]["physical_functioning"] == 90.0
    assert QuestionnaireResponse.objects.count() == 1


def test_resources_are_scoped_to_sites_and_roles(api, patient, staff_site_b, monitor):
    body = {"study_id": patient.study_id, "transfer_date": TODAY.isoformat(), "cycle_type": "fresh"}
    body |= {"embryo_stage": "blastocyst", "embryos_transferred": 2}
    transfer_id = api.post("/api/v1/transfers/", body, format="json").json()["id"]
    api.force_authenticate(staff_site_b)
    assert api.get("/api/v1/transfers/").json()["results"] == []
    assert api.get(f"/api/v1/transfers/{transfer_id}/").status_code == 404
    assert (
        api.patch(f"/api/v1/transfers/{transfer_id}/", {"reason": "x", "version": 1}, format="json").status_code == 404
    )
    api.force_authenticate(monitor)
    assert api.get(f"/api/v1/transfers/{transfer_id}/").status_code == 200
    patched = api.patch(
        f"/api/v1/transfers/{transfer_id}/", {"embryos_transferred": 1, "reason": "x", "version": 1}, format="json"
    )
    assert patched.status_code == 403
