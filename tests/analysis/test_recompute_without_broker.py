"""Without a broker (Celery eager, as under `make run`; the suite runs so) the statistics follow each committed
change: one recomputation at the end of the request that changed data, in-process, with no broker connection
tried; none for a request that changed nothing; one for a batch of many changes; and a recomputation that
fails leaves the save standing. With a broker the change queues the debounced job as before, and the
request computes nothing.

The changes must really commit for their hooks to run (transaction.on_commit): these tests are transactional.
"""

import logging

import kombu.pools
import pytest
from django.urls import reverse

from analysis import services
from analysis.models import JobStatus, StatisticsJob, StatisticsSnapshot
from analysis.tasks import statistics_compute_task
from patients.models import Patient
from tests.factories import all_met_answers, randomized_patient, screen

pytestmark = pytest.mark.django_db(transaction=True)


def _screening_post(site, n: int) -> dict:
    answers = {f"criterion_{code}": "yes" if met else "no" for code, met in all_met_answers().items()}
    return {
        "site": site.pk,
        "screening_date": "2025-03-01",
        "full_name": f"Recompute Test {n}",
        "medical_record_number": f"MRN-RECOMPUTE-{n}",
        "date_of_birth": "1992-03-15",
        "phone": "",
        **answers,
    }


def _forget_broker_pools() -> None:
    """Celery and kombu keep their connection pools per process (kombu warns of a missing broker host once, when
    it makes the pool): forgotten, the next task call that needs a broker makes them, and warns, again."""
    app = statistics_compute_task.app
    app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()


@pytest.fixture
def fresh_snapshot(site_a, staff_site_a, statistician):
    """One randomized woman and a snapshot that includes her (the "Recompute now" path)."""
    randomized_patient(site_a, staff_site_a, statistician)
    job, _ = services.statistics_request(by=statistician)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and not services.snapshot_is_stale(job.snapshot)
    return job.snapshot


def test_a_saved_change_is_in_the_dashboard_when_the_save_answers(
    client, site_a, staff_site_a, statistician, fresh_snapshot, caplog
):
    assert statistics_compute_task.app.conf.task_always_eager  # no broker: as under `make run`
    _forget_broker_pools()
    client.force_login(staff_site_a)
    jobs = StatisticsJob.objects.count()
    assert client.get(reverse("patients:list")).status_code == 200
    assert StatisticsJob.objects.count() == jobs  # a page that changes nothing computes nothing

    with caplog.at_level(logging.WARNING):
        saved = client.post(reverse("patients:screen"), _screening_post(site_a, 1))
    assert saved.status_code == 302, saved.content[:500]
    assert Patient.objects.filter(identity__medical_record_number="MRN-RECOMPUTE-1").exists()
    # One recomputation, finished before the save answered: the screened woman is in the CONSORT counts.
    assert StatisticsJob.objects.count() == jobs + 1
    latest = StatisticsSnapshot.objects.latest("computed_at")
    assert latest.pk != fresh_snapshot.pk and not services.snapshot_is_stale(latest)
    assert latest.payload["dashboard"]["consort"]["counts"]["assessed"] == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text  # e.g. kombu's "No hostname"

    client.force_login(statistician)
    page = client.get(reverse("analysis:dashboard")).content.decode()
    assert 'data-stale="false"' in page and 'id="stale-warning"' not in page
    assert f'data-snapshot="{latest.pk}"' in page


def test_many_changes_in_one_batch_recompute_once_and_a_change_outside_any_only_marks_stale(
    site_a, staff_site_a, fresh_snapshot
):
    with services.statistics_batch():
        for _ in range(3):
            screen(site_a, staff_site_a)  # three commits
        assert services.snapshot_is_stale(StatisticsSnapshot.objects.latest("computed_at"))
    done = StatisticsJob.objects.exclude(snapshot=fresh_snapshot)
    assert [job.status for job in done] == [JobStatus.DONE]
    assert not services.snapshot_is_stale(done.get().snapshot)

    # A change made outside any request or batch (a shell, a script): the figures are only marked stale.
    screen(site_a, staff_site_a)
    assert StatisticsJob.objects.exclude(snapshot=fresh_snapshot).count() == 1
    assert services.snapshot_is_stale(StatisticsSnapshot.objects.latest("computed_at"))


def test_a_failed_recomputation_leaves_the_save_standing(client, site_a, staff_site_a, fresh_snapshot, monkeypatch):
    def broken():
        raise RuntimeError("statistics broken for the test")

    monkeypatch.setattr(services, "trial_design", broken)
    client.force_login(staff_site_a)
    saved = client.post(reverse("patients:screen"), _screening_post(site_a, 2))
    assert saved.status_code == 302, saved.content[:500]
    assert Patient.objects.filter(identity__medical_record_number="MRN-RECOMPUTE-2").exists()
    failed = StatisticsJob.objects.get(status=JobStatus.FAILED)
    assert "statistics broken for the test" in failed.message
    assert services.snapshot_is_stale(fresh_snapshot)


def test_with_a_broker_a_change_queues_the_debounced_job_and_the_request_computes_nothing(
    client, site_a, staff_site_a, fresh_snapshot, monkeypatch, settings
):
    app = statistics_compute_task.app
    sent = []
    monkeypatch.setattr(statistics_compute_task, "apply_async", lambda **kwargs: sent.append(kwargs))
    saved_conf = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url="memory://")
    try:
        client.force_login(staff_site_a)
        saved = client.post(reverse("patients:screen"), _screening_post(site_a, 3))
        assert client.post(reverse("patients:screen"), _screening_post(site_a, 4)).status_code == 302
    finally:
        app.conf.update(saved_conf)
        _forget_broker_pools()
    assert saved.status_code == 302, saved.content[:500]
    queued = StatisticsJob.objects.get(status=JobStatus.QUEUED)  # the second change joined it
    assert sent == [{"args": [queued.pk], "countdown": settings.STATISTICS_DEBOUNCE_SECONDS}]
    assert list(StatisticsSnapshot.objects.all()) == [fresh_snapshot]


def test_the_stale_banner_says_how_to_recompute(client, site_a, staff_site_a, statistician, fresh_snapshot):
    services.data_changed()  # e.g. a change made from a shell
    client.force_login(statistician)
    page = client.get(reverse("analysis:dashboard")).content.decode()
    assert 'id="stale-warning"' in page
    warning = page[page.index('id="stale-warning"') :].split("</div>")[0]
    assert "Use “Recompute now” to compute them from the current data." in warning
