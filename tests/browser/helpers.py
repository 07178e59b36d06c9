"""Steps every browser journey shares."""

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import PASSWORD

TIMEOUT_MS = 10_000  # every wait and navigation of a journey


def log_in(page: Page, base_url: str, username: str) -> None:
    """Through the real login form, then wait until the page shows who is logged in."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#current-user")).to_have_text(username)


def timely_context(browser: Browser, **options) -> BrowserContext:
    """A browser context of its own (own cookies, `options` as for new_context) whose waits and navigations
    time out after TIMEOUT_MS."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context
