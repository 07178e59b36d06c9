"""The lab-results export streamed from PostgreSQL's COPY is byte for byte what the Python encoder writes.

`exports.copy_statement` makes PostgreSQL encode every value (ISO times in UTC, floats as Python prints
them, CSV quoting, JSON escaping); these tests plant values that exercise each rule and compare the
two paths, with and without blinding, and check row counts against the database through the view.
(Row counts of every data set are tested in test_export_contents.py, the absence of identity data in
every data set × format in test_export_access.py.)
"""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from analysis import export_api, exports
from analysis.export_api import ExportApi, Progress
from analysis.models import ExportLog
from core.audit import audited
from core.models import Trial
from labs.models import LabResult
from labs.services import lab_draw_record
from tests.factories import randomized_patient

pytestmark = pytest.mark.django_db

FORMATS = ("csv", "json")
# Values no lab would print, stored past the validation to exercise every encoding rule.
AWKWARD = {
    "FSH": ('1,5 "approx"', "IU/L"),  # delimiter and quotes: quoted, quotes doubled / escaped
    "LH": ("line one\nline two\r\n", "IU/L"),  # newlines inside a field
    "E2": ("back\\slash\ttab \x01 café ✓", "pg/mL"),  # backslash, control characters, non-ASCII
    "CA125": ("", "U/mL"),  # blank: missing
}


@pytest.fixture
def awkward_trial(site_a, site_b, staff_site_a, staff_site_b, statistician):
    whole_second = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    a1 = randomized_patient(site_a, staff_site_a, statistician)
    entries = [("FSH", "6", "IU/L"), ("LH", "4.25", "IU/L"), ("E2", "50", "pg/mL"), ("CA125", "20", "U/mL")]
    lab_draw_record(patient=a1, timepoint="BASELINE", drawn_at=whole_second, entries=entries, by=staff_site_a)
    censored = [("FSH", "<0.5", "mIU/mL"), ("BHCG", "123456.7", "IU/L"), ("IL6", "0.0001", "pg/mL")]
    drawn_at = timezone.now() - timedelta(minutes=5, microseconds=123)  # microseconds in the time
    lab_draw_record(patient=a1, timepoint="ET14", drawn_at=drawn_at, entries=censored, by=staff_site_a)
    a2 = randomized_patient(site_a, staff_site_a, statistician)
    entries = [(analyte, "5", unit) for analyte, (_, unit) in AWKWARD.items()]
    draw = lab_draw_record(patient=a2, timepoint="BASELINE", drawn_at=whole_second, entries=entries, by=staff_site_a)
    with audited(by=staff_site_a, reason="test: values no lab would print"):
        for analyte, (value, unit) in AWKWARD.items():
            LabResult.objects.filter(draw=draw, analyte__code=analyte).update(
                value_as_entered=value, unit_as_entered=unit
            )
    b1 = randomized_patient(site_b, staff_site_b, statistician)
    lab_draw_record(
        patient=b1, timepoint="BASELINE", drawn_at=whole_second, entries=[("LH", "7", "IU/L")], by=staff_site_b
    )


def _python_path(user, fmt: str) -> bytes:
    names = [column.name for column in exports.columns("lab-results")]
    stream = {"csv": export_api.csv_stream, "json": export_api.json_stream}[fmt]
    return "".join(stream(names, exports.rows("lab-results", user=user))).encode()


def _copy_path(user, fmt: str) -> bytes:
    names = [column.name for column in exports.columns("lab-results")]
    statement = exports.copy_statement("lab-results", fmt, user=user)
    assert statement is not None and statement.startswith("COPY (")
    stream = {"csv": export_api.csv_copy_stream, "json": export_api.json_copy_stream}[fmt]
    return b"".join(stream(names, statement, Progress()))


def _view(user, fmt: str) -> bytes:
    request = APIRequestFactory().get(f"/api/v1/export/lab-results.{fmt}")
    force_authenticate(request, user=user)
    response = ExportApi.as_view()(request, dataset="lab-results", fmt=fmt)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _table(body: bytes, fmt: str) -> list[dict]:
    text = body.decode()
    return list(csv.DictReader(io.StringIO(text, newline=""))) if fmt == "csv" else json.loads(text)


