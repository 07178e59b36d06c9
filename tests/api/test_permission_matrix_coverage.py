"""The API permission rule table covers the router exactly: every route has a rule, every rule a route.

The rules are tests/api/permission_rules.py's RULES; their cases run in tests/api/test_permission_matrix_records.py
and tests/api/test_permission_matrix_oversight.py.
"""

import pytest

from tests.api.permission_rules import API_ROUTES, PENDING, RULES, _cases
from tests.api.permission_world import CALLERS, METHODS

pytestmark = pytest.mark.django_db  # as in the matrix modules


def test_every_api_route_has_a_rule():
    assert None not in API_ROUTES, "every API route needs a URL name (the rule table is keyed by it)"
    missing = sorted(set(API_ROUTES) - set(RULES))
    assert not missing, f"API routes without a permission rule in RULES: {missing}"


def test_rules_name_only_existing_or_pending_routes():
    assert set(RULES) - set(API_ROUTES) <= PENDING, "a rule for a route that no longer exists"


def test_the_crawl_finds_the_api():
    assert {"api-patients", "api-patient", "api-transfers-detail", "api-export", "api-schema"} <= set(API_ROUTES)
    assert len(list(_cases())) == len(set(API_ROUTES) & set(RULES)) * len(METHODS) * len(CALLERS)
