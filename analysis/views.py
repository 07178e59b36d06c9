"""Dashboards: read the stored snapshot (never compute on request), download tables, trigger a recomputation.
The exports page: the statistician's data sets, their download links and the export log."""

import csv

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_POST

from analysis import exports, services
from analysis.dashboard_page import figures_html
from analysis.dashboard_tables import TABLES, dashboard_context
from analysis.export_api import CanExport
from analysis.selectors import export_log_latest, job_get, latest_snapshot
from core.selectors import arm_results_visible


def _require_dashboard(user) -> None:
    if not user.has_perm("core.view_dashboards"):
        raise PermissionDenied(_("Dashboards are for investigators and statisticians."))


def _population(request) -> str:
    population = request.GET.get("population", "itt")
    return population if population in services.POPULATIONS else "itt"


def _script_text(*, charts: bool) -> dict[str, str]:
    """The words static/js/dashboard.js shows (progress; charts only with a snapshot: no arm before
    the figures exist), in the user's language."""
    chart_words = {
        "randomizedCumulative": _("Randomized (cumulative)"),
        "target": _("Target"),
        "riskRatioCi": _("Risk ratio (95% CI)"),
        "riskRatioAxis": _("Risk ratio, EXP / CTRL (log scale) — < 1 favours fewer events with EXP"),
        "to": pgettext("confidence interval", "to"),
        "allArms": _("All arms"),
        "noValues": _("no values"),
        "median": _("median"),
        "range": _("range"),
    }
    return {
        **(chart_words if charts else {}),
        "queued": _("Queued"),
        "running": _("Running"),
        "done": _("Done"),
        "failed": _("Failed"),
        "recomputationFailed": _("Recomputation failed."),
        # Translators: keep {status}, the HTTP status code.
        "statusUnreadable": _("Could not read the job's status (HTTP {status})."),
        "requesting": _("Requesting a recomputation…"),
        # Translators: keep {status}, the HTTP status code.
        "requestRefused": _("The recomputation could not be requested (HTTP {status})."),
    }


def dashboard_view(request):
    _require_dashboard(request.user)
    snapshot = latest_snapshot(with_payload=False)
    population = _population(request)
    context = {
        "snapshot": snapshot,
        "population": population,
        "by_arm": arm_results_visible(request.user, request=request),
        "stale": services.snapshot_is_stale(snapshot, data_version=getattr(snapshot, "data_version_now", None)),
        "js_text": _script_text(charts=snapshot is not None),
    }
    if snapshot is not None:
        context["figures_html"] = figures_html(snapshot.pk, population=population, by_arm=context["by_arm"])
    return render(request, "analysis/dashboard.html", context)


def dashboard_csv_view(request, table: str):
    _require_dashboard(request.user)
    if table not in TABLES:
        raise Http404("No such table.")
    snapshot = latest_snapshot()
    if snapshot is None:
        raise Http404("No statistics computed yet.")
    context = dashboard_context(
        snapshot, population=_population(request), by_arm=arm_results_visible(request.user), stale=False
    )
    header, rows = TABLES[table](context)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}-{_population(request)}-{snapshot.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@require_POST
def recompute_view(request):
    _require_dashboard(request.user)
    job, _ = services.statistics_request(by=request.user)
    job.refresh_from_db()  # in eager mode the job may already have run
    if request.headers.get("HX-Request") or request.headers.get("Accept") == "application/json":
        return JsonResponse({**services.job_summary(job), "url": reverse("analysis:job", args=[job.pk])}, status=202)
    return redirect(f"{reverse('analysis:dashboard')}?job={job.pk}")


def job_status_view(request, pk: int):
    _require_dashboard(request.user)
    job = job_get(pk)
    if job is None:
        raise Http404("No such job.")
    return JsonResponse({**services.job_summary(job), "url": reverse("analysis:job", args=[job.pk])})


DATASET_DESCRIPTIONS = {
    "patients": gettext_lazy("One row per randomized patient (intention to treat, allocated arm)"),
    "lab-results": gettext_lazy("One row per active lab result"),
    "adverse-events": gettext_lazy("One row per active adverse event"),
    "questionnaires": gettext_lazy("One row per active questionnaire response"),
}


@require_GET
def exports_view(request):
    # The API's own rule (CanExport), so the page and the downloads it links to admit the same users.
    if not CanExport().has_permission(request, None):
        raise PermissionDenied(_("Exports are for statisticians."))
    counts = exports.row_counts(request.user)
    datasets = [
        {
            "name": dataset,
            "description": DATASET_DESCRIPTIONS.get(dataset, ""),
            "rows": counts[dataset],
            "csv_url": reverse("api-export", kwargs={"dataset": dataset, "fmt": "csv"}),
            "json_url": reverse("api-export", kwargs={"dataset": dataset, "fmt": "json"}),
        }
        for dataset in exports.DATASETS
    ]
    context = {
        "datasets": datasets,
        "dictionary_url": reverse("api-data-dictionary"),
        "log": export_log_latest(),
    }
    return render(request, "analysis/exports.html", context)
