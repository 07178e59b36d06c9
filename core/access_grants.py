"""Who holds which role and site: changes by the administration, with four eyes on sensitive access.

The rules (21 CFR 11.10(d),(g); ICH E6(R3) 4.3.8):
- Nobody changes their own roles, site memberships, staff flag or superuser flag; no service sets
  `is_superuser` (superusers come only from `createsuperuser` on the server), and only a superuser
  changes a superuser's account.
- A role that sees identity (site_staff, investigator) or unblinded results (statistician), and every
  site membership (a membership is the key to a site's data), is only *requested*: an `AccessGrant`
  waits until a second person approves it, and only then is the group or membership row written.
  Who approves: a membership of site S, an investigator of S; a role that sees identity, an
  investigator of every site the account belongs to (of any site when it belongs to none yet: each
  later membership needs its own site's approval); a role that sees unblinded results, a statistician.
  Never the account itself nor the person who asked.
- The first investigator of a site, or the first statistician, has nobody to approve them: the server's
  operator decides with `manage.py access_decide` (audited, like `createsuperuser`).
- Removing access needs no approval and takes effect at once.
- A group or membership row is in effect however it was written; the application writes sensitive ones
  only through an approved grant (rows written directly by tests or a shell are in effect as they are).
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.audit import audited, require_reason
from core.exceptions import DomainError
from core.models import AccessGrant, GrantKind, GrantStatus, Site, SiteMembership
from core.roles import SEES_IDENTITY, SEES_UNBLINDED
from core.tokens import user_tokens_revoke

IDENTITY, UNBLINDED = "identity", "unblinded"


class OwnAccessRefused(DomainError):
    """Someone tried to change their own privileges (or a superuser's without being one)."""

    status_code = 403


def refuse_own_access_change(*, user, by) -> None:
    if by is not None and by.pk == user.pk:
        raise OwnAccessRefused(_("Nobody may change their own roles, site memberships or privileges."))
    if user.is_superuser and by is not None and not by.is_superuser:
        raise OwnAccessRefused(_("Only a superuser may change a superuser's account."))


def group_sensitivity(group: Group) -> str:
    """'identity', 'unblinded' or '' for a role, from its permissions as stored (one query)."""
    codenames = {f"{app}.{code}" for app, code in group.permissions.values_list("content_type__app_label", "codename")}
    if SEES_IDENTITY in codenames:
        return IDENTITY
    if SEES_UNBLINDED in codenames:
        return UNBLINDED
    return ""


@dataclass(frozen=True)
class AccessChange:
    """What a change of roles or sites did: applied at once, and waiting for approval."""

    applied: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    requested: tuple[AccessGrant, ...] = ()
    withdrawn: tuple[AccessGrant, ...] = ()


def _pending(user, kind: str) -> dict[int, AccessGrant]:
    grants = AccessGrant.objects.filter(user=user, kind=kind, status=GrantStatus.PENDING)
    return {(g.group_id if kind == GrantKind.ROLE else g.site_id): g for g in grants}


def _request(*, user, kind: str, by, reason: str, group=None, site=None) -> AccessGrant:
    return AccessGrant.objects.create(
        user=user, kind=kind, group=group, site=site, requested_by=by, reason=reason, status=GrantStatus.PENDING
    )


def _withdraw(grants, *, by, reason: str) -> None:
    for grant in grants:
        grant.status, grant.decided_by, grant.decided_at = GrantStatus.WITHDRAWN, by, timezone.now()
        grant.decision_reason = reason
        grant.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])


