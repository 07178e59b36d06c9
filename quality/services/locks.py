"""Locking and unlocking a casebook or the whole trial database (the lock models and the check live
below the clinical apps: patients.locks, core.locks)."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited, require_reason
from core.exceptions import InvalidTransition, ValidationFailed
from core.models import DatabaseLock, Trial, TrialStatus
from core.readiness import lock_readiness, open_items
from patients.models import CasebookLock, Patient


def _require_locker(by) -> None:
    if not by.has_perm("core.lock_database"):
        raise PermissionDenied(_("Only the statistician locks and unlocks data."))


def casebook_lock(*, patient: Patient, reason: str, by) -> CasebookLock:
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        Patient.objects.select_for_update().get(pk=patient.pk)
        if CasebookLock.objects.filter(patient=patient, unlocked_at__isnull=True).exists():
            raise InvalidTransition(_("%(study_id)s's casebook is already locked.") % {"study_id": patient.study_id})
        return CasebookLock.objects.create(patient=patient, locked_by=by, reason=reason)


def casebook_unlock(*, patient: Patient, reason: str, by) -> CasebookLock:
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        lock = CasebookLock.objects.select_for_update().filter(patient=patient, unlocked_at__isnull=True).first()
        if lock is None:
            raise InvalidTransition(_("%(study_id)s's casebook is not locked.") % {"study_id": patient.study_id})
        lock.unlocked_by, lock.unlocked_at, lock.unlock_reason = by, timezone.now(), reason
        lock.save(update_fields=["unlocked_by", "unlocked_at", "unlock_reason"])
        return lock


def _trial_for_update() -> Trial:
    return Trial.objects.select_for_update().order_by("pk").first()


def database_lock(*, reason: str, by, override_reason: str = "") -> DatabaseLock:
    """Freeze the whole trial (database lock before the final analysis).

    Anything still open (core.readiness: open queries, unsigned casebooks, unverified or missing forms,
    stale statistics) is counted under the trial's row lock and kept with the lock; locking over open
    items needs a reason of its own, so a lock never hides what it froze unfinished.
    """
    _require_locker(by)
    reason = require_reason(reason)
    override_reason = (override_reason or "").strip()
    with audited(by=by, reason=reason):
        trial = _trial_for_update()
        if trial.status == TrialStatus.LOCKED:
            raise InvalidTransition(_("The trial database is already locked."))
        still_open = open_items(lock_readiness())
        if still_open and not override_reason:
            raise ValidationFailed(
                {"override_reason": [_("Items are still open: say why the database is locked with them.")]}
            )
        lock = DatabaseLock.objects.create(
            locked_by=by,
            reason=reason,
            status_before=trial.status,
            open_items=still_open,
            override_reason=override_reason if still_open else "",
        )
        trial.status = TrialStatus.LOCKED
        trial.save(update_fields=["status"])
        return lock


def database_unlock(*, reason: str, by) -> DatabaseLock:
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        trial = _trial_for_update()
        lock = DatabaseLock.objects.select_for_update().filter(unlocked_at__isnull=True).first()
        if trial.status != TrialStatus.LOCKED or lock is None:
            raise InvalidTransition(_("The trial database is not locked."))
        lock.unlocked_by, lock.unlocked_at, lock.unlock_reason = by, timezone.now(), reason
        lock.save(update_fields=["unlocked_by", "unlocked_at", "unlock_reason"])
        trial.status = lock.status_before
        trial.save(update_fields=["status"])
        return lock
