"""Statistics snapshots (what dashboards and the API read), the jobs that compute them, and the export log."""

import pgtrigger
from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class StatisticsJob(models.Model):
    """One requested recomputation; its row is the job's progress report and its delivery counter."""

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent")
    message = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started it")
    snapshot = models.ForeignKey(
        "StatisticsSnapshot", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            # Debounce: at most one job waits at a time; later requests join it.
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="queued"), name="one_queued_statistics_job"
            )
        ]

    def __str__(self):
        return f"Job {self.pk} ({self.status})"


class DataVersion(models.Model):
    """A counter bumped after every committed audited change: the snapshot records the value it read.

    Bumped after commit (not inside the writing transaction) so writers never queue on this row; a
    change that commits after a snapshot read its rows always bumps the counter past the snapshot's.
    """

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"data version {self.version}"


class StatisticsSnapshot(models.Model):
    """Every statistic the dashboards and API show, computed from the data as of `data_as_of`."""

    payload = models.JSONField(help_text='{"itt": {...}, "per_protocol": {...}, "dashboard": {...}}')
    data_as_of = models.DateTimeField(help_text="Time of the last change included")
    data_version = models.BigIntegerField(default=0, help_text="DataVersion.version when the rows were read")
    computed_at = models.DateTimeField(auto_now_add=True)
    duration_seconds = models.FloatField()
    input_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the input rows and code version")
    code_version = models.CharField(max_length=40)
    patients = models.PositiveIntegerField()

    class Meta:
        ordering = ["-computed_at"]
        get_latest_by = "computed_at"

    def __str__(self):
        return f"Snapshot {self.pk} of data as of {self.data_as_of:%Y-%m-%d %H:%M}"


# What an export row records about its request; once written, none of it may change.
_EXPORT_FACTS = ("user", "username", "dataset", "format", "query_string", "request_id", "started_at")


def _any_changed(fields: tuple[str, ...]) -> pgtrigger.Q:
    condition = pgtrigger.Q()
    for field in fields:
        condition |= pgtrigger.Q(**{f"old__{field}__df": pgtrigger.F(f"new__{field}")})
    return condition


class ExportLog(models.Model):
    """One export of an analysis data set: who took which data set in which format, when, and how much.

    Written when the export starts, so a download that is cut off is still on record, and finished when
    its stream ends: `completed` only if the last row was sent. The database refuses to delete a row,
    to change who/what/when, or to change a finished row.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150, help_text="As it was at the time of the export")
    dataset = models.CharField(max_length=40)
    format = models.CharField(max_length=10)
    query_string = models.TextField(blank=True, help_text="The request's filters, as sent")
    request_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Empty while streaming or if never read")
    row_count = models.PositiveBigIntegerField(null=True, blank=True, help_text="Rows sent (header not counted)")
    completed = models.BooleanField(default=False, help_text="Every row was sent")

    class Meta:
        ordering = ["-started_at", "-pk"]
        triggers = [
            pgtrigger.Protect(name="export_log_no_delete", operation=pgtrigger.Delete),
            pgtrigger.Protect(
                name="export_log_finished_once",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__finished_at__isnull=False) | _any_changed(_EXPORT_FACTS),
            ),
        ]

    def __str__(self):
        return f"{self.username}: {self.dataset}.{self.format} at {self.started_at:%Y-%m-%d %H:%M}"
