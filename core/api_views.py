"""API: trial configuration (read-only) and the pagination of the audit trails (the patient's trail is
casebook/api.py, the accounts' core/account_api.py; the token API is core/auth_api.py)."""

from bisect import bisect_left, bisect_right

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import Cursor

from core.api import StablePagination, updated_since
from core.api_schema import UPDATED_SINCE
from core.models import Arm, Site, Timepoint


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
