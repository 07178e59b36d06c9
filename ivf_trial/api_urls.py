"""REST API v1 (SPEC §7 contract paths)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from analysis import api as analysis_api
from analysis import export_api
from casebook import api as casebook_api
from core import account_api, auth_api
from core import api_views as core_api
from core.api_resources import resource_detail_api, resource_list_api
from exchange import api as exchange_api
from labs import api as labs_api
from outcomes import api as outcomes_api
from patients import api as patients_api
from quality import api as quality_api

urlpatterns = [
    path("auth/token/", auth_api.TokenApi.as_view(), name="api-token"),
    path("sites/", core_api.SiteListApi.as_view(), name="api-sites"),
    path("arms/", core_api.ArmListApi.as_view(), name="api-arms"),
    path("analytes/", labs_api.AnalyteListApi.as_view(), name="api-analytes"),
    path("timepoints/", core_api.TimepointListApi.as_view(), name="api-timepoints"),
    path("patients/", patients_api.PatientListApi.as_view(), name="api-patients"),
    path("patients/<str:study_id>/", patients_api.PatientDetailApi.as_view(), name="api-patient"),
    path("patients/<str:study_id>/consent/", patients_api.ConsentApi.as_view(), name="api-consent"),
    path("patients/<str:study_id>/baseline/", patients_api.BaselineApi.as_view(), name="api-baseline"),
    path("patients/<str:study_id>/randomize/", patients_api.RandomizeApi.as_view(), name="api-randomize"),
    path("lab-results/", labs_api.LabResultListApi.as_view(), name="api-lab-results"),
    path("lab-results/<int:pk>/", labs_api.LabResultDetailApi.as_view(), name="api-lab-result"),
    path("lab-imports/", labs_api.LabImportApi.as_view(), name="api-lab-imports"),
    path("audit/", casebook_api.AuditListApi.as_view(), name="api-audit"),
    path("audit/accounts/", account_api.AccountAuditListApi.as_view(), name="api-audit-accounts"),
    *[
        route
        for prefix, resource in (
            ("transfers", patients_api.Transfers()),
            ("outcomes", outcomes_api.Outcomes()),
            ("adverse-events", outcomes_api.AdverseEvents()),
            ("questionnaires", outcomes_api.Questionnaires()),
        )
        for route in (
            path(f"{prefix}/", resource_list_api(resource).as_view(), name=f"api-{prefix}"),
            path(f"{prefix}/<int:pk>/", resource_detail_api(resource).as_view(), name=f"api-{prefix}-detail"),
        )
    ],
    path("statistics/", analysis_api.StatisticsApi.as_view(), name="api-statistics"),
    path("statistics/recompute/", analysis_api.StatisticsRecomputeApi.as_view(), name="api-statistics-recompute"),
    path("statistics/jobs/<int:pk>/", analysis_api.StatisticsJobApi.as_view(), name="api-statistics-job"),
    path("export/odm.xml", exchange_api.OdmExportApi.as_view(), name="api-export-odm"),
    path("export/<str:dataset>.<str:fmt>", export_api.ExportApi.as_view(), name="api-export"),
    path("data-dictionary/", export_api.DataDictionaryApi.as_view(), name="api-data-dictionary"),
    path("queries/", quality_api.QueryListApi.as_view(), name="api-queries"),
    path("queries/<int:pk>/", quality_api.QueryDetailApi.as_view(), name="api-query"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a script file: no inline script, so the CSP holds.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
