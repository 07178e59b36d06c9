"""Allocation concealment: no one but the statistician can see a list, an unused slot or its arm."""

import re

import pytest
from django.urls import reverse

from tests.core.test_anonymous_access import ROUTES, _example_path
from tests.factories import live_list, randomizable_patient

pytestmark = pytest.mark.django_db

NON_STATISTICIANS = ["staff_site_a", "investigator_site_a", "staff_site_b", "monitor", "admin_user"]
ARM_CODE = re.compile(r"\b(CTRL|EXP)\b")


@pytest.fixture
def concealed(site_a, staff_site_a, statistician):
    """A live list with nothing used yet, and a patient ready to be randomized from it."""
    allocation_list = live_list(site_a, statistician, seed=424242, length=20)
    patient = randomizable_patient(site_a, staff_site_a)
    return allocation_list, patient


def _allocation_urls(allocation_list):
    return [
        reverse("allocation:overview"),
        reverse("allocation:detail", args=[allocation_list.pk]),
        reverse("allocation:go_live", args=[allocation_list.pk]),
        reverse("allocation:extend", args=[allocation_list.pk]),
        "/admin/patients/allocationlist/",
        "/admin/patients/allocationslot/",
    ]


@pytest.mark.parametrize("persona", NON_STATISTICIANS)
def test_allocation_pages_do_not_exist_for_anyone_but_the_statistician(client, concealed, persona, request):
    allocation_list, _ = concealed
    client.force_login(request.getfixturevalue(persona))
    for url in _allocation_urls(allocation_list):
        assert client.get(url).status_code in (302, 403, 404), url
        assert client.post(url, {"length": 100}).status_code in (302, 403, 404), url
    allocation_list.refresh_from_db()
    assert allocation_list.slots.count() == 20


def test_the_statistician_sees_lists_slots_hashes_and_parameters(client, concealed, statistician):
    allocation_list, _ = concealed
    client.force_login(statistician)
    overview = client.get(reverse("allocation:overview")).content.decode()
    assert allocation_list.sha256 in overview and allocation_list.seed_hex[:10] in overview
    detail = client.get(reverse("allocation:detail", args=[allocation_list.pk])).content.decode()
    assert allocation_list.seed_hex in detail and "hmac-sha256-v2" in detail
    first = allocation_list.slots.get(sequence=1)
    assert re.search(rf'data-sequence="1">\s*<td>1</td><td>{first.arm.code}</td>', detail)


@pytest.mark.parametrize("persona", NON_STATISTICIANS)
def test_no_page_of_other_roles_reveals_an_unused_slot(client, concealed, persona, request):
    """Crawl every GET route (pages and API) with real ids: nothing shows the list, its hash, its seed or any arm."""
    allocation_list, patient = concealed
    client.force_login(request.getfixturevalue(persona))
    for pattern, _ in ROUTES:
        path = _example_path(pattern).replace("SZ-0001", patient.study_id)
        path = path.replace("/allocation/1/", f"/allocation/{allocation_list.pk}/")
        if path.startswith(("/admin/core/arm", "/api/v1/arms/", "/api/v1/schema/", "/api/v1/data-dictionary/")):
            continue  # the arms themselves are configuration (and API vocabulary), not allocation
        body = client.get(path).content.decode(errors="replace")
        assert allocation_list.sha256 not in body, path
        assert allocation_list.seed_hex[:10] not in body and "data-sequence" not in body, path
        assert not ARM_CODE.search(body), f"{path} shows an arm before randomization"


def test_after_randomization_staff_see_only_the_allocated_arm(client, concealed, staff_site_a):
    allocation_list, patient = concealed
    client.force_login(staff_site_a)
    response = client.post(reverse("casebook:randomize", args=[patient.study_id]), {"confirm": "on"})
    assert response.status_code == 302
    page = client.get(reverse("casebook:patient", args=[patient.study_id])).content.decode()
    allocated = allocation_list.slots.get(sequence=1).arm.code
    assert f'data-arm="{allocated}"' in page
    assert set(ARM_CODE.findall(page)) == {allocated}
