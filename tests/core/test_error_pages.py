"""404 and 403 pages in the app's layout (issue 20, item 11), with DEBUG on as under `make run` too: another
site's patient showed Django's yellow debug page. The API keeps answering JSON errors."""

import pytest
from django.test import Client, override_settings

from tests.factories import screen

DEBUG_PAGE = "DEBUG = True"  # Django's technical 404 page says why you see it


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _in_layout(html: str) -> bool:
    return all(mark in html for mark in ('id="user-menu"', 'id="home-link"', 'id="main"', 'id="error-page"'))


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_another_sites_patient_is_not_found_in_the_apps_layout(site_a, staff_site_a, staff_site_b, debug):
    patient = screen(site_a, staff_site_a)
    with override_settings(DEBUG=debug):
        response = _signed_in(staff_site_b).get(f"/patients/{patient.study_id}/")
    html = response.content.decode()
    assert response.status_code == 404
    assert _in_layout(html), html[:500]
    assert DEBUG_PAGE not in html and "Not found" in html
    assert 'href="/"' in html  # the way back


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_an_address_no_route_matches_is_not_found_in_the_apps_layout(staff_site_a, debug):
    with override_settings(DEBUG=debug):
        response = _signed_in(staff_site_a).get("/no-such-page/")
    assert response.status_code == 404
    assert _in_layout(response.content.decode())
    assert DEBUG_PAGE not in response.content.decode()


@pytest.mark.django_db
def test_not_found_in_chinese_keeps_the_layout(staff_site_a):
    client = _signed_in(staff_site_a)
    client.cookies["django_language"] = "zh-hans"
    with override_settings(DEBUG=True):
        html = client.get("/patients/XX-9999/").content.decode()
    assert '<html lang="zh-hans">' in html and _in_layout(html)


@pytest.mark.django_db
def test_not_found_without_a_login_offers_the_way_in(client):
    with override_settings(DEBUG=True):
        response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'id="home-link"' in html and 'id="language-switcher"' in html
    assert 'id="user-menu"' not in html and DEBUG_PAGE not in html


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/no-such-resource/", "/api/v1/patients/XX-9999/"])
def test_the_api_answers_json_not_found_with_debug_on(staff_site_a, path):
    with override_settings(DEBUG=True):
        response = _signed_in(staff_site_a).get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_refused_page_is_not_permitted_in_the_apps_layout(staff_site_a, debug):
    with override_settings(DEBUG=debug):
        response = _signed_in(staff_site_a).get("/dashboard/")  # dashboards: investigators and statisticians
    html = response.content.decode()
    assert response.status_code == 403
    assert _in_layout(html) and "Not permitted" in html
