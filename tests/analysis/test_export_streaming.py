"""How exports are delivered: streamed attachments from a server-side cursor (held across commits), a
query count that does not grow with the rows, and a log line per export."""

import csv
import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import StreamingHttpResponse

from analysis import export_api, exports
from core.audit import reset_request_id, set_request_id
from tests.analysis.export_helpers import FORMATS, _body, _draw, _export
from tests.factories import make_user, randomized_patient

pytestmark = pytest.mark.django_db


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_are_streamed_attachments(trial, statistician, fmt, monkeypatch):
    monkeypatch.setattr(export_api, "BATCH_ROWS", 2)
    response = _export(statistician, "lab-results", fmt, HTTP_ACCEPT="text/csv")  # the URL decides, not Accept
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="lab-results.{fmt}"'
    assert response["Content-Type"] == export_api.CONTENT_TYPES[fmt]
    chunks = list(response.streaming_content)
    assert len(chunks) >= 4  # header/bracket, 5 rows in batches of 2, closing: never one buffered body
    body = b"".join(chunks).decode()
    rows = json.loads(body) if fmt == "json" else list(csv.reader(io.StringIO(body)))[1:]
    assert len(rows) == 5


def test_an_empty_export_is_a_valid_document(statistician):
    assert json.loads(_body(_export(statistician, "adverse-events", "json"))) == []
    assert _body(_export(statistician, "adverse-events", "csv")).splitlines()[0].startswith("study_id,site,arm,")


def test_every_export_is_logged_with_user_dataset_format_and_request_id(trial, statistician, caplog):
    caplog.set_level(logging.INFO, logger="ivf_trial.exports")
    token = set_request_id("req-export-0001")
    try:
        response = _export(statistician, "lab-results", "json")
    finally:
        reset_request_id(token)
    _body(response)
    (record,) = [r for r in caplog.records if r.name == "ivf_trial.exports"]
    message = record.getMessage()
    assert "dataset=lab-results format=json user=statistician" in message
    assert "request_id=req-export-0001" in message
    assert _export(make_user("curious", "monitor"), "patients", "csv").status_code == 403
    assert len([r for r in caplog.records if r.name == "ivf_trial.exports"]) == 1  # refusals export nothing


def test_lab_results_stream_from_a_held_server_side_cursor_in_chunks(trial, statistician, monkeypatch):
    monkeypatch.setattr(exports.builders, "CHUNK_SIZE", 2)
    produced = exports.rows("lab-results", user=statistician)
    first = next(produced)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchone() == (1,)  # a named (server-side) cursor, fetched chunk by chunk
    assert len([first, *produced]) == 5


@pytest.mark.django_db(transaction=True)
def test_streaming_outside_a_transaction_uses_a_cursor_held_across_commits(site_a, staff_site_a, statistician):
    """The response body is consumed after the view returned, in autocommit mode: Django must declare
    the cursor WITH HOLD, or its first fetch after the implicit commit would fail."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    _draw(patient, "BASELINE", [("FSH", "5", "IU/L"), ("LH", "4", "IU/L"), ("E2", "300", "pmol/L")], staff_site_a)
    assert not connection.in_atomic_block
    produced = exports.rows("lab-results", user=statistician)
    first = next(produced)
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchall() == [(True,)]
    assert len([first, *produced]) == 3
    response = _export(statistician, "lab-results", "csv")
    assert len(_body(response).splitlines()) == 4


def test_lab_results_query_count_does_not_grow_with_rows(trial, statistician, django_assert_num_queries):
    user = _fresh(statistician)  # no cached permissions
    # trial (blinding), the user's permissions (her own and her groups', one query), the results (one cursor)
    with django_assert_num_queries(3):
        assert len(list(exports.rows("lab-results", user=user))) == 5
