"""Pregnancy outcomes, adverse events (SAE notification) and questionnaires through the services."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.exceptions import InvalidTransition, ValidationFailed
from outcomes import services
from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from outcomes.selectors import derived_outcomes
from tests.factories import backdated_transfer, make_user, pregnancy_data, randomized_patient, site

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    return randomized_patient(site_a, staff_site_a, statistician)


@pytest.fixture
def transfer(patient, staff_site_a):
    return backdated_transfer(patient, staff_site_a, embryos=1)


def test_outcome_needs_a_transfer(patient, staff_site_a):
    with pytest.raises(InvalidTransition, match="no embryo transfer"):
        services.outcome_record(patient=patient, data={"beta_hcg_positive": False}, by=staff_site_a)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"beta_hcg_positive": False}, "clinical_pregnancy", "needs a positive β-hCG"),
        (
            {"clinical_pregnancy": False, "gestational_sacs": None, "miscarriage": True},
            "miscarriage",
            "requires a clinical pregnancy",
        ),
        (
            {"clinical_pregnancy": False, "gestational_sacs": None, "ongoing_pregnancy": True},
            "ongoing_pregnancy",
            "requires a clinical pregnancy",
        ),
        ({"miscarriage": True, "ongoing_pregnancy": True}, "ongoing_pregnancy", "exclude each other"),
        ({"beta_hcg_date": None}, "beta_hcg_date", "Required when β-hCG is positive."),
        ({"miscarriage": True}, "miscarriage_date", "Required when there was a miscarriage."),
        ({"gestational_sacs": 0}, "gestational_sacs", "at least one gestational sac"),
        ({"live_birth": True, "ongoing_pregnancy": False}, "live_birth", "requires an ongoing pregnancy"),
    ],
)
def test_cross_checks_refuse_inconsistent_outcomes(transfer, staff_site_a, overrides, field, message):
    with pytest.raises(ValidationFailed) as refused:
        services.outcome_record(patient=transfer.patient, data=pregnancy_data(transfer, **overrides), by=staff_site_a)
    assert message in " ".join(refused.value.errors[field])
    assert not PregnancyOutcome.objects.exists()


def test_outcome_dates_must_follow_the_transfer(transfer, staff_site_a):
    data = pregnancy_data(transfer, ultrasound_date=transfer.transfer_date - timedelta(days=1))
    with pytest.raises(ValidationFailed) as refused:
        services.outcome_record(patient=transfer.patient, data=data, by=staff_site_a)
    assert refused.value.errors["ultrasound_date"] == [
        f"Must be after the embryo transfer ({transfer.transfer_date:%Y-%m-%d})."
    ]


def test_more_sacs_than_embryos_needs_confirmation(transfer, staff_site_a):
    data = pregnancy_data(transfer, gestational_sacs=2)
    with pytest.raises(ValidationFailed, match="2 sacs but 1 embryo transferred"):
        services.outcome_record(patient=transfer.patient, data=data, by=staff_site_a)
    assert not PregnancyOutcome.objects.exists()
    outcome = services.outcome_record(patient=transfer.patient, data=data, by=staff_site_a, confirm_sacs=True)
    assert outcome.sacs_exceed_embryos_confirmed and outcome.gestational_sacs == 2


def test_derived_outcomes_come_from_one_selector(transfer, staff_site_a):
    services.outcome_record(patient=transfer.patient, data=pregnancy_data(transfer), by=staff_site_a)
    [row] = [r for r in derived_outcomes() if r.study_id == transfer.patient.study_id]
    assert (row.biochemical_pregnancy, row.clinical_pregnancy, row.gestational_sacs, row.embryos_transferred) == (
        True,
        True,
        1,
        1,
    )
    assert (row.miscarriage, row.any_adverse_event, row.serious_adverse_event) == (False, False, False)


def _ae(**overrides):
    values = {
        "term": "injection_site_bruising",
        "term_other": "",
        "onset_date": TODAY - timedelta(days=3),
        "resolution_date": TODAY - timedelta(days=1),
        "grade": 1,
        "serious": False,
        "related_to_dalteparin": "probable",
        "action_taken": "none",
        "outcome": "recovered",
    }
    return values | overrides


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"term": "other"}, "term_other", "Describe the event"),
        ({"resolution_date": TODAY - timedelta(days=5)}, "resolution_date", "before onset"),
        ({"grade": 5}, "outcome", "Grade 5 (death) and outcome 'fatal' go together."),
        ({"grade": 5, "outcome": "fatal", "resolution_date": None}, "serious", "A fatal event is serious."),
        ({"resolution_date": None}, "resolution_date", "Give the resolution date"),
        (
            {"onset_date": TODAY + timedelta(days=1), "resolution_date": None, "outcome": "recovering"},
            "onset_date",
            "future",
        ),
    ],
)
def test_adverse_event_checks(patient, staff_site_a, overrides, field, message):
    with pytest.raises(ValidationFailed) as refused:
        services.adverse_event_record(patient=patient, data=_ae(**overrides), by=staff_site_a)
    assert message in " ".join(refused.value.errors[field])
    assert not AdverseEvent.objects.exists()


def test_sae_notifies_the_sites_investigators_exactly_once(
    patient, staff_site_a, investigator_site_a, site_b, django_capture_on_commit_callbacks
):
    make_user("investigator_b", "investigator", site_b, email="inv-b@example.org")
    make_user("other_staff", "site_staff", site("SZ"), email="staff@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        event = services.adverse_event_record(
            patient=patient, data=_ae(term="bleeding", grade=3, serious=True), by=staff_site_a
        )
    assert len(mail.outbox) == 1
    [message] = mail.outbox
    assert message.to == [investigator_site_a.email]
    assert patient.study_id in message.subject and "Bleeding" in message.subject
    with django_capture_on_commit_callbacks(execute=True):
        services.adverse_event_update(
            event=event,
            data=_ae(term="bleeding", grade=3, serious=True, outcome="recovered"),
            by=staff_site_a,
            reason="Follow-up",
            expected_version=event.version,
        )
    assert len(mail.outbox) == 1  # already notified
    [row] = [r for r in derived_outcomes() if r.study_id == patient.study_id]
    assert row.any_adverse_event and row.serious_adverse_event


def test_an_event_that_becomes_serious_notifies_then(
    patient, staff_site_a, investigator_site_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = services.adverse_event_record(patient=patient, data=_ae(), by=staff_site_a)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        services.adverse_event_update(
            event=event, data=_ae(serious=True, grade=3), by=staff_site_a, reason="Hospitalised", expected_version=1
        )
    assert len(mail.outbox) == 1


def test_questionnaire_is_scored_and_stored(patient, staff_site_a):
    answers = {str(k): 3 for k in range(3, 13)} | {"21": 2, "22": 1}
    response = services.questionnaire_record(
        patient=patient, instrument="RAND36", timepoint="BASELINE", completed_on=TODAY, answers=answers, by=staff_site_a
    )
    assert response.scores["physical_functioning"] == 100.0
    assert response.scores["pain"] == 90.0
    assert response.scores["role_emotional"] is None


@pytest.mark.parametrize(
    ("instrument", "timepoint", "answers", "field", "message"),
    [
        ("RAND36", "ET14", {"1": 1}, "timepoint", "RAND36 is collected at BASELINE, ET28, not ET14."),
        ("RAND36", "BASELINE", {"37": 1}, "37", "Unknown item '37'"),
        ("RAND36", "BASELINE", {"4": 5}, "4", "choose 1–3, not 5"),
        ("SSRS", "BASELINE", {"6": 10}, "6", "0–9"),
        ("SF12", "BASELINE", {"1": 1}, "instrument", "Unknown instrument 'SF12'."),
    ],
)
def test_bad_questionnaire_answers_save_nothing(patient, staff_site_a, instrument, timepoint, answers, field, message):
    with pytest.raises(ValidationFailed) as refused:
        services.questionnaire_record(
            patient=patient,
            instrument=instrument,
            timepoint=timepoint,
            completed_on=TODAY,
            answers=answers,
            by=staff_site_a,
        )
    assert message in " ".join(refused.value.errors[field])
    assert not QuestionnaireResponse.objects.exists()


def test_a_second_questionnaire_at_the_same_time_point_is_refused(patient, staff_site_a):
    kwargs = {"patient": patient, "instrument": "SSRS", "timepoint": "ET28", "completed_on": TODAY, "answers": {"1": 2}}
    services.questionnaire_record(by=staff_site_a, **kwargs)
    with pytest.raises(InvalidTransition, match="already has SSRS at ET28"):
        services.questionnaire_record(by=staff_site_a, **kwargs)
