"""Playwright against Debian's Chromium; skipped with a visible reason where it is not installed."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import TIMEOUT_MS

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Tools that download their own browser fail here: use the distribution's Chromium, and keep it
    # off the network (its background services would otherwise try to reach Google's hosts).
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture
def timely_page(page: Page) -> Page:
    """pytest-playwright's page whose waits, navigations and expectations time out after TIMEOUT_MS."""
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return page
