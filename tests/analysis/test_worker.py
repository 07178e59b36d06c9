"""A real `celery worker` process on a real Redis: recomputation through the broker, and a worker crash.

Acceptance: "With a real Redis and a real `celery worker` process: a recomputation requested through the
broker completes; killing the worker with SIGKILL mid-task and starting another ends with exactly one
completed snapshot."

Each test gets its own queue and worker node name, so parallel runs (pytest-xdist, other engineers on the
same Redis database) never consume each other's messages. Nothing here flushes the Redis database: only
the keys of this test's queue are removed afterwards.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from kombu.utils.json import loads

from analysis import services
from analysis.models import JobStatus, StatisticsJob, StatisticsSnapshot
from tests.factories import randomized_patient

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PROJECT_ROOT = Path(django_settings.BASE_DIR)
TASK_NAME = "analysis.tasks.statistics_compute_task"
# Small, so a message abandoned by a dead worker becomes visible again quickly (see the crash test).
VISIBILITY_TIMEOUT = 3
FAULT_PAUSE_SECONDS = 10
JOB_TIMEOUT = 60


def _redis_url() -> str:
    # tests/settings_env.py removed CELERY_BROKER_URL (keeping a Redis one as REDIS_URL): one variable here.
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


@pytest.fixture(scope="module")
def redis_client():
    """A client for the test's Redis database; skips (visibly) when no Redis answers."""
    import redis

    url = _redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis not reachable at {url} (set REDIS_URL): {error}")
    yield client
    client.close()


def _database_url() -> str:
    """The test database as a DATABASE_URL, so the worker process reads and writes the same rows."""
    db = django_settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    # A unix-socket directory (the embedded server) goes percent-encoded in the host part.
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def queue_name(redis_client):
    name = f"ivf-test-{uuid.uuid4().hex[:12]}"
    yield name
    # The queue list, its binding, and any leftovers of this test's workers (pidbox bindings, unacked).
    redis_client.delete(name)
    for key in redis_client.scan_iter("_kombu.binding*"):  # _kombu.binding.<exchange>, ..._permanent.<exchange>
        if key.decode().endswith(f".{name}"):
            redis_client.delete(key)
        elif redis_client.type(key) == b"set":  # e.g. the workers' pidbox queues bound to celery.pidbox
            members = [member for member in redis_client.smembers(key) if name.encode() in member]
            if members:
                redis_client.srem(key, *members)
    for tag in _unacked_tags(redis_client, name):
        redis_client.hdel("unacked", tag)
        redis_client.zrem("unacked_index", tag)


def _unacked_tags(redis_client, queue: str) -> list[bytes]:
    """Delivery tags of messages of `queue` that a worker took but never acknowledged (kombu's ack emulation)."""
    tags = []
    for tag, value in redis_client.hgetall("unacked").items():
        _message, _exchange, routing_key = loads(value)
        if routing_key == queue:
            tags.append(tag)
    return tags


@pytest.fixture
def broker_app(redis_client, queue_name):
    """Switch this process's Celery app from eager mode to the real broker and route the task to our queue.

    `app.conf` is loaded from Django settings once, at first access (here: eager, no broker), so changing
    Django settings now would not reach it: we set the values on `app.conf` itself (a layer above the
    loaded settings) and drop the cached broker connection pools, which were built for the old broker URL.
    """
    from ivf_trial.celery import app

    url = _redis_url()
    keys = ("task_always_eager", "broker_url", "task_routes")
    saved = {key: app.conf[key] for key in keys}  # forces the lazy configuration to load first

    def reset_pools():
        # Only forget them: kombu's global pools are shared by URL, closing one would break its next user.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.update(task_always_eager=False, broker_url=url, task_routes={TASK_NAME: {"queue": queue_name}})
    app.amqp.flush_routes()
    reset_pools()
    yield app
    reset_pools()
    app.conf.update(saved)
    app.amqp.flush_routes()


class Workers:
    """`celery worker` subprocesses, each in its own process group (so SIGKILL takes the pool child too)."""

    def __init__(self, queue: str, log_dir: Path):
        self.queue = queue
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, label: str, **extra_env: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE") or "ivf_trial.settings",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": _redis_url(),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "STATISTICS_FAULT_PAUSE_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        log = self.log_dir / f"worker-{label}.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", "ivf_trial", "worker"),
            *("--pool", "prefork", "--concurrency", "1", "--loglevel", "info"),
            *("--without-heartbeat", "--without-gossip", "--without-mingle"),
            *("-n", f"{self.queue}-{label}@%h", "-Q", self.queue),
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((label, process, log))
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        if process.returncode is not None:
            return  # already killed and reaped: its pid (and group id) may belong to someone else now
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group id is the worker's pid (new session)
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"----- worker {label} (exit {process.returncode}) -----\n{log.read_text(errors='replace')}"
            for label, process, log in self.started
        )

    def log(self, label: str) -> str:
        return next(log.read_text(errors="replace") for name, _, log in self.started if name == label)

    def stop_all(self) -> None:
        for _, process, _ in self.started:
            self.kill(process)


