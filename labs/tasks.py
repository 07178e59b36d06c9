from celery import shared_task

from labs import services


@shared_task(ignore_result=True)
def checked_uploads_purge_task() -> None:
    """Idempotent: a file already gone is skipped."""
    services.checked_uploads_purge()
