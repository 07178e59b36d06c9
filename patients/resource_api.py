"""Generic API for a clinical record type: site-scoped list, POST through a service, GET and PATCH by id.

PATCH sends the changed fields, a `reason` and the `version` it was based on; the service checks the
version (409 naming who changed it) and the rules, exactly as the forms do.
"""

from django.db.models import Model
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import updated_since
from patients.selectors import patient_get


class ClinicalResource:
    """What a record type needs: its model, serializers and the two service calls."""

    model: type[Model]
    patient_path = "patient"
    related: tuple[str, ...] = ()
    output: type[serializers.Serializer]
    create_input: type[serializers.Serializer]

    def create(self, *, patient, data: dict, by): ...

    def update(self, *, record, data: dict, by, reason: str, version: int): ...

    def current(self, record) -> dict:
        """The record's present values in the create payload's terms (PATCH merges changes into them)."""
        return {name: getattr(record, name) for name in self.create_input().fields if name != "study_id"}

    def queryset(self, user):
        records = self.model.objects.filter(
            access.site_filter(user, f"{self.patient_path}__site_id"), voided_at__isnull=True
        ).select_related(f"{self.patient_path}__site", *self.related)
        return records.order_by("pk")


class PatchEnvelope(serializers.Serializer):
    reason = serializers.CharField()
    version = serializers.IntegerField(min_value=1)


def resource_list_api(resource: ClinicalResource):
    class ResourceListApi(ListAPIView):
        serializer_class = resource.output

        def get_queryset(self):
            return updated_since(self.request, resource.queryset(self.request.user))

        def post(self, request):
            data = resource.create_input(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
            patient = patient_get(user=request.user, study_id=values.pop("study_id"))
            record = resource.create(patient=patient, data=values, by=request.user)
            return Response(resource.output(record).data, status=status.HTTP_201_CREATED)

    ResourceListApi.__name__ = f"{resource.model.__name__}ListApi"
    return ResourceListApi


def resource_detail_api(resource: ClinicalResource):
    class ResourceDetailApi(APIView):
        serializer_class = resource.output

        def _record(self, request, pk):
            record = resource.queryset(request.user).filter(pk=pk).first()
            if record is None:
                raise NotFound("No such record at your sites.")
            return record

        def get(self, request, pk: int):
            return Response(resource.output(self._record(request, pk)).data)

        def patch(self, request, pk: int):
            record = self._record(request, pk)
            envelope = PatchEnvelope(data={k: request.data.get(k) for k in ("reason", "version")})
            envelope.is_valid(raise_exception=True)
            changes = {k: v for k, v in request.data.items() if k not in ("reason", "version")}
            merged = resource.create_input(data={**_as_input(resource.current(record)), **changes, "study_id": "-"})
            merged.is_valid(raise_exception=True)
            values = {k: v for k, v in merged.validated_data.items() if k != "study_id"}
            updated = resource.update(
                record=record,
                data=values,
                by=request.user,
                reason=envelope.validated_data["reason"],
                version=envelope.validated_data["version"],
            )
            return Response(resource.output(updated).data)

    ResourceDetailApi.__name__ = f"{resource.model.__name__}DetailApi"
    return ResourceDetailApi


def _as_input(values: dict) -> dict:
    """Stored values as JSON-ish input, so the merged payload runs through the same serializer."""
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items() if v is not None}
