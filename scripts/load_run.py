"""A bounded load run on loopback: data entry, API reads and dashboards at once, then every write accounted for.

    .venv/bin/python scripts/load_run.py [--seconds 60] [--writers 4] [--readers 2] [--dashboards 1]
                                         [--debug] [--keep] [--json FILE]

What it does:
1. Makes a database of its own beside the one of DATABASE_URL (`<name>_load`, dropped first): a template
   copy of it when that one is migrated and holds no patients (a second), else a new database and `migrate`.
2. Prepares a site LOAD with a staff user, an investigator and a statistician (API tokens), and live
   allocation lists for both strata; with production settings, `collectstatic`.
3. Starts gunicorn on a free loopback port with production settings (DJANGO_DEBUG=0, a throwaway secret
   key, requests marked X-Forwarded-Proto: https as a TLS-terminating proxy would) or, with --debug,
   DJANGO_DEBUG=1.
4. For --seconds, at once: writers register women through the API and take each through consent,
   baseline, randomization and three lab results; readers page through patients and lab results and open
   single patients; dashboard clients (a browser session of the investigator) open the dashboard and the
   patient list.
5. Stops the server and checks: zero errors (every answer 2xx; connection failures count as errors), and
   every write accounted for — the 2xx writes the clients saw equal the rows the database holds for the
   site (registrations by study id, consents, baselines, randomizations, lab results); then the audit
   hash chain is verified. Prints a table (and --json). Exit status 1 on any error or mismatch.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlparse

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
SITE = "LOAD"
PASSWORD = "load-run-password-1"
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy in front of gunicorn would add
WRITES = ("register", "consent", "baseline", "randomize", "lab_result")


# --- The database -----------------------------------------------------------------------------------------


def _connect(url: str, dbname: str):
    parts = urlparse(url)
    return psycopg2.connect(
        dbname=dbname,
        user=unquote(parts.username or "") or None,
        password=unquote(parts.password or "") or None,
        host=unquote(parts.hostname or "") or None,
        port=parts.port,
    )


def _with_name(url: str, name: str) -> str:
    parts = urlparse(url)
    return parts._replace(path=f"/{quote(name)}").geturl()


def _is_empty_and_migrated(url: str) -> bool:
    try:
        conn = _connect(url, urlparse(url).path.lstrip("/"))
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('patients_patient') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT count(*) FROM patients_patient")
            return cursor.fetchone()[0] == 0
    finally:
        conn.close()


def create_database(base_url: str, name: str) -> str:
    """A fresh database `name` on the server of `base_url`, migrated; its URL."""
    base_name = urlparse(base_url).path.lstrip("/")
    template = _is_empty_and_migrated(base_url)
    admin = _connect(base_url, "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            try:
                if not template:
                    raise psycopg2.Error
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base_name}"')
            except psycopg2.Error:  # not migrated, holds patients, or in use: a new database and migrate
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return _with_name(base_url, name)


def drop_database(base_url: str, name: str) -> None:
    admin = _connect(base_url, "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


# --- Preparation (in this process, through the services) --------------------------------------------------


@dataclass
class Plan:
    tokens: dict[str, str]
    criteria: dict[str, bool]
    analytes: list[tuple[str, str]]  # (code, canonical unit)


def prepare(slots: int) -> Plan:
    """Site, users and tokens, live allocation lists of `slots` per stratum; what the clients need."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    from core.models import EligibilityCriterion, Site, SiteMembership
    from core.roles import roles_sync
    from labs.models import Analyte
    from patients import randomization
    from patients.models import AgeGroup, AllocationList

    roles_sync()
    site, _ = Site.objects.get_or_create(code=SITE, defaults={"name": "Load run"})
    users = {}
    for username, role, member in (
        ("load_staff", "site_staff", True),
        ("load_investigator", "investigator", True),
        ("load_statistician", "statistician", False),
    ):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=role))
        if member:
            SiteMembership.objects.get_or_create(user=user, site=site)
        users[username] = user
    statistician = get_user_model().objects.get(username="load_statistician")  # fresh permissions
    for group in AgeGroup.values:
        if not AllocationList.objects.filter(site=site, age_group=group, status="live").exists():
            draft = randomization.allocation_list_generate(
                site=site, age_group=group, length=slots, block_sizes=[2, 4], by=statistician
            )
            randomization.allocation_list_go_live(allocation_list=draft, by=statistician)
    return Plan(
        tokens={name: AuthToken.objects.create(user=user)[1] for name, user in users.items()},
        criteria={c.code: c.kind == "inclusion" for c in EligibilityCriterion.objects.filter(active=True)},
        analytes=list(Analyte.objects.order_by("code").values_list("code", "canonical_unit"))[:3],
    )


def database_rows() -> dict[str, object]:
    """What the database holds for the load site: study ids and row counts per write kind."""
    from labs.models import LabResult
    from patients.models import Baseline, Consent, Patient, Randomization

    return {
        "register": set(Patient.objects.filter(site__code=SITE).values_list("study_id", flat=True)),
        "consent": Consent.objects.filter(patient__site__code=SITE).count(),
        "baseline": Baseline.objects.filter(patient__site__code=SITE).count(),
        "randomize": Randomization.objects.filter(patient__site__code=SITE).count(),
        "lab_result": LabResult.objects.filter(draw__patient__site__code=SITE).count(),
    }


