"""List endpoints read as values (core.api_lists) answer exactly what their serializers would.

Every list route of API v1 whose view uses `ValuesListMixin` is called twice on the same data: as it runs,
and with the mixin switched back to DRF's ordinary `list` (model instances through the serializer). The
two bodies must be equal byte for byte, for a site's staff and for a statistician (all sites), on the
first page and the next.
"""

import pytest
from django.urls import URLPattern, reverse
from rest_framework.generics import ListAPIView
from rest_framework.test import APIClient

from core.api_lists import ValuesListMixin, column_lookups
from ivf_trial import api_urls
from tests.factories import backdated_transfer, clinical_records, randomized_patient, screen

pytestmark = pytest.mark.django_db


def _values_list_routes() -> list[str]:
    names = []
    for pattern in api_urls.urlpatterns:
        view = getattr(pattern.callback, "view_class", None) if isinstance(pattern, URLPattern) else None
        if view is not None and issubclass(view, ValuesListMixin):
            names.append(pattern.name)
    return names


ROUTES = _values_list_routes()


def test_the_large_lists_read_values():
    assert {"api-patients", "api-lab-results", "api-transfers", "api-outcomes"} <= set(ROUTES)
    assert {"api-adverse-events", "api-questionnaires"} <= set(ROUTES)


@pytest.fixture
def records(site_a, site_b, staff_site_a, staff_site_b, statistician):
    for site, staff in ((site_a, staff_site_a), (site_a, staff_site_a), (site_b, staff_site_b)):
        patient = randomized_patient(site, staff, statistician)
        backdated_transfer(patient, staff)
        clinical_records(patient, staff)
    randomized_patient(site_a, staff_site_a, statistician)  # randomized, nothing else yet
    screen(site_a, staff_site_a)  # screened only: no arm, no randomization time
    screen(site_a, staff_site_a, eligible=False)


def _pages(client, name: str) -> list[bytes]:
    response = client.get(reverse(name), {"page_size": 2})
    assert response.status_code == 200, response.content
    bodies = [response.content]
    following = response.json()["next"]
    if following:
        bodies.append(client.get(following).content)
    return bodies


@pytest.mark.parametrize("name", ROUTES)
def test_values_and_serializer_give_the_same_pages(name, records, staff_site_a, statistician, monkeypatch):
    view = next(p.callback.view_class for p in api_urls.urlpatterns if getattr(p, "name", None) == name)
    assert column_lookups(view.serializer_class()) is not None, "every field should be a column path"
    for user in (staff_site_a, statistician):
        client = APIClient()
        client.force_authenticate(user)
        fast = _pages(client, name)
        with monkeypatch.context() as patched:
            patched.setattr(ValuesListMixin, "list", ListAPIView.list)
            ordinary = _pages(client, name)
        assert fast == ordinary
        assert fast[0].count(b'"study_id"') >= 2  # the page holds records, not an empty list
