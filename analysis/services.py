"""Statistics snapshots: request a recomputation (debounced), compute it (idempotent), judge staleness."""

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from analysis import dashboard_data, selectors
from analysis.models import DataVersion, JobStatus, StatisticsJob, StatisticsSnapshot
from analysis.snapshot import Arm, Design, Table, population_statistics, population_view
from core.consistent_reads import read_consistently
from core.models import Arm as ArmModel
from core.models import Timepoint
from labs.models import Analyte
from outcomes.models import Instrument
from outcomes.scoring import RAND36_SCALES, SSRS_SUBSCALES

# Bump when the statistics code changes meaningfully: the same data then yields a new snapshot.
CODE_VERSION = "statistics-1"
POPULATIONS = ("itt", "per_protocol")
# Stored on a job whose message could not reach the broker (shown beside "Queued" on the dashboard).
BROKER_DOWN_MESSAGE = (
    "Waiting: the task queue is unavailable. The recomputation will start once it is back; "
    "the dashboard shows the last snapshot until then."
)

logger = logging.getLogger(__name__)
# Without a broker: the changes committed inside the current statistics_batch(), None outside one.
_batch_changes: ContextVar[list[bool] | None] = ContextVar("statistics_batch_changes", default=None)


def trial_design() -> Design:
    instruments = Instrument.objects.prefetch_related("timepoints")
    return Design(
        arms=tuple(Arm(a.code, a.label, a.is_control) for a in ArmModel.objects.order_by("order")),
        analytes={a.code: a.canonical_unit for a in Analyte.objects.all()},
        timepoints=tuple(Timepoint.objects.values_list("code", flat=True)),
        scales={"RAND36": tuple(RAND36_SCALES), "SSRS": tuple(SSRS_SUBSCALES)},
        questionnaire_timepoints={
            i.code: tuple(tp.code for tp in sorted(i.timepoints.all(), key=lambda tp: tp.order)) for i in instruments
        },
    )


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def input_hash(table: Table, dashboard: dict) -> str:
    """SHA-256 of the analysis table (its fingerprint: every field and column in the selector's fixed row
    order), the dashboard figures and the code version."""
    canonical = json.dumps(
        {"code": CODE_VERSION, "table": table.fingerprint(), "dashboard": dashboard},
        sort_keys=True,
        default=_json_default,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def statistics_request(*, by=None) -> tuple[StatisticsJob, bool]:
    """Queue one recomputation, or join the one already waiting (debounce). Returns (job, newly queued)."""
    if by is not None and not (by.has_perm("core.recompute_statistics") or by.has_perm("core.view_dashboards")):
        raise PermissionDenied("Only investigators and statisticians trigger a recomputation.")
    waiting = StatisticsJob.objects.filter(status=JobStatus.QUEUED).first()
    if waiting:
        if by is not None and waiting.message == BROKER_DOWN_MESSAGE:
            _send(waiting.pk, countdown=0)  # a person asks again: try the broker again now
        return waiting, False
    try:
        with transaction.atomic():
            job = StatisticsJob.objects.create(requested_by=by)
    except IntegrityError:  # another request queued one between our check and insert
        return StatisticsJob.objects.get(status=JobStatus.QUEUED), False
    countdown = settings.STATISTICS_DEBOUNCE_SECONDS if by is None else 0
    transaction.on_commit(lambda: _send(job.pk, countdown=countdown))
    return job, True


def _send(job_id: int, *, countdown: int) -> bool:
    """Hand the job to the workers. With the broker down the job stays queued, saying so, and nothing fails:
    the request that asked (a page, a data entry) carries on, and the next request or the periodic check
    sends it again."""
    from analysis.tasks import statistics_compute_task

    if _in_process():
        # Eager apply_async would still take a producer from the (absent) broker's pool: kombu warns of it.
        statistics_compute_task.apply(args=[job_id])
        return True
    try:
        statistics_compute_task.apply_async(args=[job_id], countdown=countdown)
    except KombuOperationalError as error:
        logger.warning("Statistics job %s not sent, the broker is unavailable: %s", job_id, error)
        StatisticsJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(message=BROKER_DOWN_MESSAGE)
        return False
    StatisticsJob.objects.filter(pk=job_id, message=BROKER_DOWN_MESSAGE).update(message="")
    return True


def _progress(job_id: int, percent: int, message: str) -> None:
    StatisticsJob.objects.filter(pk=job_id).update(progress=percent, message=message)


def _claim(job_id: int) -> StatisticsJob | None:
    """Start (or restart, after a lost worker) the job; None when there is nothing left to do."""
    with transaction.atomic():
        job = StatisticsJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED):
            return None
        job.deliveries += 1
        if job.deliveries > settings.STATISTICS_MAX_DELIVERIES:
            # A job that keeps killing its worker would otherwise be redelivered for ever.
            job.status, job.finished_at = JobStatus.FAILED, timezone.now()
            job.message = f"Gave up after {job.deliveries - 1} deliveries (the worker died each time)."
            job.save()
            return None
        job.status, job.started_at, job.message = JobStatus.RUNNING, timezone.now(), "Reading data"
        job.save()
        return job