@transaction.atomic
def account_roles_set(*, user, groups, by, reason: str) -> AccessChange:
    """Make the account's roles `groups`: removals at once, sensitive additions as pending grants."""
    wanted = {g.pk: g for g in groups}
    current = {g.pk: g for g in user.groups.all()}
    pending = _pending(user, GrantKind.ROLE)
    removed = [current[pk] for pk in current if pk not in wanted]
    added = [g for pk, g in wanted.items() if pk not in current and pk not in pending]
    if not (removed or added or set(pending) - set(wanted)):
        return AccessChange()
    refuse_own_access_change(user=user, by=by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        if removed:
            user.groups.remove(*removed)
        _withdraw([g for pk, g in pending.items() if pk not in wanted], by=by, reason=reason)
        direct = [g for g in added if not group_sensitivity(g)]
        if direct:
            user.groups.add(*direct)
        requested = [
            _request(user=user, kind=GrantKind.ROLE, group=g, by=by, reason=reason) for g in added if g not in direct
        ]
    if removed or direct:
        user_tokens_revoke(user=user, by=by, reason=reason)
    return AccessChange(
        applied=tuple(g.name for g in direct),
        removed=tuple(g.name for g in removed),
        requested=tuple(requested),
        withdrawn=tuple(g for pk, g in pending.items() if pk not in wanted),
    )


@transaction.atomic
def account_sites_set(*, user, sites, by, reason: str) -> AccessChange:
    """Make the account's sites `sites`: removals at once, every addition a pending grant."""
    wanted = {s.pk: s for s in sites}
    memberships = {m.site_id: m for m in SiteMembership.objects.filter(user=user).select_related("site")}
    pending = _pending(user, GrantKind.MEMBERSHIP)
    removed = [m for site_id, m in memberships.items() if site_id not in wanted]
    if not (removed or set(wanted) - set(memberships) - set(pending) or set(pending) - set(wanted)):
        return AccessChange()
    refuse_own_access_change(user=user, by=by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        for membership in removed:
            membership.delete()
        withdrawn = [g for site_id, g in pending.items() if site_id not in wanted]
        _withdraw(withdrawn, by=by, reason=reason)
        requested = [
            _request(user=user, kind=GrantKind.MEMBERSHIP, site=site, by=by, reason=reason)
            for site_id, site in wanted.items()
            if site_id not in memberships and site_id not in pending
        ]
    if removed:
        user_tokens_revoke(user=user, by=by, reason=reason)
    return AccessChange(
        removed=tuple(m.site.code for m in removed), requested=tuple(requested), withdrawn=tuple(withdrawn)
    )


@transaction.atomic
def account_sensitive_roles_suspend(*, user, by, reason: str) -> tuple[AccessGrant, ...]:
    """Take the account's identity and unblinded roles back into pending grants, to be approved again.

    Used when the administration redirects an account's e-mail: whoever controls the address can set the
    password through a one-time link, so without this an administrator could change an investigator's
    address to its own, send itself a link and read identity as the investigator.
    """
    sensitive = [g for g in user.groups.all() if group_sensitivity(g)]
    if not sensitive:
        return ()
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        user.groups.remove(*sensitive)
        requested = tuple(
            _request(user=user, kind=GrantKind.ROLE, group=g, by=by, reason=reason)
            for g in sensitive
            if g.pk not in _pending(user, GrantKind.ROLE)
        )
    user_tokens_revoke(user=user, by=by, reason=reason)
    return requested


def may_decide(grant: AccessGrant, user) -> bool:
    """Whether `user` may approve or reject `grant` (see the module's rules)."""
    if not user.is_authenticated or not user.is_active or user.pk in (grant.user_id, grant.requested_by_id):
        return False
    if grant.kind == GrantKind.MEMBERSHIP:
        return user.has_perm("core.approve_site_access") and grant.site_id in access.member_site_ids(user)
    if group_sensitivity(grant.group) == UNBLINDED:
        return user.has_perm("core.approve_unblinded_access")
    if not user.has_perm("core.approve_site_access"):
        return False
    theirs = access.member_site_ids(grant.user)
    mine = access.member_site_ids(user)
    return theirs <= mine if theirs else bool(mine)


def _apply(grant: AccessGrant) -> None:
    if grant.kind == GrantKind.ROLE:
        grant.user.groups.add(grant.group)
    else:
        SiteMembership.objects.get_or_create(user=grant.user, site=grant.site)


@transaction.atomic
def access_grant_decide(*, grant: AccessGrant, approve: bool, by, reason: str) -> AccessGrant:
    """Approve (apply) or reject a pending grant; `by=None` is the server's operator (manage.py command)."""
    reason = require_reason(reason)
    grant = AccessGrant.objects.select_for_update(of=("self",)).select_related("user", "group", "site").get(pk=grant.pk)
    if grant.status != GrantStatus.PENDING:
        raise DomainError(_("This request was already decided (%(status)s).") % {"status": grant.get_status_display()})
    if by is not None and not may_decide(grant, by):
        raise PermissionDenied(_("You may not decide this request."))
    with audited(by=by, reason=reason):
        grant.status = GrantStatus.APPROVED if approve else GrantStatus.REJECTED
        grant.decided_by, grant.decided_at, grant.decision_reason = by, timezone.now(), reason
        grant.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        if approve:
            _apply(grant)
    if approve and grant.kind == GrantKind.ROLE:
        user_tokens_revoke(user=grant.user, by=by, reason=reason)
    return grant


@transaction.atomic
def access_grant_system(*, user, reason: str, group: Group | None = None, site: Site | None = None) -> bool:
    """Give access as the system (demo seeding on the server), recorded as an approved grant; False if held."""
    reason = require_reason(reason)
    if group is not None and user.groups.filter(pk=group.pk).exists():
        return False
    if site is not None and SiteMembership.objects.filter(user=user, site=site).exists():
        return False
    kind = GrantKind.ROLE if group is not None else GrantKind.MEMBERSHIP
    with audited(by=None, reason=reason):
        grant = AccessGrant.objects.create(
            user=user,
            kind=kind,
            group=group,
            site=site,
            reason=reason,
            status=GrantStatus.APPROVED,
            decided_at=timezone.now(),
            decision_reason=reason,
        )
        _apply(grant)
    return True
