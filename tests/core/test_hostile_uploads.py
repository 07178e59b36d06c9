"""Hostile lab files (SPEC §8): an oversized upload is refused before it is read, a bad cell names its place.

An upload over the request limit gets 413 before it is read; a file just over the import's own limit is
refused by the import form; a NUL in a cell of a file sent to the API is a problem of its line and
column, and nothing is saved.
"""

from datetime import timedelta

from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.core.hostile import (
    HEADER_LINE,
    _api_post,
    build_subjects,
    needs_db,
)
from tests.module_data import module_data

subjects = module_data(build_subjects)


@needs_db
def test_an_oversized_upload_gets_413_before_it_is_read(subjects, staff_client):
    too_big = SimpleUploadedFile("labs.csv", b"x" * (django_settings.UPLOAD_MAX_REQUEST_BYTES + 1), "text/csv")
    response = staff_client.post(reverse("labs:import"), {"file": too_big})
    assert response.status_code == 413
    assert "the largest accepted is 24.0 MB" in response.content.decode()


@needs_db
def test_a_lab_file_just_over_its_limit_is_refused_by_the_import_form(subjects, staff_client):
    from labs.forms import MAX_IMPORT_BYTES

    upload = SimpleUploadedFile("labs.csv", HEADER_LINE.encode() + b"\n" + b"x" * MAX_IMPORT_BYTES, "text/csv")
    response = staff_client.post(reverse("labs:import"), {"file": upload})
    assert response.status_code == 200
    assert "larger than 20 MB" in response.content.decode()


@needs_db
def test_a_nul_in_a_lab_csv_cell_is_a_problem_of_its_line_and_column_and_nothing_is_saved(subjects, staff_client):
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    study_id = subjects["treated"].study_id
    csv = f"{HEADER_LINE}\n{study_id},ET14,{drawn_at},FSH,5,IU/L\n{study_id}\x00,ET14,{drawn_at},LH,5,IU/L\n"
    response, changed = _api_post(staff_client, reverse("api-lab-imports"), csv.encode(), "text/csv")
    assert response.status_code == 400 and not changed
    assert response.json()["errors"] == [
        {"line": 3, "column": "study_id", "message": "The cell contains the control character U+0000; remove it."}
    ]
