"""My tokens: every signed-in user lists her own live API tokens and revokes one; another user's token
is not there for her (404)."""

import pytest
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from core.models import AccountEvent, AccountEventKind

pytestmark = pytest.mark.django_db


def _works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/sites/").status_code == 200


def test_my_tokens_lists_only_my_own_live_tokens(client, staff_site_a, monitor):
    mine, _ = AuthToken.objects.create(user=staff_site_a)
    theirs, _ = AuthToken.objects.create(user=monitor)
    expired, _ = AuthToken.objects.create(user=staff_site_a)
    AuthToken.objects.filter(digest=expired.digest).update(expiry=expired.created)
    client.force_login(staff_site_a)
    page = client.get(reverse("tokens:list")).content.decode()
    assert f'data-token="{mine.token_key}"' in page
    assert theirs.token_key not in page and expired.token_key not in page
    assert mine.digest not in page  # only the prefix is shown


def test_i_revoke_one_of_my_tokens(client, staff_site_a):
    (revoked, revoked_key), (_, kept_key) = (AuthToken.objects.create(user=staff_site_a) for _ in range(2))
    client.force_login(staff_site_a)
    response = client.post(reverse("tokens:revoke", args=[revoked.token_key]))
    assert response.status_code == 302
    assert not _works(revoked_key) and _works(kept_key)
    event = AccountEvent.objects.get(kind=AccountEventKind.TOKEN_REVOKED)
    assert event.user == staff_site_a and event.detail["token_key"] == revoked.token_key
    assert revoked.token_key not in client.get(reverse("tokens:list")).content.decode()


def test_another_users_token_answers_404_and_keeps_working(client, staff_site_a, monitor):
    theirs, key = AuthToken.objects.create(user=monitor)
    client.force_login(staff_site_a)
    assert client.post(reverse("tokens:revoke", args=[theirs.token_key])).status_code == 404
    assert _works(key)
    assert not AccountEvent.objects.filter(kind=AccountEventKind.TOKEN_REVOKED).exists()


def test_revoking_needs_a_post(client, staff_site_a):
    token, key = AuthToken.objects.create(user=staff_site_a)
    client.force_login(staff_site_a)
    assert client.get(reverse("tokens:revoke", args=[token.token_key])).status_code == 405
    assert _works(key)


def test_every_page_links_to_my_tokens(client, staff_site_a):
    client.force_login(staff_site_a)
    assert reverse("tokens:list") in client.get(reverse("patients:list")).content.decode()
