"""A patient's audit history as people read it (the inspector's page), filtered, and its CSV download."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from casebook import selectors
from casebook.audit_history import ReadableEntry, TrailNames, readable_trail, trail_filter, trail_options
from casebook.history_forms import HistoryFilterForm
from core.api import utc_iso
from core.csv_safety import csv_cells
from patients import selectors as patient_selectors


def history_view(request, study_id):
    """GET: her history, newest first, filtered by ?record=&field=&user=&date_from=&date_to=; `?format=csv`
    downloads the same rows."""
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    zone = patient.site.time_zone
    entries = selectors.patient_audit_history(user=request.user, patient=patient)
    names = TrailNames(entries)
    filters = HistoryFilterForm(request.GET, options=trail_options(entries, names))
    shown = readable_trail(trail_filter(entries, filters.chosen(), zone), zone=zone, names=names)
    if request.GET.get("format") == "csv":
        return _csv_response(patient.study_id, shown)
    context = {"patient": patient, "entries": shown, "filters": filters, "ignored": filters.ignored(), "zone": zone}
    csv_query = request.GET.copy()
    csv_query["format"] = "csv"
    context.update(total=len(entries), csv_query=csv_query.urlencode())
    return render(request, "casebook/history.html", context)


def _csv_rows(entries: list[ReadableEntry]):
    for entry in entries:
        for change in entry.changes:
            yield [
                entry.when,
                utc_iso(entry.at),
                entry.user,
                entry.username,
                entry.record_label,
                entry.action_label,
                change.label,
                change.old,
                change.new,
                entry.reason,
                entry.request_id,
            ]


def _csv_response(study_id: str, entries: list[ReadableEntry]) -> HttpResponse:
    """The filtered rows with the page's values, a text cell a spreadsheet would run defused (SPEC §11.1)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{study_id}.csv"'
    header = [
        _("When"),
        _("When (UTC)"),
        _("Who"),
        _("Username"),
        _("Record"),
        _("Action"),
        _("Field"),
        _("Old value"),
        _("New value"),
        _("Reason"),
        _("Request"),
    ]
    writer = csv.writer(response)
    writer.writerows(csv_cells([header, *_csv_rows(entries)]))
    return response
