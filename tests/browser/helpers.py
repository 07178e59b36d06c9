"""Steps every browser journey shares."""

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def log_in(page: Page, base_url: str, username: str) -> None:
    """Through the real login form, then wait until the page shows who is logged in."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#current-user")).to_have_text(username)
