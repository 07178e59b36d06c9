"""E-signature re-authentication goes through the login's lockout (issue 18, finding 6): wrong signing
passwords count with failed logins, a locked account cannot sign even with the right password, and every
failed attempt is in the account trail, committed although the signature was refused."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from core.models import AccountEvent, AccountEventKind
from quality.models import CasebookSignature
from tests.factories import PASSWORD, screen

LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def casebook_url(site_a, staff_site_a):
    # A screen failure's casebook is complete with its screening form alone: ready to sign.
    return reverse("casebook:review", args=[screen(site_a, staff_site_a, eligible=False).study_id])


def _sign(client, url, password, username="investigator_a"):
    body = {"action": "sign", "username": username, "password": password, "meaning": "approval"}
    return client.post(url, body, REMOTE_ADDR="10.20.0.1")


def _signing_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)  # real commits: what a refusal rolls back is really gone
def test_after_five_wrong_signing_passwords_the_right_one_is_refused_and_every_attempt_is_in_the_trail(
    casebook_url, investigator_site_a
):
    signer = _signing_client(investigator_site_a)
    for _ in range(LIMIT):
        wrong = _sign(signer, casebook_url, "not-my-password")
        assert wrong.status_code == 400 and "not correct" in wrong.content.decode()
    refused = _sign(signer, casebook_url, PASSWORD)
    assert refused.status_code == 400 and "30 minutes" in refused.content.decode()
    assert not CasebookSignature.objects.exists()
    attempts = AccountEvent.objects.filter(user=investigator_site_a, kind=AccountEventKind.SIGNATURE_FAILED)
    assert attempts.count() == LIMIT + 1
    assert attempts.filter(detail__refused="address").count() == 1
    assert all(a.ip_address == "10.20.0.1" for a in attempts)


@pytest.mark.django_db
def test_wrong_signing_passwords_and_failed_logins_count_together(client, casebook_url, investigator_site_a):
    for _ in range(LIMIT - 2):
        client.post(reverse("login"), {"username": "investigator_a", "password": "x"}, REMOTE_ADDR="10.20.0.1")
    signer = _signing_client(investigator_site_a)
    _sign(signer, casebook_url, "not-my-password")
    _sign(signer, casebook_url, "not-my-password")
    assert "30 minutes" in _sign(signer, casebook_url, PASSWORD).content.decode()
    locked = client.post(
        reverse("login"), {"username": "investigator_a", "password": PASSWORD}, REMOTE_ADDR="10.20.0.1"
    )
    assert locked.status_code == 429
    assert not CasebookSignature.objects.exists()


@pytest.mark.django_db
def test_a_locked_account_cannot_sign_even_with_the_right_password(casebook_url, investigator_site_a):
    from rest_framework.test import APIClient

    for n in range(settings.ACCOUNT_LOCK_FAILURES):  # guessed from many addresses: the account locks
        APIClient().post(
            "/api/v1/auth/token/",
            {"username": "investigator_a", "password": f"guess-{n}"},
            format="json",
            REMOTE_ADDR=f"198.51.100.{n}",
        )
    refused = _sign(_signing_client(investigator_site_a), casebook_url, PASSWORD)
    assert refused.status_code == 400 and "Ask an administrator" in refused.content.decode()
    assert not CasebookSignature.objects.exists()


@pytest.mark.django_db
def test_the_right_password_under_another_name_is_a_failed_attempt(casebook_url, investigator_site_a, staff_site_a):
    refused = _sign(_signing_client(investigator_site_a), casebook_url, PASSWORD, username="staff_a")
    assert refused.status_code == 400 and "not correct" in refused.content.decode()
    failed = AccountEvent.objects.get(kind=AccountEventKind.SIGNATURE_FAILED)
    assert failed.user == investigator_site_a
    assert _sign(_signing_client(investigator_site_a), casebook_url, PASSWORD).status_code == 302
    assert CasebookSignature.objects.count() == 1
