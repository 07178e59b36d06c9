"""Faults: the database connection lost in the middle of a request, and the task broker (Redis) down.

(a) The database: another connection terminates the request's PostgreSQL backend (pg_terminate_backend)
    just before the service's second INSERT, inside its transaction. The user gets a clean 503 page (JSON
    for the API) saying no change was saved halfway, no stack trace; nothing of the half-done registration remains;
    the next request, on a fresh connection, works.
(b) The broker: CELERY_BROKER_URL points at a closed port with eager mode off (as in production, where a
    broker is configured and every change schedules a recomputation). Pages and data entry keep working,
    "Recompute" answers that the job is queued and waiting for the task queue, the dashboard shows the
    last snapshot marked stale, and once the broker is back the periodic check sends the waiting job.
(c) A worker killed mid-job, and the job then completing exactly once, is tested with a real worker and
    Redis in tests/analysis/test_worker.py (test_worker_killed_mid_job_then_another_worker_completes_it_once).

These tests commit for real (transactional): the on-commit hooks run inside the request, as in production.
"""

import time

import psycopg2
import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from analysis import services
from analysis.models import JobStatus, StatisticsJob, StatisticsSnapshot
from patients.models import Patient, PatientIdentity, Screening
from tests.factories import all_met_answers

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def screening_post(site, n: int) -> dict:
    answers = {f"criterion_{code}": "yes" if met else "no" for code, met in all_met_answers().items()}
    return {
        "site": site.pk,
        "screening_date": "2025-03-01",
        "full_name": f"Fault Test {n}",
        "medical_record_number": f"MRN-FAULT-{n}",
        "date_of_birth": "1992-03-15",
        "phone": "",
        **answers,
    }


def registry_rows() -> tuple[int, ...]:
    events = [model.pgh_event_model.objects.count() for model in (Patient, PatientIdentity, Screening)]
    return (Patient.objects.count(), PatientIdentity.objects.count(), Screening.objects.count(), *events)


# --- (a) The database connection dropped mid-request ---------------------------------------------------


class DropConnectionBefore:
    """An execute wrapper: before the first statement containing `marker`, another connection terminates
    this one's server process, so the statement meets a dead connection (as after a server restart)."""

    def __init__(self, marker: str):
        self.marker = marker
        self.dropped = False

    def __call__(self, execute, sql, params, many, context):
        if not self.dropped and self.marker in sql:
            self.dropped = True
            self._terminate(context["connection"])
        return execute(sql, params, many, context)

    @staticmethod
    def _terminate(django_connection) -> None:
        pid = django_connection.connection.get_backend_pid()
        other = psycopg2.connect(**django_connection.get_connection_params())
        other.autocommit = True
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                    if cursor.fetchone()[0] == 0:
                        return
                    time.sleep(0.05)
        finally:
            other.close()


def _post_with_drop(client, url, data, **extra):
    drop = DropConnectionBefore('INSERT INTO "patients_patientidentity"')
    with connection.execute_wrapper(drop):
        response = client.post(url, data, **extra)
    assert drop.dropped, "the fault was not injected: the service no longer inserts an identity row?"
    close_old_connections()  # what the server does after every request: the broken connection goes
    return response


