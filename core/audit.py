"""Audit context: who, why and which request, attached to every pghistory event a service writes."""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

import pghistory
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from pghistory import runtime

from core.exceptions import ReasonRequired

_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The patients whose clinical data the outermost audited write has changed so far (None outside one).
_changed_patients: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar("changed_patients", default=None)


def current_request_id() -> str:
    return _current_request_id.get()


def set_request_id(request_id: str) -> contextvars.Token:
    return _current_request_id.set(request_id)


def reset_request_id(token: contextvars.Token) -> None:
    _current_request_id.reset(token)


def _context_active() -> bool:
    return hasattr(runtime._tracker, "value")


@contextmanager
def audited(*, by, reason: str = "", data_change: bool = True) -> Iterator[None]:
    """Run a change atomically inside an audit context carrying user, reason and request id.

    Each outermost service call opens its own pghistory context: a request-wide context would be
    shared by every change in the request, so the last reason given would be recorded against all.
    A service called from another service joins the caller's context (and its reason).
    """
    if _context_active():
        with transaction.atomic():
            yield
        return
    metadata = {
        "user": by.pk if by is not None else None,
        "username": by.get_username() if by is not None else "system",
        "reason": reason.strip(),
        "request_id": current_request_id(),
    }
    changed = _changed_patients.set(set())
    try:
        with pghistory.context(**metadata), transaction.atomic():
            yield
            _after_clinical_change(_changed_patients.get())
            hook = getattr(settings, "AUDITED_CHANGE_HOOK", "")
            # data_change=False: an account event (a login, a token) is not the trial's data; it must not mark
            # the statistics stale nor schedule their recomputation.
            if hook and data_change:
                # Runs once the change is committed (never for a rolled-back one), e.g. to schedule the
                # statistics recomputation.
                transaction.on_commit(import_string(hook))
    finally:
        _changed_patients.reset(changed)


def clinical_data_changed(patient_ids) -> None:
    """Say which patients' clinical data this write changed; CLINICAL_CHANGE_HOOK runs for them.

    Inside an audited write the hook runs once, for every patient the write (and the services it called)
    named, at the end of the outermost write and inside its transaction: the data and what the hook
    writes (quality's automatic queries) commit or roll back together. The hook is a setting, so that
    the clinical apps, below quality, never import it.
    """
    changed = _changed_patients.get()
    if changed is None:
        _after_clinical_change(set(patient_ids))
    else:
        changed.update(patient_ids)


def _after_clinical_change(patient_ids: set[int]) -> None:
    hook = getattr(settings, "CLINICAL_CHANGE_HOOK", "")
    if hook and patient_ids:
        import_string(hook)(patient_ids)


def require_reason(reason: str | None) -> str:
    """Changes after first entry need a reason (SPEC §8)."""
    if reason is None or not reason.strip():
        raise ReasonRequired()
    return reason.strip()
