"""This trial's configuration as the pure metadata builder takes it (exchange.odm.metadata.StudyConfig).

The fields of each form come from the casebook's catalogue (quality.form_fields); what a field holds is
read from the model field that stores it: its data type, whether it is required, and its closed list of
values (labels as English msgids, which the writer translates). Analytes and criteria come from the
catalogue's own selector (quality.form_field_selectors), the questionnaires from outcomes.
"""

from django.db import models
from django.utils.translation import override

from analysis.exports.dictionary import SCALES
from core.markers import gettext_noop
from core.models import Arm, Timepoint
from exchange.odm.metadata import (
    BOOLEAN,
    DATE,
    DATETIME,
    FLOAT,
    INTEGER,
    LAB_FORM,
    TEXT,
    Analyte,
    FieldType,
    Instrument,
    StudyConfig,
)
from labs.models import LabDraw, LabResult
from outcomes.instruments import INSTRUMENT_ITEMS, INSTRUMENT_NAMES
from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from outcomes.scoring import SCALE_LABELS
from outcomes.selectors import questionnaire_slots
from patients.models import (
    Baseline,
    Consent,
    DalteparinCourse,
    EmbryoTransfer,
    LutealSupport,
    Patient,
    PatientStatus,
    ProtocolDeviation,
    Randomization,
    Screening,
)
from quality.form_field_selectors import field_config

# The model whose rows each fixed form's values are (the screening form also shows her registration).
FORM_MODELS: dict[str, type[models.Model]] = {
    "screening": Screening,
    "consent": Consent,
    "baseline": Baseline,
    "randomization": Randomization,
    "transfer": EmbryoTransfer,
    "luteal_support": LutealSupport,
    "dalteparin": DalteparinCourse,
    "outcome": PregnancyOutcome,
    "adverse_events": AdverseEvent,
    "deviations": ProtocolDeviation,
}
REGISTRATION_FIELDS = {"age_at_enrolment": Patient, "status": Patient}
CENSORING = (("<", gettext_noop("Below the detection limit")), (">", gettext_noop("Above the measuring range")))
DERIVED = {"bmi": "Weight (kg) / height (m)², at baseline"}

_TYPES = (
    (models.BooleanField, BOOLEAN),
    (models.IntegerField, INTEGER),  # every integer field, small and positive ones too
    (models.DecimalField, FLOAT),
    (models.FloatField, FLOAT),
    (models.DateTimeField, DATETIME),  # before DateField, its parent class
    (models.DateField, DATE),
)


def _msgid(label) -> str:
    with override("en"):
        return str(label)


def _choices(field: models.Field) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), _msgid(label)) for value, label in field.flatchoices)


def field_type(field: models.Field) -> FieldType:
    """The ODM type of a model field, with its closed list and whether a record must have it."""
    data_type = next((odm for django_type, odm in _TYPES if isinstance(field, django_type)), TEXT)
    required = not (field.null or field.blank)
    return FieldType(data_type, _choices(field), required, DERIVED.get(field.name, ""))


def _arm_type() -> FieldType:
    arms = tuple(Arm.objects.order_by("order", "code").values_list("code", "label"))
    return FieldType(TEXT, arms, required=True)


def _form_types(form_key: str) -> dict[str, FieldType]:
    model = FORM_MODELS[form_key]
    types = {f.name: field_type(f) for f in model._meta.concrete_fields if not f.is_relation}
    if form_key == "screening":
        types |= {name: field_type(owner._meta.get_field(name)) for name, owner in REGISTRATION_FIELDS.items()}
        types["status"] = FieldType(TEXT, tuple((v, _msgid(label)) for v, label in PatientStatus.choices), True)
    if form_key == "randomization":
        types["arm"] = _arm_type()
    return types


def _lab_types() -> dict[str, FieldType]:
    types = {f.name: field_type(f) for f in LabResult._meta.concrete_fields if not f.is_relation}
    types["censoring"] = FieldType(TEXT, CENSORING)
    types["drawn_at"] = field_type(LabDraw._meta.get_field("drawn_at"))
    return types


def _instruments() -> tuple[Instrument, ...]:
    slots: dict[str, list[str]] = {}
    for instrument, timepoint in questionnaire_slots():
        slots.setdefault(instrument, []).append(timepoint)
    return tuple(
        Instrument(
            code,
            INSTRUMENT_NAMES.get(code, code),
            tuple(timepoints),
            INSTRUMENT_ITEMS.get(code, ()),
            tuple((scale, SCALE_LABELS.get(scale, scale)) for scale in SCALES.get(code, ())),
        )
        for code, timepoints in slots.items()
    )


def study_config() -> StudyConfig:
    """The trial's configuration for its metadata (a handful of queries)."""
    catalogue = field_config()
    field_types = {form_key: _form_types(form_key) for form_key in FORM_MODELS}
    field_types[LAB_FORM] = _lab_types()
    field_types["questionnaire"] = {"completed_on": field_type(QuestionnaireResponse._meta.get_field("completed_on"))}
    return StudyConfig(
        timepoints=tuple(Timepoint.objects.order_by("order").values_list("code", "label")),
        analytes=tuple(Analyte(f.name, f.label, f.unit) for f in catalogue.analytes),
        criteria=tuple((f.name, f.label) for f in catalogue.criteria),
        instruments=_instruments(),
        field_types=field_types,
    )
