"""Trial settings the statistician changes on her page: recruitment status and blinding of results.

Each change needs a reason and is audited (the pghistory events of core.Trial carry who, when and why).
`locked` is not a setting: only the database lock service (quality.services.database_lock/unlock) sets and
clears it, with its own lock record, so a lock can never be lifted here (nor in the admin) without one.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.utils.translation import gettext as _

from core.audit import audited, require_reason
from core.exceptions import InvalidTransition, StaleVersion, ValidationFailed
from core.models import Trial, TrialStatus

PERMISSION = "core.lock_database"  # the statistician's: she also locks the database
# Where recruitment may go from each status; nothing leads to `setup` or (here) to or from `locked`.
STATUS_CHANGES = {
    TrialStatus.SETUP: {TrialStatus.RECRUITING},
    TrialStatus.RECRUITING: {TrialStatus.CLOSED},
    TrialStatus.CLOSED: {TrialStatus.RECRUITING},
}
SETTABLE_STATUSES = (TrialStatus.RECRUITING, TrialStatus.CLOSED)


def may_change_trial_settings(user) -> bool:
    return user.has_perm(PERMISSION)


def trial_settings_version(trial: Trial) -> int:
    """The trial row's version: its latest audit event (every change of the row writes one)."""
    return Trial.pgh_event_model.objects.filter(pgh_obj_id=trial.pk).aggregate(v=Max("pgh_id"))["v"] or 0


def _label(status: str) -> str:
    # Translated through core.terms.TRIAL_STATUSES (core.models is not translated itself).
    return _(TrialStatus(status).label).lower() if status in TrialStatus.values else status


def _refuse_status_change(current: str, wanted: str) -> None:
    if TrialStatus.LOCKED in (current, wanted):
        message = _("Only the database lock sets or lifts “locked”: use the database lock page, with a reason.")
        raise InvalidTransition({"status": [message]})
    if wanted not in STATUS_CHANGES.get(current, set()):
        raise InvalidTransition(
            {
                "status": [
                    _("The trial cannot go from %(from)s to %(to)s.") % {"from": _label(current), "to": _label(wanted)}
                ]
            }
        )


def _refuse_if_stale(trial: Trial, expected_version: int | None) -> None:
    if expected_version is None:
        return
    latest = Trial.pgh_event_model.objects.filter(pgh_obj_id=trial.pk).select_related("pgh_context").last()
    if latest is not None and latest.pgh_id != expected_version:
        metadata = latest.pgh_context.metadata if latest.pgh_context else {}
        raise StaleVersion(
            changed_by=metadata.get("username", "system"),
            changed_at=latest.pgh_created_at,
            current_version=latest.pgh_id,
        )


def trial_settings_update(
    *, status: str, results_blinded: bool, reason: str, by, expected_version: int | None = None
) -> Trial:
    """Set recruitment status (recruiting, closed) and blinding of results; refuses `locked` either way."""
    if not may_change_trial_settings(by):
        raise PermissionDenied(_("Only the statistician changes the trial settings."))
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        trial = Trial.objects.select_for_update().order_by("pk").first()
        _refuse_if_stale(trial, expected_version)
        changed = []
        if status != trial.status:
            _refuse_status_change(trial.status, status)
            trial.status = status
            changed.append("status")
        if results_blinded != trial.results_blinded:
            trial.results_blinded = results_blinded
            changed.append("results_blinded")
        if not changed:
            raise ValidationFailed(_("Nothing to change: the settings are already these."))
        trial.save(update_fields=changed)
    return trial
