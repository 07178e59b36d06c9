"""Every list endpoint costs the same number of queries for 3 rows as for 30 (no query per row)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Site
from tests.factories import backdated_transfer, randomized_patient

pytestmark = pytest.mark.django_db

CLINICAL_LISTS = ["transfers", "lab-results", "outcomes", "adverse-events", "questionnaires", "patients"]


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _patient_with_records(n, site, staff, statistician):
    patient = randomized_patient(site, staff, statistician, medical_record_number=f"QC-{n}", full_name=f"Count {n}")
    transfer = backdated_transfer(patient, staff, days_ago=20)
    api, day = _api(staff), transfer.transfer_date
    drawn_at = timezone.now() - timedelta(days=6)
    posts = [
        ("lab-results", {"timepoint": "ET14", "analyte": "FSH", "value": "6", "unit": "IU/L", "drawn_at": drawn_at}),
        ("outcomes", {"beta_hcg_positive": False, "beta_hcg_date": (day + timedelta(days=14)).isoformat()}),
        (
            "adverse-events",
            {
                "term": "bleeding",
                "onset_date": (day + timedelta(days=2)).isoformat(),
                "grade": 1,
                "serious": False,
                "related_to_dalteparin": "not",
                "action_taken": "none",
                "outcome": "recovered",
                "resolution_date": (day + timedelta(days=4)).isoformat(),
            },
        ),
        ("questionnaires", {"instrument": "SSRS", "timepoint": "ET28", "answers": {"1": 2, "2": 3}}),
    ]
    for resource, body in posts:
        response = api.post(f"/api/v1/{resource}/", {"study_id": patient.study_id, **body}, format="json")
        assert response.status_code == 201, (resource, response.json())


def _queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])
    return len(captured), len(response.json()["results"] if "results" in response.json() else response.json())


def test_clinical_lists_cost_the_same_for_3_and_30_patients(site_a, staff_site_a, statistician, monitor):
    for n in range(3):
        _patient_with_records(n, site_a, staff_site_a, statistician)
    clients = {"staff": _api(staff_site_a), "monitor": _api(monitor)}
    for client in clients.values():
        client.get("/api/v1/sites/")  # the user's permissions and sites are cached after the first request
    small = {(who, r): _queries(c, f"/api/v1/{r}/?page_size=100") for who, c in clients.items() for r in CLINICAL_LISTS}
    assert all(rows == 3 for _, rows in small.values()), small
    for n in range(3, 30):
        _patient_with_records(n, site_a, staff_site_a, statistician)
    large = {(who, r): _queries(c, f"/api/v1/{r}/?page_size=100") for who, c in clients.items() for r in CLINICAL_LISTS}
    assert all(rows == 30 for _, rows in large.values()), large
    assert {k: q for k, (q, _) in large.items()} == {k: q for k, (q, _) in small.items()}


def test_configuration_lists_cost_the_same_for_3_and_30_rows(staff_site_a):
    client = _api(staff_site_a)
    client.get("/api/v1/arms/")  # the user's permissions and sites are cached after the first request
    Site.objects.bulk_create(Site(code=f"Q{chr(65 + i)}", name=f"Site {i}") for i in range(3 - Site.objects.count()))
    small = {
        path: _queries(client, path)
        for path in ("/api/v1/sites/", "/api/v1/arms/", "/api/v1/analytes/", "/api/v1/timepoints/")
    }
    Site.objects.bulk_create(Site(code=f"QQ{chr(65 + i)}", name=f"More {i}") for i in range(27))
    large = {path: _queries(client, path) for path in small}
    assert large["/api/v1/sites/"][1] == small["/api/v1/sites/"][1] + 27
    assert {p: q for p, (q, _) in large.items()} == {p: q for p, (q, _) in small.items()}
