"""Reads about accounts: their audit trail (who, when, what, old → new, why), approvals, access review."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.access_grants import may_decide
from core.models import (
    AccessGrant,
    AccountEvent,
    AccountEventKind,
    AuditedUser,
    AuditedUserGroup,
    GrantStatus,
    Site,
    SiteMembership,
)

UNUSED_AFTER = timedelta(days=90)
# What each kind of entry is called on the Accounts page (the API gives the kind itself); AccountEvent
# kinds are named by their choice labels.
KIND_LABELS = {
    "account_created": gettext_noop("Account created"),
    "account_changed": gettext_noop("Account changed"),
    "account_deleted": gettext_noop("Account deleted"),
    "password_set": gettext_noop("Password set"),
    "role_added": gettext_noop("Role added"),
    "role_removed": gettext_noop("Role removed"),
    "membership_added": gettext_noop("Site membership added"),
    "membership_removed": gettext_noop("Site membership removed"),
    "membership_changed": gettext_noop("Site membership changed"),
    "access_requested": gettext_noop("Access requested"),
    "access_granted": gettext_noop("Access granted"),
    "access_approved": gettext_noop("Access approved"),
    "access_rejected": gettext_noop("Access refused"),
    "access_withdrawn": gettext_noop("Access request withdrawn"),
    "access_pending": gettext_noop("Access requested"),
}
_USER_FIELDS = ["username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser"]


@dataclass(frozen=True)
class AccountAuditEntry:
    at: datetime
    account: str
    actor: str
    kind: str
    changes: dict = field(default_factory=dict)  # field → (old, new)
    reason: str = ""
    request_id: str = ""
    model: str = ""
    event_id: int = 0

    @property
    def kind_label(self) -> str:
        """The kind in the request's language (the page); unknown kinds as they are."""
        if self.kind in KIND_LABELS:
            return _(KIND_LABELS[self.kind])
        return str(AccountEventKind(self.kind).label) if self.kind in AccountEventKind.values else self.kind

    @property
    def actor_label(self) -> str:
        return _("system") if self.actor == "system" else self.actor

    @property
    def position(self) -> str:
        """Unique across the event tables and sorting oldest first (what API cursors point at)."""
        return f"{self.at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{self.model}|{self.event_id:012d}"


def require_account_audit_viewer(user) -> None:
    if not user.has_perm("core.view_account_audit"):
        raise PermissionDenied(_("Only the administrator and the statistician read the accounts' trail."))


class _Names:
    """Account, role and site names by id, read once each (rows may be gone: then '#id')."""

    def __init__(self):
        self.users = dict(get_user_model().objects.values_list("pk", "username"))
        self.groups = dict(Group.objects.values_list("pk", "name"))
        self.sites = dict(Site.objects.values_list("pk", "code"))

    def user(self, pk):
        return self.users.get(pk, f"#{pk}") if pk is not None else ""


def _entry(event, *, account: str, kind: str, changes: dict) -> AccountAuditEntry:
    metadata = event.pgh_context.metadata if event.pgh_context_id else {}
    return AccountAuditEntry(
        at=event.pgh_created_at,
        account=account,
        actor=metadata.get("username", "system"),
        kind=kind,
        changes=changes,
        reason=metadata.get("reason", ""),
        request_id=metadata.get("request_id", ""),
        model=event._meta.label,
        event_id=event.pgh_id,
    )


def _user_entries() -> list[AccountAuditEntry]:
    events = AuditedUser.pgh_event_model.objects.select_related("pgh_context").order_by("pgh_obj_id", "pgh_id")
    entries = []
    for _pk, row_events in groupby(events, key=lambda e: e.pgh_obj_id):
        previous = None
        for event in row_events:
            current = {name: getattr(event, name) for name in _USER_FIELDS}
            if event.pgh_label == "password_set":
                entries.append(_entry(event, account=event.username, kind="password_set", changes={}))
                continue
            changes = {
                name: (None if previous is None else previous[name], value)
                for name, value in current.items()
                if previous is None or previous[name] != value
            }
            kind = {"insert": "account_created", "delete": "account_deleted"}.get(event.pgh_label, "account_changed")
            if kind == "account_changed" and not changes:
                continue
            entries.append(_entry(event, account=event.username, kind=kind, changes=changes))
            previous = current
    return entries


def _group_entries(names: _Names, since) -> list[AccountAuditEntry]:
    events = AuditedUserGroup.pgh_event_model.objects.select_related("pgh_context").order_by("pgh_id")
    if since is not None:
        events = events.filter(pgh_created_at__gt=since)
    entries = []
    for event in events:
        role = names.groups.get(event.group_id, f"#{event.group_id}")
        added = event.pgh_label == "insert"
        changes = {"role": (None, role) if added else (role, None)}
        kind = "role_added" if added else "role_removed"
        entries.append(_entry(event, account=names.user(event.user_id), kind=kind, changes=changes))
    return entries


