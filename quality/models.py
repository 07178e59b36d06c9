"""Data quality and sign-off: queries, source-data verification and e-signatures.

The locks they lead to live below every clinical app (patients.CasebookLock, core.DatabaseLock), so
that each clinical write can check them without importing quality.

Verification and signatures are bound to a hash of the content they cover, so any later change to
the data makes them visibly stale without anyone having to remember to reset them.
"""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.foreign_keys import statement_foreign_keys
from core.models import user_key


def append_only() -> list:
    """Sign-off records are evidence: once written they are never changed or deleted."""
    return [
        pgtrigger.Protect(name="append_only_no_update", operation=pgtrigger.Update),
        pgtrigger.Protect(name="append_only_no_delete", operation=pgtrigger.Delete),
    ]


class QueryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class QueryOrigin(models.TextChoices):
    MANUAL = "manual", _("Manual")
    AUTOMATIC = "automatic", _("Automatic")


@pghistory.track()
class DataQuery(models.Model):
    """A question about one field of one form of one patient, raised by a monitor or by a check."""

    # Keys checked per statement (core.foreign_keys): a lab import raises thousands of queries by COPY.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="data_queries", db_constraint=False
    )
    form = models.CharField(max_length=60, help_text="Form key, e.g. baseline, labs:ET14, questionnaire:SSRS:ET28")
    field = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    origin = models.CharField(max_length=10, choices=QueryOrigin.choices)
    # Automatic queries: which check found it and the value it judged, so a fixed value closes it and a
    # value a monitor already accepted does not reopen it.
    check_code = models.CharField(max_length=120, blank=True)
    evidence = models.CharField(max_length=300, blank=True)
    raised_by = user_key(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = user_key(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name_plural = "data queries"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "check_code"],
                condition=models.Q(origin="automatic") & ~models.Q(status="closed"),
                name="one_unresolved_automatic_query_per_check",
            )
        ]
        indexes = [models.Index(fields=["status", "patient"])]
        triggers = [
            pgtrigger.Protect(name="queries_are_closed_not_deleted", operation=pgtrigger.Delete),
            *statement_foreign_keys(),
        ]

    def __str__(self):
        return f"Query {self.pk} on {self.form}.{self.field}"

    @property
    def latest_message(self):
        thread = list(self.messages.all())  # prefetched by the list selectors
        return thread[-1] if thread else None

    @property
    def raised_by_name(self) -> str:
        return self.raised_by.get_username() if self.raised_by_id else "system"


class MessageKind(models.TextChoices):
    RAISED = "raised", _("Raised")
    ANSWERED = "answered", _("Answered")
    REOPENED = "reopened", _("Reopened")
    CLOSED = "closed", _("Closed")
    AUTO_CLOSED = "auto_closed", _("Closed automatically")


@pghistory.track()
class QueryMessage(models.Model):
    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages", db_constraint=False)
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    author = user_key(null=True)
    author_name = models.CharField(max_length=150)
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        triggers = [*append_only(), *statement_foreign_keys()]

    def __str__(self):
        return f"{self.kind} by {self.author_name}"


@pghistory.track()
class SourceVerification(models.Model):
    """A monitor compared a form with the source documents; valid while the form's content hash holds."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="verifications")
    form = models.CharField(max_length=60)
    content_hash = models.CharField(max_length=64)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-verified_at", "-pk"]
        triggers = append_only()

    def __str__(self):
        return f"{self.form} verified by {self.verified_by_id}"


class SignatureMeaning(models.TextChoices):
    # 21 CFR 11.50(a)(3): the meaning of the signature is part of the signed record.
    APPROVAL = "approval", _("Approval: I have reviewed this casebook and its data are complete and accurate")
    REVIEW = "review", _("Review: I have reviewed the data in this casebook")


@pghistory.track()
class CasebookSignature(models.Model):
    """An investigator's electronic signature over a patient's casebook (21 CFR 11.50, 11.70, 11.200)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=300)
    meaning = models.CharField(max_length=20, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField(default=timezone.now)
    # 11.70: the signature is bound to exactly the content it signed.
    content_hash = models.CharField(max_length=64)
    manifest = models.JSONField(help_text="Form key → content hash at the moment of signing")

    class Meta:
        ordering = ["-signed_at", "-pk"]
        triggers = append_only()

    def __str__(self):
        return f"Signed by {self.printed_name} ({self.meaning})"