def test_a_connection_lost_mid_request_answers_503_and_saves_nothing(client, site_a, staff_site_a, caplog):
    client.force_login(staff_site_a)
    client.raise_request_exception = False
    before = registry_rows()

    response = _post_with_drop(client, reverse("patients:screen"), screening_post(site_a, 1))

    assert response.status_code == 503 and response["Retry-After"]
    body = response.content.decode()
    assert "no change was saved halfway" in body and "Traceback" not in body and "psycopg2" not in body
    assert registry_rows() == before  # the patient row written before the drop was rolled back with it
    assert any(r.name == "core.middleware" and r.levelname == "ERROR" for r in caplog.records)

    again = client.post(reverse("patients:screen"), screening_post(site_a, 1))
    assert again.status_code == 302
    assert registry_rows()[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_the_api_answers_503_json_when_the_connection_is_lost(client, site_a, staff_site_a):
    client.force_login(staff_site_a)
    client.raise_request_exception = False
    answers = all_met_answers()
    payload = {
        "site": site_a.code,
        "full_name": "Fault Api",
        "date_of_birth": "1992-03-15",
        "medical_record_number": "MRN-FAULT-API",
        "screening_date": "2025-03-01",
        "criteria": answers,
    }
    before = registry_rows()
    response = _post_with_drop(client, reverse("api-patients"), payload, content_type="application/json")
    assert response.status_code == 503
    assert "no change was saved halfway" in response.json()["detail"]
    assert registry_rows() == before


# --- (b) The broker down -------------------------------------------------------------------------------


@pytest.fixture
def broker_down(settings, stale_snapshot):
    """This process's Celery app sends to a closed port, eager mode off; every change schedules a job.

    `app.conf` was loaded from Django settings once, so the values are set on it directly and the cached
    connection pools (built for the old URL) are forgotten (see tests/analysis/test_worker.py)."""
    from ivf_trial.celery import app

    settings.STATISTICS_RECOMPUTE_ON_CHANGE = True
    keys = ("task_always_eager", "broker_url")
    saved = {key: app.conf[key] for key in keys}

    def forget_pools():
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.update(task_always_eager=False, broker_url=CLOSED_PORT_BROKER)
    forget_pools()
    yield app
    forget_pools()
    app.conf.update(saved)


@pytest.fixture
def stale_snapshot(site_a, staff_site_a, statistician):
    """A snapshot computed before the outage, then one more registration: the snapshot is stale."""
    from tests.factories import randomized_patient, screen

    randomized_patient(site_a, staff_site_a, statistician)
    job = StatisticsJob.objects.create(requested_by=statistician)
    snapshot = services.statistics_compute(job_id=job.pk)
    screen(site_a, staff_site_a)
    assert services.snapshot_is_stale(snapshot)
    return snapshot


@pytest.fixture
def sends(monkeypatch):
    """Counts the attempts to hand a job to the broker (each still really tries, and fails)."""
    from analysis.tasks import statistics_compute_task

    attempts = []
    real = statistics_compute_task.apply_async

    def counted(*args, **kwargs):
        attempts.append(kwargs.get("args") or args)
        return real(*args, **kwargs)

    monkeypatch.setattr(statistics_compute_task, "apply_async", counted)
    return attempts


def test_data_entry_and_pages_keep_working_with_the_broker_down(
    broker_down, sends, client, site_a, staff_site_a, stale_snapshot
):
    client.force_login(staff_site_a)
    first = client.post(reverse("patients:screen"), screening_post(site_a, 10))
    assert first.status_code == 302, first.content[:500]
    job = StatisticsJob.objects.get(status=JobStatus.QUEUED)
    assert job.message == services.BROKER_DOWN_MESSAGE
    assert len(sends) == 1

    # Later changes join the waiting job without trying the dead broker again on every save.
    started = time.monotonic()
    assert client.post(reverse("patients:screen"), screening_post(site_a, 11)).status_code == 302
    assert len(sends) == 1 and time.monotonic() - started < 5
    assert StatisticsJob.objects.filter(status=JobStatus.QUEUED).count() == 1
    study_id = Patient.objects.latest("pk").study_id
    assert client.get(reverse("patients:list")).status_code == 200
    assert client.get(reverse("casebook:patient", kwargs={"study_id": study_id})).status_code == 200


def test_recompute_says_the_job_waits_for_the_task_queue_and_the_dashboard_shows_the_stale_snapshot(
    broker_down, sends, client, investigator_site_a, stale_snapshot
):
    client.force_login(investigator_site_a)
    page = client.post(reverse("analysis:recompute"), HTTP_ACCEPT="application/json")
    assert page.status_code == 202
    assert page.json()["status"] == "queued" and "task queue is unavailable" in page.json()["message"]

    api = client.post(reverse("api-statistics-recompute"))
    assert api.status_code == 202 and api.json()["id"] == page.json()["id"]
    assert api.json()["message"] == services.BROKER_DOWN_MESSAGE
    assert len(sends) == 2  # a person asking again does try the broker again

    html = client.post(reverse("analysis:recompute"))
    assert html.status_code == 302 and f"job={page.json()['id']}" in html["Location"]
    dashboard = client.get(reverse("analysis:dashboard"))
    assert dashboard.status_code == 200
    content = dashboard.content.decode()
    assert 'data-stale="true"' in content and f'data-snapshot="{stale_snapshot.pk}"' in content
    job_status = client.get(reverse("analysis:job", kwargs={"pk": page.json()["id"]})).json()
    assert job_status["status"] == "queued" and "unavailable" in job_status["message"]

    # The periodic check (beat) tries again; once the broker is back, the waiting job is sent and runs.
    assert services.statistics_refresh_if_stale() is None
    assert StatisticsJob.objects.get(pk=page.json()["id"]).status == JobStatus.QUEUED
    broker_down.conf.update(task_always_eager=True)  # the broker is back (here: tasks run in-process)
    services.statistics_refresh_if_stale()
    job = StatisticsJob.objects.get(pk=page.json()["id"])
    assert job.status == JobStatus.DONE, job.message
    assert not services.snapshot_is_stale(StatisticsSnapshot.objects.get(pk=job.snapshot_id))
    assert not StatisticsJob.objects.filter(status=JobStatus.QUEUED).exists()
