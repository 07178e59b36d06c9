"""Permission matrix of API v1 for the patients and their clinical records: route × method × caller → status.

The registry, consent, baseline, randomization, lab results and lab files, transfers, outcomes, adverse
events and questionnaires (RECORD_ROUTES of tests/api/permission_rules.py), each method as each caller,
against real site-A records built once for the module (tests/api/permission_world.py); each case runs
in its own savepoint. The other routes are checked by tests/api/test_permission_matrix_oversight.py.
"""

import pytest

from tests.api.permission_rules import RECORD_ROUTES, RULES, _cases, _matches, _request, expected_status
from tests.api.permission_world import build_world
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)


@pytest.mark.parametrize(("name", "method", "caller"), list(_cases(lambda name: name in RECORD_ROUTES)))
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
