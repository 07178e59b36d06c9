"""Statistics API (SPEC §5 contract): the stored snapshot, recomputation requests and job progress."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import services
from analysis.selectors import job_get, latest_snapshot
from core.api_schema import error_responses
from core.selectors import arm_results_visible


def _require_statistics_reader(user) -> None:
    if not user.has_perm("core.view_dashboards"):
        raise PermissionDenied("Statistics are for investigators and statisticians.")


class StatisticsApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("population", str, enum=list(services.POPULATIONS))],
        responses={200: OpenApiTypes.OBJECT, **error_responses(403, 404)},
        description="The SPEC §5 statistics snapshot (contract); pooled for users who must stay blinded.",
    )
    def get(self, request):
        _require_statistics_reader(request.user)
        population = request.query_params.get("population", "itt")
        if population not in services.POPULATIONS:
            raise ValidationError({"population": [f"Use one of: {', '.join(services.POPULATIONS)}."]})
        snapshot = latest_snapshot()
        if snapshot is None:
            raise NotFound("No statistics computed yet; POST /api/v1/statistics/recompute/.")
        by_arm = arm_results_visible(request.user)
        return Response(services.statistics_document(snapshot, population=population, by_arm=by_arm))


class StatisticsRecomputeApi(APIView):
    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request):
        _require_statistics_reader(request.user)
        job, _ = services.statistics_request(by=request.user)
        job.refresh_from_db()
        return Response(services.job_summary(job), status=status.HTTP_202_ACCEPTED)


class StatisticsJobApi(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **error_responses(403)})
    def get(self, request, pk: int):
        _require_statistics_reader(request.user)
        job = job_get(pk)
        if job is None:
            raise NotFound("No such job.")
        return Response(services.job_summary(job))
