"""The layout on a laptop and a phone (issue 20, item 2), in English and Chinese.

At 1280x800 the navigation of every role is one line, no label broken inside a word; below the large
breakpoint it collapses behind a menu button. At 390x844 no page of the list (tests/browser/page_list.py)
is wider than the screen: tables scroll inside their card, long words wrap. `make test` opens each page in
one of the two languages; PAGE_MATRIX=full (.ci/run) opens all in both.
"""

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.page_list import HOME_ROLES, LANGUAGES, PAGES, Sessions, pages_for, users_only_world
from tests.core.page_world import STATISTICIAN, build_world

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
ONE_LINE_NAV_PX = 70  # the bar with one row of links (56 px); a wrapped label or a second row makes it 80+

# Per link and button (中文 too): its height, and whether its text fits its box (a nowrap label too long
# for its box overflows).
NAV_LINKS = """() => [...document.querySelectorAll('nav.navbar .nav-link, nav.navbar .navbar-brand, nav.navbar .btn')]
  .filter(e => e.offsetParent !== null)
  .map(e => ({text: e.textContent.trim(), height: e.getBoundingClientRect().height,
              overflows: e.scrollWidth > e.clientWidth + 1}))"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_listed_page_fits_a_phone_screen(browser: Browser, live_server, language):
    sessions = Sessions(browser, live_server.url, build_world(), language, viewport=PHONE)
    widths = {}
    try:
        for listed, tab in sessions.pages(pages_for(language)):
            widths[listed.name] = tab.evaluate("document.documentElement.scrollWidth")
    finally:
        sessions.close()
    print(f"\nPage widths at {PHONE['width']} px ({language}):")
    for name, width in sorted(widths.items(), key=lambda item: -item[1]):
        print(f"  {width:5d}  {name}")
    too_wide = {name: width for name, width in widths.items() if width > PHONE["width"]}
    assert not too_wide, f"wider than {PHONE['width']} px in {language}: {too_wide}"
    assert len(widths) == len(pages_for(language))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_navigation_is_one_line_at_1280_px_for_every_role(browser: Browser, live_server, language):
    sessions = Sessions(browser, live_server.url, users_only_world(), language, viewport=LAPTOP)
    heights, widths, broken = {}, {}, {}
    try:
        for role in HOME_ROLES:
            page = sessions.context(role).new_page()
            page.goto(f"{live_server.url}/patients/")
            expect(page.locator(".navbar-toggler")).to_be_hidden()  # expanded: no menu button
            heights[role] = page.locator("nav.navbar").bounding_box()["height"]
            widths[role] = page.evaluate("document.documentElement.scrollWidth")
            links = page.evaluate(NAV_LINKS)
            line = min(link["height"] for link in links if link["text"])
            broken[role] = [link["text"] for link in links if link["overflows"] or link["height"] > line * 1.5]
    finally:
        sessions.close()
    print(f"\nNavigation at {LAPTOP['width']} px ({language}): heights {heights}, page widths {widths}")
    assert all(height < ONE_LINE_NAV_PX for height in heights.values()), heights
    assert all(width <= LAPTOP["width"] for width in widths.values()), widths  # nowrap labels must still fit
    assert not any(broken.values()), broken


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_navigation_opens_from_a_menu_button(browser: Browser, live_server):
    world = users_only_world()
    sessions = Sessions(browser, live_server.url, world, "en", viewport=PHONE)
    try:
        page = sessions.context(STATISTICIAN).new_page()
        page.goto(f"{live_server.url}/patients/")
        exports = page.locator("#exports-link")
        expect(exports).to_be_hidden()
        # The closed menu takes one bar, not half the screen (385 of 844 px before).
        assert page.locator("nav.navbar").bounding_box()["height"] < ONE_LINE_NAV_PX
        page.locator(".navbar-toggler").click()
        expect(exports).to_be_visible()
        page.locator("#user-menu > summary").click()
        expect(page.locator("#tokens-link")).to_be_visible()
        expect(page.locator("#user-menu summary")).to_have_text(world.users[STATISTICIAN].get_full_name())
        expect(page.locator("#current-role")).to_have_text("Statistician")
        expect(page.locator("#language-switcher button[value=zh-hans]")).to_be_visible()
        page.locator("#manage-menu > summary").click()
        page.locator("#manage-menu .dropdown-item", has_text="Database lock").click()
        expect(page).to_have_url(f"{live_server.url}/quality/database-lock/")
    finally:
        sessions.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_phone_still_shows_every_link(browser: Browser, live_server):
    """The menu button needs Bootstrap's script; without it the links are simply shown."""
    world = users_only_world()
    sessions = Sessions(browser, live_server.url, world, "en", viewport=PHONE, java_script_enabled=False)
    try:
        page = sessions.context(STATISTICIAN).new_page()
        page.goto(f"{live_server.url}/patients/")
        expect(page.locator("#exports-link")).to_be_visible()
        expect(page.locator(".navbar-toggler")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        sessions.close()


def test_the_page_list_covers_every_role_home_and_the_login():
    names = {listed.name for listed in PAGES}
    assert "login" in names and all(f"home ({role})" in names for role in HOME_ROLES)


def test_make_test_still_opens_every_page(monkeypatch):
    monkeypatch.delenv("PAGE_MATRIX", raising=False)
    sampled = [listed for language in LANGUAGES for listed in pages_for(language)]
    assert sorted(listed.name for listed in sampled) == sorted(listed.name for listed in PAGES)
    monkeypatch.setenv("PAGE_MATRIX", "full")
    assert all(pages_for(language) == PAGES for language in LANGUAGES)
