"""Randomization services: allocation lists (generate, import, go live, extend) and `patient_randomize`.

Concealment: only these services and the statistician's selectors read unused slots.
"""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited, require_reason
from core.exceptions import DomainError, InvalidTransition, ValidationFailed
from core.models import Arm, Site, Trial, TrialStatus
from core.services import record_update
from patients import allocation, allocation_stream
from patients.locks import ensure_unlocked, require_patient_data_entry
from patients.models import (
    AgeGroup,
    AllocationList,
    AllocationSlot,
    ListGenerator,
    ListSource,
    ListStatus,
    Patient,
    PatientStatus,
    Randomization,
    SeedSource,
)

AGE_GROUP_THRESHOLD = 35
REASON_RANDOMIZED = "Randomized"


class AllocationUnavailable(DomainError):
    """No live list, or no slot left, for the patient's stratum: staff cannot randomize until fixed."""

    status_code = 409


def age_group_of(age: int) -> str:
    return AgeGroup.UNDER_35 if age < AGE_GROUP_THRESHOLD else AgeGroup.FROM_35


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("Only the trial statistician manages allocation lists."))


def _arms_by_code() -> dict[str, Arm]:
    return {arm.code: arm for arm in Arm.objects.all()}


def _draft_for(site: Site, age_group: str, by) -> AllocationList:
    existing = AllocationList.objects.select_for_update().filter(site=site, age_group=age_group).first()
    if existing and existing.status == ListStatus.LIVE:
        raise InvalidTransition(
            _("The list for %(site)s %(age_group)s is live: it can be extended, not replaced.")
            % {"site": site.code, "age_group": age_group}
        )
    if existing:
        existing.slots.all().delete()
        existing.delete()
    return AllocationList(site=site, age_group=age_group, created_by=by)


def _store_slots(allocation_list: AllocationList, slots: list[allocation.AllocatedSlot]) -> None:
    arms = _arms_by_code()
    AllocationSlot.objects.bulk_create(
        AllocationSlot(
            allocation_list=allocation_list,
            sequence=s.sequence,
            arm=arms[s.arm],
            block_number=s.block_number,
            block_size=s.block_size,
        )
        for s in slots
    )


def _ratio_parts(ratio: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ratio.split(":"))


def allocation_list_generate(*, site: Site, age_group: str, length: int, block_sizes: list[int], by) -> AllocationList:
    """A draft list of permuted blocks from a 256-bit seed the server draws (replacing an earlier draft).

    Nobody chooses the seed: a chosen one (a date, say) can be found again from a few observed
    allocations, and then every later slot is known.
    """
    return _generate(site, age_group, allocation_stream.new_seed(), SeedSource.SERVER, length, block_sizes, by)


def allocation_list_generate_fixed_seed(
    *, site: Site, age_group: str, seed: str, length: int, block_sizes: list[int], by
) -> AllocationList:
    """Demo and synthetic data only (`seed_demo`, `generate_synthetic --seed`): a list from a fixed v2 seed, so
    the data are reproducible; the list records that its seed was fixed. No page, form or API calls this."""
    return _generate(site, age_group, seed, SeedSource.FIXED, length, block_sizes, by)


def _generate(site, age_group, seed: str, seed_source: str, length, block_sizes, by) -> AllocationList:
    _require(by, "core.manage_allocation")
    trial = Trial.objects.get()
    arms = [arm.code for arm in Arm.objects.order_by("order")]
    try:
        slots = allocation.permuted_blocks(
            seed=seed, length=length, block_sizes=block_sizes, arms=arms, ratio=_ratio_parts(trial.allocation_ratio)
        )
    except allocation.DesignError as error:
        raise ValidationFailed({"block_sizes": [_(error.template) % error.values]}) from error
    with audited(by=by, reason="Allocation list generated"):
        draft = _draft_for(site, age_group, by)
        draft.source, draft.generator = ListSource.GENERATED, ListGenerator.HMAC_SHA256_V2
        draft.seed_hex, draft.seed_source = seed, seed_source
        draft.block_sizes, draft.ratio = sorted(set(block_sizes)), trial.allocation_ratio
        draft.save()
        _store_slots(draft, slots)
    return draft