def _finish(job_id: int, snapshot: StatisticsSnapshot, message: str) -> None:
    StatisticsJob.objects.filter(pk=job_id).update(
        status=JobStatus.DONE, progress=100, finished_at=timezone.now(), snapshot=snapshot, message=message
    )


# What the dashboards show beyond SPEC §5 (CONSORT counts screened women, not only randomized), longest
# first: reads start in the order given.
DASHBOARD_FIGURES = ("completeness", "consort_counts", "safety", "enrollment")


def _consistent_inputs(design: Design) -> tuple[int, object, Table, dict]:
    """The data version, the analysis table and the dashboard figures, read side by side on two connections
    sharing one snapshot: all three describe the same moment, whoever commits meanwhile."""
    figures = {f"figure.{name}": getattr(dashboard_data, name) for name in DASHBOARD_FIGURES}
    done = read_consistently({**selectors.table_reads(design.scales), **figures, "version": selectors.data_version})
    table = selectors.table_from_reads(done, design.scales)
    dashboard = {
        "consort": done["figure.consort_counts"],
        "enrollment": done["figure.enrollment"],
        "safety": done["figure.safety"],
        "completeness": done["figure.completeness"],
        "education": dashboard_data.education_table(
            zip(table.fields["arm"], table.fields["education"], strict=True), [a.code for a in design.arms]
        ),
    }
    return *done["version"], table, dashboard


def _payload(job_id: int, table: Table, design: Design, dashboard: dict) -> dict:
    _progress(job_id, 50, f"Computing {' and '.join(POPULATIONS)}")
    # One thread per population: their sorts and partitions (most of the time) release the GIL, so the two
    # overlap on two cores (3.0 s → 1.6–2.0 s at 100,000 women). The table is only read.
    with ThreadPoolExecutor(max_workers=len(POPULATIONS), thread_name_prefix="statistics") as pool:
        figures = pool.map(lambda population: population_statistics(table, design, population), POPULATIONS)
        payload = dict(zip(POPULATIONS, figures, strict=True))
    payload["dashboard"] = dashboard
    return payload


def statistics_compute(*, job_id: int) -> StatisticsSnapshot | None:
    """Compute the snapshot for a job. Idempotent: unchanged input reuses the stored snapshot."""
    job = _claim(job_id)
    if job is None:
        finished = StatisticsJob.objects.filter(pk=job_id).select_related("snapshot").first()
        return finished.snapshot if finished else None
    started = time.monotonic()
    if settings.STATISTICS_FAULT_PAUSE_SECONDS:
        time.sleep(settings.STATISTICS_FAULT_PAUSE_SECONDS)  # lets a crash test kill the worker mid-job
    try:
        design = trial_design()
        # Columns, not a dict per patient: at 100,000 women this halves the job's time and memory.
        version, changed_at, table, dashboard = _consistent_inputs(design)
        data_as_of = changed_at or timezone.now()
        digest = input_hash(table, dashboard)
        existing = StatisticsSnapshot.objects.filter(input_hash=digest).first()
        if existing:
            # Same rows: the stored figures hold for the newer data version too.
            if version > existing.data_version:
                StatisticsSnapshot.objects.filter(pk=existing.pk).update(data_version=version, data_as_of=data_as_of)
                existing.refresh_from_db()
            _finish(job_id, existing, "No data changed since the last snapshot.")
            return existing
        payload = _payload(job_id, table, design, dashboard)
        snapshot, _ = StatisticsSnapshot.objects.get_or_create(
            input_hash=digest,
            defaults={
                "payload": payload,
                "data_as_of": data_as_of,
                "data_version": version,
                "duration_seconds": time.monotonic() - started,
                "code_version": CODE_VERSION,
                "patients": len(table),
            },
        )
    except Exception as error:
        StatisticsJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), message=f"Failed: {error}"[:300]
        )
        raise
    _finish(job_id, snapshot, f"Computed for {len(table)} patients in {snapshot.duration_seconds:.1f} s.")
    return snapshot


