"""Accounts: created and changed by the administration, passwords set only by their owners.

The administrator never sets or sees a password: a new account gets an unusable one and a one-time link
(Django's default_token_generator: it expires after PASSWORD_RESET_TIMEOUT and stops working once the
password changes, i.e. once used) to set its own. Clinics without e-mail print the link on the server
with `manage.py account_link` (audited). An e-mail change is told to the old address, and an account whose
address the administration changed holds no identity or unblinded role until a second person approves
it again: redirecting an investigator's links to oneself yields an account that can see nothing.
"""

import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from core.access_grants import (
    AccessChange,
    OwnAccessRefused,
    account_roles_set,
    account_sensitive_roles_suspend,
    account_sites_set,
)
from core.account_events import account_event_record
from core.audit import audited, require_reason
from core.exceptions import DomainError
from core.models import AccountEventKind
from core.tokens import user_tokens_revoke

# Fields of the account row the administration may change; never the password, superuser flag,
# raw permissions or login times.
EDITABLE_FIELDS = ("first_name", "last_name", "email", "is_active", "is_staff")
OWN_FIELDS_REFUSED = ("is_active", "is_staff")


class MailNotSent(DomainError):
    status_code = 503


def password_link_path(user) -> str:
    """The path of a one-time link with which `user` sets a password (valid until used or expired)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:set_password", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


def _send(subject: str, body: str, to: str) -> None:
    try:
        send_mail(subject, body, None, [to])
    except (OSError, smtplib.SMTPException) as error:
        # Nothing is kept: the caller's transaction rolls back and the administrator can try again, or
        # give the link on the server (manage.py account_link).
        message = _("The e-mail could not be sent (%(error)s); nothing was changed.") % {"error": error}
        raise MailNotSent(message) from error


@transaction.atomic
def account_password_link_send(*, user, by, base_url: str, reason: str) -> None:
    """E-mail `user` a one-time link to set a password; the link is never shown to `by`."""
    reason = require_reason(reason)
    if not user.email:
        message = _("This account has no e-mail address: give the link with `manage.py account_link` on the server.")
        raise DomainError({"email": [message]})
    account_event_record(
        kind=AccountEventKind.PASSWORD_LINK_ISSUED, user=user, by=by, reason=reason, detail={"via": "e-mail"}
    )
    body = _(
        "An account of the IVF Trial Data Manager is waiting for you (user name: %(username)s).\n"
        "Set your password here; the link works once and expires in %(days)s days:\n\n%(link)s\n"
    ) % {
        "username": user.get_username(),
        "days": settings.PASSWORD_RESET_TIMEOUT // 86400,
        "link": base_url.rstrip("/") + password_link_path(user),
    }
    _send(_("Set your password"), body, user.email)


@transaction.atomic
def account_password_link_print(*, user, base_url: str, reason: str) -> str:
    """The one-time link for the server's operator to hand over in person (clinics without e-mail)."""
    reason = require_reason(reason)
    with audited(by=None, reason=reason):  # the operator, not the account: account_event_record's default
        account_event_record(
            kind=AccountEventKind.PASSWORD_LINK_ISSUED, user=user, reason=reason, detail={"via": "server command"}
        )
    return base_url.rstrip("/") + password_link_path(user)


@dataclass(frozen=True)
class AccountCreated:
    user: object
    roles: AccessChange
    sites: AccessChange


@transaction.atomic
def account_create(*, data: dict, groups, sites, by, reason: str, base_url: str) -> AccountCreated:
    """A new account with an unusable password, its roles and sites (sensitive ones pending approval), and
    its set-password link e-mailed."""
    reason = require_reason(reason)
    user = get_user_model()(username=data["username"], **{f: data[f] for f in EDITABLE_FIELDS if f in data})
    user.set_unusable_password()
    with audited(by=by, reason=reason):
        user.save()
    roles = account_roles_set(user=user, groups=groups, by=by, reason=reason)
    memberships = account_sites_set(user=user, sites=sites, by=by, reason=reason)
    if user.email:
        account_password_link_send(user=user, by=by, base_url=base_url, reason=reason)
    return AccountCreated(user=user, roles=roles, sites=memberships)


@transaction.atomic
def account_update(*, user, data: dict, by, reason: str) -> list[str]:
    """Change the account's editable fields; returns the names changed. Deactivation ends its tokens."""
    reason = require_reason(reason)
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    changed = [f for f in EDITABLE_FIELDS if f in data and getattr(user, f) != data[f]]
    if user.is_superuser and not by.is_superuser and changed:
        raise OwnAccessRefused(_("Only a superuser may change a superuser's account."))
    if user.pk == by.pk and set(changed) & set(OWN_FIELDS_REFUSED):
        raise OwnAccessRefused(_("Nobody may change their own roles, site memberships or privileges."))
    if not changed:
        return []
    old_email = user.email
    for field in changed:
        setattr(user, field, data[field])
    with audited(by=by, reason=reason):
        user.save(update_fields=changed)
    if "email" in changed:
        _email_change_notify(user=user, old=old_email, by=by, reason=reason)
        if by.pk != user.pk:
            account_sensitive_roles_suspend(
                user=user,
                by=by,
                reason=_("E-mail address changed by %(by)s: %(reason)s") % {"by": by.get_username(), "reason": reason},
            )
    if "is_active" in changed and not user.is_active:
        user_tokens_revoke(user=user, by=by, reason=reason)
    return changed


def _email_change_notify(*, user, old: str, by, reason: str) -> None:
    account_event_record(
        kind=AccountEventKind.EMAIL_CHANGED, user=user, by=by, reason=reason, detail={"old": old, "new": user.email}
    )
    if not old:
        return
    body = _(
        "The e-mail address of your IVF Trial Data Manager account %(username)s was changed from this address "
        "to %(new)s by %(by)s.\nIf you did not ask for this, tell your trial's data manager at once.\n"
    ) % {"username": user.get_username(), "new": user.email, "by": by.get_username()}
    _send(_("Your account's e-mail address was changed"), body, old)


def account_password_changed(*, user, reason: str) -> None:
    """After the owner set a new password (own page or one-time link): every API token of hers ends."""
    user_tokens_revoke(user=user, by=user, reason=reason)


@transaction.atomic
def access_review_record(*, by, remarks: str, accounts: int, unused: list[str]):
    """The administrator's periodic review of who holds which access (ICH E6(R3) 4.3.8), in the trail."""
    if not by.has_perm("core.review_access"):
        raise PermissionDenied(_("Only the administrator reviews access."))
    remarks = require_reason(remarks)
    return account_event_record(
        kind=AccountEventKind.ACCESS_REVIEWED,
        user=by,
        by=by,
        reason=remarks,
        detail={"remarks": remarks, "accounts": accounts, "unused_90_days": unused},
    )