def allocation_list_import(*, site: Site, age_group: str, content: bytes, filename: str, by) -> AllocationList:
    """A draft list from a statistician's CSV (`sequence,arm`); any bad row refuses the whole file."""
    _require(by, "core.manage_allocation")
    slots, problems = allocation.parse_allocation_csv(content, known_arms=set(_arms_by_code()))
    if problems:
        raise ValidationFailed({"file": [_problem_text(p) for p in problems]})
    with audited(by=by, reason="Allocation list imported"):
        draft = _draft_for(site, age_group, by)
        draft.source, draft.source_filename = ListSource.IMPORTED, filename[:255]
        draft.ratio = Trial.objects.get().allocation_ratio
        draft.save()
        _store_slots(draft, slots)
    return draft


def _problem_text(problem: allocation.CsvProblem) -> str:
    message = _(problem.template) % problem.values
    return _("Line %(line)s: %(message)s") % {"line": problem.row, "message": message} if problem.row else message


def _current_slots(allocation_list: AllocationList) -> list[allocation.AllocatedSlot]:
    return [
        allocation.AllocatedSlot(sequence, code, block, size)
        for sequence, code, block, size in allocation_list.slots.order_by("sequence").values_list(
            "sequence", "arm__code", "block_number", "block_size"
        )
    ]


def allocation_list_go_live(*, allocation_list: AllocationList, by) -> AllocationList:
    """Freeze a draft: record its SHA-256; from now on slots are only consumed or appended."""
    _require(by, "core.manage_allocation")
    with audited(by=by, reason="Allocation list put live"):
        locked = AllocationList.objects.select_for_update().get(pk=allocation_list.pk)
        if locked.status == ListStatus.LIVE:
            raise InvalidTransition(_("This list is already live."))
        slots = _current_slots(locked)
        if not slots:
            raise InvalidTransition(_("An empty list cannot go live."))
        locked.status, locked.sha256 = ListStatus.LIVE, allocation.sequence_sha256(slots)
        locked.went_live_at, locked.went_live_by = timezone.now(), by
        locked.save()
    return locked


def allocation_list_extend(*, allocation_list: AllocationList, by, length: int = 0, content: bytes = b"") -> int:
    """Append slots to a live list: a generated list continues its seeded stream to `length` slots in
    total; an imported list takes a CSV whose sequence continues the list. Returns slots added."""
    _require(by, "core.manage_allocation")
    with audited(by=by, reason="Allocation list extended"):
        locked = AllocationList.objects.select_for_update().get(pk=allocation_list.pk)
        existing = _current_slots(locked)
        new_slots = _extension_slots(locked, existing, length=length, content=content)
        _store_slots(locked, new_slots)
        locked.sha256 = allocation.sequence_sha256(existing + new_slots)
        locked.exhausted_at = None
        locked.save(update_fields=["sha256", "exhausted_at"])
    return len(new_slots)


def _extension_slots(locked, existing, *, length: int, content: bytes) -> list[allocation.AllocatedSlot]:
    if locked.status != ListStatus.LIVE:
        raise InvalidTransition(_("Only a live list is extended; a draft is regenerated instead."))
    if locked.source == ListSource.IMPORTED:
        slots, problems = allocation.parse_allocation_csv(
            content, known_arms=set(_arms_by_code()), first_sequence=len(existing) + 1
        )
        if problems:
            raise ValidationFailed({"file": [_problem_text(p) for p in problems]})
        return slots
    if length <= len(existing):
        raise ValidationFailed(
            {"length": [_("The list already has %(count)s slots; ask for more.") % {"count": len(existing)}]}
        )
    stream = _regenerated(locked, length)
    if stream[: len(existing)] != existing:
        raise InvalidTransition(_("The stored list no longer matches its seed; it cannot be extended safely."))
    return stream[len(existing) :]


def _regenerated(allocation_list: AllocationList, length: int) -> list[allocation.AllocatedSlot]:
    """The list's stream from its recorded seed with its own generator (v1 lists keep v1)."""
    arms = [arm.code for arm in Arm.objects.order_by("order")]
    return allocation.permuted_blocks(
        seed=allocation_list.recorded_seed,
        length=length,
        block_sizes=allocation_list.block_sizes,
        arms=arms,
        ratio=_ratio_parts(allocation_list.ratio),
        generator=allocation_list.generator,
    )


def allocation_list_verify(*, allocation_list: AllocationList, by) -> bool | None:
    """Whether the list regenerated from its recorded seed has the SHA-256 recorded when it went live (or
    was last extended); None when there is nothing to check (imported, or a draft without a hash)."""
    _require(by, "core.view_allocation")
    if allocation_list.source != ListSource.GENERATED or not allocation_list.sha256:
        return None
    length = allocation_list.slots.count()
    return allocation.sequence_sha256(_regenerated(allocation_list, length)) == allocation_list.sha256


