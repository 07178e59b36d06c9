"""Every export is recorded in ExportLog: who, which data set and format, when, how many rows, completed.

Refused requests (not logged in, no export permission, unknown data set or format) export nothing and
write no row: the log records what left the system, and a refusal leaves nothing behind to record.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.signals import request_finished
from django.db import InternalError, close_old_connections, transaction
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from analysis import export_api, exports
from analysis.admin import ExportLogAdmin
from analysis.export_api import ExportApi
from analysis.models import ExportLog
from core.audit import reset_request_id, set_request_id
from labs.services import lab_draw_record
from outcomes.services import adverse_event_record
from tests.factories import adverse_event_form, make_user, randomized_patient

pytestmark = pytest.mark.django_db

factory = APIRequestFactory()
FORMATS = ("csv", "json")


@pytest.fixture
def lab_trial(site_a, site_b, staff_site_a, staff_site_b, statistician):
    """Site A: 2 patients × 3 results, one adverse event; site B: 1 patient × 2 results."""
    drawn_at = timezone.now() - timedelta(hours=1)
    entries = [("FSH", "6", "IU/L"), ("LH", "4", "IU/L"), ("E2", "50", "pg/mL")]
    for _ in range(2):
        patient = randomized_patient(site_a, staff_site_a, statistician)
        lab_draw_record(patient=patient, timepoint="BASELINE", drawn_at=drawn_at, entries=entries, by=staff_site_a)
    adverse_event_record(patient=patient, data=adverse_event_form(), by=staff_site_a)
    b1 = randomized_patient(site_b, staff_site_b, statistician)
    lab_draw_record(patient=b1, timepoint="BASELINE", drawn_at=drawn_at, entries=entries[:2], by=staff_site_b)


def _export(user, dataset: str, fmt: str, query: str = ""):
    request = factory.get(f"/api/v1/export/{dataset}.{fmt}{query}")
    if user is not None:
        force_authenticate(request, user=user)
    return ExportApi.as_view()(request, dataset=dataset, fmt=fmt)


def _client_goes_away(response) -> None:
    """What the WSGI server does when the client disconnects mid-download: it closes the response.
    (Without the request_finished hook, which would drop the test's connection, as Django's test client does.)"""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("dataset", "rows"), [("lab-results", 8), ("adverse-events", 1)])
def test_an_export_writes_one_row_with_user_dataset_format_and_row_count(lab_trial, statistician, dataset, rows, fmt):
    token = set_request_id("req-export-log-01")
    try:
        response = _export(statistician, dataset, fmt, query="?site=SZ&note=x")
    finally:
        reset_request_id(token)
    b"".join(response.streaming_content)
    (log,) = ExportLog.objects.all()
    assert (log.user, log.username, log.dataset, log.format) == (statistician, "statistician", dataset, fmt)
    assert (log.query_string, log.request_id) == ("site=SZ&note=x", "req-export-log-01")
    assert (log.row_count, log.completed) == (rows, True)
    assert log.started_at <= log.finished_at <= timezone.now()


def test_the_row_is_written_before_the_first_byte_is_sent(lab_trial, statistician):
    response = _export(statistician, "lab-results", "csv")
    (log,) = ExportLog.objects.all()
    assert (log.finished_at, log.row_count, log.completed) == (None, None, False)
    b"".join(response.streaming_content)
    log.refresh_from_db()
    assert (log.row_count, log.completed) == (8, True)


@pytest.mark.parametrize("dataset", ["lab-results", "adverse-events"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_interrupted_download_is_recorded_as_incomplete(lab_trial, statistician, monkeypatch, dataset, fmt):
    monkeypatch.setattr(export_api, "BATCH_ROWS", 1)
    response = _export(statistician, dataset, fmt)
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)  # the header (or "["), then one row
    _client_goes_away(response)
    log = ExportLog.objects.get()  # the connection is usable again: no COPY left half read
    assert log.finished_at is not None
    assert (log.row_count, log.completed) == (1, False)


def test_a_site_scoped_exporter_is_logged_with_the_rows_she_received(lab_trial, staff_site_b):
    from django.contrib.auth.models import Permission

    staff_site_b.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename="export_data"))
    user = type(staff_site_b).objects.get(pk=staff_site_b.pk)
    b"".join(_export(user, "lab-results", "json").streaming_content)
    assert ExportLog.objects.values_list("username", "row_count", "completed").get() == ("staff_b", 2, True)


def test_refused_exports_write_no_row(lab_trial, statistician, monitor, staff_site_a):
    assert _export(monitor, "lab-results", "csv").status_code == 403  # role without the export permission
    assert _export(staff_site_a, "patients", "json").status_code == 403
    assert _export(None, "lab-results", "csv").status_code in (401, 403)
    assert _export(statistician, "patient-identities", "csv").status_code == 404
    assert _export(statistician, "lab-results", "xml").status_code == 404
    assert not ExportLog.objects.exists()


def test_the_database_refuses_to_delete_an_export_log(lab_trial, statistician):
    b"".join(_export(statistician, "lab-results", "csv").streaming_content)
    with pytest.raises(InternalError, match="Cannot delete"), transaction.atomic():
        ExportLog.objects.all().delete()
    assert ExportLog.objects.count() == 1


def test_a_finished_log_and_who_what_when_of_any_log_cannot_be_changed(lab_trial, statistician):
    finished = exports.export_log_start(user=statistician, dataset="lab-results", fmt="csv")
    exports.export_log_finish(finished, rows=8, completed=True)
    with pytest.raises(InternalError, match="Cannot update"), transaction.atomic():
        ExportLog.objects.filter(pk=finished.pk).update(row_count=0)
    started = exports.export_log_start(user=statistician, dataset="patients", fmt="json")
    for change in ({"username": "someone_else"}, {"dataset": "adverse-events"}, {"started_at": timezone.now()}):
        with pytest.raises(InternalError, match="Cannot update"), transaction.atomic():
            ExportLog.objects.filter(pk=started.pk).update(**change)
    exports.export_log_finish(started, rows=3, completed=False)  # finishing once is the one change allowed
    exports.export_log_finish(started, rows=99, completed=True)  # a second finish changes nothing
    assert ExportLog.objects.values_list("row_count", "completed").get(pk=started.pk) == (3, False)


def test_the_admin_shows_export_logs_read_only(lab_trial, statistician, client):
    b"".join(_export(statistician, "lab-results", "csv").streaming_content)
    root = make_user("root", "admin", is_staff=True, is_superuser=True)
    model_admin = admin.site._registry[ExportLog]
    assert isinstance(model_admin, ExportLogAdmin)
    request = RequestFactory().get("/admin/analysis/exportlog/")
    request.user = root
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, ExportLog.objects.get())
    assert not model_admin.has_delete_permission(request, ExportLog.objects.get())
    client.force_login(root)
    page = client.get("/admin/analysis/exportlog/")
    assert page.status_code == 200
    assert "statistician" in page.content.decode()
    log = ExportLog.objects.get()
    assert client.post(f"/admin/analysis/exportlog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ExportLog.objects.count() == 1
