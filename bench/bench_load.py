"""Pages under load: the dashboard and two API list pages served by gunicorn at `--scale` women (100,000).

gunicorn runs as in production (DJANGO_DEBUG=0, collected static files, sync workers) on the synthetic
database of the statistics benchmark (`manage.py generate_synthetic --patients N --seed 1`, made once);
requests carry `X-Forwarded-Proto: https` as the TLS proxy would add. A statistician logged in by
session reads `/dashboard/` (the stored snapshot: one is computed first when the database has none) and by
token `/api/v1/patients/?page_size=100` and `/api/v1/lab-results/?page_size=100`. Each repeat sends
`CONCURRENCY` closed-loop clients (threads with http.client, one connection per request, as gunicorn's
sync workers close them) at each page for `SECONDS`, and at `/healthz/` (the whole middleware stack and
one query) as the floor, side by side. Separately, in this process, the queries each page runs are
counted at 10,000 and at `--scale` women: they must not grow with the trial.
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from time import perf_counter, sleep

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import bench_statistics
from bench.harness import PROJECT_DIR, child_env, figure, synthetic_database, using_database

CONCURRENCY = 8  # saturates the 2-core machine: p95 there is mostly queueing (clients ÷ throughput)
# A second, steady load: as many clients as cores, each sending its next request when the last answered.
STEADY = 2
SECONDS = 10.0
WORKERS = 4  # sync workers: 2 × 2 CPUs, the usual rule
USERNAME = "bench_load_statistician"
SMALL = 10_000
FLOOR = ("healthz", "/healthz/", "none")
PAGES = [
    ("dashboard", "/dashboard/", "session"),
    ("api_patients", "/api/v1/patients/?page_size=100", "token"),
    ("api_lab_results", "/api/v1/lab-results/?page_size=100", "token"),
]
TARGET_P95_MS = {"dashboard": 50, "api_patients": 100, "api_lab_results": 100}


def run(repeats: int, *, scale: int) -> list[dict]:
    large = synthetic_database(scale, seed=bench_statistics.SEED)
    small = synthetic_database(SMALL, seed=bench_statistics.SEED)
    credentials = {db.name: _prepare(db.name) for db in (large, small)}
    queries = {db.patients: _query_counts(db.name, credentials[db.name]) for db in (small, large)}
    print(f"  queries per page: {queries}", flush=True)
    samples: dict[str, dict[str, list[float]]] = {}
    with _gunicorn(large.name) as port:
        headers = _headers(credentials[large.name])
        for _name, path, auth in [FLOOR, *PAGES]:
            _load(port, path, headers[auth], seconds=1.0)  # warm-up: imports, templates, connections
        for repeat in range(1, repeats + 1):
            for clients, suffix in ((CONCURRENCY, ""), (STEADY, f"_{STEADY}_clients")):
                for name, path, auth in [FLOOR, *PAGES]:
                    result = _load(port, path, headers[auth], seconds=SECONDS, clients=clients)
                    for key, value in result.items():
                        samples.setdefault(name + suffix, {}).setdefault(key, []).append(value)
            print(f"  repeat {repeat}: " + ", ".join(f"{n} p95 {s['p95'][-1]:.0f} ms" for n, s in samples.items()))
    return _figures(samples, queries, scale)


def _prepare(name: str) -> dict[str, str]:
    """A statistician with a token and a session in database `name`, and a stored snapshot to show."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    from analysis.selectors import latest_snapshot
    from core import roles

    with using_database(name):
        if latest_snapshot() is None:
            bench_statistics._child(name, "compute")
        roles.roles_sync()
        user, created = get_user_model().objects.get_or_create(username=USERNAME)
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.set([Group.objects.get(name=roles.STATISTICIAN)])
        token = AuthToken.objects.create(user=user)[1]
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"token": token, "session": session}


def _headers(credentials: dict[str, str]) -> dict[str, dict[str, str]]:
    common = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    return {
        "none": common,
        "token": {**common, "Authorization": f"Token {credentials['token']}"},
        "session": {**common, "Cookie": f"{settings.SESSION_COOKIE_NAME}={credentials['session']}"},
    }


