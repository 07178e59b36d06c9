"""The patient registry: screening, identity (PHI, its own table), consent, baseline."""

import pghistory
from django.conf import settings
from django.db import models

from core.models import ClinicalRecord, Site, clinical_triggers


class PatientStatus(models.TextChoices):
    SCREENING = "screening", "Screening"
    ELIGIBLE = "eligible", "Eligible"
    INELIGIBLE = "ineligible", "Ineligible"
    CONSENTED = "consented", "Consented"
    RANDOMIZED = "randomized", "Randomized"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"


class InfertilityType(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"


class Education(models.TextChoices):
    JUNIOR_HIGH_OR_BELOW = "junior_high_or_below", "Junior high school or below"
    HIGH_SCHOOL_OR_VOCATIONAL = "high_school_or_vocational", "High school or vocational"
    COLLEGE_OR_HIGHER = "college_or_higher", "College or higher"


class StudyIdCounter(models.Model):
    """Last study number issued per site; its row lock serialises concurrent registrations."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.site_id}: {self.last_number}"


@pghistory.track()
class Patient(ClinicalRecord):
    study_id = models.CharField(max_length=16, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    sequence_number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=PatientStatus.choices, default=PatientStatus.SCREENING)
    age_at_enrolment = models.PositiveSmallIntegerField(help_text="Years, at the screening date")

    class Meta:
        ordering = ["site__code", "sequence_number"]
        constraints = [models.UniqueConstraint(fields=["site", "sequence_number"], name="one_study_number_per_site")]
        triggers = clinical_triggers()

    def __str__(self):
        return self.study_id


@pghistory.track()
class PatientIdentity(ClinicalRecord):
    """Protected health information: only staff of the patient's own site ever see this table."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="identity")
    full_name = models.CharField(max_length=200)
    medical_record_number = models.CharField(max_length=50)
    date_of_birth = models.DateField()
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name_plural = "patient identities"
        triggers = clinical_triggers()


@pghistory.track()
class Screening(ClinicalRecord):
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="screening")
    screening_date = models.DateField()
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(help_text="Criterion code → true (met / present) or false")
    eligible = models.BooleanField()
    failed_criteria = models.JSONField(default=list, help_text="Codes that made the patient ineligible")

    class Meta:
        triggers = clinical_triggers()


@pghistory.track()
class Consent(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    form_version = models.CharField(max_length=40)
    signed_on = models.DateField()
    obtained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(voided_at__isnull=True), name="one_active_consent_per_patient"
            )
        ]
        triggers = clinical_triggers()


@pghistory.track()
class Baseline(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="baselines")
    height_cm = models.DecimalField(max_digits=4, decimal_places=1)
    weight_kg = models.DecimalField(max_digits=4, decimal_places=1)
    bmi = models.DecimalField(max_digits=4, decimal_places=2, help_text="kg/m², derived")
    previous_failed_transfers = models.PositiveSmallIntegerField()
    prior_miscarriages = models.PositiveSmallIntegerField()
    infertility_type = models.CharField(max_length=10, choices=InfertilityType.choices)
    infertility_years = models.DecimalField(max_digits=3, decimal_places=1)
    education = models.CharField(max_length=30, choices=Education.choices)
    amh_ng_ml = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(voided_at__isnull=True), name="one_active_baseline_per_patient"
            )
        ]
        triggers = clinical_triggers()
