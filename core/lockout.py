"""Lockout after failed logins, shared by the login page, the token endpoint and the e-signature.

Two locks, both refusing even the right password:
- that user at that address (django-axes, AXES_LOCKOUT_PARAMETERS, AXES_FAILURE_LIMIT failures; lifts after
  AXES_COOLOFF_TIME), so colleagues behind one proxy keep working while one of them mistypes;
- the account, after ACCOUNT_LOCK_FAILURES consecutive failures from any addresses, until an admin
  unlocks it with a reason. Its state is the account's last ACCOUNT_LOCKED / ACCOUNT_UNLOCKED event:
  the append-only, hash-chained trail is the record, so nobody can lift a lock without leaving one.

Every failure reaches this module through Django's `user_login_failed` signal (core/signals.py), which
`authenticate()` sends on every path that checks a password.
"""

import ipaddress
from enum import StrEnum

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.account_events import MAX_USERNAME_LENGTH, account_event_record
from core.audit import require_reason
from core.exceptions import InvalidTransition
from core.models import AccountEvent, AccountEventKind
from core.tokens import user_tokens_revoke

UNLOCK_PERMISSION = "auth.change_user"  # the administrator's: she manages accounts
# Passed to authenticate() and so to user_login_failed: the failure is an e-signature's, not a login's.
PURPOSE_SIGNATURE = "e-signature"

_COUNTED = [AccountEventKind.LOGIN_FAILED, AccountEventKind.SIGNATURE_FAILED]
# A failure run ends with a success or a lock decision; the count starts again after it.
_RUN_ENDS = [
    AccountEventKind.LOGIN,
    AccountEventKind.TOKEN_ISSUED,
    AccountEventKind.ACCOUNT_LOCKED,
    AccountEventKind.ACCOUNT_UNLOCKED,
]
_LOCK_KINDS = [AccountEventKind.ACCOUNT_LOCKED, AccountEventKind.ACCOUNT_UNLOCKED]


class Lock(StrEnum):
    ADDRESS = "address"  # this user at this address, for AXES_COOLOFF_TIME
    ACCOUNT = "account"  # the account, until an admin unlocks it


MESSAGES = {
    Lock.ADDRESS: _("Too many failed attempts from this address: try again in 30 minutes."),
    Lock.ACCOUNT: _("This account is locked after too many failed attempts. Ask an administrator to unlock it."),
}


# --- The client's address --------------------------------------------------------------------------


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE): REMOTE_ADDR, or the trusted proxy's header.

    Each trusted proxy appends the address it received the request from, so with N proxies the client is
    the N-th entry from the right; entries further left were written by the client and are never used.
    """
    remote = _address(request.META.get("REMOTE_ADDR"))
    if not settings.TRUSTED_PROXY_HEADER:
        return remote
    hops = [hop for hop in request.META.get(settings.TRUSTED_PROXY_HEADER, "").split(",") if hop.strip()]
    count = max(settings.TRUSTED_PROXY_COUNT, 1)
    if len(hops) < count:  # did not come through the proxies (e.g. a health check on the host)
        return remote
    return _address(hops[-count]) or remote


# --- Lock state -----------------------------------------------------------------------------------


def _last_lock_kind(events) -> str | None:
    return events.filter(kind__in=_LOCK_KINDS).order_by("-pk").values_list("kind", flat=True).first()


def account_is_locked(user) -> bool:
    return _last_lock_kind(AccountEvent.objects.filter(user=user)) == AccountEventKind.ACCOUNT_LOCKED


def username_is_locked(username: str) -> bool:
    if len(username) > MAX_USERNAME_LENGTH:
        return False  # no such account
    field = get_user_model().USERNAME_FIELD
    events = AccountEvent.objects.filter(**{f"user__{field}": username})
    return _last_lock_kind(events) == AccountEventKind.ACCOUNT_LOCKED


def consecutive_failures(user) -> int:
    """Failed passwords since the account's last success, lock or unlock (refusals by a lock not counted)."""
    events = AccountEvent.objects.filter(user=user)
    since = events.filter(kind__in=_RUN_ENDS).aggregate(last=Max("pk"))["last"] or 0
    return events.filter(kind__in=_COUNTED, pk__gt=since).exclude(detail__has_key="refused").count()


def locked_accounts():
    """Accounts whose last lock event locked them, with when (`locked_at`), oldest first."""
    last = AccountEvent.objects.filter(user=OuterRef("pk"), kind__in=_LOCK_KINDS).order_by("-pk")
    return (
        get_user_model()
        .objects.annotate(lock_kind=Subquery(last.values("kind")[:1]), locked_at=Subquery(last.values("at")[:1]))
        .filter(lock_kind=AccountEventKind.ACCOUNT_LOCKED)
        .order_by("locked_at", "pk")
    )


