"""Shared fixtures: trial configuration, roles and persona users for one-line permission tests."""

import os

import pytest

from tests.module_data import uses_module_data

# Playwright's sync API runs an event loop in the test thread; Django would refuse ORM calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _uses_database(request) -> bool:
    return request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def trial_configuration(request):
    """Ensure the seeded configuration exists: transactional tests truncate every table when they end."""
    if uses_module_data(request):  # seeded once with the module's records (tests/module_data.py)
        request.getfixturevalue("db")
        return
    if not _uses_database(request):
        return
    marker = request.node.get_closest_marker("django_db")
    transactional = "live_server" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    from core.roles import roles_sync
    from tests.factories import ensure_trial_configuration

    ensure_trial_configuration()

    roles_sync()


@pytest.fixture
def site_a(db):
    from tests.factories import site

    return site("SZ")


@pytest.fixture
def site_b(db):
    from tests.factories import site

    return site("BJ", "Second site (Beijing)")


@pytest.fixture
def staff_site_a(site_a):
    from tests.factories import make_user

    return make_user("staff_a", "site_staff", site_a)


@pytest.fixture
def staff_site_b(site_b):
    from tests.factories import make_user

    return make_user("staff_b", "site_staff", site_b)


@pytest.fixture
def investigator_site_a(site_a):
    from tests.factories import make_user

    return make_user("investigator_a", "investigator", site_a, email="inv-a@example.org")


@pytest.fixture
def monitor(db):
    from tests.factories import make_user

    return make_user("monitor", "monitor")


@pytest.fixture
def statistician(db):
    from tests.factories import make_user

    return make_user("statistician", "statistician")


@pytest.fixture
def admin_user(db):
    from tests.factories import make_user

    return make_user("admin", "admin", is_staff=True)


@pytest.fixture(scope="session", autouse=True)
def phi_guard():
    """Every test-client response and the log records of its request are checked for PHI the user may not see."""
    from tests import phi_guard

    with phi_guard.installed():
        yield phi_guard


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's deliberate slowness protects real accounts; in tests it only slows the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: a rolled-back database can give a new snapshot an old one's id."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A request in Chinese leaves Chinese active in its thread (LocaleMiddleware activates, nothing
    deactivates): the next test in this worker would read the services' messages in Chinese."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
