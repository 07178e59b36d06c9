"""The navigation at a laptop's width: trial and account management in one menu, the user's own links in
another, so the roles with the most pages (statistician, admin) keep one row that fits 1280 px, in English
and Chinese; both menus open without JavaScript (<details>)."""

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.helpers import log_in, timely_context
from tests.factories import make_user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("role", ["statistician", "admin"])
def test_the_navigation_fits_one_row_at_1280_px_and_its_menus_lead_to_their_pages(
    browser: Browser, live_server, role, language
):
    user = make_user(f"nav_{role}", role, is_staff=role == "admin")
    context = timely_context(browser, viewport={"width": 1280, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, user.get_username())
    if language == "zh-hans":
        page.locator("#language-switcher button[value=zh-hans]").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.locator("nav.navbar").bounding_box()["height"] <= 80  # one row, not wrapped labels
    page.locator("#manage-menu > summary").click()
    first = page.locator("#manage-menu .dropdown-item").first
    expect(first).to_be_visible()
    first.click()
    assert page.url != f"{live_server.url}/patients/"
    page.locator("#user-menu > summary").click()
    page.locator("#tokens-link").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/tokens/")
    context.close()
