"""Outcome resources of API v1: pregnancy outcomes, adverse events, questionnaires."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import StrictSerializer, record_output
from core.input_bounds import ITEMS_MAX
from outcomes import services
from outcomes.models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventTerm,
    AeOutcome,
    PregnancyOutcome,
    QuestionnaireResponse,
    Relatedness,
)
from patients.api import PatientRecordResource

# --- Pregnancy outcomes --------------------------------------------------------------------------------


class OutcomeInputSerializer(StrictSerializer):
    bounds_model = PregnancyOutcome
    study_id = serializers.CharField()
    beta_hcg_positive = serializers.BooleanField()
    beta_hcg_date = serializers.DateField(required=False, allow_null=True, default=None)
    beta_hcg_value = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True, default=None
    )
    clinical_pregnancy = serializers.BooleanField(required=False, default=False)
    ultrasound_date = serializers.DateField(required=False, allow_null=True, default=None)
    gestational_sacs = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    fetal_heartbeat = serializers.BooleanField(required=False, allow_null=True, default=None)
    ectopic = serializers.BooleanField(required=False, default=False)
    miscarriage = serializers.BooleanField(required=False, default=False)
    miscarriage_date = serializers.DateField(required=False, allow_null=True, default=None)
    miscarriage_week = serializers.IntegerField(required=False, allow_null=True, default=None)
    ongoing_pregnancy = serializers.BooleanField(required=False, allow_null=True, default=None)
    live_birth = serializers.BooleanField(required=False, allow_null=True, default=None)
    live_birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    infants = serializers.IntegerField(required=False, allow_null=True, default=None)
    confirm_sacs = serializers.BooleanField(required=False, default=False)


class Outcomes(PatientRecordResource):
    model = PregnancyOutcome
    output = record_output(PregnancyOutcome, [*services.OUTCOME_FIELDS, "sacs_exceed_embryos_confirmed"])
    create_input = OutcomeInputSerializer

    def current(self, record):
        values = {name: getattr(record, name) for name in services.OUTCOME_FIELDS}
        return {**values, "confirm_sacs": record.sacs_exceed_embryos_confirmed}

    def create(self, *, patient, data, by):
        confirm = data.pop("confirm_sacs")
        return services.outcome_record(patient=patient, data=data, by=by, confirm_sacs=confirm)

    def update(self, *, record, data, by, reason, version):
        confirm = data.pop("confirm_sacs")
        return services.outcome_update(
            outcome=record, data=data, by=by, reason=reason, expected_version=version, confirm_sacs=confirm
        )


# --- Adverse events ------------------------------------------------------------------------------------


class AdverseEventInputSerializer(StrictSerializer):
    bounds_model = AdverseEvent
    study_id = serializers.CharField()
    term = serializers.ChoiceField(choices=AdverseEventTerm.choices)
    term_other = serializers.CharField(required=False, allow_blank=True, default="")
    onset_date = serializers.DateField()
    resolution_date = serializers.DateField(required=False, allow_null=True, default=None)
    grade = serializers.IntegerField()
    serious = serializers.BooleanField()
    related_to_dalteparin = serializers.ChoiceField(choices=Relatedness.choices)
    action_taken = serializers.ChoiceField(choices=ActionTaken.choices)
    outcome = serializers.ChoiceField(choices=AeOutcome.choices)


class AdverseEvents(PatientRecordResource):
    model = AdverseEvent
    output = record_output(AdverseEvent, services.AE_FIELDS)
    create_input = AdverseEventInputSerializer

    def create(self, *, patient, data, by):
        return services.adverse_event_record(patient=patient, data=data, by=by)

    def update(self, *, record, data, by, reason, version):
        return services.adverse_event_update(event=record, data=data, by=by, reason=reason, expected_version=version)


# --- Questionnaires ------------------------------------------------------------------------------------


MAX_ANSWER_DIGITS = 4


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]{1,4}$"}]},
        "maxProperties": ITEMS_MAX,
        "example": {"1": 3, "2": "4"},
    }
)
class AnswersField(serializers.DictField):
    """Item key → option number (or count); numbers may come as JSON numbers or digit strings."""

    def to_internal_value(self, data):
        answers = super().to_internal_value(data)
        parsed, errors = {}, {}
        for key, value in answers.items():
            # ASCII digits only: str.isdigit() also accepts "²", which int() refuses; and few of them (no
            # option number or count has more, and int() refuses strings past 4,300 digits with a ValueError).
            if isinstance(value, str):
                number = value.isascii() and value.isdigit() and len(value) <= MAX_ANSWER_DIGITS
            else:
                number = isinstance(value, int)
            if isinstance(value, bool) or not number:
                errors[key] = [f"Item {key}: give the option number, not {value!r}."]
            else:
                parsed[str(key)] = int(value)
        if errors:
            raise serializers.ValidationError(errors)
        return parsed


class QuestionnaireInputSerializer(StrictSerializer):
    bounds_model = QuestionnaireResponse
    study_id = serializers.CharField()
    instrument = serializers.CharField()
    timepoint = serializers.CharField()
    answers = AnswersField()
    completed_on = serializers.DateField(required=False, default=None)


class QuestionnaireOutput(serializers.ModelSerializer):
    study_id = serializers.CharField(source="patient.study_id")
    instrument = serializers.CharField(source="instrument.code")
    timepoint = serializers.CharField(source="timepoint.code")

    class Meta:
        model = QuestionnaireResponse
        fields = [
            "id",
            "study_id",
            "instrument",
            "timepoint",
            "completed_on",
            "answers",
            "scores",
            "version",
            "updated_at",
        ]


class Questionnaires(PatientRecordResource):
    model = QuestionnaireResponse
    related = ("instrument", "timepoint")
    output = QuestionnaireOutput
    create_input = QuestionnaireInputSerializer

    def current(self, record):
        return {
            "instrument": record.instrument.code,
            "timepoint": record.timepoint.code,
            "answers": record.answers,
            "completed_on": record.completed_on,
        }

    def create(self, *, patient, data, by):
        completed_on = data.pop("completed_on") or timezone.localdate()
        return services.questionnaire_record(patient=patient, completed_on=completed_on, by=by, **data)

    def update(self, *, record, data, by, reason, version):
        return services.questionnaire_update(
            response=record,
            completed_on=data["completed_on"] or record.completed_on,
            answers=data["answers"],
            by=by,
            reason=reason,
            expected_version=version,
        )
