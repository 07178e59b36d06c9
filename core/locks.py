"""The trial-wide lock check: while the statistician holds the database lock nothing clinical changes.

A casebook's own lock points at a patient, so its check lives a layer up (patients.locks), which calls
this one first.
"""

from django.utils.translation import gettext as _

from core.exceptions import Locked
from core.models import Trial, TrialStatus


def ensure_database_unlocked() -> None:
    """Refuse the change while the trial database is locked for analysis."""
    if Trial.objects.filter(status=TrialStatus.LOCKED).exists():
        raise Locked(
            _(
                "The trial database is locked for analysis: no data can be entered or changed. "
                "Ask the statistician to unlock it if a correction is needed."
            )
        )
