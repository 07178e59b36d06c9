from celery import shared_task

from analysis import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def statistics_compute_task(job_id: int) -> None:
    """Idempotent: a redelivered job finds its snapshot (or the same input hash) and writes nothing twice."""
    services.statistics_compute(job_id=job_id)


@shared_task(ignore_result=True)
def statistics_refresh_if_stale_task() -> None:
    services.statistics_refresh_if_stale()
