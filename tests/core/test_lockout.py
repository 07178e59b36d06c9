"""Lockout behind a proxy (issue 18, finding 8): failures lock that user at that address, not colleagues
behind the same address; 20 consecutive failures from any addresses lock the account until the admin
unlocks it with a reason; the client's address is REMOTE_ADDR unless a trusted proxy is configured.
Logins, logouts and failed logins are account events."""

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.lockout import account_is_locked
from core.models import AccountEvent, AccountEventKind
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
OFFICE = "10.20.0.1"  # the clinic's proxy: everyone's address
LIMIT = django_settings.AXES_FAILURE_LIMIT
ACCOUNT_LIMIT = django_settings.ACCOUNT_LOCK_FAILURES


def _page_login(user, password, address=OFFICE, **extra):
    return Client().post(
        reverse("login"), {"username": user.get_username(), "password": password}, REMOTE_ADDR=address, **extra
    )


def _token_login(user, password, address=OFFICE, **extra):
    body = {"username": user.get_username(), "password": password}
    return APIClient().post(TOKEN_URL, body, format="json", REMOTE_ADDR=address, **extra)


def _events(kind, user=None):
    events = AccountEvent.objects.filter(kind=kind)
    return events.filter(user=user) if user is not None else events


# --- One user at one address ---------------------------------------------------------------------------


def test_one_users_failures_on_the_login_page_do_not_lock_a_colleague_at_the_same_address(monitor, investigator_site_a):
    answers = [_page_login(monitor, "wrong-password").status_code for _ in range(LIMIT)]
    assert answers == [200] * (LIMIT - 1) + [429]  # the failure that reaches the limit answers with the lock
    locked = _page_login(monitor, PASSWORD)
    assert locked.status_code == 429 and "30 minutes" in locked.content.decode()
    assert _page_login(investigator_site_a, PASSWORD).status_code == 302
    assert _page_login(monitor, PASSWORD, address="10.20.0.2").status_code == 302  # her own desk elsewhere


def test_one_users_failures_at_the_token_endpoint_do_not_lock_a_colleague_at_the_same_address(
    monitor, investigator_site_a
):
    for _ in range(LIMIT):
        assert _token_login(monitor, "wrong-password").status_code == 400
    locked = _token_login(monitor, PASSWORD)
    assert locked.status_code == 429 and "30 minutes" in locked.json()["detail"]
    assert _token_login(investigator_site_a, PASSWORD).status_code == 200


def test_failures_on_the_page_and_at_the_token_endpoint_count_together(monitor):
    for n in range(LIMIT):
        (_page_login if n % 2 else _token_login)(monitor, "wrong-password")
    assert _token_login(monitor, PASSWORD).status_code == 429
    assert _page_login(monitor, PASSWORD).status_code == 429


# --- The account, from any addresses ---------------------------------------------------------------------


def _fail_from_many_addresses(user, count, network="198.51.100"):
    # Each address stays under the per-address limit: only the account count can stop this attacker.
    for n in range(count):
        _token_login(user, f"guess-{n}", address=f"{network}.{n // (LIMIT - 1) + 1}")


def test_twenty_failures_from_many_addresses_lock_the_account(monitor):
    _fail_from_many_addresses(monitor, ACCOUNT_LIMIT - 1)
    assert not account_is_locked(monitor)
    assert _token_login(monitor, PASSWORD, address="203.0.113.7").status_code == 200  # a success: run over
    _fail_from_many_addresses(monitor, ACCOUNT_LIMIT, network="198.51.101")
    assert account_is_locked(monitor)
    assert _events(AccountEventKind.ACCOUNT_LOCKED, monitor).count() == 1
    fresh = "203.0.113.8"  # the right password from an address with no failures at all
    page = _page_login(monitor, PASSWORD, address=fresh)
    assert page.status_code == 403 and "Ask an administrator" in page.content.decode()
    token = _token_login(monitor, PASSWORD, address=fresh)
    assert token.status_code == 403 and "Ask an administrator" in token.json()["detail"]