# --- The server -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, env: dict, log_dir: Path, workers: int, threads: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "ivf_trial.wsgi:application",
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)),
        *("--worker-class", "gthread", "--timeout", "60", "--keep-alive", "30"),
        *("--error-logfile", str(log_dir / "gunicorn.log")),
    ]
    if not Path(command[0]).exists():
        command[0:1] = [sys.executable, "-m", "gunicorn"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see its log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz/", headers=HTTPS)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz/ in time")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- The clients ------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Everything the clients saw, shared by all of them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ok: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if ok:
                self.ok[kind] += 1
            else:
                self.errors.append(f"{kind}: {detail[:300]}")


class Client:
    """One keep-alive connection; JSON in and out; cookies kept for the browser-session client."""

    def __init__(self, port: int, tally: Tally, token: str | None = None):
        self.port, self.tally = port, tally
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {**HTTPS, **({"Authorization": f"Token {token}"} if token else {})}
        self.cookies: dict[str, str] = {}

    def call(self, kind: str, method: str, path: str, body=None, *, form=False, expect=None):
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = urlencode(body) if form else json.dumps(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers={**headers, "Referer": self._origin() + path})
            response = self.conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            self.tally.record(kind, time.perf_counter() - started, False, f"{method} {path}: {error!r}")
            return None, b""
        self._keep_cookies(response)
        ok = 200 <= response.status < 300 or response.status == expect
        detail = f"{method} {path} answered {response.status}: {content[:150]!r}"
        self.tally.record(kind, time.perf_counter() - started, ok, detail)
        return (response.status, content) if ok else (None, content)

    def _origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _keep_cookies(self, response) -> None:
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]


def writer(port: int, plan: Plan, tally: Tally, deadline: float, number: int) -> None:
    client = Client(port, tally, plan.tokens["load_staff"])
    today = datetime.now(UTC).date().isoformat()
    n = 0
    while time.monotonic() < deadline:
        n += 1
        status, content = client.call(
            "register",
            "POST",
            "/api/v1/patients/",
            {
                "site": SITE,
                "full_name": f"Load Woman {number}-{n}",
                "date_of_birth": random.choice(["1992-03-15", "1986-07-01"]),  # both strata
                "medical_record_number": f"LOAD-{number}-{n}-{secrets.token_hex(3)}",
                "screening_date": today,
                "criteria": plan.criteria,
            },
        )
        if status is None:
            continue
        study_id = json.loads(content)["study_id"]
        with tally.lock:
            tally.registered.add(study_id)
        base = f"/api/v1/patients/{study_id}"
        steps = [
            ("consent", f"{base}/consent/", {"form_version": "v2.1", "signed_on": today}),
            ("baseline", f"{base}/baseline/", BASELINE),
            ("randomize", f"{base}/randomize/", None),
        ]
        for kind, path, body in steps:
            if time.monotonic() >= deadline or client.call(kind, "POST", path, body)[0] is None:
                break
        else:
            drawn_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
            for code, unit in plan.analytes:
                if time.monotonic() >= deadline:
                    break
                result = {"study_id": study_id, "timepoint": "BASELINE", "analyte": code, "value": "5", "unit": unit}
                client.call("lab_result", "POST", "/api/v1/lab-results/", {**result, "drawn_at": drawn_at})


BASELINE = {
    "height_cm": "160.0",
    "weight_kg": "56.0",
    "previous_failed_transfers": 2,
    "prior_miscarriages": 1,
    "infertility_type": "primary",
    "infertility_years": "3.5",
    "education": "college_or_higher",
}


def reader(port: int, plan: Plan, tally: Tally, deadline: float, number: int) -> None:
    client = Client(port, tally, plan.tokens["load_statistician"])
    while time.monotonic() < deadline:
        client.call("read_patients", "GET", "/api/v1/patients/?page_size=50")
        client.call("read_lab_results", "GET", "/api/v1/lab-results/?page_size=100")
        with tally.lock:
            known = random.choice(sorted(tally.registered)) if tally.registered else None
        if known:
            client.call("read_patient", "GET", f"/api/v1/patients/{known}/")


def dashboard(port: int, plan: Plan, tally: Tally, deadline: float, number: int) -> None:
    client = Client(port, tally)
    client.call("login_page", "GET", "/accounts/login/")
    token = client.cookies.get("csrftoken", "")
    login = {"username": "load_investigator", "password": PASSWORD, "csrfmiddlewaretoken": token}
    client.headers["X-CSRFToken"] = token
    if client.call("login", "POST", "/accounts/login/", login, form=True, expect=302)[0] is None:
        return
    while time.monotonic() < deadline:
        client.call("dashboard", "GET", "/dashboard/")
        client.call("patient_list_page", "GET", "/patients/")


# --- The run ----------------------------------------------------------------------------------------------


