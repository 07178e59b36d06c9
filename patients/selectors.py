"""Reads of the patient registry, scoped to the sites the user may see."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from core import access, audit_trail
from core.models import Arm, EligibilityCriterion
from core.selectors import AuditEntry, audit_entries
from patients.consort import annotate_for_consort, consort_box_filters
from patients.models import (
    AllocationList,
    AllocationSlot,
    Baseline,
    Consent,
    EmbryoTransfer,
    ListStatus,
    Patient,
    PatientIdentity,
    PatientStatus,
    Randomization,
    Screening,
)
from quality import selectors as quality_selectors


def patient_list(*, user, status: str = "", query: str = "", consort: str = "") -> QuerySet[Patient]:
    """Patients of the user's sites (all sites for monitors and statisticians), newest study numbers last.

    The search matches the study id; for staff with identity access it also matches name or record
    number of their own sites' patients.
    """
    patients = Patient.objects.filter(access.site_filter(user), voided_at__isnull=True).select_related("site")
    if status:
        patients = patients.filter(status=status)
    if consort:
        patients = _consort_box(patients, consort)
    query = query.strip()
    if query:
        matches = Q(study_id__icontains=query)
        phi_sites = access.member_site_ids(user) if user.has_perm("core.view_identity") else frozenset()
        if phi_sites:
            matches |= Q(site_id__in=phi_sites) & (
                Q(identity__full_name__icontains=query) | Q(identity__medical_record_number=query)
            )
        patients = patients.filter(matches)
    return patients.order_by("site__code", "sequence_number")


def _consort_box(patients: QuerySet[Patient], box: str) -> QuerySet[Patient]:
    """The patients a CONSORT box of the dashboard counts (the same filter as its count)."""
    filters = consort_box_filters(list(Arm.objects.values_list("code", flat=True)))
    if box not in filters:
        return patients.none()
    return annotate_for_consort(patients).filter(filters[box]).distinct()


def patient_get(*, user, study_id: str) -> Patient:
    """One patient the user may read; any other answers 404 so other sites' ids are not revealed."""
    patient = Patient.objects.select_related("site").filter(study_id=study_id).first()
    if patient is None or not access.can_read_site(user, patient.site_id):
        raise Http404("No such patient.")
    return patient


def identity_names(*, user, patients: list[Patient]) -> dict[int, str]:
    """Full names of the listed patients whose identity this user may see (one query)."""
    visible = [p.pk for p in patients if access.can_view_identity(user, p.site_id)]
    if not visible:
        return {}
    return dict(PatientIdentity.objects.filter(patient_id__in=visible).values_list("patient_id", "full_name"))


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
    return sorted(entries, key=lambda e: e.at, reverse=True)


def patient_audit_events(*, user, patient: Patient, since: datetime | None = None) -> list[AuditEntry]:
    """The same entries as the history page, oldest first in a stable order, only those after `since`.

    Filtered after diffing: an event's old values come from its predecessor, even one before `since`.
    """
    entries = patient_audit_history(user=user, patient=patient)
    if since is not None:
        entries = [entry for entry in entries if entry.at > since]
    return sorted(entries, key=lambda entry: entry.position)


# --- Randomization ---------------------------------------------------------------------------------


def require_allocation_viewer(user) -> None:
    # Concealment: to everyone else allocation lists do not exist (404, not 403).
    if not user.has_perm("core.view_allocation"):
        raise Http404("No such page.")


@dataclass(frozen=True)
class StratumSummary:
    allocation_list: AllocationList
    total: int
    used: int

    @property
    def unused(self) -> int:
        return self.total - self.used

    @property
    def alert(self) -> str:
        if self.allocation_list.exhausted_at:
            at = f"{self.allocation_list.exhausted_at:%Y-%m-%d %H:%M}"
            return _("A randomization was refused at %(at)s: list used up.") % {"at": at}
        if self.allocation_list.status == ListStatus.LIVE and self.unused < LOW_SLOT_WARNING:
            return _("Only %(count)s unused slots left.") % {"count": self.unused}
        return ""


LOW_SLOT_WARNING = 10


def allocation_overview(*, user) -> list[StratumSummary]:
    """Every stratum's list with slots used and unused (statistician only; one query)."""
    require_allocation_viewer(user)
    lists = (
        AllocationList.objects.select_related("site", "went_live_by", "created_by")
        .annotate(total=Count("slots", distinct=True), used=Count("slots__randomization", distinct=True))
        .order_by("site__code", "age_group")
    )
    return [StratumSummary(item, item.total, item.used) for item in lists]


def allocation_list_get(*, user, pk: int) -> AllocationList:
    require_allocation_viewer(user)
    found = AllocationList.objects.select_related("site", "went_live_by", "created_by").filter(pk=pk).first()
    if found is None:
        raise Http404("No such allocation list.")
    return found


def allocation_slots(*, user, allocation_list: AllocationList) -> QuerySet[AllocationSlot]:
    require_allocation_viewer(user)
    return allocation_list.slots.select_related("arm", "randomization__patient").order_by("sequence")
