"""Records built once for a test module, in a transaction held open for the module and rolled back after it.

Modules that send hundreds of requests against the same records (the permission matrices, the fuzzers,
the schema checks) build them once instead of once per test:

    world = module_data(build_world)  # a module-scoped fixture named `world`: whatever build_world() returns

The trial configuration and the roles are seeded first, then `build()` runs. Each test still runs in its
own savepoint inside that transaction (pytest-django's `db`), so what one test writes the next does not
see, and it skips the suite's per-test seeding (tests/conftest.py: `trial_configuration`).
"""

from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test import override_settings

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def module_data(build: Callable[[], object]):
    """A module-scoped fixture of what `build()` returns, built once in the module's own transaction."""

    @pytest.fixture(scope="module")
    def records(django_db_setup, django_db_blocker):
        from core.roles import roles_sync
        from tests.factories import ensure_trial_configuration

        with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            outer = transaction.atomic()
            outer.__enter__()
            try:
                ensure_trial_configuration()
                roles_sync()
                built = build()
                # Fire the deferred constraint checks now: left queued, every test's savepoint rollback
                # would queue them again and each teardown would re-run them all (35 ms per case).
                connection.check_constraints()
                yield built
            finally:
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)

    records.seeds_trial_configuration = True
    return records


def uses_module_data(request) -> bool:
    """Whether the test uses a `module_data` fixture of its module (by the name the module binds it to)."""
    fixtures = (getattr(request.module, name, None) for name in request.fixturenames)
    return any(getattr(fixture, "seeds_trial_configuration", False) for fixture in fixtures)
