"""Writes of the patient registry: screening, consent, baseline, corrections, withdrawal, voiding."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.audit import audited
from core.exceptions import InvalidTransition, ValidationFailed
from core.models import EligibilityCriterion, Site
from core.services import record_touch, record_update, record_void
from patients import rules
from patients.locks import require_patient_data_entry
from patients.models import (
    Baseline,
    Consent,
    Patient,
    PatientIdentity,
    PatientStatus,
    Screening,
    StudyIdCounter,
)

# Automatic reasons for workflow steps: the step itself is the reason the patient row changes. Reasons are
# part of the audit trail, so they stay English whatever the language of the page.
REASON_CONSENT_RECORDED = "Consent recorded"


@dataclass(frozen=True)
class IdentityInput:
    full_name: str
    medical_record_number: str
    date_of_birth: date
    phone: str = ""


@dataclass(frozen=True)
class BaselineInput:
    height_cm: Decimal
    weight_kg: Decimal
    previous_failed_transfers: int
    prior_miscarriages: int
    infertility_type: str
    infertility_years: Decimal
    education: str
    amh_ng_ml: Decimal | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def criterion_specs() -> list[rules.CriterionSpec]:
    return [
        # The text as staff read it on the form (configuration, translated through core.terms).
        rules.CriterionSpec(code=c.code, kind=c.kind, min_age=c.min_age, max_age=c.max_age, text=_(c.text))
        for c in EligibilityCriterion.objects.filter(active=True)
    ]


def _status(patient: Patient) -> str:
    """Her status for a message: the stored code, translated (core.terms.PATIENT_STATUSES)."""
    return _(patient.status)


def _next_study_number(site: Site) -> int:
    """Next gap-free number for the site; the counter row stays locked until the transaction ends."""
    StudyIdCounter.objects.get_or_create(site=site)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_studyidcounter SET last_number = last_number + 1 WHERE site_id = %s RETURNING last_number",
            [site.pk],
        )
        return cursor.fetchone()[0]


def _identity_errors(identity: IdentityInput, site: Site, exclude_patient_id: int | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    if not identity.full_name.strip():
        errors["full_name"] = [_("Enter the patient's full name.")]
    mrn = identity.medical_record_number.strip()
    if not mrn:
        errors["medical_record_number"] = [_("Enter the medical record number.")]
    else:
        duplicate = (
            PatientIdentity.objects.filter(
                patient__site=site, medical_record_number=mrn, patient__voided_at__isnull=True
            )
            .exclude(patient_id=exclude_patient_id)
            .select_related("patient")
            .first()
        )
        if duplicate:
            errors["medical_record_number"] = [
                _("Medical record number %(mrn)s is already registered at %(site)s as %(study_id)s.")
                % {"mrn": mrn, "site": site.code, "study_id": duplicate.patient.study_id}
            ]
    return errors


def patient_screen(
    *, site: Site, identity: IdentityInput, screening_date: date, answers: dict[str, bool], by
) -> Patient:
    """Register a woman on the screening log with a gap-free study id and her derived eligibility."""
    access.require_new_patient_entry(by, site.pk)
    specs = criterion_specs()
    errors = rules.screening_errors(
        specs,
        answers,
        date_of_birth=identity.date_of_birth,
        screening_date=screening_date,
        today=timezone.localdate(),
    )
    errors.update(_identity_errors(identity, site))
    if errors:
        raise ValidationFailed(errors)
    result = rules.evaluate_eligibility(specs, answers)
    with audited(by=by, reason="Screening registered"):
        number = _next_study_number(site)
        patient = Patient.objects.create(
            study_id=f"{site.code}-{number:04d}",
            site=site,
            sequence_number=number,
            status=PatientStatus.ELIGIBLE if result.eligible else PatientStatus.INELIGIBLE,
            age_at_enrolment=rules.age_on(identity.date_of_birth, screening_date),
            created_by=by,
            updated_by=by,
        )
        PatientIdentity.objects.create(
            patient=patient,
            full_name=identity.full_name.strip(),
            medical_record_number=identity.medical_record_number.strip(),
            date_of_birth=identity.date_of_birth,
            phone=identity.phone.strip(),
            created_by=by,
            updated_by=by,
        )
        Screening.objects.create(
            patient=patient,
            screening_date=screening_date,
            screened_by=by,
            answers={c.code: answers[c.code] for c in specs},
            eligible=result.eligible,
            failed_criteria=list(result.failed),
            created_by=by,
            updated_by=by,
        )
    return patient


def identity_update(*, patient: Patient, identity: IdentityInput, by, reason: str, expected_version: int | None):
    """Correct identity fields; a new date of birth re-derives the age and re-checks the age criterion."""
    require_patient_data_entry(by, patient)
    screening = patient.screening
    errors = _identity_errors(identity, patient.site, exclude_patient_id=patient.pk)
    errors.update(
        rules.screening_errors(
            criterion_specs(),
            screening.answers,
            date_of_birth=identity.date_of_birth,
            screening_date=screening.screening_date,
            today=timezone.localdate(),
        )
    )
    if errors:
        raise ValidationFailed(errors)
    with audited(by=by, reason=reason):
        before = PatientIdentity.objects.values_list("version", flat=True).get(patient=patient)
        corrected = record_update(
            patient.identity,
            changes={
                "full_name": identity.full_name.strip(),
                "medical_record_number": identity.medical_record_number.strip(),
                "date_of_birth": identity.date_of_birth,
                "phone": identity.phone.strip(),
            },
            by=by,
            reason=reason,
            expected_version=expected_version,
        )
        age = rules.age_on(identity.date_of_birth, screening.screening_date)
        version_before = Patient.objects.values_list("version", flat=True).get(pk=patient.pk)
        updated = record_update(patient, changes={"age_at_enrolment": age}, by=by, reason=reason, expected_version=None)
        if corrected.version != before and updated.version == version_before:
            # The patient is the API's resource: a correction of her identity is a new version of her.
            record_touch(patient, by=by, reason=reason)


def _validate_consent(patient: Patient, *, form_version: str, signed_on: date) -> None:
    errors = rules.consent_errors(
        signed_on=signed_on,
        screening_date=patient.screening.screening_date,
        today=timezone.localdate(),
        form_version=form_version,
    )
    if errors:
        raise ValidationFailed(errors)


def consent_record(*, patient: Patient, form_version: str, signed_on: date, by) -> Consent:
    """Record signed consent for an eligible patient."""
    require_patient_data_entry(by, patient)
    if patient.status != PatientStatus.ELIGIBLE:
        raise InvalidTransition(
            _("Consent can only be recorded for an eligible patient; %(patient)s is %(status)s.")
            % {"patient": patient, "status": _status(patient)}
        )
    _validate_consent(patient, form_version=form_version, signed_on=signed_on)
    with audited(by=by, reason=REASON_CONSENT_RECORDED):
        consent = Consent.objects.create(
            patient=patient,
            form_version=form_version.strip(),
            signed_on=signed_on,
            obtained_by=by,
            created_by=by,
            updated_by=by,
        )
        record_update(
            patient,
            changes={"status": PatientStatus.CONSENTED},
            by=by,
            reason=REASON_CONSENT_RECORDED,
            expected_version=None,
        )
    return consent


def consent_update(*, consent: Consent, form_version: str, signed_on: date, by, reason: str, expected_version):
    patient = consent.patient
    require_patient_data_entry(by, patient)
    _validate_consent(patient, form_version=form_version, signed_on=signed_on)
    return record_update(
        consent,
        changes={"form_version": form_version.strip(), "signed_on": signed_on},
        by=by,
        reason=reason,
        expected_version=expected_version,
    )


def consent_void(*, consent: Consent, by, reason: str) -> Consent:
    """Void a consent entered in error; the patient returns to eligible (only before randomization)."""
    patient = consent.patient
    require_patient_data_entry(by, patient)
    if patient.status != PatientStatus.CONSENTED:
        raise InvalidTransition(
            _("Consent can only be voided while the patient is consented; %(patient)s is %(status)s.")
            % {"patient": patient, "status": _status(patient)}
        )
    with audited(by=by, reason=reason):
        voided = record_void(consent, by=by, reason=reason)
        record_update(patient, changes={"status": PatientStatus.ELIGIBLE}, by=by, reason=reason, expected_version=None)
    return voided


def _baseline_values(data: BaselineInput) -> dict:
    errors = rules.baseline_errors(data.as_dict())
    if data.infertility_type not in {"primary", "secondary"}:
        errors["infertility_type"] = [_("Choose primary or secondary infertility.")]
    if data.education not in {"junior_high_or_below", "high_school_or_vocational", "college_or_higher"}:
        errors["education"] = [_("Choose an education level from the list.")]
    if errors:
        raise ValidationFailed(errors)
    return {**data.as_dict(), "bmi": rules.body_mass_index(data.height_cm, data.weight_kg)}


def baseline_record(*, patient: Patient, data: BaselineInput, by) -> Baseline:
    """Record baseline characteristics of a consented patient; BMI is derived."""
    require_patient_data_entry(by, patient)
    if patient.status not in {PatientStatus.CONSENTED, PatientStatus.RANDOMIZED}:
        raise InvalidTransition(
            _("Baseline is recorded after consent; %(patient)s is %(status)s.")
            % {"patient": patient, "status": _status(patient)}
        )
    if patient.baselines.filter(voided_at__isnull=True).exists():
        raise InvalidTransition(
            _("%(patient)s already has a baseline; correct it instead of entering it again.") % {"patient": patient}
        )
    values = _baseline_values(data)
    with audited(by=by, reason=""):
        return Baseline.objects.create(patient=patient, created_by=by, updated_by=by, **values)


def baseline_update(*, baseline: Baseline, data: BaselineInput, by, reason: str, expected_version) -> Baseline:
    require_patient_data_entry(by, baseline.patient)
    return record_update(
        baseline, changes=_baseline_values(data), by=by, reason=reason, expected_version=expected_version
    )


def baseline_void(*, baseline: Baseline, by, reason: str) -> Baseline:
    require_patient_data_entry(by, baseline.patient)
    if baseline.patient.status == PatientStatus.RANDOMIZED:
        raise InvalidTransition(_("A randomized patient's baseline is corrected, not voided."))
    return record_void(baseline, by=by, reason=reason)


def patient_withdraw(*, patient: Patient, withdrawn_on: date, reason: str, by) -> Patient:
    """Withdraw consent: the patient keeps her data and study id, and her status becomes withdrawn."""
    require_patient_data_entry(by, patient)
    if patient.status not in {PatientStatus.CONSENTED, PatientStatus.RANDOMIZED}:
        raise InvalidTransition(
            _("Only a consented or randomized patient can withdraw; %(patient)s is %(status)s.")
            % {"patient": patient, "status": _status(patient)}
        )
    if not reason.strip():
        raise ValidationFailed({"reason": [_("Give the reason for withdrawal.")]})
    consent = patient.consents.get(voided_at__isnull=True)
    errors = rules.withdrawal_errors(withdrawn_on=withdrawn_on, signed_on=consent.signed_on, today=timezone.localdate())
    if errors:
        raise ValidationFailed(errors)
    with audited(by=by, reason=reason):
        record_update(
            consent,
            changes={"withdrawn_on": withdrawn_on, "withdrawal_reason": reason.strip()},
            by=by,
            reason=reason,
            expected_version=None,
        )
        return record_update(
            patient, changes={"status": PatientStatus.WITHDRAWN}, by=by, reason=reason, expected_version=None
        )


def patient_void(*, patient: Patient, by, reason: str) -> Patient:
    """Void a registration made in error (e.g. a duplicate); its study id is never reused."""
    require_patient_data_entry(by, patient)
    if patient.status in {PatientStatus.RANDOMIZED, PatientStatus.COMPLETED}:
        raise InvalidTransition(_("A randomized patient stays in the trial (ITT); she cannot be voided."))
    return record_void(patient, by=by, reason=reason)
