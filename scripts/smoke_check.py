"""Production-shape smoke check, run by `scripts/smoke.sh` against gunicorn + celery worker + beat.

Stdlib only. Speaks to the app as a browser and an API client would, through a TLS-terminating proxy
(X-Forwarded-Proto: https), so the production security settings stay on: log in through the form,
read the patient list, register a patient through the API, recompute statistics through the broker
(a real worker must pick the job up) and export a dataset. Exits non-zero naming the failed step.
"""

import http.client
import json
import re
import sys
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST, PORT = sys.argv[1], int(sys.argv[2])
PASSWORD = sys.argv[3]
ORIGIN = f"https://{HOST}:{PORT}"


class Session:
    """Cookies kept by hand: the production cookies are Secure and the proxy is simulated."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        sent = {"X-Forwarded-Proto": "https", "Host": f"{HOST}:{PORT}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
        return response.status, dict(response.getheaders()), data


def step(name, ok, detail=""):
    print(f"{'ok ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        sys.exit(1)


def main():
    browser = Session()
    status, _, body = browser.request("GET", "/healthz/")
    step("health endpoint", status == 200, body.decode()[:80])

    status, _, body = browser.request("GET", "/accounts/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    step("login page", status == 200 and token is not None)
    form = urlencode({"username": "staff", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1).decode()})
    status, headers, _ = browser.request(
        "POST",
        "/accounts/login/",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{ORIGIN}/accounts/login/"},
    )
    step("log in through the form", status == 302, f"{status} → {headers.get('Location')}")
    status, _, body = browser.request("GET", "/patients/")
    step("patient list as staff", status == 200 and b"SZ-0001" in body, f"{status}")

    tokens: dict[str, str] = {}

    def token_of(user: str) -> str:
        # One token per user, as a real client keeps it: the token endpoint is rate-limited against guessing.
        if user not in tokens:
            _, _, body = Session().request(
                "POST",
                "/api/v1/auth/token/",
                json.dumps({"username": user, "password": PASSWORD}),
                {"Content-Type": "application/json"},
            )
            tokens[user] = json.loads(body)["token"]
        return tokens[user]

    def api(method, path, user, payload=None):
        key = token_of(user)
        return Session().request(
            method,
            path,
            json.dumps(payload) if payload is not None else None,
            {"Authorization": f"Token {key}", "Content-Type": "application/json"},
        )

    criteria = {
        code: code in {"AGE_20_40", "FAILED_TRANSFERS_2PLUS", "NORMAL_CAVITY", "PLATELETS_100PLUS"}
        for code in [
            "AGE_20_40",
            "FAILED_TRANSFERS_2PLUS",
            "NORMAL_CAVITY",
            "PLATELETS_100PLUS",
            "THROMBOPHILIA_ANTICOAG",
            "BLEEDING_DISORDER",
            "HIT_OR_LMWH_ALLERGY",
            "UTERINE_ANOMALY",
            "HEPATIC_RENAL_IMPAIRMENT",
        ]
    }
    registration = {
        "site": "SZ",
        "full_name": "Smoke Test Patient",
        "date_of_birth": "1992-05-01",
        "medical_record_number": f"SMOKE-{int(time.time())}",
        "screening_date": time.strftime("%Y-%m-%d"),
        "criteria": criteria,
    }
    status, _, body = api("POST", "/api/v1/patients/", "staff", registration)
    step("register a patient through the API", status == 201, body.decode()[:120])
    study_id = json.loads(body)["study_id"]
    status, _, body = api(
        "POST",
        f"/api/v1/patients/{study_id}/consent/",
        "staff",
        {"form_version": "v1", "signed_on": registration["screening_date"]},
    )
    step("record consent", status == 201, body.decode()[:120])

    status, _, body = api("POST", "/api/v1/statistics/recompute/", "statistician")
    step("request recomputation", status == 202, body.decode()[:120])
    job = json.loads(body)["id"]
    deadline = time.monotonic() + 120
    while True:
        status, _, body = api("GET", f"/api/v1/statistics/jobs/{job}/", "statistician")
        state = json.loads(body)["status"]
        if state in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(1)
    step("the worker ran the job through the broker", state == "done", body.decode()[:160])

    status, headers, body = api("GET", "/api/v1/export/patients.csv", "statistician")
    lines = body.decode().splitlines()
    step(
        "export patients.csv",
        status == 200 and lines[0].startswith("study_id,site,arm") and len(lines) > 1,
        f"{len(lines) - 1} rows",
    )
    step("no identity in the export", b"Smoke Test Patient" not in body)
    print("smoke check passed")


if __name__ == "__main__":
    main()
