"""`/api/v1/queries/`: list (site-scoped), raise (monitors), and answer / close / reopen by PATCH."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.api import StrictSerializer, updated_since
from core.api_schema import UPDATED_SINCE, error_responses
from patients.selectors import patient_get
from quality import selectors, services
from quality.models import DataQuery, QueryOrigin, QueryStatus


class QueryMessageSerializer(serializers.Serializer):
    kind = serializers.CharField()
    author = serializers.CharField(source="author_name")
    text = serializers.CharField()
    at = serializers.DateTimeField()


class DataQuerySerializer(serializers.ModelSerializer):
    study_id = serializers.CharField(source="patient.study_id")
    raised_by = serializers.CharField(source="raised_by_name")
    closed_by = serializers.SerializerMethodField()
    age_days = serializers.SerializerMethodField()
    messages = QueryMessageSerializer(many=True)

    class Meta:
        model = DataQuery
        fields = [
            "id",
            "study_id",
            "form",
            "field",
            "status",
            "origin",
            "check_code",
            "raised_by",
            "opened_at",
            "closed_at",
            "closed_by",
            "age_days",
            "version",
            "messages",
        ]

    def get_closed_by(self, query) -> str | None:
        if query.closed_at is None:
            return None
        return query.closed_by.get_username() if query.closed_by_id else "system"

    def get_age_days(self, query) -> int:
        return selectors.query_age_days(query)


class QueryRaiseSerializer(StrictSerializer):
    bounds_model = DataQuery
    study_id = serializers.CharField(max_length=16)
    form = serializers.CharField(max_length=60, help_text="A form key of her casebook, e.g. baseline, labs:ET14")
    field = serializers.CharField(
        max_length=60,
        help_text="One of that form's fields (checked): a field name (weight_kg), an analyte code on a lab form "
        "(IL6), a criterion code on screening, item_<number> on a questionnaire (item_5a)",
    )
    message = serializers.CharField(max_length=4000)


class QueryChangeSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=QueryStatus.choices, help_text="answered, closed, or open (reopen)")
    message = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(min_value=1, required=False, help_text="The version your change is based on")


STEPS = {
    QueryStatus.ANSWERED: services.query_answer,
    QueryStatus.CLOSED: services.query_close,
    QueryStatus.OPEN: services.query_reopen,
}


class QueryListApi(ListAPIView):
    """GET `?study_id=&status=&origin=&site=`; POST raises a query (monitors)."""

    serializer_class = DataQuerySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("study_id", str, description="One patient's queries, e.g. SZ-0001"),
            OpenApiParameter("status", enum=QueryStatus.values),
            OpenApiParameter("origin", enum=QueryOrigin.values),
            OpenApiParameter("site", str, description="Site code, e.g. SZ"),
            UPDATED_SINCE,
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        for name, allowed in (("status", QueryStatus.values), ("origin", QueryOrigin.values)):
            if params.get(name, "") and params[name] not in allowed:
                raise serializers.ValidationError({name: [f"Use one of {', '.join(allowed)}."]})
        queries = selectors.query_list(
            user=self.request.user,
            status=params.get("status", ""),
            study_id=params.get("study_id", ""),
            site_code=params.get("site", ""),
            origin=params.get("origin", ""),
        )
        return updated_since(self.request, queries.order_by("pk"))

    @extend_schema(request=QueryRaiseSerializer, responses={201: DataQuerySerializer, **error_responses(404)})
    def post(self, request):
        if not request.user.has_perm("core.raise_query"):  # the role before the body (SPEC §1)
            raise PermissionDenied(_("Only monitors raise queries."))
        data = QueryRaiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        patient = patient_get(user=request.user, study_id=values.pop("study_id"))
        query = services.query_raise(patient=patient, by=request.user, **values)
        return Response(DataQuerySerializer(selectors.query_get(user=request.user, pk=query.pk)).data, status=201)


def _may_act_on(user, query: DataQuery) -> bool:
    """Staff of her site answer a query; monitors close and reopen it (each step checks its own role too)."""
    return access.can_enter_data(user, query.patient.site_id) or user.has_perm("core.raise_query")


class QueryDetailApi(APIView):
    serializer_class = DataQuerySerializer

    def _query(self, request, pk):
        query = selectors.query_list(user=request.user).filter(pk=pk).first()
        if query is None:
            raise NotFound("No such query at your sites.")
        return query

    def get(self, request, pk: int):
        return Response(DataQuerySerializer(self._query(request, pk)).data)

    @extend_schema(request=QueryChangeSerializer, responses={200: DataQuerySerializer, **error_responses(409)})
    def patch(self, request, pk: int):
        query = self._query(request, pk)
        if not _may_act_on(request.user, query):  # the role before the body (SPEC §1)
            raise PermissionDenied(_("Only staff of the patient's site and monitors act on queries."))
        data = QueryChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        STEPS[values["status"]](
            query=query, message=values["message"], by=request.user, expected_version=values.get("version")
        )
        return Response(DataQuerySerializer(self._query(request, pk)).data, status=status.HTTP_200_OK)
