"""Generic API for a clinical record type: site-scoped list, POST through a service, GET and PATCH by id.

PATCH sends the changed fields, a `reason` and the `version` it was based on; the service checks the
version (409 naming who changed it) and the rules, exactly as the forms do. A POST names its patient by
study_id, which the resource looks up (core knows no patient: patients.api.PatientRecordResource does).
"""

from functools import reduce

from django.db.models import Model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import StrictSerializer, require_any_data_entry, updated_since
from core.api_lists import ValuesListMixin
from core.api_schema import UPDATED_SINCE, error_responses


class ClinicalResource:
    """What a record type needs: its model, serializers, the look-up of a POST's patient and the two service calls."""

    model: type[Model]
    patient_path = "patient"
    related: tuple[str, ...] = ()
    output: type[serializers.Serializer]
    create_input: type[serializers.Serializer]

    def patient_get(self, *, user, study_id: str):
        """The patient a POST names, at the user's sites (404 otherwise)."""
        raise NotImplementedError

    def create(self, *, patient, data: dict, by): ...

    def update(self, *, record, data: dict, by, reason: str, version: int): ...

    def current(self, record) -> dict:
        """The record's present values in the create payload's terms (PATCH merges changes into them)."""
        return {name: getattr(record, name) for name in self.create_input().fields if name != "study_id"}

    def patient(self, record):
        return reduce(getattr, self.patient_path.split("__"), record)

    def queryset(self, user):
        records = self.model.objects.filter(
            access.site_filter(user, f"{self.patient_path}__site_id"), voided_at__isnull=True
        ).select_related(f"{self.patient_path}__site", *self.related)
        return records.order_by("pk")


def patch_input(resource: ClinicalResource) -> type[serializers.Serializer]:
    """The PATCH body of a record type (SPEC §7): the create payload's fields, all optional, plus `reason` and
    `version`. It checks the body's shape; the merged record is then checked as a whole by `create_input`."""
    fields = {}
    for name, field in resource.create_input().fields.items():
        if name != "study_id":
            kwargs = {key: value for key, value in field._kwargs.items() if key not in ("required", "default")}
            fields[name] = type(field)(*field._args, required=False, **kwargs)
    fields["reason"] = serializers.CharField(help_text="Why the record changes (kept in the audit trail)")
    fields["version"] = serializers.IntegerField(min_value=1, help_text="The version the change is based on")
    fields["__doc__"] = "The changed fields (those sent replace the stored values), why, and the version they change."
    fields["bounds_model"] = resource.model
    return type(f"{resource.model.__name__}Patch", (StrictSerializer,), fields)


# A clinical write may be refused by the patient's state (409) or a locked casebook or database (423).
WRITE_ERRORS = error_responses(409, 423)


def resource_list_api(resource: ClinicalResource):
    class ResourceListApi(ValuesListMixin, ListAPIView):
        serializer_class = resource.output

        @extend_schema(parameters=[UPDATED_SINCE])
        def get(self, request, *args, **kwargs):
            return super().get(request, *args, **kwargs)

        def get_queryset(self):
            return updated_since(self.request, resource.queryset(self.request.user))

        @extend_schema(
            request=resource.create_input, responses={201: resource.output, **error_responses(404), **WRITE_ERRORS}
        )
        def post(self, request):
            require_any_data_entry(request.user)
            data = resource.create_input(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
            patient = resource.patient_get(user=request.user, study_id=values.pop("study_id"))
            record = resource.create(patient=patient, data=values, by=request.user)
            return Response(resource.output(record).data, status=status.HTTP_201_CREATED)

    ResourceListApi.__name__ = f"{resource.model.__name__}ListApi"
    return ResourceListApi


def resource_detail_api(resource: ClinicalResource):
    patch_serializer = patch_input(resource)

    class ResourceDetailApi(APIView):
        serializer_class = resource.output

        def _record(self, request, pk):
            record = resource.queryset(request.user).filter(pk=pk).first()
            if record is None:
                raise NotFound("No such record at your sites.")
            return record

        def get(self, request, pk: int):
            return Response(resource.output(self._record(request, pk)).data)

        @extend_schema(request=patch_serializer, responses={200: resource.output, **WRITE_ERRORS})
        def patch(self, request, pk: int):
            record = self._record(request, pk)
            access.require_data_entry(request.user, resource.patient(record).site_id)  # the role before the body
            envelope = patch_serializer(data=request.data)
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