@pytest.fixture
def workers(request, queue_name, tmp_path):
    failed_before = request.session.testsfailed
    manager = Workers(queue_name, tmp_path)
    yield manager
    manager.stop_all()
    if request.session.testsfailed > failed_before:
        print(manager.logs(), file=sys.stderr)


def wait_for(condition, *, timeout: float, what: str, workers: Workers):
    """Poll `condition` until it returns something truthy; fail with the worker logs on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout} s waiting for {what}.\n{workers.logs()}")


def job_in(job_id: int, *statuses: str):
    def condition():
        job = StatisticsJob.objects.get(pk=job_id)
        return job if job.status in statuses else None

    return condition


@pytest.fixture
def three_randomized_patients(site_a, staff_site_a, statistician, settings):
    # Only the job requested by the test: no automatic recomputation after each data change.
    settings.STATISTICS_RECOMPUTE_ON_CHANGE = False
    return [randomized_patient(site_a, staff_site_a, statistician) for _ in range(3)]


@pytest.mark.django_db(transaction=True)
def test_recomputation_requested_through_the_broker_completes(
    broker_app, workers, three_randomized_patients, statistician
):
    workers.start("solo")

    # Requested by a user: no debounce countdown. No outer transaction, so on_commit sends at once.
    job, queued = services.statistics_request(by=statistician)
    assert queued

    job = wait_for(
        job_in(job.pk, JobStatus.DONE, JobStatus.FAILED), timeout=JOB_TIMEOUT, what="the job", workers=workers
    )
    logs = workers.logs()
    assert job.status == JobStatus.DONE, f"{job.message}\n{logs}"
    assert job.deliveries == 1, logs
    snapshot = StatisticsSnapshot.objects.get()
    assert job.snapshot_id == snapshot.pk
    assert snapshot.patients == 3
    assert f"Task {TASK_NAME}[" in logs and "succeeded in" in logs, logs


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_job_then_another_worker_completes_it_once(
    broker_app, workers, redis_client, queue_name, three_randomized_patients, statistician
):
    worker_a = workers.start("A", STATISTICS_FAULT_PAUSE_SECONDS=str(FAULT_PAUSE_SECONDS))
    job, queued = services.statistics_request(by=statistician)
    assert queued

    # Worker A claimed the job (counted one delivery) and now sleeps inside the task.
    running = wait_for(
        job_in(job.pk, JobStatus.RUNNING), timeout=JOB_TIMEOUT, what="worker A to start", workers=workers
    )
    assert running.deliveries == 1
    workers.kill(worker_a)
    assert "succeeded in" not in workers.log("A")

    # The message is neither in the queue nor acknowledged: kombu keeps it in its `unacked` hash, scored
    # by delivery time in `unacked_index`, and only moves it back to the queue once it is older than the
    # visibility timeout. Redis consumers scan for such messages (a) once when they start consuming
    # (MultiChannelPoller.on_poll_init -> QoS.restore_visible) and (b) afterwards only about every
    # unacked_restore_interval * unacked_restore_throttle = 10 * 10 s. The settings do not expose those two
    # options, so the test relies on (a): with a 3 s visibility timeout it waits until the abandoned message
    # is older than that, then starts worker B, whose start-up scan restores the message at once.
    tags = _unacked_tags(redis_client, queue_name)
    assert len(tags) == 1, f"expected the killed worker's message among the unacked ones: {tags}"
    delivered_at = redis_client.zscore("unacked_index", tags[0])
    assert delivered_at is not None
    time.sleep(max(0.0, delivered_at + VISIBILITY_TIMEOUT + 0.5 - time.time()))

    workers.start("B")
    job = wait_for(
        job_in(job.pk, JobStatus.DONE, JobStatus.FAILED), timeout=JOB_TIMEOUT, what="worker B", workers=workers
    )
    logs = workers.logs()
    assert job.status == JobStatus.DONE, f"{job.message}\n{logs}"
    assert job.deliveries == 2, logs
    assert StatisticsSnapshot.objects.count() == 1
    assert job.snapshot_id == StatisticsSnapshot.objects.get().pk
    assert "succeeded in" in workers.log("B"), logs
    # Worker B acknowledged it: nothing of this queue is left waiting or unacknowledged.
    wait_for(lambda: not _unacked_tags(redis_client, queue_name), timeout=5, what="the ack", workers=workers)
    assert redis_client.llen(queue_name) == 0
