"""Page-level permission matrix of the app's own pages: every HTML page × role → the status SPEC §1 implies.

The rules are the table in tests/core/page_world.py (PAGES, keyed by URL name); a new page without a rule
fails `test_every_url_pattern_has_an_access_rule`. The Django admin is checked by
tests/core/test_admin_page_permissions.py, the REST API by tests/api/test_permission_matrix.py.

The module's data is built once (site-A patients carry "PHI-CANARY-" identities, so the suite's PHI
guard also checks every response here) and every request runs in its own rolled-back savepoint.
"""

import pytest
from django.urls import reverse

from tests.core.page_world import (
    ACCEPTED_POST,
    ADMIN_PAGES,
    APP_PAGES,
    PAGES,
    PENDING,
    ROLES,
    ROUTES,
    STAFF_B,
    Page,
    build_world,
    client_for,
    request_in_savepoint,
)
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)


# --- Expectations ---------------------------------------------------------------------------------------


def expected(page: Page, method: str, role: str):
    """The status (or set of statuses) SPEC §1 implies for this role and method."""
    allowed = page.get if method == "get" else page.post
    if page.conceal and role in page.hidden:
        return 404
    if allowed is None:
        return 405
    if role in allowed:
        return page.ok_get if method == "get" else ACCEPTED_POST
    return 404 if role in page.hidden else 403


def _matches(want, status: int) -> bool:
    return status in want if isinstance(want, frozenset) else status == want


# --- Tests ----------------------------------------------------------------------------------------------


def test_every_url_pattern_has_an_access_rule():
    uncovered = []
    for route, name in ROUTES:
        if name is None:
            if not route.startswith("admin/"):  # the admin's own catch-all and object redirect are unnamed
                uncovered.append(f"{route} (unnamed: name it and add a rule)")
        elif name.startswith("api-"):
            if not route.startswith("api/v1/"):
                uncovered.append(f"{name} ({route}): api- names are for /api/v1/ only")
        elif not name.startswith("admin:") and name not in PAGES:
            uncovered.append(f"{name} ({route})")
    assert not uncovered, f"URL patterns without an access rule in PAGES: {uncovered}"


def test_rules_name_only_existing_or_pending_pages():
    assert set(PAGES) - set(APP_PAGES) <= PENDING, "a rule for a page that no longer exists"


def test_the_walk_covers_the_project():
    assert len(APP_PAGES) >= 40 and len(ADMIN_PAGES) >= 60
    assert {"casebook:patient", "labs:draw_create", "outcomes:ae_edit", "allocation:detail", "admin:index"} <= {
        name for _, name in ROUTES
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", APP_PAGES)
def test_page_permission_matrix(world, name, role):
    page = PAGES[name]
    url = reverse(name, kwargs=page.kwargs(world))
    client = client_for(world, role)
    failures = []
    for method in ("get", "post"):
        response = request_in_savepoint(client, method, url, page.post_data(world, role) if method == "post" else None)
        want = expected(page, method, role)
        if not _matches(want, response.status_code):
            failures.append(f"{method.upper()} {url} as {role}: expected {want}, got {response.status_code}")
    assert not failures, "\n".join(failures)


def test_other_sites_staff_get_404_on_every_page_of_a_patient(world):
    """SPEC: a record of another site answers 404, not 403 — for every page naming a patient."""
    client = client_for(world, STAFF_B)
    patient_pages = [name for name in APP_PAGES if "study_id" in PAGES[name].kwargs(world)]
    assert len(patient_pages) >= 20
    for name in patient_pages:
        url = reverse(name, kwargs=PAGES[name].kwargs(world))
        for method in ("get", "post"):
            assert request_in_savepoint(client, method, url).status_code == 404, f"{method.upper()} {url}"
