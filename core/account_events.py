"""Account events (logins, tokens, locks, password links) written into the audited, hash-chained trail."""

from axes.helpers import get_client_ip_address

from core.audit import audited
from core.models import AccountEvent

# What an account event may store beside its kind: never a password, a hash or a token's key.
MAX_USERNAME_LENGTH = 150


def client_address(request) -> str | None:
    """The client's address as the trusted proxy reports it (settings.AXES_IPWARE_* via django-axes)."""
    if request is None:
        return None
    return get_client_ip_address(request) or None


def account_event_record(
    *, kind: str, user=None, username: str = "", by=None, request=None, reason: str = "", detail: dict | None = None
) -> AccountEvent:
    """Append one account event, audited as done by `by` (default: the account itself) with `reason`."""
    name = (username or (user.get_username() if user is not None else ""))[:MAX_USERNAME_LENGTH]
    actor = by if by is not None else user
    with audited(by=actor, reason=reason or kind, data_change=False):
        return AccountEvent.objects.create(
            kind=kind,
            user=user,
            username=name,
            ip_address=client_address(request),
            detail=detail or {},
        )
