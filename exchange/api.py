"""API: the standard-format exports (SPEC §11.2), with the same rules as the analysis exports.

Statisticians only (`CanExport`), the rows of the sites the user may read, blinding as for the other
exports, every download recorded in the export log before its first byte and finished when its stream ends.
"""

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from analysis import exports
from analysis.export_api import CanExport, Progress, UrlFormatNegotiation, _recorded
from core import access
from core.models import Site
from exchange.odm.document import odm_document

ODM_CONTENT_TYPE = "application/xml; charset=utf-8"
FLAGS = {"": False, "0": False, "false": False, "1": True, "true": True}


def _site(request) -> Site | None:
    code = request.query_params.get("site")
    if code is None:
        return None
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise ValidationError({"site": [f"Unknown site '{code}'."]})
    if not access.can_read_site(request.user, site.pk):
        raise PermissionDenied(f"You may not read the data of site {code}.")
    return site


def _flag(request, name: str) -> bool:
    value = request.query_params.get(name, "").lower()
    if value not in FLAGS:
        raise ValidationError({name: [f"Expected 1 or 0, not '{value}'."]})
    return FLAGS[value]


class OdmExportApi(APIView):
    """The study as a CDISC ODM 1.3.2 Snapshot file, streamed; statisticians only; every export is audited."""

    permission_classes = [IsAuthenticated, CanExport]
    content_negotiation_class = UrlFormatNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("site", OpenApiTypes.STR, description="Only this site's patients (a site code)"),
            OpenApiParameter("audit", OpenApiTypes.STR, enum=["0", "1"], description="1: each value's audit record"),
        ],
        responses={(200, "application/xml"): OpenApiTypes.STR},
        description=(
            "ODM 1.3.2 Snapshot: MetaDataVersion (events, forms, item groups, items, code lists, units), AdminData "
            "(accounts, sites, signature meanings) and ClinicalData (one SubjectData per patient, SubjectKey = study "
            "id). No identity data. Blinded users get no arm."
        ),
    )
    def get(self, request):
        site, audit = _site(request), _flag(request, "audit")
        progress = Progress()
        body = odm_document(user=request.user, site=site, audit=audit, progress=progress)
        log = exports.export_log_start(
            user=request.user, dataset="odm", fmt="xml", query_string=request.META.get("QUERY_STRING", "")
        )
        response = StreamingHttpResponse(_recorded(body, log, progress), content_type=ODM_CONTENT_TYPE)
        response["Content-Disposition"] = 'attachment; filename="odm.xml"'
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on instead of buffering it
        return response
