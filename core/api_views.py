"""API: trial configuration (read-only), audit trail (the token API is core/auth_api.py)."""

from bisect import bisect_left, bisect_right
from datetime import datetime

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import Cursor

from casebook.selectors import patient_audit_events
from core.api import StablePagination, json_value, moment_param, updated_since, utc_iso
from core.api_schema import UPDATED_SINCE
from core.models import Arm, Site, Timepoint
from labs.models import Analyte
from patients.selectors import patient_get


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["code", "name"]


class ArmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Arm
        fields = ["code", "label", "is_control"]


class TimepointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Timepoint
        fields = ["code", "label", "day_offset", "window_before", "window_after"]


class AnalyteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Analyte
        fields = ["code", "name", "canonical_unit", "accepted_units", "hard_max"]


class ConfigListApi(ListAPIView):
    """Configuration tables have no timestamps: `updated_since` is answered from their audit events."""

    @extend_schema(parameters=[UPDATED_SINCE])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = self.queryset.all()
        if not self.request.query_params.get("updated_since"):
            return queryset
        events = updated_since(self.request, self.queryset.model.pgh_event_model.objects.all(), "pgh_created_at")
        return queryset.filter(pk__in=events.values("pgh_obj_id"))


class SiteListApi(ConfigListApi):
    queryset = Site.objects.all()
    serializer_class = SiteSerializer


class ArmListApi(ConfigListApi):
    queryset = Arm.objects.all()
    serializer_class = ArmSerializer


class TimepointListApi(ConfigListApi):
    queryset = Timepoint.objects.all()
    serializer_class = TimepointSerializer


class AnalyteListApi(ConfigListApi):
    queryset = Analyte.objects.all()
    serializer_class = AnalyteSerializer


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


class AuditPagination(StablePagination):
    """StablePagination over a list sorted by `AuditEntry.position` (unique): the cursor is a position.

    A patient's trail is read and diffed in memory (each event's old values are its predecessor's),
    so there is no single table whose rows a queryset cursor could point at.
    """

    def paginate_queryset(self, entries, request, view=None):
        self.request, self.base_url = request, request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.cursor = self.decode_cursor(request)
        start, end = self._bounds([entry.position for entry in entries])
        self.page = entries[start:end]
        self.has_previous, self.has_next = start > 0, end < len(entries)
        return self.page

    def _bounds(self, positions: list[str]) -> tuple[int, int]:
        position = self.cursor.position if self.cursor else None
        if position is None:
            return 0, self.page_size
        if self.cursor.reverse:
            end = bisect_left(positions, position)
            return max(0, end - self.page_size), end
        start = bisect_right(positions, position)
        return start, start + self.page_size

    def get_next_link(self):
        if not self.has_next:
            return None
        position = self.page[-1].position if self.page else None
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self):
        if not self.has_previous:
            return None
        position = self.page[0].position if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))


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
