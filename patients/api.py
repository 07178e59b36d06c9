"""Registry API: patients (list, detail, register), consent, baseline, randomize."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import updated_since
from core.models import Site
from core.services import record_update
from patients import randomization, selectors, services
from patients.serializers import (
    IDENTITY_FIELDS,
    BaselineSerializer,
    ConsentSerializer,
    PatientCreateSerializer,
    PatientPatchSerializer,
    PatientSerializer,
)


def _patients_for(user):
    return selectors.patient_list(user=user).select_related("screening", "randomization__arm")


class PatientListApi(ListAPIView):
    """GET the patients of your sites; POST registers a screened woman (identity is write-only)."""

    serializer_class = PatientSerializer

    def get_queryset(self):
        status_filter = self.request.query_params.get("status", "")
        patients = _patients_for(self.request.user).order_by("pk")
        if status_filter:
            patients = patients.filter(status=status_filter)
        return updated_since(self.request, patients)

    def post(self, request):
        data = PatientCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        site = Site.objects.filter(code=values["site"]).first()
        if site is None or not access.can_read_site(request.user, site.pk):
            return Response({"site": [f"Unknown site '{values['site']}'."]}, status=status.HTTP_400_BAD_REQUEST)
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

    @extend_schema(request=PatientPatchSerializer, responses={200: PatientSerializer})
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

    def post(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        data = ConsentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.consent_record(patient=patient, by=request.user, **data.validated_data)
        return Response(PatientSerializer(_refetch(request.user, patient)).data, status=status.HTTP_201_CREATED)


class BaselineApi(APIView):
    serializer_class = BaselineSerializer

    def post(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        data = BaselineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        baseline = services.baseline_record(
            patient=patient, data=services.BaselineInput(**data.validated_data), by=request.user
        )
        body = {**BaselineSerializer(baseline).data, "bmi": str(baseline.bmi), "version": baseline.version}
        return Response(body, status=status.HTTP_201_CREATED)


class RandomizeApi(APIView):
    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, study_id):
        patient = selectors.patient_get(user=request.user, study_id=study_id)
        if request.data:
            return Response({"non_field_errors": ["Randomize takes no body."]}, status=status.HTTP_400_BAD_REQUEST)
        done = randomization.patient_randomize(patient=patient, by=request.user)
        body = {"study_id": patient.study_id, "arm": done.arm.code, "randomized_at": done.randomized_at.isoformat()}
        return Response(body, status=status.HTTP_201_CREATED)