def run_clients(port: int, plan: Plan, args) -> tuple[Tally, float]:
    tally = Tally()
    deadline = time.monotonic() + args.seconds
    roles = [(writer, args.writers), (reader, args.readers), (dashboard, args.dashboards)]
    threads = [
        threading.Thread(target=target, args=(port, plan, tally, deadline, n), daemon=True)
        for target, count in roles
        for n in range(count)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.seconds + 120)
    return tally, time.monotonic() - started


def account(tally: Tally, before: dict, after: dict) -> list[str]:
    """Mismatches between the 2xx writes the clients saw and the rows the database gained."""
    problems = []
    new_ids = after["register"] - before["register"]
    if new_ids != tally.registered or len(new_ids) != tally.ok["register"]:
        problems.append(
            f"registrations: {tally.ok['register']} answered 201, {len(new_ids)} new patients "
            f"({len(new_ids ^ tally.registered)} study ids differ)"
        )
    for kind in WRITES[1:]:
        gained = after[kind] - before[kind]
        if gained != tally.ok[kind]:
            problems.append(f"{kind}: {tally.ok[kind]} answered 2xx, {gained} rows in the database")
    return problems


def report(tally: Tally, seconds: float, problems: list[str], audit_ok: bool, args) -> dict:
    rows = []
    for kind in sorted(tally.latencies):
        values = sorted(tally.latencies[kind])
        rows.append(
            {
                "kind": kind,
                "requests": len(values),
                "ok": tally.ok[kind],
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(values[int(0.95 * (len(values) - 1))] * 1000, 1),
                "max_ms": round(values[-1] * 1000, 1),
            }
        )
    total = sum(r["requests"] for r in rows)
    writes = sum(tally.ok[kind] for kind in WRITES)
    summary = {
        "seconds": round(seconds, 1),
        "mode": "debug" if args.debug else "production",
        "clients": {"writers": args.writers, "readers": args.readers, "dashboards": args.dashboards},
        "requests": total,
        "requests_per_second": round(total / seconds, 1) if seconds else 0,
        "writes_2xx": writes,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:10],
        "accounting_problems": problems,
        "audit_chain_verified": audit_ok,
        "by_kind": rows,
    }
    print(f"\n{'kind':<20}{'requests':>10}{'2xx':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for r in rows:
        print(f"{r['kind']:<20}{r['requests']:>10}{r['ok']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}")
    print(
        f"\n{total} requests in {summary['seconds']} s ({summary['requests_per_second']}/s), {writes} writes "
        f"answered 2xx, {len(tally.errors)} errors; every write accounted for: {not problems}; "
        f"audit chain verified: {audit_ok}"
    )
    for line in summary["error_samples"] + problems:
        print(f"  ! {line}")
    return summary


def verify_audit() -> bool:
    """The audit hash chain still verifies after the concurrent writes."""
    from django.core.management import CommandError, call_command

    try:
        call_command("verify_audit", verbosity=0)
    except CommandError as error:
        print(f"  ! {error}")
        return False
    return True


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--dashboards", type=int, default=1)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--debug", action="store_true", help="DJANGO_DEBUG=1 instead of production settings")
    parser.add_argument("--keep", action="store_true", help="keep the <name>_load database afterwards")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--log-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "ivf-load-run")
    return parser.parse_args(argv)


def environment(url: str, debug: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DATABASE_URL=url,
        DJANGO_DEVELOPMENT="1" if debug else "0",  # production settings refuse DEBUG
        DJANGO_DEBUG="1" if debug else "0",
        DJANGO_SECRET_KEY=f"load-run-{secrets.token_urlsafe(40)}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="ivf_trial.settings",
    )
    return env


def main(argv=None) -> int:
    args = parse_args(argv)
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        raise SystemExit("Set DATABASE_URL (the load run makes <name>_load beside that database).")
    name = re.sub(r"\W", "_", urlparse(base_url).path.lstrip("/")) + "_load"
    args.log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    url = create_database(base_url, name)
    env = environment(url, args.debug)
    try:
        manage("migrate", "--noinput", "-v0", env=env)
        if not args.debug:
            manage("collectstatic", "--noinput", "-v0", env=env)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connections

        # Enough slots for the fastest writers imaginable here (about 4 randomizations per writer-second).
        plan = prepare(slots=min(10_000, max(1_000, int(args.seconds * args.writers * 4))))
        before = database_rows()
        connections.close_all()
        print(f"Prepared {name} in {time.monotonic() - started:.1f} s; load for {args.seconds:g} s ...")
        port = free_port()
        server = start_server(port, env, args.log_dir, args.gunicorn_workers, args.gunicorn_threads)
        try:
            wait_until_up(port, server)
            tally, seconds = run_clients(port, plan, args)
        finally:
            stop_server(server)
        problems = account(tally, before, database_rows())
        summary = report(tally, seconds, problems, verify_audit(), args)
        connections.close_all()
    finally:
        if not args.keep:
            drop_database(base_url, name)
    summary["total_seconds"] = round(time.monotonic() - started, 1)
    print(f"Whole run (setup included): {summary['total_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if not tally.errors and not problems and summary["audit_chain_verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
