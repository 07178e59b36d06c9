"""The lab import's report stays small whatever the file (issue 18, finding 11): the problems of the first
1,000 bad rows are listed, every bad row is counted (page, API, import_labs); and checked uploads do not
stay on disk for more than a day."""

import os
import random
import string
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from labs.import_csv import MAX_LISTED_ROWS
from labs.importing import lab_results_import
from labs.models import LabDraw, LabImport, LabResult
from labs.tasks import checked_uploads_purge_task
from tests.factories import randomized_patient, with_transfer

HEADER = "study_id,timepoint,drawn_at,analyte,value,unit\n"


def _garbage(size: int) -> bytes:
    """`size` bytes of comma-separated printable noise after a valid header (deterministic)."""
    rng = random.Random(18)
    alphabet = string.ascii_letters + string.digits + ",,,,,,<>.-:; "
    lines, total = [HEADER], len(HEADER)
    while total < size:
        line = "".join(rng.choices(alphabet, k=rng.randint(10, 50))) + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def _bad_rows(count: int) -> bytes:
    return (HEADER + "".join(f"P{n},BASELINE,2025-03-14 08:30,FSH,abc,IU/L\n" for n in range(count))).encode()


def _state():
    return LabDraw.objects.count(), LabResult.objects.count(), LabImport.objects.count()


@pytest.mark.django_db
def test_a_10_mb_garbage_upload_lists_the_first_1000_bad_rows_and_counts_them_all(staff_site_a):
    content = _garbage(10 * 1024 * 1024)
    data_rows = content.count(b"\n") - 1 + (not content.endswith(b"\n"))
    api = APIClient()
    api.force_authenticate(staff_site_a)
    before = _state()
    response = api.post(
        reverse("api-lab-imports"),
        {"file": SimpleUploadedFile("garbage.csv", content, "text/csv")},
        format="multipart",
    )
    assert response.status_code == 400
    body = response.json()
    listed = sorted({error["line"] for error in body["errors"]})
    assert len(listed) == MAX_LISTED_ROWS == 1000
    assert listed == sorted(listed) and listed[0] == 2
    blank = content.count(b"\n\n")  # blank lines are skipped, not bad
    assert body["bad_rows"] == body["rows_total"] == data_rows - blank > 200_000
    assert len(response.content) < 400_000  # was 77 MB
    assert _state() == before


@pytest.fixture
def patients(site_a, staff_site_a, statistician):
    return [with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a) for _ in range(2)]


@pytest.mark.django_db
def test_the_listed_rows_are_the_first_by_line_whichever_check_found_them(patients, staff_site_a):
    """Rows the parser refuses and rows refused later (an unknown patient) interleave: the first 1,000 bad
    lines are listed, in order, and none before the last listed one is left out."""
    drawn_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()
    rows = [
        f"P{n},BASELINE,{drawn_at},FSH,{'abc' if n % 2 else '5'},IU/L\n"  # odd: bad value; even: unknown patient
        for n in range(2500)
    ]
    report = lab_results_import(content=(HEADER + "".join(rows)).encode(), filename="mixed.csv", by=staff_site_a)
    assert report.bad_rows == list(range(2, 1002))
    assert report.bad_rows_total == report.rows_total == 2500
    assert {p.column for p in report.problems} == {"value", "study_id"}


@pytest.mark.django_db
def test_the_page_lists_1000_bad_rows_and_says_how_many_there_are(staff_site_a):
    client = Client()
    client.force_login(staff_site_a)
    upload = SimpleUploadedFile("bad.csv", _bad_rows(1500), "text/csv")
    page = client.post(reverse("labs:import"), {"file": upload}).content.decode()
    assert '<strong data-count="bad">1500</strong>' in page
    assert page.count('<tr data-row="') == 1000
    assert "The problems of the first 1000 of 1500 bad rows are listed" in page


@pytest.mark.django_db
def test_import_labs_lists_1000_bad_rows_and_says_how_many_there_are(staff_site_a, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_bad_rows(1500))
    with pytest.raises(CommandError, match=r"^1500 bad row"):
        call_command("import_labs", str(bad), "--user", staff_site_a.username, "--dry-run")
    err = capsys.readouterr().err
    assert err.count(", value: ") == 1000 and "line 1001, value" in err and "line 1002," not in err
    assert "The problems of the first 1000 of 1500 bad rows are listed." in err


# --- Checked uploads are deleted after 24 hours ------------------------------------------------------------


def _kept(tmp_path, user_pk: int, name: str, hours_ago: float):
    path = tmp_path / str(user_pk) / f"{name * 64}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(HEADER.encode())
    moment = time.time() - hours_ago * 3600
    os.utime(path, (moment, moment))
    return path


def test_the_beat_job_deletes_checked_uploads_older_than_24_hours(tmp_path, settings):
    settings.LAB_UPLOAD_DIR = tmp_path
    old, recent = _kept(tmp_path, 7, "a", hours_ago=25), _kept(tmp_path, 8, "b", hours_ago=1)
    # apply(): the task runs here, as a worker would, whether or not the environment names a broker.
    checked_uploads_purge_task.apply()
    assert not old.exists()
    assert recent.exists()


def test_the_purge_is_scheduled_every_hour():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["delete checked lab uploads left for more than a day"]
    assert schedule == {"task": "labs.tasks.checked_uploads_purge_task", "schedule": 3600.0}
    from ivf_trial.celery import app

    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks


@pytest.mark.django_db
def test_only_a_file_that_can_be_imported_is_kept_for_its_confirmation(patients, staff_site_a, tmp_path, settings):
    settings.LAB_UPLOAD_DIR = tmp_path
    client = Client()
    client.force_login(staff_site_a)
    client.post(reverse("labs:import"), {"file": SimpleUploadedFile("bad.csv", _bad_rows(3), "text/csv")})
    assert list(tmp_path.rglob("*.csv")) == []
    drawn_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()
    good = f"{HEADER}{patients[0].study_id},BASELINE,{drawn_at},FSH,5,IU/L\n".encode()
    client.post(reverse("labs:import"), {"file": SimpleUploadedFile("good.csv", good, "text/csv")})
    assert [path.read_bytes() for path in tmp_path.rglob("*.csv")] == [good]
