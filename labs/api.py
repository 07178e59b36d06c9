"""Lab results API: one result per POST (SPEC §7 payload), site-scoped list with `updated_since`, and
the CSV import (the browser's and `manage.py import_labs`'s file format and rules)."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import StrictSerializer, require_any_data_entry, updated_since
from core.api_lists import ValuesListMixin
from core.api_resources import WRITE_ERRORS
from core.api_schema import UPDATED_SINCE, ErrorDetailSerializer, error_responses
from core.api_views import ConfigListApi
from core.exceptions import DomainError
from labs import forms as lab_forms
from labs.importing import ImportReport, lab_results_import
from labs.models import Analyte, LabResult
from labs.services import lab_result_add, lab_result_correct
from patients.selectors import patient_get


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


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string"}]})
class ValueField(serializers.Field):
    """A number, or a string such as "<0.5" for a censored value (SPEC §7)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | Decimal | float | str):
            raise serializers.ValidationError('Give a number or a string such as "<0.5".')
        return str(data)  # a JSON number as written (core.api_parsers.JSONParser reads it as a Decimal)

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


class LabResultListApi(ValuesListMixin, ListAPIView):
    serializer_class = LabResultSerializer

    @extend_schema(parameters=[UPDATED_SINCE])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return updated_since(self.request, _results_for(self.request.user))

    @extend_schema(
        request=LabResultCreateSerializer,
        responses={201: LabResultSerializer, **error_responses(404), **WRITE_ERRORS},
    )
    def post(self, request):
        require_any_data_entry(request.user)
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

    @extend_schema(request=LabResultPatchSerializer, responses={200: LabResultSerializer, **WRITE_ERRORS})
    def patch(self, request, pk: int):
        result = self._result(pk)
        access.require_data_entry(request.user, result.draw.patient.site_id)  # the role before the body
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


# --- CSV import ------------------------------------------------------------------------------------

# Room for the multipart boundaries and the reason field around a file at the size limit.
_MULTIPART_OVERHEAD = 1024 * 1024


class UploadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self):
        limit = lab_forms.MAX_IMPORT_BYTES / 1024 / 1024
        super().__init__({"file": [f"The file is larger than the {limit:g} MB limit; split it."]})


class CsvParser(BaseParser):
    """A raw `text/csv` body, as bytes: the same file the multipart `file` field carries."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        content = stream.read(lab_forms.MAX_IMPORT_BYTES + 1)
        if len(content) > lab_forms.MAX_IMPORT_BYTES:
            raise UploadTooLarge()
        return content


class LabImportUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="CSV: study_id,timepoint,drawn_at,analyte,value,unit (UTF-8)")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Needed when the file changes stored values"
    )


class LabImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Line in the file (header = 1); null: the whole file")
    column = serializers.CharField(
        help_text="The CSV column at fault; for a refused upload, the form field or parameter"
    )
    message = serializers.CharField()


class LabImportUpdateSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    study_id = serializers.CharField()
    timepoint = serializers.CharField()
    analyte = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class LabImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    imported = serializers.BooleanField()
    import_id = serializers.IntegerField(allow_null=True, help_text="The import log; null when nothing changed")
    file_sha256 = serializers.CharField()
    rows_total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    updates = LabImportUpdateSerializer(many=True)
    warnings = LabImportProblemSerializer(many=True)
    errors = LabImportProblemSerializer(many=True, help_text="The problems of the first 1,000 bad rows, by line")
    bad_rows = serializers.IntegerField(
        help_text="Every bad row, listed or not (a problem of the whole file counts as one)"
    )


def _report_body(report: ImportReport, *, dry_run: bool) -> dict:
    return {
        "dry_run": dry_run,
        "imported": report.imported,
        "import_id": report.import_id,
        "file_sha256": report.file_sha256,
        "rows_total": report.rows_total,
        "created": report.count("create"),
        "updated": report.count("update"),
        "unchanged": report.count("unchanged"),
        "updates": [
            {"line": c.row, "study_id": c.study_id, "timepoint": c.timepoint, "analyte": c.analyte}
            | {"old": c.old, "new": c.new}
            for c in report.changes
            if c.action == "update"
        ],
        "warnings": [{"line": line, "column": "drawn_at", "message": message} for line, message in report.warnings],
        "errors": [{"line": p.row or None, "column": p.column, "message": p.message} for p in report.problems],
        "bad_rows": report.bad_rows_total,
    }


def _refusal_body(detail, *, dry_run: bool) -> dict:
    """A refused upload (no file, unknown fields, a malformed body or flag) in the import report's shape."""
    report = ImportReport(file_sha256="")
    body = _report_body(report, dry_run=dry_run)
    if not isinstance(detail, dict):
        detail = {"file": detail}
    body["errors"] = [
        {"line": None, "column": name, "message": str(message)}
        for name, messages in detail.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]
    body["bad_rows"] = 1
    return body


