"""Field labels of the audit trail, by field name, for fields that declare no translatable verbose name.

The models' fields carry Django's default verbose names ("beta hcg positive"), which no catalogue
holds; declaring `verbose_name=_(...)` on each would migrate every table. These English msgids mostly
repeat the data-entry forms' labels, so the forms' translations serve the trail too. A field missing
here is labelled by its name as words (core.audit_trail.field_label); a new field should declare
`verbose_name=_("…")` on the model instead of being added here.
"""

from django.utils.translation import gettext_noop

FIELD_LABELS = {
    # Record keeping shared by every clinical form (core.models.ClinicalRecord)
    "voided_at": gettext_noop("Voided at"),
    "void_reason": gettext_noop("Void reason"),
    # Registration and screening
    "study_id": gettext_noop("Study id"),
    "sequence_number": gettext_noop("Study number"),
    "age_at_enrolment": gettext_noop("Age at enrolment (years)"),
    "screened_by": gettext_noop("Screened by"),
    "answers": gettext_noop("Answers"),
    "failed_criteria": gettext_noop("Failed criteria"),
    # Consent and baseline
    "form_version": gettext_noop("Consent form version"),
    "signed_on": gettext_noop("Date signed"),
    "obtained_by": gettext_noop("Obtained by"),
    "withdrawn_on": gettext_noop("Date of withdrawal"),
    "withdrawal_reason": gettext_noop("Reason for withdrawal"),
    "height_cm": gettext_noop("Height (cm)"),
    "weight_kg": gettext_noop("Weight (kg)"),
    "bmi": gettext_noop("BMI (kg/m²)"),
    "previous_failed_transfers": gettext_noop("Previous failed embryo transfers"),
    "infertility_years": gettext_noop("Infertility duration (years)"),
    "amh_ng_ml": gettext_noop("AMH (ng/mL)"),
    # Randomization and treatment
    "slot": gettext_noop("Allocation slot"),
    "randomized_at": gettext_noop("Randomized at"),
    "randomized_by": gettext_noop("Randomized by"),
    "in_error": gettext_noop("Randomized in error"),
    "in_error_reason": gettext_noop("Why was this randomization made in error?"),
    "embryos_transferred": gettext_noop("Embryos transferred"),
    "occurred_on": gettext_noop("Occurred on"),
    "description": gettext_noop("Description"),
    "major": gettext_noop("Major deviation"),
    "daily_dose_iu": gettext_noop("Daily dose (IU)"),
    "deviation": gettext_noop("Protocol deviation"),
    # Laboratory
    "timepoint": gettext_noop("Time point"),
    "window_warning": gettext_noop("Window warning"),
    "draw": gettext_noop("Lab draw"),
    "value_as_entered": gettext_noop("Value"),
    "unit_as_entered": gettext_noop("Unit"),
    "censoring": gettext_noop("Censoring"),
    "canonical_value": gettext_noop("Value in canonical unit"),
    # Outcomes, adverse events and questionnaires
    "beta_hcg_positive": gettext_noop("β-hCG positive"),
    "beta_hcg_date": gettext_noop("β-hCG date"),
    "beta_hcg_value": gettext_noop("β-hCG value (IU/L)"),
    "clinical_pregnancy": gettext_noop("Clinical pregnancy (sac on ultrasound)"),
    "ectopic": gettext_noop("Ectopic pregnancy"),
    "miscarriage_week": gettext_noop("Miscarriage: gestational week"),
    "ongoing_pregnancy": gettext_noop("Ongoing pregnancy at 12 weeks"),
    "infants": gettext_noop("Number of infants"),
    "sacs_exceed_embryos_confirmed": gettext_noop("More sacs than embryos confirmed"),
    "term_other": gettext_noop("Other: describe"),
    "grade": gettext_noop("CTCAE grade"),
    "serious": gettext_noop("Serious adverse event (SAE)"),
    "sae_notified_at": gettext_noop("SAE notified at"),
    "instrument": gettext_noop("Instrument"),
    "scores": gettext_noop("Scores"),
    # Data queries, verification, signatures and locks
    "check_code": gettext_noop("Check"),
    "evidence": gettext_noop("Evidence"),
    "opened_at": gettext_noop("Opened at"),
    "closed_at": gettext_noop("Closed at"),
    "closed_by": gettext_noop("Closed by"),
    "query": gettext_noop("Data query"),
    "kind": gettext_noop("Kind"),
    "author": gettext_noop("Author"),
    "author_name": gettext_noop("Author name"),
    "text": gettext_noop("Message"),
    "content_hash": gettext_noop("Content hash"),
    "verified_by": gettext_noop("Verified by"),
    "verified_at": gettext_noop("Verified at"),
    "signer": gettext_noop("Signer"),
    "printed_name": gettext_noop("Printed name"),
    "meaning": gettext_noop("Meaning"),
    "signed_at": gettext_noop("Signed at"),
    "manifest": gettext_noop("Signed forms (content hashes)"),
    "locked_by": gettext_noop("Locked by"),
    "locked_at": gettext_noop("Locked at"),
    "unlocked_by": gettext_noop("Unlocked by"),
    "unlocked_at": gettext_noop("Unlocked at"),
    "unlock_reason": gettext_noop("Unlock reason"),
}

# A field name two record types share with different meanings: labelled per record type (model label).
MODEL_FIELD_LABELS = {
    # The screening's answers are the eligibility checklist's, whose label the catalogue translates as such.
    ("outcomes.QuestionnaireResponse", "answers"): gettext_noop("Item answers"),
}
