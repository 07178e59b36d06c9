"""Cross-app reads of one patient: everything her page shows (registry, quality form states) and her
audit trail across every app's tracked records. They sit above the apps whose data they gather."""

from dataclasses import dataclass, field
from datetime import datetime

from core import access, audit_trail
from core.models import EligibilityCriterion
from core.selectors import AuditEntry, audit_entries
from patients.models import (
    Baseline,
    Consent,
    EmbryoTransfer,
    Patient,
    PatientIdentity,
    PatientStatus,
    Randomization,
    Screening,
)
from quality import selectors as quality_selectors


@dataclass(frozen=True)
class CriterionAnswer:
    code: str
    text: str
    kind: str
    answer: bool
    failed: bool


@dataclass
class PatientCasebook:
    patient: Patient
    identity: PatientIdentity | None
    screening: Screening
    consent: Consent | None
    baseline: Baseline | None
    randomization: Randomization | None = None
    transfer: EmbryoTransfer | None = None
    luteal_supports: list = field(default_factory=list)
    dalteparin_courses: list = field(default_factory=list)
    deviations: list = field(default_factory=list)
    criteria: list[CriterionAnswer] = field(default_factory=list)
    review: object = None  # quality.selectors.Casebook: form states, signature, lock
    can_edit: bool = False
    can_flag_randomization_error: bool = False

    @property
    def can_randomize(self) -> bool:
        return self.can_edit and self.patient.status == PatientStatus.CONSENTED and self.baseline is not None


def _active(records):
    return next((r for r in records if r.voided_at is None), None)


def patient_casebook(*, user, patient: Patient) -> PatientCasebook:
    """Everything the patient page shows, with identity only for her own site's staff."""
    screening = Screening.objects.select_related("screened_by").get(patient=patient)
    consent = _active(patient.consents.select_related("obtained_by").order_by("-pk"))
    baseline = _active(patient.baselines.order_by("-pk"))
    randomization = Randomization.objects.select_related("arm", "slot", "randomized_by").filter(patient=patient).first()
    identity = PatientIdentity.objects.get(patient=patient) if access.can_view_identity(user, patient.site_id) else None
    transfer = _active(patient.transfers.order_by("-pk"))
    failed = set(screening.failed_criteria)
    criteria = [
        CriterionAnswer(c.code, c.text, c.kind, bool(screening.answers.get(c.code)), c.code in failed)
        for c in EligibilityCriterion.objects.filter(code__in=screening.answers.keys())
    ]
    review = quality_selectors.casebook_get(patient)
    return PatientCasebook(
        patient=patient,
        identity=identity,
        screening=screening,
        consent=consent,
        baseline=baseline,
        randomization=randomization,
        transfer=transfer,
        luteal_supports=list(patient.luteal_supports.filter(voided_at__isnull=True).order_by("start_date")),
        dalteparin_courses=list(patient.dalteparin_courses.filter(voided_at__isnull=True).order_by("start_date")),
        deviations=list(patient.deviations.filter(voided_at__isnull=True).order_by("occurred_on")),
        criteria=criteria,
        review=review,
        can_edit=access.can_enter_data(user, patient.site_id) and patient.voided_at is None and not review.locked,
        can_flag_randomization_error=user.has_perm("core.flag_randomization_error"),
    )


def patient_audit_history(*, user, patient: Patient) -> list[AuditEntry]:
    """Her audit trail, newest first: every tracked record that belongs to her (core.audit_trail finds
    them), identity changes only for those who may see her identity. One query per record type."""
    sees_identity = access.can_view_identity(user, patient.site_id)
    entries = [
        entry
        for source in audit_trail.patient_trail_sources()
        if sees_identity or not source.identity
        for entry in audit_entries(
            source.event_model, record=source.record, record_label=source.label, **source.filters(patient.pk)
        )
    ]
    # Newest first; events of one transaction share its moment, so each table's own order breaks the tie.
    return sorted(entries, key=lambda e: e.position, reverse=True)


def patient_audit_events(*, user, patient: Patient, since: datetime | None = None) -> list[AuditEntry]:
    """The same entries as the history page, oldest first in a stable order, only those after `since`.

    Filtered after diffing: an event's old values come from its predecessor, even one before `since`.
    """
    entries = patient_audit_history(user=user, patient=patient)
    if since is not None:
        entries = [entry for entry in entries if entry.at > since]
    return sorted(entries, key=lambda entry: entry.position)
