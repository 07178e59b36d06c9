"""The lock check every clinical write passes through (via core.access.require_patient_data_entry)."""

from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import Locked
from core.models import Trial, TrialStatus
from quality.models import CasebookLock


def ensure_unlocked(*, patient_id: int | None = None) -> None:
    """Refuse the change when the trial database, or this patient's casebook, is locked."""
    if Trial.objects.filter(status=TrialStatus.LOCKED).exists():
        raise Locked(
            _(
                "The trial database is locked for analysis: no data can be entered or changed. "
                "Ask the statistician to unlock it if a correction is needed."
            )
        )
    if patient_id is None:
        return
    lock = (
        CasebookLock.objects.filter(patient_id=patient_id, unlocked_at__isnull=True).select_related("locked_by").first()
    )
    if lock is not None:
        raise Locked(
            _(
                "This casebook was locked by %(user)s on %(at)s (%(reason)s): its data cannot be changed. "
                "Ask the statistician to unlock it if a correction is needed."
            )
            % {
                "user": lock.locked_by.get_username(),
                "at": f"{timezone.localtime(lock.locked_at):%Y-%m-%d %H:%M}",
                "reason": lock.reason,
            }
        )


def locked_patient_ids(patient_ids) -> set[int]:
    """For bulk writers (lab import): which of these casebooks are locked."""
    return set(
        CasebookLock.objects.filter(patient_id__in=list(patient_ids), unlocked_at__isnull=True).values_list(
            "patient_id", flat=True
        )
    )
