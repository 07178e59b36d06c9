"""The fields of each casebook form, by form key: what a data query may be about and what the casebook
review shows. Pure: no Django (labels are msgids, translated where they are shown).

Form keys are those of quality.catalogue: fixed keys for the registry and treatment forms, `labs:<time
point>` for a draw and its results, `questionnaire:<instrument>:<time point>` for a questionnaire. The
fields of a lab form follow the configured analytes and those of the screening form the eligibility
criteria (configuration, passed in); the questionnaire items come from outcomes.instruments.

A form's fields are grouped into visits for the review page: enrolment, treatment, one visit per time
point (its labs and questionnaires), the pregnancy outcome, and the unscheduled records.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.markers import gettext_noop
from outcomes.instruments import INSTRUMENT_ITEMS, Item


@dataclass(frozen=True)
class FormField:
    name: str  # as stored in DataQuery.field: a model field, an analyte code, a criterion code, item_<key>
    label: str  # msgid (or configuration text) translated where shown
    unit: str = ""
    number: str = ""  # a questionnaire item's number, printed before its text


@dataclass(frozen=True)
class FieldConfig:
    """The configured parts of the catalogue: analytes (code, name, canonical unit) and criteria."""

    analytes: tuple[FormField, ...] = ()
    criteria: tuple[FormField, ...] = ()
    instruments: Mapping[str, tuple[Item, ...]] = field(default_factory=lambda: INSTRUMENT_ITEMS)


def _f(name: str, label: str, unit: str = "") -> FormField:
    return FormField(name, label, unit)


SCREENING_DATE = _f("screening_date", gettext_noop("Screening date"))
AGE_AT_ENROLMENT = _f("age_at_enrolment", gettext_noop("Age at enrolment"), gettext_noop("years"))
ELIGIBLE = _f("eligible", gettext_noop("Eligible"))

FIXED_FORMS: dict[str, tuple[FormField, ...]] = {
    "consent": (
        _f("form_version", gettext_noop("Consent form version")),
        _f("signed_on", gettext_noop("Date signed")),
        _f("withdrawn_on", gettext_noop("Date of withdrawal")),
        _f("withdrawal_reason", gettext_noop("Reason for withdrawal")),
    ),
    "baseline": (
        _f("height_cm", gettext_noop("Height"), "cm"),
        _f("weight_kg", gettext_noop("Weight"), "kg"),
        _f("bmi", gettext_noop("BMI"), "kg/m²"),
        _f("previous_failed_transfers", gettext_noop("Previous failed embryo transfers")),
        _f("prior_miscarriages", gettext_noop("Prior miscarriages")),
        _f("infertility_type", gettext_noop("Infertility type")),
        _f("infertility_years", gettext_noop("Infertility duration"), gettext_noop("years")),
        _f("education", gettext_noop("Education")),
        _f("amh_ng_ml", gettext_noop("AMH"), "ng/mL"),
    ),
    "randomization": (
        _f("arm", gettext_noop("Arm")),
        _f("randomized_at", gettext_noop("Randomized at")),
        _f("in_error", gettext_noop("Randomized in error")),
        _f("in_error_reason", gettext_noop("Why was this randomization made in error?")),
    ),
    "transfer": (
        _f("transfer_date", gettext_noop("Transfer date")),
        _f("cycle_type", gettext_noop("Cycle type")),
        _f("embryo_stage", gettext_noop("Embryo stage")),
        _f("embryos_transferred", gettext_noop("Embryos transferred")),
    ),
    "luteal_support": (
        _f("drug", gettext_noop("Drug")),
        _f("route", gettext_noop("Route")),
        _f("daily_dose", gettext_noop("Daily dose")),
        _f("start_date", gettext_noop("Start date")),
        _f("stop_date", gettext_noop("Stop date")),
    ),
    "dalteparin": (
        _f("daily_dose_iu", gettext_noop("Daily dose"), "IU"),
        _f("start_date", gettext_noop("Start date")),
        _f("stop_date", gettext_noop("Stop date")),
        _f("missed_doses", gettext_noop("Missed doses")),
    ),
    "outcome": (
        _f("beta_hcg_positive", gettext_noop("β-hCG positive")),
        _f("beta_hcg_date", gettext_noop("β-hCG date")),
        _f("beta_hcg_value", gettext_noop("β-hCG value"), "IU/L"),
        _f("clinical_pregnancy", gettext_noop("Clinical pregnancy (sac on ultrasound)")),
        _f("ultrasound_date", gettext_noop("Ultrasound date")),
        _f("gestational_sacs", gettext_noop("Gestational sacs")),
        _f("fetal_heartbeat", gettext_noop("Fetal heartbeat")),
        _f("ectopic", gettext_noop("Ectopic pregnancy")),
        _f("miscarriage", gettext_noop("Miscarriage")),
        _f("miscarriage_date", gettext_noop("Miscarriage date")),
        _f("miscarriage_week", gettext_noop("Miscarriage: gestational week")),
        _f("ongoing_pregnancy", gettext_noop("Ongoing pregnancy at 12 weeks")),
        _f("live_birth", gettext_noop("Live birth")),
        _f("live_birth_date", gettext_noop("Live birth date")),
        _f("infants", gettext_noop("Number of infants")),
        _f("sacs_exceed_embryos_confirmed", gettext_noop("More sacs than embryos confirmed")),
    ),
    "adverse_events": (
        _f("term", gettext_noop("Term")),
        _f("term_other", gettext_noop("Other: describe")),
        _f("onset_date", gettext_noop("Onset date")),
        _f("resolution_date", gettext_noop("Resolution date")),
        _f("grade", gettext_noop("CTCAE grade")),
        _f("serious", gettext_noop("Serious adverse event (SAE)")),
        _f("related_to_dalteparin", gettext_noop("Related to dalteparin")),
        _f("action_taken", gettext_noop("Action taken")),
        _f("outcome", gettext_noop("Outcome")),
        _f("sae_notified_at", gettext_noop("SAE notified at")),
    ),
    "deviations": (
        _f("occurred_on", gettext_noop("Occurred on")),
        _f("description", gettext_noop("Description")),
        _f("major", gettext_noop("Major deviation")),
    ),
}
DRAWN_AT = _f("drawn_at", gettext_noop("Drawn at"))
COMPLETED_ON = _f("completed_on", gettext_noop("Completed on"))


def item_field_name(item_key: str) -> str:
    """A questionnaire item as a query field: the name its input has on the questionnaire form."""
    return f"item_{item_key}"


def form_fields(form_key: str, config: FieldConfig) -> tuple[FormField, ...]:
    """The fields of one form, in the order the form shows them (empty for an unknown key)."""
    if form_key == "screening":
        return (SCREENING_DATE, AGE_AT_ENROLMENT, *config.criteria, ELIGIBLE)
    if form_key in FIXED_FORMS:
        return FIXED_FORMS[form_key]
    kind, _, rest = form_key.partition(":")
    if kind == "labs" and rest:
        return (DRAWN_AT, *config.analytes)
    if kind == "questionnaire" and rest.count(":") == 1:
        instrument = rest.split(":")[0]
        items = config.instruments.get(instrument, ())
        return (COMPLETED_ON, *(FormField(item_field_name(i.key), i.text, number=i.key) for i in items))
    return ()


def field_of(form_key: str, name: str, config: FieldConfig) -> FormField | None:
    """The field `name` of the form, or None when the form has no such field."""
    return next((f for f in form_fields(form_key, config) if f.name == name), None)


# --- Visits: the forms of the review page grouped as the site fills them --------------------------------

ENROLMENT, TREATMENT, OUTCOME, UNSCHEDULED = "enrolment", "treatment", "outcome", "unscheduled"
VISIT_LABELS = {
    ENROLMENT: gettext_noop("Enrolment"),
    TREATMENT: gettext_noop("Treatment"),
    OUTCOME: gettext_noop("Pregnancy outcome"),
    UNSCHEDULED: gettext_noop("Unscheduled records"),
}
_FIXED_VISITS = {
    "screening": ENROLMENT,
    "consent": ENROLMENT,
    "baseline": ENROLMENT,
    "randomization": ENROLMENT,
    "transfer": TREATMENT,
    "luteal_support": TREATMENT,
    "dalteparin": TREATMENT,
    "outcome": OUTCOME,
    "adverse_events": UNSCHEDULED,
    "deviations": UNSCHEDULED,
}
TIMEPOINT_VISIT = "timepoint:"


def visit_of(form_key: str) -> str:
    """The visit a form belongs to: a fixed key, or `timepoint:<code>` for labs and questionnaires."""
    if form_key in _FIXED_VISITS:
        return _FIXED_VISITS[form_key]
    kind, _, rest = form_key.partition(":")
    if kind in ("labs", "questionnaire") and rest:
        return TIMEPOINT_VISIT + rest.rsplit(":", 1)[-1]
    return UNSCHEDULED
