"""The clients of the load run: writers, readers and dashboard sessions, at once, tallying what they saw."""

import http.client
import json
import random
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from load.common import HTTPS, PASSWORD, SITE
from load.trial import Plan


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
