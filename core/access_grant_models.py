"""Requests for access that sees identity or unblinded results (four eyes): a part of core.models, which
re-exports it, kept apart so that module stays readable."""

import pghistory
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class GrantKind(models.TextChoices):
    ROLE = "role", _("Role")
    MEMBERSHIP = "membership", _("Site membership")


class GrantStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    # A request withdrawn (not a patient who withdrew, which the catalogue holds as 已退出).
    WITHDRAWN = "withdrawn", pgettext_lazy("access request", "Withdrawn")


@pghistory.track()
class AccessGrant(models.Model):
    """A request to give an account a role or a site membership that sees identity or unblinded results.

    Four eyes (21 CFR 11.10(g)): the role or membership row is written only when another person with the
    right to decide approves (core/access_grants.py says who), so an administrator cannot create an
    account that reads identity. Roles that see neither are given at once (the role's own event records
    them); group and membership rows written directly (tests, a shell on the server) are in effect.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_grants")
    kind = models.CharField(max_length=20, choices=GrantKind.choices)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    site = models.ForeignKey("core.Site", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Null: granted by the system (demo seeding) or decided by the server's operator (manage.py command).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(db_default=Now())
    reason = models.TextField()
    status = models.CharField(max_length=20, choices=GrantStatus.choices, default=GrantStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="role", group__isnull=False, site__isnull=True))
                | (models.Q(kind="membership", group__isnull=True, site__isnull=False)),
                name="grant_is_a_role_or_a_membership",
            ),
            models.UniqueConstraint(
                fields=["user", "kind", "group", "site"],
                condition=models.Q(status="pending"),
                nulls_distinct=False,
                name="one_pending_grant_per_access",
            ),
        ]
        permissions = [
            ("approve_site_access", "Approve roles and memberships that see identity at own sites"),
            ("approve_unblinded_access", "Approve roles that see unblinded results"),
            ("view_account_audit", "Read the accounts' audit trail"),
            ("review_access", "Record periodic access reviews"),
        ]

    def __str__(self):
        what = self.group.name if self.kind == GrantKind.ROLE else self.site.code
        return f"{self.user} ← {what} ({self.status})"
