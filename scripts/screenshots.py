"""`make screenshots`: the README's screenshots of the main pages, taken from the demo trial.

Starts the app (runserver on a free port, the database of DATABASE_URL or the embedded one, demo data
loaded by `make screenshots` first), logs in as each demo role in Debian's Chromium and saves PNGs to
docs/screenshots/. Re-run after changing a page; the README links these files.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password-1")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# (file name, demo user, path, what to wait for)
SHOTS = [
    ("login", None, "/accounts/login/", "#id_username"),
    ("patient-list", "staff", "/patients/", "table"),
    ("patient-detail", "staff", "/patients/SZ-0001/", "#form-states"),
    ("screening-form", "staff", "/patients/screen/", "form"),
    ("lab-import", "staff", "/labs/import/", "form"),
    ("dashboard", "investigator", "/dashboard/", "canvas"),
    ("queries", "monitor", "/quality/queries/", "#query-table"),
    ("casebook-review", "monitor", "/quality/casebook/SZ-0001/", "#casebook-forms"),
    ("missing-forms", "staff", "/quality/missing/", "#missing-forms"),
    ("allocation", "statistician", "/allocation/", "table"),
    ("about-demo", "investigator", "/about/", "main"),
    ("api-docs", "statistician", "/api/v1/docs/", "#swagger-ui"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str) -> None:
    for _ in range(120):
        try:
            urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server did not answer at {url}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{base}/healthz/")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            contexts = {}
            for name, user, path, ready in SHOTS:
                if user not in contexts:
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    if user:
                        page = context.new_page()
                        page.goto(f"{base}/accounts/login/")
                        page.fill("#id_username", user)
                        page.fill("#id_password", PASSWORD)
                        page.get_by_role("button", name="Log in").click()
                        page.wait_for_url(lambda url: "/accounts/login/" not in url)
                        page.close()
                    contexts[user] = context
                page = contexts[user].new_page()
                response = page.goto(f"{base}{path}")
                if response is None or response.status >= 400:
                    print(f"skip {name}: {path} answered {response.status if response else 'nothing'}")
                    page.close()
                    continue
                page.wait_for_selector(ready, timeout=15_000)
                page.wait_for_timeout(600)  # let charts finish their animation
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
                print(f"saved docs/screenshots/{name}.png")
                page.close()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
