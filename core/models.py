"""Trial configuration (stored as data), sites and memberships, and the base of every clinical record."""

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import User
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.foreign_keys import statement_foreign_keys
from core.time_zones import valid_time_zone


class TrialStatus(models.TextChoices):
    SETUP = "setup", "Setup"
    RECRUITING = "recruiting", "Recruiting"
    CLOSED = "closed", "Closed"
    LOCKED = "locked", "Locked"


@pghistory.track()
class Trial(models.Model):
    """The trial this deployment runs; one row (the first trial configured)."""

    name = models.CharField(max_length=300)
    registration_id = models.CharField(max_length=100, blank=True)
    target_sample_size = models.PositiveIntegerField()
    allocation_ratio = models.CharField(max_length=20, default="1:1")
    results_blinded = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=TrialStatus.choices, default=TrialStatus.SETUP)

    class Meta:
        # Role permissions live here because they are about the trial as a whole, not one table.
        permissions = [
            ("enter_clinical_data", "Enter and edit clinical data of own sites"),
            ("view_identity", "See identity (PHI) of own sites' patients"),
            ("view_all_sites", "Read clinical data of every site"),
            ("view_dashboards", "View outcome dashboards"),
            ("sign_casebook", "Sign casebooks electronically"),
            ("raise_query", "Raise and close data queries"),
            ("verify_source_data", "Mark forms source-data-verified"),
            ("view_allocation", "See allocation lists and unused slots"),
            ("manage_allocation", "Generate, import, put live and extend allocation lists"),
            ("flag_randomization_error", "Mark a randomization as made in error"),
            ("view_unblinded_results", "See results by arm when results are blinded"),
            ("export_data", "Export analysis data sets"),
            ("recompute_statistics", "Trigger statistics recomputation"),
            ("lock_database", "Lock and unlock the trial database"),
        ]

    def __str__(self):
        return self.name


@pghistory.track()
class Arm(models.Model):
    code = models.CharField(max_length=10, unique=True)
    label = models.CharField(max_length=200)
    is_control = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["is_control"], condition=models.Q(is_control=True), name="one_control_arm")
        ]

    def __str__(self):
        return f"{self.code} — {self.label}"


@pghistory.track()
class Site(models.Model):
    code = models.CharField(
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2,6}$", "Site code is 2–6 uppercase letters.")],
    )
    name = models.CharField(max_length=200)
    # Where the site's staff read times (the audit trail shows them in it, with the UTC offset): an IANA name.
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai", validators=[valid_time_zone])

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.name}"


# Deletes too: removing someone from a site is an account change the trail must show (old → nothing).
@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class SiteMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="one_membership_per_user_site")]

    def __str__(self):
        return f"{self.user} @ {self.site.code}"


class CriterionKind(models.TextChoices):
    INCLUSION = "inclusion", "Inclusion"
    EXCLUSION = "exclusion", "Exclusion"


@pghistory.track()
class EligibilityCriterion(models.Model):
    """One checklist line; `true` means met (inclusion) or present (exclusion)."""

    code = models.CharField(max_length=40, unique=True)
    text = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=CriterionKind.choices)
    order = models.PositiveSmallIntegerField(default=0)
    # Age bounds let screening cross-check the answer against the date of birth.
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name_plural = "eligibility criteria"

    def __str__(self):
        return self.code


@pghistory.track()
class Timepoint(models.Model):
    """A visit anchored to the embryo transfer (ET) day, with its window in days."""

    code = models.CharField(max_length=20, unique=True)
    label = models.CharField(max_length=200)
    day_offset = models.SmallIntegerField(help_text="Days after embryo transfer")
    window_before = models.PositiveSmallIntegerField(default=0)
    window_after = models.PositiveSmallIntegerField(default=0)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.code


def tracked_by(*columns: str):
    """`pghistory.track()` with the event table indexed on `columns`, what its audit trail is read by.

    Event tables index no foreign key of their own (settings.PGHISTORY_FOREIGN_KEY_FIELD): most were
    never read by, and each cost every bulk insert of audit events ~2 µs a row.
    """
    return pghistory.track(meta={"indexes": [models.Index(fields=[column]) for column in columns]})


def clinical_triggers() -> list:
    """Database rules shared by every clinical table: no hard deletes, no change without a reason, and
    the foreign keys declared without a constraint checked per statement (core.foreign_keys)."""
    return [
        *statement_foreign_keys(),
        pgtrigger.Protect(name="no_delete_void_instead", operation=pgtrigger.Delete),
        pgtrigger.Trigger(
            name="update_requires_reason",
            operation=pgtrigger.Update,
            when=pgtrigger.Before,
            func=(
                "IF COALESCE(NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb"
                " ->> 'reason', '') = '' THEN "
                "RAISE EXCEPTION 'a reason is required to change a record of %', TG_TABLE_NAME "
                "USING ERRCODE = 'check_violation'; END IF; RETURN NEW;"
            ),
        ),
    ]