def _flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value not in {"", "0", "1", "false", "true", "no", "yes"}:
        raise exceptions.ValidationError({name: ["Use 1 or 0."]})
    return value in {"1", "true", "yes"}


class LabImportApi(APIView):
    """POST a lab CSV (multipart `file`, or a raw text/csv body): all rows checked, then all or nothing.

    `?dry_run=1` checks and reports the plan without saving. Changing a stored value needs `reason`
    (a form field, or `?reason=` with a raw body). Importing the same file again changes nothing.
    """

    parser_classes = [MultiPartParser, CsvParser]
    serializer_class = LabImportReportSerializer

    @extend_schema(
        request={"multipart/form-data": LabImportUploadSerializer, "text/csv": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Check and report; save nothing"),
            OpenApiParameter("reason", str, description="With a raw text/csv body: why stored values change"),
        ],
        responses={
            200: OpenApiResponse(LabImportReportSerializer, description="Checked (dry run), or nothing changed"),
            201: OpenApiResponse(LabImportReportSerializer, description="Imported"),
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="LabImportRefusal",
                    serializers=[LabImportReportSerializer, ErrorDetailSerializer],
                    resource_type_field_name=None,
                ),
                description="Refused, nothing saved: the problems in `errors` (a refused upload: line null); "
                "a control character in the address or a header (core.request_guard): `detail`",
            ),
            **error_responses(413, 423),
        },
    )
    def post(self, request):
        if not access.data_entry_site_ids(request.user):
            raise PermissionDenied("Only site staff and investigators import lab results.")
        dry_run = _flag(request.query_params.get("dry_run"), "dry_run")
        self._refuse_oversized(request)
        content, filename, reason = self._upload(request)
        report = lab_results_import(content=content, filename=filename, by=request.user, dry_run=dry_run, reason=reason)
        body = _report_body(report, dry_run=dry_run)
        if report.problems:
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED if report.imported else status.HTTP_200_OK)

    def handle_exception(self, exc):
        """Every 400 of an import answers in the report's shape, the one its schema documents."""
        if isinstance(exc, DomainError) and exc.status_code == status.HTTP_400_BAD_REQUEST:
            exc = exceptions.ValidationError(exc.errors)
        if isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
            dry_run = (self.request.query_params.get("dry_run") or "").strip().lower() in {"1", "true", "yes"}
            return Response(_refusal_body(exc.detail, dry_run=dry_run), status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def _refuse_oversized(self, request) -> None:
        """Refuse by the announced length before the body is read or spooled to disk."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > lab_forms.MAX_IMPORT_BYTES + _MULTIPART_OVERHEAD:
            raise UploadTooLarge()

    def _upload(self, request) -> tuple[bytes, str, str]:
        if isinstance(request.data, bytes):
            return request.data, "upload.csv", request.query_params.get("reason", "")
        data = LabImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > lab_forms.MAX_IMPORT_BYTES:
            raise UploadTooLarge()
        return upload.read(), upload.name, data.validated_data["reason"]


class AnalyteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Analyte
        fields = ["code", "name", "canonical_unit", "accepted_units", "hard_max"]


class AnalyteListApi(ConfigListApi):
    queryset = Analyte.objects.all()
    serializer_class = AnalyteSerializer
