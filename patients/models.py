"""The patient registry: screening, identity (PHI, its own table), consent, baseline."""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Arm, ClinicalRecord, Site, clinical_triggers, tracked_by
from patients.allocation_stream import HMAC_SHA256_V2, MT19937_V1


class PatientStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    ELIGIBLE = "eligible", _("Eligible")
    INELIGIBLE = "ineligible", _("Ineligible")
    CONSENTED = "consented", _("Consented")
    RANDOMIZED = "randomized", _("Randomized")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")


class InfertilityType(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    SECONDARY = "secondary", _("Secondary")


class Education(models.TextChoices):
    JUNIOR_HIGH_OR_BELOW = "junior_high_or_below", _("Junior high school or below")
    HIGH_SCHOOL_OR_VOCATIONAL = "high_school_or_vocational", _("High school or vocational")
    COLLEGE_OR_HIGHER = "college_or_higher", _("College or higher")


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


@tracked_by("patient")
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


@tracked_by("patient")
class Screening(ClinicalRecord):
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="screening")
    screening_date = models.DateField()
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(help_text="Criterion code → true (met / present) or false")
    eligible = models.BooleanField()
    failed_criteria = models.JSONField(default=list, help_text="Codes that made the patient ineligible")

    class Meta:
        triggers = clinical_triggers()


@tracked_by("patient")
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


@tracked_by("patient")
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


class AgeGroup(models.TextChoices):
    UNDER_35 = "<35", _("Under 35")
    FROM_35 = ">=35", _("35 or older")


class ListStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LIVE = "live", _("Live")


class ListSource(models.TextChoices):
    GENERATED = "generated", _("Generated (permuted blocks)")
    IMPORTED = "imported", _("Imported from CSV")


class ListGenerator(models.TextChoices):
    HMAC_SHA256_V2 = HMAC_SHA256_V2, _("HMAC-SHA256 stream (v2)")
    MT19937_V1 = MT19937_V1, _("Mersenne Twister (v1, before server seeds)")


class SeedSource(models.TextChoices):
    SERVER = "server", _("drawn by the server")
    FIXED = "fixed", _("fixed for demo data")
    CHOSEN = "chosen", _("chosen, not drawn by the server (lists made before v2)")


