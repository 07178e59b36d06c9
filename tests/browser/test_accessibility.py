"""Accessibility of the pages every role uses (issue 20, item 12): axe-core, run by Playwright on every page
of tests/browser/page_list.py as a role that uses it, in English and in Chinese, at a phone's width, finds no
violation of impact serious or critical; the navigation, with its menus open, at a laptop's.

axe-core is vendored for the tests only (tests/browser/vendor/axe.min.js, its LICENSE beside it: MPL-2.0;
`npm pack axe-core@4`), never served by the app. It runs in each page as an init script of the browser
context, so the app's Content-Security-Policy (scripts from the app's origin only) needs no exception.
The counts of every impact, by page, are printed, and appended to the file named by AXE_REPORT if set.
`make test` opens each page in one of the two languages; PAGE_MATRIX=full (.ci/run) opens all in both.
"""

import os
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.page_list import LANGUAGES, Sessions, pages_for
from tests.core.page_world import ADMIN, STATISTICIAN, build_world

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = {"critical", "serious"}
MENU_ROLES = (STATISTICIAN, ADMIN)  # the longest Manage menus
# Pages are checked as a phone shows them: a table wider than the screen scrolls in its own box, which must
# take the keyboard's focus (scrollable-region-focusable); the navigation's links, folded there, at a laptop's.
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

# Known serious or critical violations in pages whose templates are changed elsewhere, by (page, rule id):
# each one is reported to be fixed there, and then removed from here. Keep it empty otherwise.
KNOWN: dict[tuple[str, str], str] = {}

RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, nodes: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}"""


def _report(language: str, found: dict[str, list[dict]]) -> str:
    lines = [f"axe-core violations by page ({language}): nodes per impact, critical/serious/moderate/minor"]
    for page, violations in found.items():
        nodes = Counter()
        for violation in violations:
            nodes[violation["impact"]] += violation["nodes"]
        rules = ", ".join(f"{v['id']}({v['impact']}, {v['nodes']})" for v in violations)
        counts = "/".join(str(nodes[impact]) for impact in IMPACTS)
        lines.append(f"  {page:<28} {counts:<10} {rules}")
    return "\n".join(lines) + "\n"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_listed_pages_have_no_serious_or_critical_violation(browser: Browser, live_server, language):
    sessions = Sessions(browser, live_server.url, build_world(), language, init_script=AXE, viewport=PHONE)
    found: dict[str, list[dict]] = {}
    try:
        for listed, tab in sessions.pages(pages_for(language)):
            assert tab.locator("html").get_attribute("lang") == language
            found[listed.name] = tab.evaluate(RUN_AXE)
        for role in MENU_ROLES:  # the navigation's menus, opened (closed <details> are not rendered)
            tab = sessions.context(role).new_page()
            tab.set_viewport_size(LAPTOP)  # the bar's links shown
            tab.goto(f"{live_server.url}/patients/")
            tab.evaluate("document.querySelectorAll('details.nav-menu').forEach(menu => { menu.open = true; })")
            found[f"menus open ({role})"] = tab.evaluate(RUN_AXE)
    finally:
        sessions.close()
    report = _report(language, found)
    print("\n" + report)
    if os.environ.get("AXE_REPORT"):
        with open(os.environ["AXE_REPORT"], "a", encoding="utf-8") as out:
            out.write(report)
    blocking = [
        f"{page}: {v['id']} ({v['impact']}) at {v['targets']}"
        for page, violations in found.items()
        for v in violations
        if v["impact"] in BLOCKING and (page, v["id"]) not in KNOWN
    ]
    assert not blocking, "\n".join(blocking)


def test_every_known_violation_names_a_listed_page():
    from tests.browser.page_list import PAGES

    names = {listed.name for listed in PAGES} | {f"menus open ({role})" for role in MENU_ROLES}
    assert all(page in names for page, _rule in KNOWN)
