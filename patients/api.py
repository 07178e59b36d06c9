"""Registry API: patients (list, detail, register), consent, baseline, randomize; the base of the API
resources of a patient's clinical records, and her transfers."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import StrictSerializer, record_output, require_any_data_entry, updated_since
from core.api_lists import ValuesListMixin
from core.api_resources import WRITE_ERRORS, ClinicalResource
from core.api_schema import UPDATED_SINCE, error_responses
from core.models import Site
from core.services import record_update
from patients import randomization, selectors, services
from patients.models import CycleType, EmbryoStage, EmbryoTransfer, PatientStatus
from patients.serializers import (
    IDENTITY_FIELDS,
    BaselineOutputSerializer,
    BaselineSerializer,
    ConsentSerializer,
    PatientCreateSerializer,
    PatientPatchSerializer,
    PatientSerializer,
    RandomizationSerializer,
)
from patients.treatment import TransferInput, transfer_record, transfer_update


def _patients_for(user):
    return selectors.patient_list(user=user).select_related("screening", "randomization__arm")


class PatientListApi(ValuesListMixin, ListAPIView):
    """GET the patients of your sites; POST registers a screened woman (identity is write-only)."""

    serializer_class = PatientSerializer

    @extend_schema(parameters=[OpenApiParameter("status", enum=PatientStatus.values), UPDATED_SINCE])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        status_filter = self.request.query_params.get("status", "")
        if status_filter and status_filter not in PatientStatus.values:
            raise exceptions.ValidationError({"status": [f"Use one of {', '.join(PatientStatus.values)}."]})
        patients = _patients_for(self.request.user).order_by("pk")
        if status_filter:
            patients = patients.filter(status=status_filter)
        return updated_since(self.request, patients)

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer, **WRITE_ERRORS})
    def post(self, request):
        require_any_data_entry(request.user)
        data = PatientCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        site = Site.objects.filter(code=values["site"]).first()
        if site is None:
            return Response({"site": [f"Unknown site '{values['site']}'."]}, status=status.HTTP_400_BAD_REQUEST)
        # Sites are listed to every user (/api/v1/sites/), so refusing one by name reveals nothing.
        access.require_data_entry(request.user, site.pk)
        identity = services.IdentityInput(
            full_name=values["full_name"],
            medical_record_number=values["medical_record_number"],
            date_of_birth=values["date_of_birth"],
            phone=values["phone"],
        )
        patient = services.patient_screen(
            site=site,
            identity=identity,
            screening_date=values["screening_date"],
            answers=values["criteria"],
            by=request.user,
        )
        return Response(PatientSerializer(_refetch(request.user, patient)).data, status=status.HTTP_201_CREATED)


def _refetch(user, patient):
    return get_object_or_404(_patients_for(user), pk=patient.pk)


class PatientDetailApi(APIView):
    """GET a patient; PATCH corrects her identity or withdraws her (with `reason` and `version`)."""

    serializer_class = PatientSerializer

    def get(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        return Response(PatientSerializer(_refetch(request.user, patient)).data)

    @extend_schema(request=PatientPatchSerializer, responses={200: PatientSerializer, **WRITE_ERRORS})
    def patch(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        access.require_data_entry(request.user, patient.site_id)
        data = PatientPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        corrects_identity = any(name in values for name in IDENTITY_FIELDS)
        if corrects_identity and not access.can_view_identity(request.user, patient.site_id):
            raise PermissionDenied("You may not see or change identity data at this site.")
        with transaction.atomic():
            # The version check every PATCH makes (409 naming who changed her), holding her row lock
            # until the service below has written.
            patient = record_update(
                patient, changes={}, by=request.user, reason=values["reason"], expected_version=values["version"]
            )
            if corrects_identity:
                _identity_correct(patient, values, by=request.user)
            else:
                services.patient_withdraw(
                    patient=patient, withdrawn_on=values["withdrawn_on"], reason=values["reason"], by=request.user
                )
        return Response(PatientSerializer(_refetch(request.user, patient)).data)


def _identity_correct(patient, values: dict, *, by) -> None:
    """The changed identity fields merged into the stored ones, through the page's correction service."""
    stored = patient.identity
    identity = services.IdentityInput(**{name: values.get(name, getattr(stored, name)) for name in IDENTITY_FIELDS})
    services.identity_update(patient=patient, identity=identity, by=by, reason=values["reason"], expected_version=None)


class ConsentApi(APIView):
    serializer_class = ConsentSerializer

    @extend_schema(request=ConsentSerializer, responses={201: PatientSerializer, **WRITE_ERRORS})
    def post(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        access.require_data_entry(request.user, patient.site_id)  # the role before the body (SPEC §1)
        data = ConsentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.consent_record(patient=patient, by=request.user, **data.validated_data)
        return Response(PatientSerializer(_refetch(request.user, patient)).data, status=status.HTTP_201_CREATED)


class BaselineApi(APIView):
    serializer_class = BaselineSerializer

    @extend_schema(request=BaselineSerializer, responses={201: BaselineOutputSerializer, **WRITE_ERRORS})
    def post(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        access.require_data_entry(request.user, patient.site_id)  # the role before the body (SPEC §1)
        data = BaselineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        baseline = services.baseline_record(
            patient=patient, data=services.BaselineInput(**data.validated_data), by=request.user
        )
        return Response(BaselineOutputSerializer(baseline).data, status=status.HTTP_201_CREATED)


class RandomizeApi(APIView):
    @extend_schema(
        request=None, responses={201: RandomizationSerializer, **error_responses(400, 413, 415), **WRITE_ERRORS}
    )
    def post(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        access.require_data_entry(request.user, patient.site_id)  # the role before the body (SPEC §1)
        if request.data:
            return Response({"non_field_errors": ["Randomize takes no body."]}, status=status.HTTP_400_BAD_REQUEST)
        done = randomization.patient_randomize(patient=patient, by=request.user)
        body = {"study_id": patient.study_id, "arm": done.arm.code, "randomized_at": done.randomized_at.isoformat()}
        return Response(body, status=status.HTTP_201_CREATED)


class PatientRecordResource(ClinicalResource):
    """A clinical record type of a patient: a POST names her by study_id, looked up at the user's sites."""

    def patient_get(self, *, user, study_id):
        return selectors.patient_get(user=user, study_id=study_id)


# --- Transfers -----------------------------------------------------------------------------------------

TRANSFER_FIELDS = ["transfer_date", "cycle_type", "embryo_stage", "embryos_transferred"]


class TransferInputSerializer(StrictSerializer):
    bounds_model = EmbryoTransfer
    study_id = serializers.CharField()
    transfer_date = serializers.DateField()
    cycle_type = serializers.ChoiceField(choices=CycleType.choices)
    embryo_stage = serializers.ChoiceField(choices=EmbryoStage.choices)
    embryos_transferred = serializers.IntegerField()


class Transfers(PatientRecordResource):
    model = EmbryoTransfer
    output = record_output(EmbryoTransfer, TRANSFER_FIELDS)
    create_input = TransferInputSerializer

    def create(self, *, patient, data, by):
        return transfer_record(patient=patient, data=TransferInput(**data), by=by)

    def update(self, *, record, data, by, reason, version):
        return transfer_update(
            transfer=record, data=TransferInput(**data), by=by, reason=reason, expected_version=version
        )
