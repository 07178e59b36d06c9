"""The pages every role uses in a day (issue 20, item 12), each opened as a role that uses it: the list the
accessibility check (test_accessibility.py) and the phone-width check (test_layout.py) walk.

The records behind the paths are tests/core/page_world.py's world (a site-A patient with every form, one
query, a computed statistics snapshot), built and committed inside a transactional browser test so the live
server sees it. `Sessions` keeps one logged-in browser context per role for a whole walk: a session is made
by the test client's force_login (the login form is a page of the list, not each role's way in).
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.helpers import timely_context
from tests.core.page_world import ADMIN, INVESTIGATOR_A, MONITOR, STAFF_A, STATISTICIAN, World

LANGUAGES = ("en", "zh-hans")
HOME_ROLES = (STAFF_A, INVESTIGATOR_A, MONITOR, STATISTICIAN, ADMIN)


@dataclass(frozen=True)
class ListedPage:
    """One page of the list: a readable name for reports, who opens it (None: nobody logged in), its path."""

    name: str
    role: str | None
    path: Callable[[World], str]


def _url(name: str, **kwargs) -> Callable[[World], str]:
    return lambda w: reverse(name, kwargs=kwargs)


def _main(name: str, **kwargs) -> Callable[[World], str]:
    return lambda w: reverse(name, kwargs={"study_id": w.main, **kwargs})


PAGES: tuple[ListedPage, ...] = (
    ListedPage("login", None, _url("login")),
    *(ListedPage(f"home ({role})", role, _url("home")) for role in HOME_ROLES),
    ListedPage("patient list", STAFF_A, _url("patients:list")),
    ListedPage("patient detail", STAFF_A, _main("casebook:patient")),
    ListedPage("screening form", STAFF_A, _url("patients:screen")),
    ListedPage("consent form", STAFF_A, _main("patients:consent")),
    ListedPage("baseline form", STAFF_A, _main("patients:baseline")),
    ListedPage("transfer form", STAFF_A, _main("patients:transfer")),
    ListedPage("lab draw form", STAFF_A, _main("labs:draw_create")),
    ListedPage("outcome form", STAFF_A, _main("outcomes:pregnancy")),
    ListedPage("adverse event form", STAFF_A, _main("outcomes:ae_create")),
    ListedPage(
        "questionnaire form", STAFF_A, _main("outcomes:questionnaire", instrument="RAND36", timepoint="BASELINE")
    ),
    ListedPage("queries list", MONITOR, _url("quality:queries")),
    ListedPage("query detail", STAFF_A, lambda w: reverse("quality:query", kwargs={"pk": w.pk["query"]})),
    ListedPage("casebook review", MONITOR, _main("casebook:review")),
    ListedPage("casebook signing", INVESTIGATOR_A, _main("casebook:review")),
    ListedPage("missing forms", STAFF_A, _url("quality:missing")),
    ListedPage("audit history", MONITOR, _main("casebook:history")),
    ListedPage("dashboard (blinded)", INVESTIGATOR_A, _url("analysis:dashboard")),
    ListedPage("dashboard", STATISTICIAN, _url("analysis:dashboard")),
    ListedPage("exports", STATISTICIAN, _url("analysis:exports")),
    ListedPage("database lock", STATISTICIAN, _url("quality:database_lock")),
    ListedPage("trial settings", STATISTICIAN, _url("quality:trial_settings")),
)


# Long full names: the user menu shows hers, so the one-line navigation is measured with a long one.
FULL_NAMES = {
    STAFF_A: ("Maximiliane", "Oberstaufen-Lindqvist"),
    INVESTIGATOR_A: ("Konstantina", "Papadopoulou-Weatherby"),
    MONITOR: ("Bartholomew", "Featherstonehaugh"),
    STATISTICIAN: ("Anastasiya", "Wolkenstein-Rutherford"),
    ADMIN: ("Christopher", "Montgomery-Ashworth"),
}


def users_only_world() -> World:
    """A user of each role of the list (long full names), no records: enough for the navigation."""
    from tests.factories import make_user, site

    site_a = site("SZ")
    roles = {STAFF_A: "site_staff", INVESTIGATOR_A: "investigator", MONITOR: "monitor", STATISTICIAN: "statistician"}
    users = {
        username: make_user(username, role, *([site_a] if username in (STAFF_A, INVESTIGATOR_A) else []))
        for username, role in roles.items()
    }
    users[ADMIN] = make_user(ADMIN, "admin", is_staff=True)
    for username, (first, last) in FULL_NAMES.items():
        users[username].first_name, users[username].last_name = first, last
        users[username].save(update_fields=["first_name", "last_name"])
    return World(users=users, main="", screened="", pk={})


def pages_for(language: str) -> tuple[ListedPage, ...]:
    """The pages to walk in `language`: all of them with PAGE_MATRIX=full (the separate step of .ci/run);
    otherwise (make test) each page in one language, the two languages taking turns down the list, which
    halves the walks and still opens every page and both languages."""
    if os.environ.get("PAGE_MATRIX") == "full":
        return PAGES
    return PAGES[LANGUAGES.index(language) :: len(LANGUAGES)]


class Sessions:
    """One browser context per role (and one for nobody logged in), made once and reused for every page."""

    def __init__(self, browser: Browser, base_url: str, world: World, language: str, init_script=None, **options):
        """`options` as for browser.new_context; `init_script`: a file every page of these contexts runs first."""
        self.browser, self.base_url, self.world, self.language = browser, base_url, world, language
        self.options, self.init_script = options, init_script
        self.contexts: dict[str | None, BrowserContext] = {}

    def context(self, role: str | None) -> BrowserContext:
        if role not in self.contexts:
            context = timely_context(self.browser, **self.options)
            cookies = [{"name": "django_language", "value": self.language, "url": self.base_url}]
            if role is not None:
                client = Client()
                client.force_login(self.world.users[role])
                session = client.cookies["sessionid"].value
                cookies.append({"name": "sessionid", "value": session, "url": self.base_url})
            context.add_cookies(cookies)
            if self.init_script:
                context.add_init_script(path=self.init_script)
            self.contexts[role] = context
        return self.contexts[role]

    def pages(self, pages: tuple[ListedPage, ...] = PAGES) -> Iterator[tuple[ListedPage, Page]]:
        """Each listed page opened in its role's context (one tab per role, reused), after its load."""
        tabs: dict[str | None, Page] = {}
        for listed in pages:
            if listed.role not in tabs:
                tabs[listed.role] = self.context(listed.role).new_page()
            tab = tabs[listed.role]
            response = tab.goto(self.base_url + listed.path(self.world))
            assert response is not None and response.status == 200, f"{listed.name}: {response and response.status}"
            yield listed, tab

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()
