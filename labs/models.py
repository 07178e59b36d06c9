"""Laboratory configuration: analytes with their units, hard limits and reference ranges."""

import pghistory
from django.db import models

from core.models import Timepoint


@pghistory.track()
class Analyte(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    canonical_unit = models.CharField(max_length=20)
    accepted_units = models.JSONField(help_text='Unit → factor to the canonical unit, e.g. {"pg/mL": 3.671}')
    hard_max = models.FloatField(help_text="Physiological maximum in the canonical unit; above it is rejected")
    order = models.PositiveSmallIntegerField(default=0)

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