@pytest.mark.parametrize("batch_rows", [1, 2, 500])
@pytest.mark.parametrize("fmt", FORMATS)
def test_copy_path_writes_the_same_bytes_as_the_python_encoder(
    awkward_trial, statistician, monkeypatch, fmt, batch_rows
):
    monkeypatch.setattr(export_api, "BATCH_ROWS", batch_rows)  # batch edges must not show in the output
    expected = _python_path(statistician, fmt)
    assert _copy_path(statistician, fmt) == expected
    assert _view(statistician, fmt) == expected
    # ... and the planted values are really in it, so every encoding rule was exercised.
    rows = _table(expected, fmt)
    missing = "" if fmt == "csv" else None
    planted = {value or missing for value, _ in AWKWARD.values()}
    assert planted <= {row["value_as_entered"] for row in rows}
    number = str if fmt == "csv" else (lambda value: value)
    canonical = {row["analyte"]: row["canonical_value"] for row in rows if row["timepoint"] == "ET14"}
    assert (canonical["BHCG"], canonical["IL6"], canonical["FSH"]) == (number(123456.7), number(0.0001), number(0.5))
    assert number(5.0) in {row["canonical_value"] for row in rows}  # a whole number keeps its ".0"
    lengths = {len(row["drawn_at"]) for row in rows}
    assert lengths == {len("2025-01-01T00:00:00Z"), len("2025-01-01T00:00:00.000000Z")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_blinded_and_site_scoped_exports_match_too(awkward_trial, statistician, exporter_site_b, fmt):
    Trial.objects.update(results_blinded=True)
    assert _copy_path(exporter_site_b, fmt) == _python_path(exporter_site_b, fmt)
    assert _copy_path(statistician, fmt) == _python_path(statistician, fmt)
    rows = _table(_view(exporter_site_b, fmt), fmt)
    assert [(row["site"], row["arm"]) for row in rows] == [("BJ", "" if fmt == "csv" else None)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_row_counts_through_the_view_equal_the_database_and_the_log(awkward_trial, statistician, monkeypatch, fmt):
    monkeypatch.setattr(export_api, "BATCH_ROWS", 3)
    expected = LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True).count()
    assert expected == 12
    assert len(_table(_view(statistician, fmt), fmt)) == expected
    assert ExportLog.objects.values_list("row_count", "completed").get() == (expected, True)


def test_a_user_who_reads_no_site_gets_an_empty_export(awkward_trial, staff_site_b):
    from core.models import SiteMembership

    SiteMembership.objects.filter(user=staff_site_b).delete()
    staff_site_b.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename="export_data"))
    user = get_user_model().objects.get(pk=staff_site_b.pk)
    assert exports.copy_statement("lab-results", "csv", user=user) is None  # nothing to ask PostgreSQL for
    header = ",".join(column.name for column in exports.columns("lab-results"))
    assert _view(user, "csv").decode().splitlines() == [header]
    assert json.loads(_view(user, "json")) == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_copy_raises_and_leaves_the_export_unfinished_but_recorded(site_a, statistician, monkeypatch):
    """In autocommit, as in production: the error reaches the server (which drops the connection to the
    client), the log is finished as not completed, and the database connection stays usable."""
    from django.db import DataError

    monkeypatch.setattr(exports, "copy_statement", lambda *args, **kwargs: "COPY (SELECT 1 / 0) TO STDOUT")
    request = APIRequestFactory().get("/api/v1/export/lab-results.csv")
    force_authenticate(request, user=statistician)
    response = ExportApi.as_view()(request, dataset="lab-results", fmt="csv")
    with pytest.raises(DataError, match="division by zero"):
        b"".join(response.streaming_content)
    assert ExportLog.objects.values_list("row_count", "completed").get() == (0, False)