@pghistory.track()
class AllocationList(models.Model):
    """The concealed allocation sequence of one stratum (site × age group). Statistician only."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="allocation_lists")
    age_group = models.CharField(max_length=4, choices=AgeGroup.choices)
    status = models.CharField(max_length=5, choices=ListStatus.choices, default=ListStatus.DRAFT)
    source = models.CharField(max_length=10, choices=ListSource.choices)
    # Generated lists only. v2 lists record a 256-bit seed as hex; `seed` holds the whole-number seed of
    # the v1 lists made before, which keep extending with their own generator.
    generator = models.CharField(max_length=20, choices=ListGenerator.choices, blank=True)
    seed_hex = models.CharField(max_length=64, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    seed_source = models.CharField(max_length=10, choices=SeedSource.choices, blank=True)
    block_sizes = models.JSONField(default=list, blank=True)
    ratio = models.CharField(max_length=20, default="1:1")
    source_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the whole list, recorded when it went live")
    went_live_at = models.DateTimeField(null=True, blank=True)
    went_live_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exhausted_at = models.DateTimeField(null=True, blank=True, help_text="Last refused randomization: no slot left")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["site__code", "age_group"]
        constraints = [
            models.UniqueConstraint(fields=["site", "age_group"], name="one_allocation_list_per_stratum"),
            models.CheckConstraint(
                name="allocation_list_records_its_generator_and_seed",
                condition=(
                    models.Q(source=ListSource.IMPORTED, generator="", seed_hex="", seed__isnull=True, seed_source="")
                    | models.Q(
                        source=ListSource.GENERATED,
                        generator=ListGenerator.HMAC_SHA256_V2,
                        seed_hex__regex=r"^[0-9a-f]{64}$",
                        seed__isnull=True,
                        seed_source__in=[SeedSource.SERVER, SeedSource.FIXED],
                    )
                    | models.Q(
                        source=ListSource.GENERATED,
                        generator=ListGenerator.MT19937_V1,
                        seed_hex="",
                        seed__isnull=False,
                        seed_source=SeedSource.CHOSEN,
                    )
                ),
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="live_list_not_deleted", operation=pgtrigger.Delete, condition=pgtrigger.Q(old__status="live")
            )
        ]

    def __str__(self):
        return f"{self.site.code} {self.age_group}"

    @property
    def recorded_seed(self) -> str | int | None:
        """The seed its generator takes: hex text (v2), a whole number (v1), None for an imported list."""
        if self.generator == ListGenerator.HMAC_SHA256_V2:
            return self.seed_hex
        return self.seed if self.generator == ListGenerator.MT19937_V1 else None


@pghistory.track()
class AllocationSlot(models.Model):
    allocation_list = models.ForeignKey(AllocationList, on_delete=models.CASCADE, related_name="slots")
    sequence = models.PositiveIntegerField()
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="+")
    block_number = models.PositiveIntegerField(default=0)
    block_size = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["allocation_list", "sequence"]
        constraints = [models.UniqueConstraint(fields=["allocation_list", "sequence"], name="one_slot_per_position")]
        triggers = [
            # A live list may grow, never change: its slots refuse UPDATE and DELETE in the database.
            pgtrigger.Trigger(
                name="live_slots_immutable",
                operation=pgtrigger.Update | pgtrigger.Delete,
                when=pgtrigger.Before,
                func=(
                    "IF (SELECT status FROM patients_allocationlist WHERE id = OLD.allocation_list_id) = 'live' "
                    "THEN RAISE EXCEPTION 'slots of a live allocation list cannot be changed' "
                    "USING ERRCODE = 'check_violation'; END IF; "
                    "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;"
                ),
            )
        ]

    def __str__(self):
        return f"{self.allocation_list} #{self.sequence}"


@tracked_by("patient")
class Randomization(ClinicalRecord):
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="randomization")
    slot = models.OneToOneField(AllocationSlot, on_delete=models.PROTECT, related_name="randomization")
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="+")
    randomized_at = models.DateTimeField()
    randomized_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Randomized in error: she stays in the ITT population (as allocated) and leaves per-protocol.
    in_error = models.BooleanField(default=False)
    in_error_reason = models.TextField(blank=True)

    class Meta:
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.patient} → {self.arm.code}"


class CycleType(models.TextChoices):
    FRESH = "fresh", _("Fresh")
    FROZEN = "frozen", _("Frozen")


class EmbryoStage(models.TextChoices):
    CLEAVAGE = "cleavage", _("Cleavage")
    BLASTOCYST = "blastocyst", _("Blastocyst")


class Route(models.TextChoices):
    VAGINAL = "vaginal", _("Vaginal")
    INTRAMUSCULAR = "intramuscular", _("Intramuscular")
    ORAL = "oral", _("Oral")
    SUBCUTANEOUS = "subcutaneous", _("Subcutaneous")


@tracked_by("patient")
class EmbryoTransfer(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="transfers")
    transfer_date = models.DateField()
    cycle_type = models.CharField(max_length=6, choices=CycleType.choices)
    embryo_stage = models.CharField(max_length=10, choices=EmbryoStage.choices)
    embryos_transferred = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(voided_at__isnull=True), name="one_active_transfer_per_patient"
            ),
            models.CheckConstraint(
                condition=models.Q(embryos_transferred__gte=1, embryos_transferred__lte=3), name="one_to_three_embryos"
            ),
        ]
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.patient} ET {self.transfer_date}"


@tracked_by("patient")
class LutealSupport(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="luteal_supports")
    drug = models.CharField(max_length=100)
    route = models.CharField(max_length=15, choices=Route.choices)
    daily_dose = models.CharField(max_length=50, help_text="Dose and unit, e.g. 90 mg")
    start_date = models.DateField()
    stop_date = models.DateField(null=True, blank=True)

    class Meta:
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.drug} {self.daily_dose}"


@tracked_by("patient")
class ProtocolDeviation(ClinicalRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="deviations")
    occurred_on = models.DateField()
    description = models.TextField()
    major = models.BooleanField(default=True, help_text="Major deviations exclude the patient from per-protocol")

    class Meta:
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.patient}: {self.description[:40]}"


@tracked_by("patient")
class DalteparinCourse(ClinicalRecord):
    """Only for EXP patients; for anyone else it exists only with a recorded protocol deviation."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="dalteparin_courses")
    daily_dose_iu = models.PositiveIntegerField()
    start_date = models.DateField()
    stop_date = models.DateField(null=True, blank=True)
    missed_doses = models.PositiveSmallIntegerField(default=0)
    deviation = models.OneToOneField(
        ProtocolDeviation, on_delete=models.PROTECT, null=True, blank=True, related_name="dalteparin_course"
    )

    class Meta:
        triggers = clinical_triggers()

    def __str__(self):
        return f"{self.patient} dalteparin {self.daily_dose_iu} IU"


# Its tables keep the names they were created with in quality (moved here without copying a row).
@pghistory.track(meta={"db_table": "quality_casebooklockevent"})
class CasebookLock(models.Model):
    """A patient's casebook frozen for analysis; unlocking needs a reason and is kept in the row."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="locks")
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)

    class Meta:
        db_table = "quality_casebooklock"
        ordering = ["-locked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(unlocked_at__isnull=True), name="one_active_lock_per_casebook"
            )
        ]
        triggers = [pgtrigger.Protect(name="locks_are_lifted_not_deleted", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"Lock of {self.patient_id}"
