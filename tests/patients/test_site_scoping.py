"""Site scoping and PHI: other sites' patients do not exist for staff; identity only for own-site staff."""

import pytest
from django.urls import reverse

from patients import services
from tests.factories import baseline_input, consented_patient, screen

pytestmark = pytest.mark.django_db

PATIENT_PAGES = [
    "casebook:patient",
    "casebook:history",
    "patients:consent",
    "patients:baseline",
    "patients:identity",
    "patients:withdraw",
    "patients:void",
    "casebook:randomize",
    "patients:randomization_error",
    "patients:transfer",
    "patients:luteal_support",
    "patients:dalteparin",
]


@pytest.fixture
def patient_a(site_a, staff_site_a):
    patient = consented_patient(
        site_a, staff_site_a, full_name="Li Mei Secretname", medical_record_number="MRN-SECRET-42"
    )
    services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    return patient


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_staff_of_another_site_get_404_on_every_patient_page(client, patient_a, staff_site_b, page):
    client.force_login(staff_site_b)
    assert client.get(reverse(page, args=[patient_a.study_id])).status_code == 404
    assert client.post(reverse(page, args=[patient_a.study_id]), {}).status_code == 404


def test_staff_list_shows_only_their_sites_patients(client, patient_a, site_b, staff_site_b):
    own = screen(site_b, staff_site_b)
    client.force_login(staff_site_b)
    body = client.get(reverse("patients:list")).content.decode()
    assert f'data-study-id="{own.study_id}"' in body
    assert patient_a.study_id not in body
    searched = client.get(reverse("patients:list"), {"q": patient_a.study_id}).content.decode()
    assert f'data-study-id="{patient_a.study_id}"' not in searched


def test_staff_of_the_site_see_identity(client, patient_a, staff_site_a):
    client.force_login(staff_site_a)
    assert "Li Mei Secretname" in client.get(reverse("casebook:patient", args=[patient_a.study_id])).content.decode()
    listed = client.get(reverse("patients:list"), {"q": "Secretname"}).content.decode()
    assert f'data-study-id="{patient_a.study_id}"' in listed


@pytest.mark.parametrize("persona", ["monitor", "statistician"])
def test_monitor_and_statistician_read_all_sites_but_never_identity(client, patient_a, persona, request):
    client.force_login(request.getfixturevalue(persona))
    pages = [
        client.get(reverse("patients:list")),
        client.get(reverse("patients:list"), {"q": "Secretname"}),
        client.get(reverse("patients:list"), {"q": "MRN-SECRET-42"}),
        client.get(reverse("casebook:patient", args=[patient_a.study_id])),
        client.get(reverse("casebook:history", args=[patient_a.study_id])),
    ]
    assert all(page.status_code == 200 for page in pages)
    assert patient_a.study_id in pages[0].content.decode()
    for page in pages[3:]:
        body = page.content.decode()
        for secret in ("Secretname", "MRN-SECRET-42", "1992-03-15", "+86 755"):
            assert secret not in body
    # Searching by a name or record number they cannot see must not reveal which patient carries it.
    assert f'data-study-id="{patient_a.study_id}"' not in pages[1].content.decode()
    assert f'data-study-id="{patient_a.study_id}"' not in pages[2].content.decode()
    assert "Name</th>" not in pages[0].content.decode()


@pytest.mark.parametrize("persona", ["monitor", "statistician", "admin_user"])
def test_roles_without_data_entry_cannot_change_clinical_data(client, patient_a, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("patients:screen")).status_code == 403
    response = client.post(
        reverse("patients:withdraw", args=[patient_a.study_id]), {"withdrawn_on": "2025-03-05", "reason": "x"}
    )
    assert response.status_code in {403, 404}
    patient_a.refresh_from_db()
    assert patient_a.status == "consented"


def test_admin_without_site_membership_sees_no_patients(client, patient_a, admin_user):
    client.force_login(admin_user)
    assert patient_a.study_id not in client.get(reverse("patients:list")).content.decode()
    assert client.get(reverse("casebook:patient", args=[patient_a.study_id])).status_code == 404


def test_admin_site_does_not_expose_identity_or_clinical_tables(client, admin_user):
    client.force_login(admin_user)
    index = client.get(reverse("admin:index")).content.decode()
    assert "Sites" in index
    assert "identit" not in index.lower()
    assert client.get("/admin/patients/patientidentity/").status_code == 404