def snapshot_is_stale(snapshot: StatisticsSnapshot | None, *, data_version: int | None = None) -> bool:
    """Whether data changed after the snapshot was computed: against `data_version` when the caller read it
    with the snapshot (`selectors.latest_snapshot`'s `data_version_now`, one query less), else as of now."""
    if snapshot is None:
        return True
    current = selectors.data_version()[0] if data_version is None else data_version
    return current > snapshot.data_version


def statistics_refresh_if_stale() -> StatisticsJob | None:
    """The periodic safety net: queue a recomputation when data changed and none is pending, and send a
    queued job again whose message never reached a worker (broker down when it was requested)."""
    if _resend_unsent_job():
        return None
    if StatisticsJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        return None
    if not snapshot_is_stale(selectors.latest_snapshot(with_payload=False)):
        return None
    return statistics_request()[0]


def _resend_unsent_job() -> bool:
    """Send the waiting job again if the broker was down when it was requested (True when there was one)."""
    unsent = StatisticsJob.objects.filter(status=JobStatus.QUEUED, message=BROKER_DOWN_MESSAGE).first()
    if unsent is None:
        return False
    _send(unsent.pk, countdown=0)
    return True


def data_changed() -> None:
    """Bump the data version (marking snapshots stale)."""
    updated = DataVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=Now())
    if not updated:
        DataVersion.objects.get_or_create(pk=1, defaults={"version": 1, "changed_at": timezone.now()})


def _in_process() -> bool:
    """No broker: Celery runs its tasks in this process (CELERY_TASK_ALWAYS_EAGER, an explicit setting)."""
    from analysis.tasks import statistics_compute_task

    return bool(statistics_compute_task.app.conf.task_always_eager)


def on_data_change() -> None:
    """Called after every committed audited change: mark snapshots stale and have them recomputed once. With a
    broker, one job after a quiet period (debounce); without one, in this process at the end of the request
    or bulk load that made the change (statistics_batch); a change outside any only marks them stale."""
    data_changed()
    if not settings.STATISTICS_RECOMPUTE_ON_CHANGE:
        return
    if not _in_process():
        statistics_request()
        return
    changes = _batch_changes.get()
    if changes is not None:
        changes.append(True)


@contextmanager
def statistics_batch() -> Iterator[None]:
    """Without a broker, recompute the statistics once when the block ends, if a change was committed inside it
    (a request, a bulk load): a save costs one recomputation, and so does a load of a thousand records. Nested
    blocks join the outer one; a block that raises recomputes nothing."""
    if _batch_changes.get() is not None:
        yield
        return
    changes: list[bool] = []
    token = _batch_changes.set(changes)
    try:
        yield
    finally:
        _batch_changes.reset(token)
    if changes:
        _recompute_now()


def _recompute_now() -> None:
    """The recomputation, here and now (eager); its failure is logged and kept on the job, and does not undo nor
    refuse the change already committed."""
    try:
        statistics_request()
    except Exception:
        logger.exception("Statistics recomputation after a data change failed")


def statistics_document(snapshot: StatisticsSnapshot, *, population: str, by_arm: bool) -> dict:
    """The SPEC §5 statistics JSON for one population, as this user may see it."""
    return {
        "population": population,
        "computed_at": _utc_iso(snapshot.computed_at),
        "data_as_of": _utc_iso(snapshot.data_as_of),
        "stale": snapshot_is_stale(snapshot),
        **{k: v for k, v in population_view(snapshot.payload[population], by_arm=by_arm).items() if k != "population"},
    }


def _utc_iso(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def job_summary(job: StatisticsJob) -> dict:
    """What the dashboard's progress bar and the API report about a job."""
    return {
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "snapshot": job.snapshot_id,
        "requested_at": job.requested_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