def _check_preconditions(patient: Patient) -> None:
    trial = Trial.objects.get()
    if trial.status != TrialStatus.RECRUITING:
        # Translated through core.terms.TRIAL_STATUSES (core.models is not translated itself).
        status = _(trial.get_status_display()).lower()
        raise InvalidTransition(_("The trial is not recruiting (status: %(status)s).") % {"status": status})
    if hasattr(patient, "randomization"):
        raise InvalidTransition(
            _("%(patient)s was already randomized on %(date)s.")
            % {"patient": patient, "date": f"{patient.randomization.randomized_at:%Y-%m-%d}"}
        )
    if patient.voided_at is not None:
        raise InvalidTransition(_("%(patient)s is a voided registration.") % {"patient": patient})
    if patient.status == PatientStatus.INELIGIBLE:
        raise InvalidTransition(
            _("%(patient)s is not eligible: %(criteria)s.")
            % {"patient": patient, "criteria": ", ".join(patient.screening.failed_criteria)}
        )
    if patient.status == PatientStatus.ELIGIBLE:
        raise InvalidTransition(_("%(patient)s has not consented yet; record consent first.") % {"patient": patient})
    if patient.status != PatientStatus.CONSENTED:
        raise InvalidTransition(
            _("%(patient)s cannot be randomized while %(status)s.")
            % {"patient": patient, "status": patient.get_status_display().lower()}
        )
    if not patient.baselines.filter(voided_at__isnull=True).exists():
        raise InvalidTransition(
            _("%(patient)s has no baseline; record the baseline form first.") % {"patient": patient}
        )


def _next_slot(patient: Patient) -> AllocationSlot:
    """The first unused slot of the stratum, taken while holding the list's row lock.

    Locking the list row (not the slot) makes concurrent randomizations of the stratum queue up and
    each see the previous one's slot as used, so slots go strictly in sequence.
    """
    stratum = f"{patient.site.code} {age_group_of(patient.age_at_enrolment)}"
    allocation_list = (
        AllocationList.objects.select_for_update()
        .filter(site_id=patient.site_id, age_group=age_group_of(patient.age_at_enrolment), status=ListStatus.LIVE)
        .first()
    )
    if allocation_list is None:
        raise AllocationUnavailable(
            _("No live allocation list for stratum %(stratum)s. Contact the statistician.") % {"stratum": stratum}
        )
    slot = allocation_list.slots.filter(randomization__isnull=True).select_related("arm").order_by("sequence").first()
    if slot is None:
        raise AllocationUnavailable(
            _(
                "The allocation list for stratum %(stratum)s is used up. The statistician has been alerted; "
                "randomize again once the list is extended."
            )
            % {"stratum": stratum}
        )
    return slot


def _flag_exhausted(patient: Patient) -> None:
    AllocationList.objects.filter(
        site_id=patient.site_id, age_group=age_group_of(patient.age_at_enrolment), status=ListStatus.LIVE
    ).update(exhausted_at=timezone.now())


def patient_randomize(*, patient: Patient, by) -> Randomization:
    """Allocate the next slot of her stratum, in the same transaction as her status change and audit."""
    require_patient_data_entry(by, patient)
    try:
        with audited(by=by, reason=REASON_RANDOMIZED):
            patient = Patient.objects.select_for_update().select_related("site").get(pk=patient.pk)
            _check_preconditions(patient)
            slot = _next_slot(patient)
            randomization = Randomization.objects.create(
                patient=patient,
                slot=slot,
                arm=slot.arm,
                randomized_at=timezone.now(),
                randomized_by=by,
                created_by=by,
                updated_by=by,
            )
            record_update(
                patient,
                changes={"status": PatientStatus.RANDOMIZED},
                by=by,
                reason=REASON_RANDOMIZED,
                expected_version=None,
            )
    except AllocationUnavailable:
        _flag_exhausted(patient)
        raise
    return randomization


def randomization_flag_error(*, randomization: Randomization, reason: str, by) -> Randomization:
    """Statistician: she stays in ITT under her allocated arm and leaves the per-protocol population."""
    _require(by, "core.flag_randomization_error")
    reason = require_reason(reason)
    ensure_unlocked(patient_id=randomization.patient_id)
    if randomization.in_error:
        raise InvalidTransition(_("This randomization is already marked as made in error."))
    return record_update(
        randomization,
        changes={"in_error": True, "in_error_reason": reason},
        by=by,
        reason=reason,
        expected_version=None,
    )
