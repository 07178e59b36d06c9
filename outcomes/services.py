"""Writes of outcomes: pregnancy outcome, adverse events (with SAE notification), questionnaires."""

from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import audited
from core.exceptions import InvalidTransition, ValidationFailed
from core.services import record_correct, record_create
from outcomes import rules, scoring
from outcomes.models import AdverseEvent, Instrument, PregnancyOutcome, QuestionnaireResponse
from patients.locks import require_patient_data_entry

OUTCOME_FIELDS = [
    "beta_hcg_positive",
    "beta_hcg_date",
    "beta_hcg_value",
    "clinical_pregnancy",
    "ultrasound_date",
    "gestational_sacs",
    "fetal_heartbeat",
    "ectopic",
    "miscarriage",
    "miscarriage_date",
    "miscarriage_week",
    "ongoing_pregnancy",
    "live_birth",
    "live_birth_date",
    "infants",
]
AE_FIELDS = [
    "term",
    "term_other",
    "onset_date",
    "resolution_date",
    "grade",
    "serious",
    "related_to_dalteparin",
    "action_taken",
    "outcome",
]


def _active_transfer(patient):
    transfer = patient.transfers.filter(voided_at__isnull=True).first()
    if transfer is None:
        raise InvalidTransition(
            _("%(patient)s has no embryo transfer: record it before the pregnancy outcome.") % {"patient": patient}
        )
    return transfer


