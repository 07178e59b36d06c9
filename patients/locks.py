"""The lock check every clinical write passes through: the trial database, then the patient's casebook.

It sits in the lowest app that holds a casebook lock, so labs, outcomes and patients check it without
importing quality (which locks and unlocks through its services).
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.exceptions import Locked
from core.locks import ensure_database_unlocked
from patients.models import CasebookLock


def require_patient_data_entry(user, patient) -> None:
    """Site rights for this patient, and her casebook and the trial database not locked."""
    access.require_data_entry(user, patient.site_id)
    ensure_unlocked(patient_id=patient.pk)


def ensure_unlocked(*, patient_id: int) -> None:
    """Refuse the change when the trial database, or this patient's casebook, is locked."""
    ensure_database_unlocked()
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
