"""Log in, lock out after repeated failures, time out when idle, log out."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.middleware import SessionIdleTimeoutMiddleware
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_staff_logs_in_and_lands_on_the_worklist(client, staff_site_a):
    response = _login(client, staff_site_a.username, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_wrong_password_is_refused_with_a_message(client, staff_site_a):
    response = _login(client, staff_site_a.username, "wrong-password")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_account_locks_after_repeated_failures_even_with_the_right_password(client, staff_site_a):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff_site_a.username, "wrong-password")
    locked = _login(client, staff_site_a.username, PASSWORD)
    assert locked.status_code == 429
    assert "Account locked" in locked.content.decode()
    assert client.get(reverse("patients:list")).status_code == 302


def test_a_few_failures_then_success_do_not_lock(client, staff_site_a):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, staff_site_a.username, "wrong-password")
    assert _login(client, staff_site_a.username, PASSWORD).status_code == 302


def test_session_expires_after_the_idle_timeout(client, staff_site_a):
    _login(client, staff_site_a.username, PASSWORD)
    assert client.get(reverse("patients:list")).status_code == 200
    # Every request pushes expiry forward by the idle time; a session left alone past it is gone.
    session = Session.objects.get()
    assert session.expire_date > timezone.now() + timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def _session_writes(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("patients:list")).status_code == 200
    return [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT")) and "django_session" in q["sql"]]


def test_page_views_within_a_minute_write_no_session(client, staff_site_a):
    _login(client, staff_site_a.username, PASSWORD)
    assert len(_session_writes(client)) == 1  # the first view after login starts the refresh clock
    assert _session_writes(client) == []
    assert _session_writes(client) == []


def test_a_request_a_minute_after_the_last_refresh_pushes_the_expiry_forward(client, staff_site_a):
    _login(client, staff_site_a.username, PASSWORD)
    client.get(reverse("patients:list"))
    key = Session.objects.get().session_key
    stored = SessionStore(session_key=key)
    stored[SessionIdleTimeoutMiddleware.KEY] = int(time.time()) - SessionIdleTimeoutMiddleware.REFRESH_SECONDS - 1
    stored.save()
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=5))
    assert len(_session_writes(client)) == 1
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1)


def test_a_session_cookie_without_a_login_starts_no_session(client):
    # Only a logged-in session is refreshed: refreshing any session named by a cookie would store one for
    # every anonymous visitor (e.g. a stale cookie after logout).
    client.cookies[settings.SESSION_COOKIE_NAME] = "no-such-session-key-0123456789"
    assert client.get(reverse("login")).status_code == 200
    assert not Session.objects.exists()


def test_logout_ends_the_session(client, staff_site_a):
    _login(client, staff_site_a.username, PASSWORD)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("patients:list")).status_code == 302


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz/", HTTP_X_REQUEST_ID="upstream-proxy-id-123")
    assert response["X-Request-ID"] == "upstream-proxy-id-123"
    generated = client.get("/healthz/", HTTP_X_REQUEST_ID="bad id; drop table")["X-Request-ID"]
    assert len(generated) == 32 and " " not in generated


def test_request_id_reaches_the_audit_trail(client, site_a, staff_site_a):
    from patients.models import Patient
    from tests.factories import all_met_answers

    client.force_login(staff_site_a)
    data = {
        "site": site_a.pk,
        "screening_date": "2025-03-01",
        "full_name": "Zhao Li",
        "medical_record_number": "MRN-REQ",
        "date_of_birth": "1990-01-01",
    }
    data |= {f"criterion_{c}": "yes" if met else "no" for c, met in all_met_answers().items()}
    client.post(reverse("patients:screen"), data, HTTP_X_REQUEST_ID="req-0000-audit-check")
    event = Patient.pgh_event_model.objects.select_related("pgh_context").get()
    assert event.pgh_context.metadata["request_id"] == "req-0000-audit-check"
    assert event.pgh_context.metadata["username"] == staff_site_a.username