def _outcome_values(patient, data: dict, confirm_sacs: bool) -> dict:
    transfer = _active_transfer(patient)
    values = {name: data.get(name) for name in OUTCOME_FIELDS}
    found = rules.pregnancy_outcome_findings(
        values,
        transfer_date=transfer.transfer_date,
        embryos_transferred=transfer.embryos_transferred,
        today=timezone.localdate(),
    )
    errors = dict(found.errors)
    if found.warnings and not confirm_sacs:
        for field_name, messages in found.warnings.items():
            errors.setdefault(field_name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    values["sacs_exceed_embryos_confirmed"] = bool(found.warnings) and confirm_sacs
    for flag in ("clinical_pregnancy", "ectopic", "miscarriage"):
        values[flag] = bool(values[flag])
    return values


def outcome_record(*, patient, data: dict, by, confirm_sacs: bool = False) -> PregnancyOutcome:
    """The pregnancy outcome form; more sacs than embryos needs `confirm_sacs`."""
    require_patient_data_entry(by, patient)
    values = _outcome_values(patient, data, confirm_sacs)
    if patient.pregnancy_outcomes.filter(voided_at__isnull=True).exists():
        raise InvalidTransition(
            _("%(patient)s already has a pregnancy outcome; correct it instead.") % {"patient": patient}
        )
    return record_create(PregnancyOutcome, patient=patient, values=values, by=by)


def outcome_update(*, outcome: PregnancyOutcome, data: dict, by, reason: str, expected_version, confirm_sacs=False):
    require_patient_data_entry(by, outcome.patient)
    values = _outcome_values(outcome.patient, data, confirm_sacs)
    return record_correct(outcome, changes=values, by=by, reason=reason, expected_version=expected_version)


def _consent_date(patient) -> date:
    consent = patient.consents.filter(voided_at__isnull=True).first()
    if consent is None:
        raise InvalidTransition(
            _("%(patient)s has not consented: nothing is recorded for her beyond screening.") % {"patient": patient}
        )
    return consent.signed_on


def _ae_values(patient, data: dict) -> dict:
    values = {name: data.get(name) for name in AE_FIELDS}
    values["term_other"] = (values["term_other"] or "").strip()
    values["serious"] = bool(values["serious"])
    errors = rules.adverse_event_errors(values, earliest=_consent_date(patient), today=timezone.localdate())
    if errors:
        raise ValidationFailed(errors)
    return values


def _investigator_emails(site_id: int) -> list[str]:
    investigators = get_user_model().objects.filter(
        is_active=True, groups__name="investigator", site_memberships__site_id=site_id
    )
    return sorted({email for email in investigators.values_list("email", flat=True) if email})


def _notify_serious(event: AdverseEvent) -> None:
    """Tell the site's investigators of an SAE once, after the record is committed. No PHI in the email."""
    if not event.serious or event.sae_notified_at is not None:
        return
    AdverseEvent.objects.filter(pk=event.pk).update(sae_notified_at=timezone.now())
    recipients = _investigator_emails(event.patient.site_id)
    # Sent to the site's investigators whoever records it: in the trial's language, not the recorder's page language.
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = _sae_email(event)
    if recipients:
        transaction.on_commit(lambda: send_mail(subject, body, None, recipients))


def _sae_email(event: AdverseEvent) -> tuple[str, str]:
    subject = f"SAE reported: {event.patient.study_id} — {event.get_term_display()} (grade {event.grade})"
    body = (
        f"A serious adverse event was recorded for {event.patient.study_id} at site {event.patient.site.code}.\n"
        f"Term: {event.get_term_display()} {event.term_other}\nOnset: {event.onset_date:%Y-%m-%d}\n"
        f"Grade: {event.grade}\nRelated to dalteparin: {event.get_related_to_dalteparin_display()}\n"
        "Review it in the trial system and report to the sponsor within 24 hours."
    )
    return subject, body


def adverse_event_record(*, patient, data: dict, by) -> AdverseEvent:
    require_patient_data_entry(by, patient)
    values = _ae_values(patient, data)
    with audited(by=by, reason="SAE notification" if values["serious"] else ""):
        event = record_create(AdverseEvent, patient=patient, values=values, by=by)
        _notify_serious(event)
    return event


def adverse_event_update(*, event: AdverseEvent, data: dict, by, reason: str, expected_version) -> AdverseEvent:
    """Correct or follow up an event; becoming serious notifies the investigators (once)."""
    require_patient_data_entry(by, event.patient)
    values = _ae_values(event.patient, data)
    with audited(by=by, reason=reason):
        updated = record_correct(event, changes=values, by=by, reason=reason, expected_version=expected_version)
        _notify_serious(updated)
    return updated


def _questionnaire_values(patient, instrument_code: str, timepoint_code: str, completed_on: date, answers: dict):
    instrument = Instrument.objects.filter(code=instrument_code).prefetch_related("timepoints").first()
    if instrument is None:
        raise ValidationFailed({"instrument": [_("Unknown instrument '%(code)s'.") % {"code": instrument_code}]})
    timepoint = next((tp for tp in instrument.timepoints.all() if tp.code == timepoint_code), None)
    if timepoint is None:
        allowed = ", ".join(tp.code for tp in instrument.timepoints.all())
        raise ValidationFailed(
            {
                "timepoint": [
                    _("%(instrument)s is collected at %(allowed)s, not %(timepoint)s.")
                    % {"instrument": instrument.code, "allowed": allowed, "timepoint": timepoint_code}
                ]
            }
        )
    errors = scoring.answer_errors(instrument.code, answers)
    if completed_on > timezone.localdate():
        errors["completed_on"] = [_("The completion date cannot be in the future.")]
    elif completed_on < _consent_date(patient):
        errors["completed_on"] = [_("The questionnaire cannot be completed before consent.")]
    if errors:
        raise ValidationFailed(errors)
    return instrument, timepoint, {"answers": dict(answers), "scores": scoring.score(instrument.code, answers)}


def questionnaire_record(
    *, patient, instrument: str, timepoint: str, completed_on: date, answers: dict, by
) -> QuestionnaireResponse:
    """Item-by-item answers; scores are derived by outcomes.scoring and stored beside them."""
    require_patient_data_entry(by, patient)
    found_instrument, found_timepoint, values = _questionnaire_values(
        patient, instrument, timepoint, completed_on, answers
    )
    if QuestionnaireResponse.objects.filter(
        patient=patient, instrument=found_instrument, timepoint=found_timepoint, voided_at__isnull=True
    ).exists():
        raise InvalidTransition(
            _("%(patient)s already has %(instrument)s at %(timepoint)s; correct it instead.")
            % {"patient": patient, "instrument": instrument, "timepoint": timepoint}
        )
    values |= {"instrument": found_instrument, "timepoint": found_timepoint, "completed_on": completed_on}
    return record_create(QuestionnaireResponse, patient=patient, values=values, by=by)


def questionnaire_update(
    *, response: QuestionnaireResponse, completed_on: date, answers: dict, by, reason: str, expected_version
) -> QuestionnaireResponse:
    require_patient_data_entry(by, response.patient)
    _instrument, _timepoint, values = _questionnaire_values(
        response.patient, response.instrument.code, response.timepoint.code, completed_on, answers
    )
    changes = {"completed_on": completed_on, **values}
    return record_correct(response, changes=changes, by=by, reason=reason, expected_version=expected_version)
