"""API input and output of the registry. Input shape only: the rules run in the services."""

from rest_framework import serializers

from core.api import StrictSerializer
from patients.models import Baseline, Education, InfertilityType, Patient, PatientStatus


class StoredDateTimeField(serializers.DateTimeField):
    """A moment as stored (ISO 8601 in UTC, `+00:00`), not converted to the server's time zone."""

    def to_representation(self, value) -> str:
        return value.isoformat()


class PatientSerializer(serializers.ModelSerializer):
    """A patient as the API shows her: never any identity field."""

    site = serializers.CharField(source="site.code")
    screening_date = serializers.DateField(source="screening.screening_date")
    eligible = serializers.BooleanField(source="screening.eligible")
    failed_criteria = serializers.ListField(source="screening.failed_criteria", child=serializers.CharField())
    arm = serializers.CharField(source="randomization.arm.code", allow_null=True, read_only=True)
    randomized_at = StoredDateTimeField(source="randomization.randomized_at", allow_null=True, read_only=True)

    class Meta:
        model = Patient
        fields = [
            "study_id",
            "site",
            "status",
            "age_at_enrolment",
            "screening_date",
            "eligible",
            "failed_criteria",
            "arm",
            "randomized_at",
            "version",
            "created_at",
            "updated_at",
        ]


class PatientCreateSerializer(StrictSerializer):
    site = serializers.CharField()
    full_name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField()
    medical_record_number = serializers.CharField(max_length=50)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    screening_date = serializers.DateField()
    criteria = serializers.DictField(child=serializers.BooleanField(), allow_empty=False)


class ConsentSerializer(StrictSerializer):
    form_version = serializers.CharField(max_length=40)
    signed_on = serializers.DateField()


class BaselineSerializer(StrictSerializer):
    bounds_model = Baseline
    height_cm = serializers.DecimalField(max_digits=4, decimal_places=1)
    weight_kg = serializers.DecimalField(max_digits=4, decimal_places=1)
    previous_failed_transfers = serializers.IntegerField(min_value=0)
    prior_miscarriages = serializers.IntegerField(min_value=0)
    infertility_type = serializers.ChoiceField(choices=InfertilityType.choices)
    infertility_years = serializers.DecimalField(max_digits=3, decimal_places=1)
    education = serializers.ChoiceField(choices=Education.choices)
    amh_ng_ml = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True, default=None)


class BaselineOutputSerializer(BaselineSerializer):
    """The recorded baseline: what was sent, the derived BMI and the version a correction is based on."""

    bmi = serializers.DecimalField(max_digits=4, decimal_places=2, read_only=True, help_text="kg/m², derived")
    version = serializers.IntegerField(read_only=True)


class RandomizationSerializer(serializers.Serializer):
    """The allocation made (SPEC §7 contract)."""

    study_id = serializers.CharField()
    arm = serializers.CharField(help_text="Arm code, e.g. CTRL or EXP")
    randomized_at = serializers.DateTimeField()


IDENTITY_FIELDS = ("full_name", "date_of_birth", "medical_record_number", "phone")


class PatientPatchSerializer(StrictSerializer):
    """PATCH of a patient: identity corrections, or withdrawal (`status` "withdrawn" and `withdrawn_on`)."""

    full_name = serializers.CharField(max_length=200, required=False)
    date_of_birth = serializers.DateField(required=False)
    medical_record_number = serializers.CharField(max_length=50, required=False)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=[PatientStatus.WITHDRAWN.value],
        required=False,
        error_messages={
            "invalid_choice": 'Only "withdrawn" is set here; consent and randomization have their own endpoints.'
        },
    )
    withdrawn_on = serializers.DateField(required=False)
    reason = serializers.CharField()
    version = serializers.IntegerField(min_value=1)

    def validate(self, data):
        identity = [name for name in IDENTITY_FIELDS if name in data]
        withdrawal = "status" in data or "withdrawn_on" in data
        if identity and withdrawal:
            raise serializers.ValidationError("Send an identity correction and a withdrawal as separate requests.")
        if not identity and not withdrawal:
            raise serializers.ValidationError(
                'Nothing to change: send identity fields, or "status": "withdrawn" with "withdrawn_on".'
            )
        if withdrawal and "status" not in data:
            raise serializers.ValidationError({"status": ['Send "status": "withdrawn" to withdraw the patient.']})
        if withdrawal and "withdrawn_on" not in data:
            raise serializers.ValidationError({"withdrawn_on": ["Give the date of withdrawal."]})
        return data
