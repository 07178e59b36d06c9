"""Permission matrix of API v1: route × method × caller → the status SPEC §1 implies.

Every route of the router (the rule table in tests/api/permission_rules.py), each method as each caller,
against real site-A records built once for the module (tests/api/permission_world.py); each case runs in
its own savepoint. The table must cover the router exactly: every route has a rule, every rule a route.
"""

import pytest

from tests.api.permission_rules import API_ROUTES, PENDING, RULES, _cases, _matches, _request, expected_status
from tests.api.permission_world import CALLERS, METHODS, build_world
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)


def test_every_api_route_has_a_rule():
    assert None not in API_ROUTES, "every API route needs a URL name (the rule table is keyed by it)"
    missing = sorted(set(API_ROUTES) - set(RULES))
    assert not missing, f"API routes without a permission rule in RULES: {missing}"


def test_rules_name_only_existing_or_pending_routes():
    assert set(RULES) - set(API_ROUTES) <= PENDING, "a rule for a route that no longer exists"


def test_the_crawl_finds_the_api():
    assert {"api-patients", "api-patient", "api-transfers-detail", "api-export", "api-schema"} <= set(API_ROUTES)
    assert len(list(_cases())) == len(set(API_ROUTES) & set(RULES)) * len(METHODS) * len(CALLERS)


@pytest.mark.parametrize(("name", "method", "caller"), list(_cases()))
def test_permission_matrix(world, name, method, caller):
    rule = RULES[name]
    expected = expected_status(rule, method, caller)
    response = _request(world, rule, name, method, caller)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)  # an error inside the stream must surface here
    body = b"<stream>" if getattr(response, "streaming", False) else response.content[:300]
    got = f"{response.status_code} {body!r}"
    assert _matches(expected, response.status_code, method), (
        f"{method} {response.request['PATH_INFO']} as {caller}: expected {expected}, got {got}"
    )
