"""Lab results API: one result per POST (SPEC §7 payload), site-scoped list with `updated_since`."""

from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import updated_since
from labs.models import LabResult
from labs.services import lab_result_add, lab_result_correct
from patients.selectors import patient_get
from patients.serializers import StrictSerializer


class LabResultSerializer(serializers.ModelSerializer):
    study_id = serializers.CharField(source="draw.patient.study_id")
    timepoint = serializers.CharField(source="draw.timepoint.code")
    drawn_at = serializers.DateTimeField(source="draw.drawn_at")
    analyte = serializers.CharField(source="analyte.code")
    value = serializers.CharField(source="value_as_entered")
    unit = serializers.CharField(source="unit_as_entered")
    canonical_unit = serializers.CharField(source="analyte.canonical_unit")
    window_warning = serializers.CharField(source="draw.window_warning")

    class Meta:
        model = LabResult
        fields = [
            "id",
            "study_id",
            "timepoint",
            "drawn_at",
            "analyte",
            "value",
            "unit",
            "canonical_value",
            "canonical_unit",
            "censoring",
            "flag",
            "window_warning",
            "version",
            "updated_at",
        ]


class ValueField(serializers.Field):
    """A number, or a string such as "<0.5" for a censored value (SPEC §7)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            raise serializers.ValidationError('Give a number or a string such as "<0.5".')
        return str(data)

    def to_representation(self, value):
        return value


class LabResultCreateSerializer(StrictSerializer):
    study_id = serializers.CharField()
    timepoint = serializers.CharField()
    analyte = serializers.CharField()
    value = ValueField()
    unit = serializers.CharField()
    drawn_at = serializers.DateTimeField()


def _results_for(user):
    return (
        LabResult.objects.filter(
            access.site_filter(user, "draw__patient__site_id"), voided_at__isnull=True, draw__voided_at__isnull=True
        )
        .select_related("draw__patient", "draw__timepoint", "analyte")
        .order_by("pk")
    )


class LabResultListApi(ListAPIView):
    serializer_class = LabResultSerializer

    def get_queryset(self):
        return updated_since(self.request, _results_for(self.request.user))

    def post(self, request):
        data = LabResultCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        patient = patient_get(user=request.user, study_id=values.pop("study_id"))
        result = lab_result_add(patient=patient, by=request.user, **values)
        return Response(LabResultSerializer(result).data, status=status.HTTP_201_CREATED)


class LabResultPatchSerializer(StrictSerializer):
    value = ValueField(required=False)
    unit = serializers.CharField(required=False)
    reason = serializers.CharField()
    version = serializers.IntegerField(min_value=1)


class LabResultDetailApi(APIView):
    """GET one result; PATCH its value and/or unit with a reason and the version it was based on."""

    serializer_class = LabResultSerializer

    def get(self, request, pk: int):
        return Response(LabResultSerializer(self._result(pk)).data)

    def patch(self, request, pk: int):
        result = self._result(pk)
        data = LabResultPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        corrected = lab_result_correct(
            result=result,
            value=values.get("value", result.value_as_entered),
            unit=values.get("unit", result.unit_as_entered),
            by=request.user,
            reason=values["reason"],
            expected_version=values["version"],
        )
        return Response(LabResultSerializer(corrected).data)

    def _result(self, pk: int) -> LabResult:
        result = _results_for(self.request.user).filter(pk=pk).first()
        if result is None:
            raise NotFound("No such lab result at your sites.")
        return result
