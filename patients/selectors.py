"""Reads of the patient registry, scoped to the sites the user may see."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from core import access
from core.models import Arm
from patients.consort import annotate_for_consort, consort_box_filters
from patients.models import AllocationList, AllocationSlot, ListStatus, Patient, PatientIdentity


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
