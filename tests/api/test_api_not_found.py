"""An API path no route matches answers JSON, like every other API error (SPEC §7)."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_unmatched_api_path_is_a_json_404_and_pages_keep_their_html_404(client, staff_site_a):
    api = APIClient()
    api.force_authenticate(staff_site_a)
    response = api.get("/api/v1/transfers/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json() == {"detail": "Not found."}
    client.force_login(staff_site_a)
    page = client.get("/patients/no/such/page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
