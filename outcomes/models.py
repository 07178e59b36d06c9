"""Outcomes: questionnaire configuration, pregnancy outcomes, adverse events and questionnaire responses."""

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ClinicalRecord, Timepoint, clinical_triggers


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


@pghistory.track()
class PregnancyOutcome(ClinicalRecord):
    """The pregnancy outcome form of one patient (one active record, completed over the follow-up)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="pregnancy_outcomes")
    beta_hcg_positive = models.BooleanField()
    beta_hcg_date = models.DateField(null=True, blank=True)
    beta_hcg_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True, help_text="IU/L")
    clinical_pregnancy = models.BooleanField(default=False)
    ultrasound_date = models.DateField(null=True, blank=True)
    gestational_sacs = models.PositiveSmallIntegerField(null=True, blank=True)
    fetal_heartbeat = models.BooleanField(null=True, blank=True)
    ectopic = models.BooleanField(default=False)
    miscarriage = models.BooleanField(default=False)
    miscarriage_date = models.DateField(null=True, blank=True)
    miscarriage_week = models.PositiveSmallIntegerField(null=True, blank=True)
    ongoing_pregnancy = models.BooleanField(null=True, blank=True, help_text="At 12 weeks; empty until known")
    live_birth = models.BooleanField(null=True, blank=True, help_text="Empty until known")
    live_birth_date = models.DateField(null=True, blank=True)
    infants = models.PositiveSmallIntegerField(null=True, blank=True)
    sacs_exceed_embryos_confirmed = models.BooleanField(
        default=False, help_text="Staff confirmed more sacs than embryos transferred (e.g. monozygotic twins)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(voided_at__isnull=True), name="one_active_outcome_per_patient"
            )
        ]
        triggers = clinical_triggers()

    def __str__(self):
        return f"Outcome of {self.patient_id}"


class AdverseEventTerm(models.TextChoices):
    INJECTION_SITE_BRUISING = "injection_site_bruising", _("Injection-site bruising")
    INJECTION_SITE_HAEMATOMA = "injection_site_haematoma", _("Injection-site haematoma")
    BLEEDING = "bleeding", _("Bleeding")
    THROMBOCYTOPENIA = "thrombocytopenia", _("Thrombocytopenia")
    ALLERGIC_REACTION = "allergic_reaction", _("Allergic reaction")
    OHSS = "ohss", _("Ovarian hyperstimulation syndrome")
    OTHER = "other", _("Other (describe)")


class Relatedness(models.TextChoices):
    NOT = "not", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


class ActionTaken(models.TextChoices):
    NONE = "none", _("None")
    DOSE_REDUCED = "dose_reduced", _("Dose reduced")
    INTERRUPTED = "interrupted", _("Interrupted")
    WITHDRAWN = "withdrawn", _("Drug withdrawn")


class AeOutcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered")
    RECOVERING = "recovering", _("Recovering")
    NOT_RECOVERED = "not_recovered", _("Not recovered")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


@pghistory.track()
class AdverseEvent(ClinicalRecord):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="adverse_events")
    term = models.CharField(max_length=30, choices=AdverseEventTerm.choices)
    term_other = models.CharField(max_length=200, blank=True)
    onset_date = models.DateField()
    resolution_date = models.DateField(null=True, blank=True)
    grade = models.PositiveSmallIntegerField(help_text="CTCAE grade 1–5")
    serious = models.BooleanField(default=False)
    related_to_dalteparin = models.CharField(max_length=10, choices=Relatedness.choices)
    action_taken = models.CharField(max_length=15, choices=ActionTaken.choices)
    outcome = models.CharField(max_length=25, choices=AeOutcome.choices)
    sae_notified_at = models.DateTimeField(null=True, blank=True, help_text="When investigators were told of the SAE")

    class Meta:
        ordering = ["onset_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(grade__gte=1, grade__lte=5), name="ctcae_grade_1_to_5")
        ]
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.get_term_display()} (grade {self.grade})"


@pghistory.track()
class QuestionnaireResponse(ClinicalRecord):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="questionnaires")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    timepoint = models.ForeignKey(Timepoint, on_delete=models.PROTECT, related_name="+")
    completed_on = models.DateField()
    answers = models.JSONField(help_text="Item key → option number (or count), as printed on the form")
    scores = models.JSONField(help_text="Derived by outcomes.scoring; recomputed on every change")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instrument", "timepoint"],
                condition=models.Q(voided_at__isnull=True),
                name="one_active_questionnaire_per_patient_instrument_timepoint",
            )
        ]
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.instrument_id} {self.timepoint_id} of {self.patient_id}"
