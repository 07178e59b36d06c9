"""API tokens (django-rest-knox): issued per login, stored as a SHA-512 digest, expiring, revocable.

Only knox's `token_key` (the key's first 15 of 64 hex characters, the lookup index) and the digest are
stored: the key itself is shown once, in the answer that issues it. Every issue and revocation is an
account event naming that prefix and the expiry. A password change, a deactivation and a role change
revoke all of the account's tokens in the database itself (core/token_triggers.py), whatever path made
the change; `user_tokens_revoke` is the service for revoking them on purpose.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions

from core.account_events import account_event_record
from core.audit import audited
from core.models import AccountEventKind


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's `Authorization: Token <key>`, answering 401 (not 500) for a key that is not UTF-8."""

    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _detail(token: AuthToken, **extra) -> dict:
    return {"token_key": token.token_key, "expires_at": utc_iso(token.expiry) if token.expiry else None, **extra}


def token_issue(*, user, request=None) -> tuple[AuthToken, str]:
    """A new token for `user` (already authenticated), valid REST_KNOX TOKEN_TTL; returns it and its key."""
    with audited(by=user, reason="API token issued", data_change=False):
        token, key = AuthToken.objects.create(user=user, expiry=settings.REST_KNOX["TOKEN_TTL"])
        account_event_record(kind=AccountEventKind.TOKEN_ISSUED, user=user, request=request, detail=_detail(token))
    return token, key


def _revoke(token: AuthToken, *, by, reason: str, request) -> None:
    detail = _detail(token, reason=reason)
    AuthToken.objects.filter(digest=token.digest).delete()
    account_event_record(kind=AccountEventKind.TOKEN_REVOKED, user=token.user, by=by, request=request, detail=detail)


def token_revoke(*, token: AuthToken, by, reason: str, request=None) -> None:
    """Revoke one token: its holder (DELETE /api/v1/auth/token/, "My tokens") or the administrator."""
    with audited(by=by, reason=reason, data_change=False):
        _revoke(token, by=by, reason=reason, request=request)


@transaction.atomic
def user_tokens_revoke(*, user, by, reason: str, request=None) -> int:
    """Revoke every token of `user` (one TOKEN_REVOKED event each); returns how many."""
    with audited(by=by, reason=reason, data_change=False):
        tokens = list(AuthToken.objects.select_for_update().filter(user=user).select_related("user"))
        for token in tokens:
            _revoke(token, by=by, reason=reason, request=request)
    return len(tokens)


def user_tokens_active(user):
    """The user's tokens that still work, newest first."""
    live = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
    return AuthToken.objects.filter(live, user=user).order_by("-created")


def user_token_get(*, user, token_key: str) -> AuthToken:
    """One of the user's own live tokens by its prefix; another user's answers DoesNotExist (404)."""
    return user_tokens_active(user).select_related("user").get(token_key=token_key)
