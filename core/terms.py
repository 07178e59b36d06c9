"""Stored words that pages translate where they show them: `{% translate value %}`, `gettext(value)`.

They stay English where they live because they are data: the API, the exports, the audit trail and the
statistics snapshot return them as they are. Marked here (not translated) so that the catalogue holds
them; tests/core/test_translation_terms.py checks that these lists keep up with their sources.
"""

from django.utils.translation import gettext_noop

# core.models.TrialStatus labels (the database-lock page shows the trial's status).
TRIAL_STATUSES = (gettext_noop("Setup"), gettext_noop("Recruiting"), gettext_noop("Closed"), gettext_noop("Locked"))

# patients.PatientStatus values as messages name them ("… SZ-0001 is randomized.").
PATIENT_STATUSES = (
    gettext_noop("screening"),
    gettext_noop("eligible"),
    gettext_noop("ineligible"),
    gettext_noop("consented"),
    gettext_noop("randomized"),
    gettext_noop("completed"),
    gettext_noop("withdrawn"),
    gettext_noop("lost_to_follow_up"),
)

# Record names and actions of the audit history (core.audit_trail.RECORD_LABELS).
AUDIT_RECORDS = (
    gettext_noop("Registration"),
    gettext_noop("Screening"),
    gettext_noop("Consent"),
    gettext_noop("Baseline"),
    gettext_noop("Randomization"),
    gettext_noop("Embryo transfer"),
    gettext_noop("Luteal support"),
    gettext_noop("Dalteparin"),
    gettext_noop("Protocol deviation"),
    gettext_noop("Lab draw"),
    gettext_noop("Lab result"),
    gettext_noop("Identity"),
    gettext_noop("Pregnancy outcome"),
    gettext_noop("Adverse event"),
    gettext_noop("Questionnaire"),
    gettext_noop("Data query"),
    gettext_noop("Query message"),
    gettext_noop("Source-data verification"),
    gettext_noop("E-signature"),
    gettext_noop("Casebook lock"),
)
AUDIT_ACTIONS = (gettext_noop("created"), gettext_noop("changed"), gettext_noop("voided"))

# Result flags as stored on LabResult.flag (labs.ranges).
LAB_FLAGS = (gettext_noop("normal"), gettext_noop("low"), gettext_noop("high"))

# Questionnaire scale keys as stored in QuestionnaireResponse.scores (outcomes.scoring).
SCALES = (
    gettext_noop("physical_functioning"),
    gettext_noop("role_physical"),
    gettext_noop("role_emotional"),
    gettext_noop("energy_fatigue"),
    gettext_noop("emotional_wellbeing"),
    gettext_noop("social_functioning"),
    gettext_noop("pain"),
    gettext_noop("general_health"),
    gettext_noop("objective"),
    gettext_noop("subjective"),
    gettext_noop("utilization"),
    gettext_noop("total"),
)

# Forms of the dashboard's completeness table that are words, not codes (analysis.dashboard_data).
COMPLETENESS_FORMS = (gettext_noop("transfer"), gettext_noop("outcome"))

# The trial configuration seeded for the first trial (core, labs and outcomes 0002 migrations). Texts
# added later through the admin are shown as entered.
CONFIGURATION = (
    gettext_noop("Dalteparin sodium with luteal phase support after repeated IVF failure"),
    gettext_noop("LPS alone"),
    gettext_noop("LPS + dalteparin sodium"),
    gettext_noop("Trial centre (Shenzhen)"),
    gettext_noop("Age 20–40 years"),
    gettext_noop("≥2 previous failed embryo transfers with good-quality embryos"),
    gettext_noop("Normal uterine cavity"),
    gettext_noop("Platelets ≥100×10⁹/L"),
    gettext_noop("Known thrombophilia on anticoagulation"),
    gettext_noop("Bleeding disorder or active bleeding"),
    gettext_noop("History of heparin-induced thrombocytopenia or LMWH allergy"),
    gettext_noop("Uterine malformation or untreated hydrosalpinx"),
    gettext_noop("Hepatic or renal impairment"),
    gettext_noop("Baseline (ET day, before the first dose)"),
    gettext_noop("β-hCG test (ET + 14 days)"),
    gettext_noop("Post-treatment (ET + 28 days)"),
    gettext_noop("β-hCG"),
    gettext_noop("Follicle-stimulating hormone"),
    gettext_noop("Luteinising hormone"),
    gettext_noop("Estradiol"),
    gettext_noop("CA-125"),
    gettext_noop("Interleukin-6"),
    gettext_noop("RAND 36-Item Health Survey 1.0"),
    gettext_noop("Social Support Rating Scale"),
)
