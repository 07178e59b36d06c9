"""API tokens (SPEC §11.1): a new, hashed, expiring token per login; revoked by DELETE, by a password
change, a deactivation and a role change on every path; their events in the account trail; bounded,
throttled input at the token endpoint."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from core.models import AccountEvent, AccountEventKind
from core.tokens import user_tokens_revoke
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PROBE = "/api/v1/sites/"  # any read every role may make
NEW_PASSWORD = "Xk9#mQ2!vLpz-renewed"


def _login(user, password=PASSWORD, **extra):
    return APIClient().post(TOKEN_URL, {"username": user.get_username(), "password": password}, format="json", **extra)


def _token(user) -> str:
    response = _login(user)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _works(token: str) -> bool:
    status = _with(token).get(PROBE).status_code
    assert status in (200, 401), status
    return status == 200


def _events(kind, user=None):
    events = AccountEvent.objects.filter(kind=kind)
    return events.filter(user=user) if user is not None else events


# --- Issue --------------------------------------------------------------------------------------------


def test_each_login_returns_a_new_token_with_its_expiry(staff_site_a):
    first, second = _login(staff_site_a).json(), _login(staff_site_a).json()
    assert first["token"] != second["token"]
    assert _works(first["token"]) and _works(second["token"])
    assert first["expires_at"].endswith("Z")
    expires = datetime.fromisoformat(first["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)


def test_the_lifetime_comes_from_the_settings(staff_site_a, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(hours=2)}
    expires = datetime.fromisoformat(_login(staff_site_a).json()["expires_at"].replace("Z", "+00:00"))
    assert abs(expires - (timezone.now() + timedelta(hours=2))) < timedelta(minutes=1)


def test_the_token_table_holds_no_usable_key(staff_site_a):
    key = _token(staff_site_a)
    table = AuthToken._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(t)::text FROM {table} t")  # every column of every row
        stored = " ".join(row[0] for row in cursor.fetchall())
    assert stored and key not in stored
    assert key[:15] in stored  # knox's lookup prefix only: 60 of the key's 256 bits
    events = " ".join(str(e.detail) for e in AccountEvent.objects.all())
    assert key not in events


def test_issue_and_revoke_are_account_events_naming_the_prefix_and_expiry(staff_site_a):
    response = _login(staff_site_a, REMOTE_ADDR="10.1.2.3").json()
    issued = _events(AccountEventKind.TOKEN_ISSUED, staff_site_a).get()
    assert issued.detail["token_key"] == response["token"][:15]
    assert issued.detail["expires_at"] == response["expires_at"] and issued.ip_address == "10.1.2.3"
    assert _with(response["token"]).delete(TOKEN_URL).status_code == 204
    revoked = _events(AccountEventKind.TOKEN_REVOKED, staff_site_a).get()
    assert revoked.detail["token_key"] == response["token"][:15]


# --- Revocation ---------------------------------------------------------------------------------------


def test_delete_revokes_the_token_it_is_sent_with_and_only_that_one(staff_site_a):
    kept, revoked = _token(staff_site_a), _token(staff_site_a)
    assert _with(revoked).delete(TOKEN_URL).status_code == 204
    assert not _works(revoked) and _works(kept)
    assert _with(revoked).delete(TOKEN_URL).status_code == 401


def test_delete_needs_the_token_not_a_session(client, staff_site_a):
    token = _token(staff_site_a)
    client.force_login(staff_site_a)
    assert client.delete(TOKEN_URL).status_code == 401
    assert _works(token)


def test_an_expired_token_answers_401(staff_site_a):
    token = _token(staff_site_a)
    AuthToken.objects.filter(user=staff_site_a).update(expiry=timezone.now() - timedelta(seconds=1))
    assert not _works(token)


@pytest.mark.parametrize("path", ["save", "update", "changepassword"])
def test_a_password_change_revokes_every_token_on_every_path(staff_site_a, monkeypatch, path):
    tokens = [_token(staff_site_a), _token(staff_site_a)]
    if path == "save":  # the password-change page, the set-password link, the admin, services
        staff_site_a.set_password(NEW_PASSWORD)
        staff_site_a.save()
    elif path == "update":  # no save(), no signal
        type(staff_site_a).objects.filter(pk=staff_site_a.pk).update(password=make_password(NEW_PASSWORD))
    else:
        monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
        call_command("changepassword", staff_site_a.get_username(), stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not any(_works(token) for token in tokens)
    revoked = _events(AccountEventKind.TOKEN_REVOKED, staff_site_a)
    assert revoked.count() == 2 and {e.detail["reason"] for e in revoked} == {"password changed"}
    assert _works(_token_with(staff_site_a, NEW_PASSWORD))


def _token_with(user, password):
    return _login(user, password).json()["token"]


def test_deactivation_revokes_every_token(staff_site_a):
    token = _token(staff_site_a)
    staff_site_a.is_active = False
    staff_site_a.save(update_fields=["is_active"])
    staff_site_a.is_active = True  # reactivated: the old token stays revoked
    staff_site_a.save(update_fields=["is_active"])
    assert not _works(token)
    assert _events(AccountEventKind.TOKEN_REVOKED, staff_site_a).get().detail["reason"] == "account deactivated"


@pytest.mark.parametrize("change", ["add", "remove", "group_clear", "group_delete"])
def test_a_role_change_revokes_every_token_on_every_path(staff_site_a, change):
    token = _token(staff_site_a)
    role = Group.objects.get(name="site_staff")
    if change == "add":
        staff_site_a.groups.add(Group.objects.get(name="monitor"))
    elif change == "remove":
        staff_site_a.groups.remove(role)
    elif change == "group_clear":  # from the group's side
        role.user_set.clear()
    else:  # a deleted role: a cascade, which sends no m2m_changed
        role.delete()
    assert not _works(token)
    assert _events(AccountEventKind.TOKEN_REVOKED, staff_site_a).get().detail["reason"] == "role changed"


def test_other_saves_of_the_account_keep_its_tokens(staff_site_a):
    token = _token(staff_site_a)
    staff_site_a.first_name = "Renamed"
    staff_site_a.save()
    assert _works(token)


def test_the_service_revokes_every_token_with_who_and_why(staff_site_a, admin_user):
    tokens = [_token(staff_site_a), _token(staff_site_a)]
    assert user_tokens_revoke(user=staff_site_a, by=admin_user, reason="Laptop stolen") == 2
    assert not any(_works(token) for token in tokens)
    events = _events(AccountEventKind.TOKEN_REVOKED, staff_site_a)
    assert {e.detail["reason"] for e in events} == {"Laptop stolen"}


# --- Hostile input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_huge_user_name_or_password_answers_400_with_a_message(staff_site_a, field):
    body = {"username": staff_site_a.get_username(), "password": PASSWORD, field: "x" * 100_000}
    response = APIClient().post(TOKEN_URL, body, format="json")
    assert response.status_code == 400
    assert "no more than" in response.json()[field][0]
    assert not AuthToken.objects.exists()


def test_a_token_that_is_not_utf8_answers_401():
    response = APIClient().get(PROBE, HTTP_AUTHORIZATION="Token caf\xe9")
    assert response.status_code == 401


def test_the_token_endpoint_answers_429_past_its_rate(db, settings):
    rate = int(settings.API_TOKEN_THROTTLE_RATE.split("/")[0])
    assert settings.API_TOKEN_THROTTLE_RATE.endswith(("minute", "min", "m"))
    answers = [
        # A different (unknown) account each time, so no lockout answers first; a forged address each time.
        APIClient()
        .post(
            TOKEN_URL, {"username": f"nobody{n}", "password": "x"}, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        )
        .status_code
        for n in range(rate + 1)
    ]
    assert answers == [400] * rate + [429]


def test_revoking_a_token_is_not_held_back_by_the_login_rate(db, settings, staff_site_a):
    """The rate guards password guessing; a client logging out past it must still end its token."""
    key = _token(staff_site_a)
    rate = int(settings.API_TOKEN_THROTTLE_RATE.split("/")[0])
    for n in range(rate):
        APIClient().post(TOKEN_URL, {"username": f"nobody{n}", "password": "x"}, format="json")
    assert APIClient().post(TOKEN_URL, {"username": "nobody", "password": "x"}, format="json").status_code == 429
    assert APIClient().delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {key}").status_code == 204


def test_the_schema_documents_the_token_contract(client, staff_site_a):
    client.force_login(staff_site_a)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    operations = schema["paths"]["/api/v1/auth/token/"]
    assert {"post", "delete"} <= set(operations)
    assert {"200", "400", "403", "429"} <= set(operations["post"]["responses"])
    assert "204" in operations["delete"]["responses"]
    token_schema = schema["components"]["schemas"]["Token"]
    assert set(token_schema["required"]) == {"token", "expires_at"}
    assert any("tokenAuth" in requirement for requirement in operations["delete"]["security"])


def test_expiry_is_reported_in_utc(staff_site_a):
    expires_at = _login(staff_site_a).json()["expires_at"]
    assert datetime.fromisoformat(expires_at.replace("Z", "+00:00")).tzinfo == UTC