def _membership_entries(names: _Names) -> list[AccountAuditEntry]:
    events = SiteMembership.pgh_event_model.objects.select_related("pgh_context").order_by("pgh_obj_id", "pgh_id")
    entries = []
    for _pk, row_events in groupby(events, key=lambda e: e.pgh_obj_id):
        previous = None
        for event in row_events:
            site = names.sites.get(event.site_id, f"#{event.site_id}")
            if event.pgh_label == "delete":
                kind, changes = "membership_removed", {"site": (site, None)}
            elif previous is None:
                kind, changes = "membership_added", {"site": (None, site)}
            else:
                kind, changes = "membership_changed", {"site": (previous, site)}
            entries.append(_entry(event, account=names.user(event.user_id), kind=kind, changes=changes))
            previous = site
    return entries


def _grant_entries(names: _Names, since) -> list[AccountAuditEntry]:
    events = AccessGrant.pgh_event_model.objects.select_related("pgh_context").order_by("pgh_id")
    if since is not None:
        events = events.filter(pgh_created_at__gt=since)
    entries = []
    for event in events:
        what = names.groups.get(event.group_id) if event.group_id else names.sites.get(event.site_id)
        target = "role" if event.group_id else "site"
        if event.pgh_label == "insert":
            kind = "access_requested" if event.status == GrantStatus.PENDING else "access_granted"
            changes = {target: (None, what), "status": (None, event.status)}
        else:
            kind = f"access_{event.status}"
            changes = {target: (what, what), "status": (GrantStatus.PENDING.value, event.status)}
        entries.append(_entry(event, account=names.user(event.user_id), kind=kind, changes=changes))
    return entries


def _account_event_entries(since) -> list[AccountAuditEntry]:
    events = AccountEvent.pgh_event_model.objects.select_related("pgh_context").order_by("pgh_id")
    if since is not None:
        events = events.filter(pgh_created_at__gt=since)
    entries = []
    for event in events:
        detail = dict(event.detail or {})
        changes = {}
        if "old" in detail or "new" in detail:
            changes["email" if event.kind == AccountEventKind.EMAIL_CHANGED else "value"] = (
                detail.pop("old", None),
                detail.pop("new", None),
            )
        changes.update({key: (None, value) for key, value in detail.items()})
        if event.ip_address:
            changes["ip_address"] = (None, event.ip_address)
        entries.append(_entry(event, account=event.username, kind=event.kind, changes=changes))
    return entries


def account_audit_events(*, user, since: datetime | None = None) -> list[AccountAuditEntry]:
    """Every account change and account event, oldest first; diffed before `since` is applied."""
    require_account_audit_viewer(user)
    names = _Names()
    entries = [
        *_user_entries(),
        *_membership_entries(names),
        *_group_entries(names, since),
        *_grant_entries(names, since),
        *_account_event_entries(since),
    ]
    if since is not None:
        entries = [entry for entry in entries if entry.at > since]
    return sorted(entries, key=lambda entry: entry.position)


def access_grants_to_decide(*, user) -> list[AccessGrant]:
    """Pending grants `user` may approve or reject (small lists: the check runs per grant)."""
    pending = AccessGrant.objects.filter(status=GrantStatus.PENDING).select_related(
        "user", "group", "site", "requested_by"
    )
    return [grant for grant in pending if may_decide(grant, user)]


def access_grants_recent(*, limit: int = 20) -> list[AccessGrant]:
    return list(
        AccessGrant.objects.exclude(status=GrantStatus.PENDING)
        .select_related("user", "group", "site", "requested_by", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class AccessRow:
    user: object
    roles: list[str]
    sites: list[str]
    pending: list[str]
    active_tokens: int
    unused: bool


def _active_tokens(now) -> dict[int, int]:
    """Active API tokens per account: knox's hashed, expiring tokens when installed, else DRF's."""
    if apps.is_installed("knox"):
        tokens = apps.get_model("knox", "AuthToken").objects.filter(expiry__gt=now)
    elif apps.is_installed("rest_framework.authtoken"):
        tokens = apps.get_model("authtoken", "Token").objects.all()
    else:
        return {}
    return dict(tokens.values("user_id").annotate(n=Count("pk")).values_list("user_id", "n"))


def access_review_rows(*, user, now: datetime | None = None) -> list[AccessRow]:
    """Every account with its roles, sites, pending grants, last login and tokens; unused 90 days flagged."""
    if not user.has_perm("core.review_access"):
        raise PermissionDenied(_("Only the administrator reviews access."))
    now = now or timezone.now()
    memberships = Prefetch("site_memberships", queryset=SiteMembership.objects.select_related("site"))
    grants = Prefetch(
        "access_grants",
        queryset=AccessGrant.objects.filter(status=GrantStatus.PENDING).select_related("group", "site"),
        to_attr="pending_grants",
    )
    users = get_user_model().objects.prefetch_related("groups", memberships, grants).order_by("username")
    tokens = _active_tokens(now)
    return [
        AccessRow(
            user=account,
            roles=[g.name for g in account.groups.all()],
            sites=[m.site.code for m in account.site_memberships.all()],
            pending=[g.group.name if g.group_id else g.site.code for g in account.pending_grants],
            active_tokens=tokens.get(account.pk, 0),
            unused=account.is_active and (account.last_login or account.date_joined) < now - UNUSED_AFTER,
        )
        for account in users
    ]


def access_reviews_recent(*, limit: int = 10) -> list[AccountEvent]:
    return list(AccountEvent.objects.filter(kind=AccountEventKind.ACCESS_REVIEWED).order_by("-at", "-pk")[:limit])