def user_key(**options) -> models.ForeignKey:
    """Who did something (entered, changed, voided, raised, wrote): checked per statement
    (core.foreign_keys) and not indexed, since nothing looks records up by their author and each index
    cost every bulk insert ~2 µs a row."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
        **options,
    )


class ClinicalRecord(models.Model):
    """Who entered and changed a record, its version (optimistic locking) and its void state."""

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = user_key()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = user_key()
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = user_key(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class AuditChainLink(models.Model):
    """One audit row (a pghistory event or context) in the tamper-evident hash chain.

    Written only by database triggers at commit (core/audit_chain.py explains the chain) and refused
    any UPDATE or DELETE; `manage.py verify_audit` recomputes every hash from the audit rows.
    """

    seq = models.BigAutoField(primary_key=True)
    table_name = models.CharField(max_length=63)
    event_id = models.BigIntegerField(null=True)
    context_id = models.UUIDField(null=True)
    # How many columns the audit table had when the row was hashed: columns added later are left out.
    ncols = models.SmallIntegerField()
    prev_hash = models.BinaryField()
    hash = models.BinaryField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["seq"]

    def __str__(self):
        return f"link {self.seq}: {self.table_name} {self.event_id or self.context_id}"


class AccountEventKind(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGOUT = "logout", _("Logged out")
    LOGIN_FAILED = "login_failed", _("Failed login")
    SIGNATURE_FAILED = "signature_failed", _("Failed e-signature password")
    ACCOUNT_LOCKED = "account_locked", _("Account locked")
    ACCOUNT_UNLOCKED = "account_unlocked", _("Account unlocked")
    TOKEN_ISSUED = "token_issued", _("API token issued")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    PASSWORD_LINK_ISSUED = "password_link_issued", _("Password link issued")
    PASSWORD_SET = "password_set", _("Password set")
    EMAIL_CHANGED = "email_changed", _("E-mail address changed")
    ACCESS_REVIEWED = "access_reviewed", _("Access review recorded")


@pghistory.track(pghistory.InsertEvent())
class AccountEvent(models.Model):
    """Something that happened to an account outside its own row: logins, tokens, locks, password links.

    Append-only (refused UPDATE and DELETE by trigger); each row is copied into its pghistory event
    table under the writer's audit context, which puts it in the hash chain (core/audit_chain.py).
    Changes to the account rows themselves (user, roles, site memberships) are tracked by pghistory.
    """

    kind = models.CharField(max_length=30, choices=AccountEventKind.choices)
    # The account concerned; null for a failed login with a user name that matches no account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="account_events"
    )
    username = models.CharField(max_length=150, help_text="As typed, for failed logins; else the account's")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_default=Now())
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["user", "kind", "at"]), models.Index(fields=["at"])]
        triggers = [
            pgtrigger.Protect(name="account_events_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.kind} {self.username} {self.at:%Y-%m-%d %H:%M}"


# --- Accounts in the audit trail ---------------------------------------------------------------------
# Django's own account tables are tracked into core's event tables, so every change joins the hash chain
# like the clinical events (core/audit_chain.py). The triggers are declared on proxy models of core: on
# the auth models themselves, their migrations would have to live in django.contrib.auth.
# The snapshot leaves out the password hash and last_login: a hash must never be copied, and logins are
# account events of their own (AccountEvent). A password change is its own event, without the hash.
class AuditedUser(User):
    class Meta:
        proxy = True


class AuditedUserGroup(User.groups.through):
    """A role (group) membership of an account: rows are only ever added or removed."""

    class Meta:
        proxy = True


pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.UpdateEvent("password_set", condition=pghistory.AnyChange("password")),
    pghistory.DeleteEvent(),
    exclude=["password", "last_login"],
    model_name="UserEvent",
)(AuditedUser)
pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent(), obj_field=None, model_name="UserGroupEvent")(
    AuditedUserGroup
)


# Re-exported: the models of core are all reached as core.models.X.
from core.access_grant_models import AccessGrant, GrantKind, GrantStatus  # noqa: E402, F401


@pghistory.track(meta={"db_table": "quality_databaselockevent"})
class DatabaseLock(models.Model):
    """The whole trial frozen by the statistician (Trial.status = locked while a lock is active)."""

    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    status_before = models.CharField(max_length=20)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)
    # What was still open when it was locked ({"open_queries": 3, ...}: core.readiness), and why the
    # statistician locked anyway (required when anything was open).
    open_items = models.JSONField(default=dict, blank=True)
    override_reason = models.TextField(blank=True)

    class Meta:
        db_table = "quality_databaselock"
        ordering = ["-locked_at", "-pk"]
        # One active lock at a time: the lock service holds the Trial row while it checks.
        triggers = [pgtrigger.Protect(name="database_locks_are_lifted_not_deleted", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"Database lock {self.locked_at:%Y-%m-%d}"
