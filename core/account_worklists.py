"""Account work on the home page (core/worklists.py): access requests to decide for those who approve
them (investigators, statisticians: core/access_grants.py), and for the administrator the requests still
waiting, locked accounts, unused accounts and the periodic access review when it is due."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.account_selectors import UNUSED_AFTER, access_grants_to_decide
from core.lockout import UNLOCK_PERMISSION, locked_accounts
from core.models import AccessGrant, AccountEvent, AccountEventKind, GrantStatus
from core.worklists import ACCOUNTS, WorkItem, WorkSection

# How often the administrator reviews who holds which access (ICH E6(R3) 4.3.8 asks for it periodically).
ACCESS_REVIEW_EVERY = timedelta(days=90)


def _to_decide(user) -> WorkItem:
    count = len(access_grants_to_decide(user=user))
    return WorkItem("access_to_decide", _("Access requests for you to decide"), count, reverse("accounts:approvals"))


def _waiting() -> WorkItem:
    count = AccessGrant.objects.filter(status=GrantStatus.PENDING).count()
    return WorkItem(
        "access_waiting",
        _("Access requests waiting for approval"),
        count,
        reverse("accounts:access_review"),
        note=_("Approved by an investigator of the site, or a statistician for unblinded access."),
    )


def _unused(now) -> WorkItem:
    count = (
        get_user_model()
        .objects.filter(is_active=True)
        .annotate(last_seen=Coalesce("last_login", "date_joined"))
        .filter(last_seen__lt=now - UNUSED_AFTER)
        .count()
    )
    return WorkItem(
        "unused_accounts", _("Active accounts unused for 90 days"), count, reverse("accounts:access_review")
    )


def _review(now) -> WorkItem:
    """Due when none was ever recorded or the latest is older than ACCESS_REVIEW_EVERY."""
    last = (
        AccountEvent.objects.filter(kind=AccountEventKind.ACCESS_REVIEWED)
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
    )
    if last is None:
        due, note = True, _("No access review recorded yet: one is due.")
    else:
        next_due = timezone.localdate(last + ACCESS_REVIEW_EVERY)
        due = last + ACCESS_REVIEW_EVERY <= now
        note = (_("Due since %(date)s.") if due else _("Next due on %(date)s.")) % {"date": next_due.isoformat()}
    return WorkItem("access_review", _("Access review"), None, reverse("accounts:access_review"), note, flagged=due)


def worklist_sections(user) -> list[WorkSection]:
    """Account items for the permissions this user holds (none for most users)."""
    now = timezone.now()
    items = []
    if user.has_perm("core.approve_site_access") or user.has_perm("core.approve_unblinded_access"):
        items.append(_to_decide(user))
    if user.has_perm("core.review_access"):
        items += [_waiting(), _unused(now), _review(now)]
    if user.has_perm(UNLOCK_PERMISSION):
        items.append(
            WorkItem(
                "locked_accounts", _("Locked accounts"), locked_accounts().count(), reverse("tokens:locked_accounts")
            )
        )
    return [WorkSection(ACCOUNTS, _("Accounts and access"), tuple(items))] if items else []
