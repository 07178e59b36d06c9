"""Lab pages: enter a draw, correct a result, and upload a CSV (checked and previewed before import)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors
from labs import forms, services
from labs.importing import lab_results_import
from labs.models import LabResult
from patients.view_helpers import editable_patient


@require_http_methods(["GET", "POST"])
def draw_create_view(request, study_id):
    patient = editable_patient(request, study_id)
    form = forms.LabDrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            draw = services.lab_draw_record(
                patient=patient,
                timepoint=form.cleaned_data["timepoint"].code,
                drawn_at=form.cleaned_data["drawn_at"],
                entries=form.entries(),
                by=request.user,
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            flagged = [
                f"{r.analyte.code} {_(r.flag)}" for r in draw.results.select_related("analyte") if r.flag != "normal"
            ]
            messages.success(request, _("Lab draw saved: %(timepoint)s.") % {"timepoint": _(draw.timepoint.label)})
            if flagged:
                messages.warning(
                    request, _("Outside the reference range: %(results)s.") % {"results": ", ".join(flagged)}
                )
            if draw.window_warning:
                messages.warning(request, draw.window_warning)
            return redirect("casebook:patient", study_id=patient.study_id)
    return render(request, "labs/draw_form.html", {"patient": patient, "form": form})


@require_http_methods(["GET", "POST"])
def result_correct_view(request, pk):
    result = LabResult.objects.select_related("draw__patient", "draw__timepoint", "analyte").filter(pk=pk).first()
    if result is None:
        raise Http404("No such result.")
    patient = editable_patient(request, result.draw.patient.study_id)
    initial = {"value": result.value_as_entered, "unit": result.unit_as_entered, "version": result.version}
    form = forms.LabResultCorrectForm(request.POST or None, initial=initial, analyte=result.analyte)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.lab_result_correct(
                result=result,
                value=data["value"],
                unit=data["unit"],
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, _("%(analyte)s corrected.") % {"analyte": result.analyte.code})
            return redirect("casebook:patient", study_id=patient.study_id)
    title = _("Correct %(analyte)s at %(timepoint)s") % {
        "analyte": result.analyte.code,
        "timepoint": _(result.draw.timepoint.label),
    }
    return render(request, "patients/record_form.html", {"patient": patient, "form": form, "title": title})


def _require_importer(user) -> None:
    if not access.data_entry_site_ids(user):
        raise PermissionDenied(_("Only site staff and investigators import lab results."))


@require_http_methods(["GET", "POST"])
def import_view(request):
    """Upload → every row checked (a dry run) → preview with errors, warnings and changes."""
    _require_importer(request.user)
    form = forms.LabImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read()
        report = lab_results_import(
            content=content,
            filename=form.cleaned_data["file"].name,
            by=request.user,
            dry_run=True,
            skip_invalid=form.cleaned_data["skip_invalid"],
            reason=form.cleaned_data["reason"],
        )
    context = _preview_context(form, report)
    if context.get("can_import"):  # a file that cannot be imported is not kept for a confirmation
        services.checked_upload_keep(user=request.user, sha256=report.file_sha256, content=content)
    return render(request, "labs/import.html", context)


def _preview_context(form, report) -> dict:
    if report is None:
        return {"form": form, "report": None}
    counts = {action: report.count(action) for action in ("create", "update", "unchanged")}
    importable = counts["create"] + counts["update"] > 0
    blocked = bool(report.problems) and not form.cleaned_data["skip_invalid"]
    return {
        "form": form,
        "report": report,
        "filename": form.cleaned_data["file"].name,
        "counts": counts,
        "updates": [c for c in report.changes if c.action == "update"],
        "listed_rows": len(report.bad_rows),
        "can_import": importable and not blocked and not any(p.row == 0 for p in report.problems),
    }


@require_POST
def import_confirm_view(request):
    _require_importer(request.user)
    content = services.checked_upload_take(user=request.user, sha256=request.POST.get("sha256", ""))
    if content is None:
        messages.error(request, _("The checked file is no longer available; upload it again."))
        return redirect("labs:import")
    report = lab_results_import(
        content=content,
        filename=request.POST.get("filename", "upload.csv"),
        by=request.user,
        skip_invalid=request.POST.get("skip_invalid") == "1",
        reason=request.POST.get("reason", ""),
    )
    if report.imported:
        messages.success(
            request,
            _("Imported: %(new)s new, %(updated)s updated, %(unchanged)s unchanged, %(skipped)s skipped.")
            % {
                "new": report.count("create"),
                "updated": report.count("update"),
                "unchanged": report.count("unchanged"),
                "skipped": report.skipped_invalid,
            },
        )
    elif report.problems:
        messages.error(request, _("Nothing imported: %(bad)s bad row(s).") % {"bad": report.bad_rows_total})
    else:
        messages.info(request, _("Nothing to import: every row is already stored."))
    return redirect("labs:import")
