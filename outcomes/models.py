"""Outcome configuration: questionnaire instruments and when they are collected."""

import pghistory
from django.db import models

from core.models import Timepoint


@pghistory.track()
class Instrument(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    item_count = models.PositiveSmallIntegerField()
    timepoints = models.ManyToManyField(Timepoint, related_name="instruments")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code
