"""Locking and unlocking a casebook or the whole trial database (the lock models and the check live
below the clinical apps: patients.locks, core.locks)."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited, require_reason
from core.exceptions import InvalidTransition
from core.models import DatabaseLock, Trial, TrialStatus
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


def database_lock(*, reason: str, by) -> DatabaseLock:
    """Freeze the whole trial (database lock before the final analysis)."""
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        trial = _trial_for_update()
        if trial.status == TrialStatus.LOCKED:
            raise InvalidTransition(_("The trial database is already locked."))
        lock = DatabaseLock.objects.create(locked_by=by, reason=reason, status_before=trial.status)
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