def test_a_locked_accounts_tokens_stop_working(monitor):
    key = _token_login(monitor, PASSWORD, address="203.0.113.9").json()["token"]
    assert APIClient().get("/api/v1/sites/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    _fail_from_many_addresses(monitor, ACCOUNT_LIMIT)
    assert account_is_locked(monitor)
    assert APIClient().get("/api/v1/sites/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_refusals_by_a_lock_are_not_counted_as_guesses(monitor):
    for _ in range(LIMIT):
        _page_login(monitor, "wrong-password")
    for _ in range(ACCOUNT_LIMIT):  # a user hammering the button while locked at her desk
        assert _page_login(monitor, "wrong-password").status_code == 429
    assert not account_is_locked(monitor)


def test_the_admin_unlocks_an_account_with_a_reason(client, monitor, admin_user, staff_site_a):
    _fail_from_many_addresses(monitor, ACCOUNT_LIMIT)
    url = reverse("tokens:locked_accounts")
    client.force_login(staff_site_a)
    assert client.get(url).status_code == 403
    assert client.post(url, {"user": monitor.pk, "reason": "Mine now"}).status_code == 403
    client.force_login(admin_user)
    page = client.get(url).content.decode()
    assert f'data-username="{monitor.get_username()}"' in page
    assert client.post(url, {"user": monitor.pk, "reason": ""}).status_code == 200  # a reason is required
    assert account_is_locked(monitor)
    assert client.post(url, {"user": monitor.pk, "reason": "Phoned her: she forgot it"}).status_code == 302
    unlocked = _events(AccountEventKind.ACCOUNT_UNLOCKED, monitor).get()
    assert unlocked.detail["reason"] == "Phoned her: she forgot it"
    assert not account_is_locked(monitor)
    assert f'data-username="{monitor.get_username()}"' not in client.get(url).content.decode()
    assert _token_login(monitor, PASSWORD, address="203.0.113.9").status_code == 200


def test_unlocking_an_account_that_is_not_locked_is_refused(client, monitor, admin_user):
    client.force_login(admin_user)
    refused = client.post(reverse("tokens:locked_accounts"), {"user": monitor.pk, "reason": "Just in case"})
    assert refused.status_code == 200 and "is not locked" in refused.content.decode()
    assert not _events(AccountEventKind.ACCOUNT_UNLOCKED).exists()


# --- The client's address --------------------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(monitor):
    for n in range(LIMIT):  # an attacker forging a new address for every guess
        _token_login(monitor, "wrong-password", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert _token_login(monitor, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429
    failed = _events(AccountEventKind.LOGIN_FAILED, monitor)
    assert set(failed.values_list("ip_address", flat=True)) == {OFFICE}


def test_behind_a_trusted_proxy_the_client_is_its_entry_and_forged_entries_are_ignored(settings, monitor, staff_site_a):
    settings.TRUSTED_PROXY_HEADER, settings.TRUSTED_PROXY_COUNT = "HTTP_X_FORWARDED_FOR", 1
    for n in range(LIMIT):  # the proxy appends the real address; the forged one before it is the client's
        _token_login(monitor, "wrong-password", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.50")
    assert _token_login(monitor, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 429
    assert _token_login(monitor, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 200
    assert _token_login(staff_site_a, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 200
    addresses = set(_events(AccountEventKind.LOGIN_FAILED, monitor).values_list("ip_address", flat=True))
    assert addresses == {"203.0.113.50"}


# --- Login events --------------------------------------------------------------------------------------


def test_login_logout_and_failed_logins_are_account_events(client, staff_site_a):
    assert _page_login(staff_site_a, "wrong-password").status_code == 200
    failed = _events(AccountEventKind.LOGIN_FAILED, staff_site_a).get()
    assert failed.ip_address == OFFICE and "wrong-password" not in str(failed.detail)
    client.post(reverse("login"), {"username": staff_site_a.username, "password": PASSWORD}, REMOTE_ADDR=OFFICE)
    assert _events(AccountEventKind.LOGIN, staff_site_a).get().ip_address == OFFICE
    client.post(reverse("logout"))
    assert _events(AccountEventKind.LOGOUT, staff_site_a).count() == 1


def test_a_failed_login_for_an_unknown_name_records_the_name_as_typed(db):
    typed = "nobody-" + "x" * 140  # 147 characters: the login form takes up to 150
    Client().post(reverse("login"), {"username": typed, "password": "whatever"}, REMOTE_ADDR=OFFICE)
    Client().post(TOKEN_URL, {"username": typed + "yyy", "password": "whatever"}, content_type="application/json")
    failed = _events(AccountEventKind.LOGIN_FAILED).order_by("pk")
    assert [e.username for e in failed] == [typed, typed + "yyy"]
    assert all(e.user is None for e in failed)


def test_logins_and_tokens_do_not_mark_the_statistics_stale(staff_site_a, django_capture_on_commit_callbacks):
    from analysis.models import DataVersion

    before = list(DataVersion.objects.values_list("version", flat=True))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert _page_login(staff_site_a, PASSWORD).status_code == 302
        assert _page_login(staff_site_a, "wrong-password").status_code == 200
        assert _token_login(staff_site_a, PASSWORD).status_code == 200
    assert not callbacks  # nothing scheduled: account events are not the trial's data
    assert list(DataVersion.objects.values_list("version", flat=True)) == before
