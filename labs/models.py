"""Laboratory configuration: analytes with their units, hard limits and reference ranges."""

import pghistory
import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ClinicalRecord, Timepoint, clinical_triggers, tracked_by

# Canonical values are stored with four decimal places: more would show digits that are not there.
MAX_DISPLAY_DECIMALS = 4


@pghistory.track()
class Analyte(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    canonical_unit = models.CharField(max_length=20)
    accepted_units = models.JSONField(help_text='Unit → factor to the canonical unit, e.g. {"pg/mL": 3.671}')
    hard_max = models.FloatField(help_text="Physiological maximum in the canonical unit; above it is rejected")
    order = models.PositiveSmallIntegerField(default=0)
    display_decimals = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(MAX_DISPLAY_DECIMALS)],
        help_text="Decimal places pages show values with (stored values keep their full precision)",
    )

    class Meta:
        ordering = ["order", "code"]

    def __str__(self):
        return f"{self.code} ({self.canonical_unit})"


@pghistory.track()
class ReferenceRange(models.Model):
    """Soft limits in the canonical unit; a time-point-specific range wins over the general one."""

    analyte = models.ForeignKey(Analyte, on_delete=models.CASCADE, related_name="reference_ranges")
    timepoint = models.ForeignKey(Timepoint, on_delete=models.CASCADE, null=True, blank=True)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["analyte", "timepoint"], name="one_range_per_analyte_timepoint"),
            models.UniqueConstraint(
                fields=["analyte"], condition=models.Q(timepoint__isnull=True), name="one_general_range_per_analyte"
            ),
        ]

    def __str__(self):
        return f"{self.analyte.code} {self.timepoint or 'any time point'}: {self.low}–{self.high}"


class Flag(models.TextChoices):
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")
    HIGH = "high", _("High")


@tracked_by("patient")
class LabDraw(ClinicalRecord):
    """One blood draw of a patient at a time point; its results hang off it."""

    # Keys checked per statement (core.foreign_keys): the lab import writes draws and results by COPY.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="lab_draws", db_constraint=False
    )
    timepoint = models.ForeignKey(
        Timepoint, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    drawn_at = models.DateTimeField()
    window_warning = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "timepoint"],
                condition=models.Q(voided_at__isnull=True),
                name="one_active_draw_per_patient_timepoint",
            )
        ]
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.patient_id} {self.timepoint_id} {self.drawn_at:%Y-%m-%d}"


@tracked_by("draw")
class LabResult(ClinicalRecord):
    draw = models.ForeignKey(LabDraw, on_delete=models.PROTECT, related_name="results", db_constraint=False)
    # Six analytes: an index on the column would never be chosen, and cost every insert.
    analyte = models.ForeignKey(
        Analyte, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    value_as_entered = models.CharField(max_length=40)
    unit_as_entered = models.CharField(max_length=20)
    censoring = models.CharField(max_length=1, blank=True, help_text="'<' or '>' for a value beyond a limit")
    canonical_value = models.DecimalField(max_digits=14, decimal_places=4, help_text="In the analyte's canonical unit")
    flag = models.CharField(max_length=6, choices=Flag.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["draw", "analyte"],
                condition=models.Q(voided_at__isnull=True),
                name="one_active_result_per_draw_analyte",
            )
        ]
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.analyte_id}={self.value_as_entered} {self.unit_as_entered}"


class LabImport(models.Model):
    """One CSV import that changed data: what file, who, and what it did (the rows are in the audit trail)."""

    file_sha256 = models.CharField(max_length=64)
    filename = models.CharField(max_length=255)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    rows_total = models.PositiveIntegerField()
    created = models.PositiveIntegerField()
    updated = models.PositiveIntegerField()
    unchanged = models.PositiveIntegerField()
    skipped_invalid = models.PositiveIntegerField()

    class Meta:
        ordering = ["-imported_at"]
        triggers = [pgtrigger.Protect(name="import_log_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.filename} ({self.file_sha256[:12]})"
