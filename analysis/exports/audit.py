"""Every export recorded in `ExportLog`: who exported which data set, in which format and request, and how it ended."""

import logging

from django.db import DatabaseError
from django.utils import timezone

from analysis.models import ExportLog
from core.audit import current_request_id

logger = logging.getLogger("ivf_trial.exports")


def export_log_start(*, user, dataset: str, fmt: str, query_string: str = "") -> ExportLog:
    """Record who starts exporting which data set in which format, in which request, before any row is sent."""
    request_id = current_request_id()
    log = ExportLog.objects.create(
        user=user,
        username=user.get_username(),
        dataset=dataset,
        format=fmt,
        query_string=query_string,
        request_id=request_id[:64],
        started_at=timezone.now(),
    )
    logger.info(
        "export dataset=%s format=%s user=%s user_id=%s request_id=%s export_log=%s",
        dataset,
        fmt,
        user.get_username(),
        user.pk,
        request_id,
        log.pk,
        extra={"export_dataset": dataset, "export_format": fmt, "export_user_id": user.pk},
    )
    return log


def export_log_finish(log: ExportLog, *, rows: int, completed: bool) -> None:
    """Record how an export ended: rows sent, and whether that was all of them (once; later calls change nothing)."""
    try:
        ExportLog.objects.filter(pk=log.pk, finished_at__isnull=True).update(
            finished_at=timezone.now(), row_count=rows, completed=completed
        )
    except DatabaseError:  # the export failed on the database; its log stays unfinished, which says so
        logger.warning("export log %s could not be finished", log.pk, exc_info=True)
