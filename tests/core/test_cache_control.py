"""No answer with clinical data is kept in a cache: `Cache-Control: no-store` on every page and API answer.

Static files (served by whitenoise before any view) keep their own, cacheable headers.
"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import randomized_patient

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_a_patient_page_is_not_stored(client, site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    client.force_login(staff_site_a)
    response = client.get(reverse("casebook:patient", args=[patient.study_id]))
    assert response.status_code == 200 and patient.study_id in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_an_api_answer_is_not_stored(client, site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    client.force_login(staff_site_a)
    response = client.get(f"/api/v1/patients/{patient.study_id}/")
    assert response.status_code == 200 and response.json()["study_id"] == patient.study_id
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("staff_site_a", "/patients/"),
        ("staff_site_a", "/api/v1/patients/"),
        ("statistician", "/api/v1/export/adverse-events.csv"),
        ("statistician", "/api/v1/statistics/"),
        ("statistician", "/dashboard/"),
        ("admin_user", "/admin/"),
    ],
)
def test_every_kind_of_authenticated_answer_is_not_stored(request, client, persona, path):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(path)
    assert response.status_code < 500
    assert _no_store(response), (path, response.status_code, response.get("Cache-Control"))


def test_refusals_and_redirects_are_not_stored_either(client, staff_site_a):
    assert _no_store(client.get("/patients/"))  # anonymous: redirected to the login page
    client.force_login(staff_site_a)
    assert _no_store(client.get("/api/v1/export/patients.csv"))  # 403: not a statistician


def test_a_static_file_keeps_its_cacheable_headers(settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve from static/ as in development, without collectstatic
    response = Client().get("/static/vendor/bootstrap/bootstrap.min.css")
    assert response.status_code == 200
    assert not _no_store(response)
    assert "max-age" in response["Cache-Control"]