# --- Authentication -------------------------------------------------------------------------------


class LockoutBackend(AxesStandaloneBackend):
    """axes' lock of this user at this address, then the account lock; refuses before any password check.

    Marks the request with the lock that refused it (`request.lockout`), so the refusal is not counted as
    a guessed password and each caller can say which lock it is.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and username and username_is_locked(str(username)):
            request.lockout = Lock.ACCOUNT
            request.axes_locked_out = True  # AxesMiddleware then answers with lockout_response()
            raise PermissionDenied(MESSAGES[Lock.ACCOUNT])
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            request.lockout = Lock.ADDRESS
            raise


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the lock's message, as JSON for the API and as a page otherwise."""
    lock = getattr(request, "lockout", None) or Lock.ADDRESS
    status = 403 if lock == Lock.ACCOUNT else 429
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(MESSAGES[lock])}, status=status)
    context = {"message": MESSAGES[lock], "account_locked": lock == Lock.ACCOUNT}
    return render(request, "registration/locked_out.html", context, status=status)


def login_failure_record(*, request, credentials: dict) -> AccountEvent:
    """user_login_failed: record the failure (or a lock's refusal); lock the account after too many."""
    field = get_user_model().USERNAME_FIELD
    typed = str(credentials.get(field) or "").replace("\x00", "")
    user = get_user_model().objects.filter(**{field: typed}).first() if len(typed) <= MAX_USERNAME_LENGTH else None
    kind = AccountEventKind.SIGNATURE_FAILED if credentials.get("purpose") else AccountEventKind.LOGIN_FAILED
    refused = getattr(request, "lockout", None)
    detail = {"path": request.path[:200]} if request is not None else {}
    if refused:
        detail["refused"] = str(refused)
    with transaction.atomic():
        if user is not None:  # one failure at a time per account: the count and the lock agree
            get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        event = account_event_record(kind=kind, user=user, username=typed, request=request, detail=detail)
        if user is not None and not refused:
            _lock_if_too_many(user, request)
    return event


def _lock_if_too_many(user, request) -> None:
    failures = consecutive_failures(user)
    if failures >= settings.ACCOUNT_LOCK_FAILURES and not account_is_locked(user):
        account_event_record(
            kind=AccountEventKind.ACCOUNT_LOCKED,
            user=user,
            request=request,
            reason=f"{failures} consecutive failed attempts",
            detail={"failures": failures},
        )
        # A lock is for an account under attack: tokens issued before it stop working too, until an admin
        # has looked (the holder logs in again after the unlock).
        user_tokens_revoke(user=user, by=None, reason=f"Account locked after {failures} consecutive failed attempts")


class Reauthentication(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    # Refused by a lock before the password was checked; MESSAGES[Lock(outcome)] says which.
    LOCKED_AT_ADDRESS = Lock.ADDRESS.value
    LOCKED_ACCOUNT = Lock.ACCOUNT.value


def reauthenticate(*, user, username: str, password: str, request) -> Reauthentication:
    """Re-identify a signed-in user by both components (21 CFR 11.200(a)) through the login's lockout.

    A failure is a failed login of that user at that address for axes, and a SIGNATURE_FAILED event
    committed at once: call this outside any transaction, so that refusing the signature cannot undo it.
    """
    name = user.get_username()
    accepted = authenticate(request, username=name, password=password, purpose=PURPOSE_SIGNATURE)
    lock = getattr(request, "lockout", None)
    # The signing page shows the refusal on its form; AxesMiddleware would replace the page instead.
    request.axes_locked_out = False
    if lock:
        return Reauthentication(str(lock))
    if accepted is None:
        return Reauthentication.REFUSED
    if (username or "").strip() != name:  # the right password under another name: a failure all the same
        user_login_failed.send(__name__, credentials={"username": name, "purpose": PURPOSE_SIGNATURE}, request=request)
        return Reauthentication.REFUSED
    return Reauthentication.ACCEPTED


@transaction.atomic
def account_unlock(*, user, reason: str, by, request=None) -> AccountEvent:
    """Lift an account lock (the admin's reason recorded) and the user's address locks with it."""
    if not by.has_perm(UNLOCK_PERMISSION):
        raise PermissionDenied(_("Only the administrator unlocks accounts."))
    reason = require_reason(reason)
    get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).first()
    if not account_is_locked(user):
        raise InvalidTransition(_("%(username)s's account is not locked.") % {"username": user.get_username()})
    AxesProxyHandler.reset_attempts(username=user.get_username())
    return account_event_record(
        kind=AccountEventKind.ACCOUNT_UNLOCKED,
        user=user,
        by=by,
        request=request,
        reason=reason,
        detail={"reason": reason},
    )
