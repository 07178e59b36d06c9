"""GET /api/v1/audit/?patient=&since= : one patient's audit trail across every app's tracked records
(the accounts' trail is core/account_api.py)."""

from datetime import datetime

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView

from casebook.selectors import patient_audit_events
from core.api import json_value, moment_param, utc_iso
from core.api_views import AuditPagination
from patients.selectors import patient_get


class AuditEventSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField(help_text='"<model>:<event id>", unique across the trail')
    at = serializers.SerializerMethodField(help_text="UTC")
    user = serializers.CharField(source="username")
    action = serializers.CharField(help_text="created, changed or voided")
    model = serializers.CharField(help_text='The tracked model, e.g. "patients.Baseline" (moves with the code)')
    record = serializers.CharField(
        help_text='Stable record-type name, e.g. "pregnancy_outcome", "adverse_event", "casebook_lock": '
        "unchanged when code moves between apps"
    )
    record_label = serializers.SerializerMethodField(
        help_text="The record type as the history page names it, in the request's language"
    )
    changes = serializers.SerializerMethodField(help_text="field → [old, new]")
    field_label = serializers.SerializerMethodField(
        help_text="field → the field's label (its verbose name) in the request's language, for each key of changes"
    )
    reason = serializers.CharField()
    request_id = serializers.CharField()

    def get_id(self, entry) -> str:
        return f"{entry.model}:{entry.event_id}"

    def get_at(self, entry) -> str:
        return utc_iso(entry.at)

    def get_record_label(self, entry) -> str:
        return gettext(entry.record_label)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, entry):
        return {change.field: [json_value(change.old), json_value(change.new)] for change in entry.changes}

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_field_label(self, entry) -> dict[str, str]:
        return {change.field: gettext(change.label) for change in entry.changes}


def _since(raw: str | None) -> datetime | None:
    return moment_param(raw, "since") if raw else None


class AuditListApi(ListAPIView):
    """GET ?patient=<study_id>[&since=<ISO date-time>]: her audit events, oldest first.

    The same events as the patient's history page: identity changes only for staff of her site.
    """

    serializer_class = AuditEventSerializer
    pagination_class = AuditPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", str, required=True, description="Study id, e.g. SZ-0001"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Only events after this moment"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        study_id = params.get("patient", "").strip()
        if not study_id:
            raise exceptions.ValidationError({"patient": ["Give the patient's study id: ?patient=SZ-0001."]})
        since = _since(params.get("since"))
        patient = patient_get(user=self.request.user, study_id=study_id)
        return patient_audit_events(user=self.request.user, patient=patient, since=since)