def _query_counts(name: str, credentials: dict[str, str]) -> dict[str, int]:
    """Queries each page runs, in this process (the test client, same settings)."""
    counts = {}
    with using_database(name):
        client = Client(headers={"Authorization": f"Token {credentials['token']}"})
        client.cookies[settings.SESSION_COOKIE_NAME] = credentials["session"]
        for page, path, _auth in PAGES:
            client.get(path)  # once, so per-process caches (permissions, content types) are warm
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code} in {name}.")
            counts[page] = len(captured)
    return counts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _gunicorn:
    """gunicorn with production settings on database `name`; yields its port, stops it afterwards."""

    def __init__(self, name: str):
        self.env = child_env(
            name,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=settings.SECRET_KEY,  # sessions made here are signed with it
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
        )
        self.env.pop("CELERY_BROKER_URL", None)
        self.port = _free_port()

    def __enter__(self) -> int:
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=PROJECT_DIR, env=self.env, check=True)
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        command = [gunicorn, "ivf_trial.wsgi", f"--workers={WORKERS}", f"--bind=127.0.0.1:{self.port}"]
        self.process = subprocess.Popen([*command, "--log-level=warning"], cwd=PROJECT_DIR, env=self.env)
        for _ in range(120):
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start.")
            try:
                if _get(self.port, "/healthz/", {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})[0] == 200:
                    return self.port
            except OSError:
                sleep(0.5)
        raise RuntimeError("gunicorn did not answer /healthz/ within a minute.")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, perf_counter() - started
    finally:
        conn.close()


def _load(port: int, path: str, headers: dict[str, str], *, seconds: float, clients: int = CONCURRENCY) -> dict:
    """`clients` clients each sending the next request when the last answered, for `seconds`."""
    latencies: list[float] = []
    failures: list[int] = []
    deadline = perf_counter() + seconds

    def client() -> None:
        while perf_counter() < deadline:
            status, elapsed = _get(port, path, headers)
            (latencies if status == 200 else failures).append(elapsed if status == 200 else status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = perf_counter() - started
    if failures or not latencies:
        raise RuntimeError(f"{path}: {len(failures)} failed requests (statuses {sorted(set(failures))[:5]}).")
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000,
        "rps": len(ordered) / wall,
    }


def _latency_figures(page: str, suffix: str, samples: dict, floor: dict, notes: str) -> list[dict]:
    """p95, p50 and requests/s of one page at one load, each beside /healthz/ at the same load."""
    quantiles = [
        figure(
            f"load.{page}_{q}{suffix}",
            samples[q],
            "ms",
            floor_runs=floor[q],
            floor_name=f"/healthz/ {q}",
            higher_is_better=False,
            notes=notes if q == "p95" else "",
        )
        for q in ("p95", "p50")
    ]
    return [
        *quantiles,
        figure(f"load.{page}_rps{suffix}", samples["rps"], "req/s", floor_runs=floor["rps"], floor_name="/healthz/"),
    ]


def _figures(samples, queries: dict[int, dict[str, int]], scale: int) -> list[dict]:
    floor, steady = samples["healthz"], f"_{STEADY}_clients"
    load = f"{CONCURRENCY} clients × {SECONDS:.0f} s per run against {WORKERS} gunicorn sync workers, DJANGO_DEBUG=0"
    found = []
    for page, path, _auth in PAGES:
        target = f"target p95 < {TARGET_P95_MS[page]} ms"
        found += _latency_figures(page, "", samples[page], floor, f"GET {path} at {scale:,} women; {target}; {load}")
        found.append(
            figure(
                f"load.{page}_queries",
                [queries[scale][page]],
                "queries",
                higher_is_better=False,
                notes=f"queries per request: {queries[SMALL][page]} at {SMALL:,} women, "
                f"{queries[scale][page]} at {scale:,} (must not grow with the trial)",
            )
        )
    for page, path, _auth in PAGES:
        notes = f"GET {path} at {scale:,} women; {STEADY} clients (as many as cores), same server"
        found += _latency_figures(page, steady, samples[page + steady], samples["healthz" + steady], notes)
    found.append(figure("load.healthz_p95", floor["p95"], "ms", higher_is_better=False, notes="the floor"))
    found.append(figure("load.healthz_rps", floor["rps"], "req/s", notes=f"the floor; {os.cpu_count()} CPUs shared"))
    return found
