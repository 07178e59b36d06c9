"""API v1 statistics (SPEC §5 contract): snapshot JSON, recompute → 202 + job, job progress, blinding."""

import json
from collections import Counter

import jsonschema
import pytest
from rest_framework.test import APIClient

from core.models import Trial
from patients.models import Randomization
from tests.analysis.test_snapshots import SCHEMA
from tests.factories import randomized_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(site_a, staff_site_a, statistician):
    for _ in range(4):
        randomized_patient(site_a, staff_site_a, statistician)
    return APIClient()


def _recompute(api, capture):
    # The job is sent on commit: run the callbacks as a real commit would (eager Celery in tests).
    with capture(execute=True):
        return api.post("/api/v1/statistics/recompute/")


def test_recompute_then_read_the_statistics(api, statistician, django_capture_on_commit_callbacks):
    api.force_authenticate(statistician)
    assert api.get("/api/v1/statistics/").status_code == 404
    accepted = _recompute(api, django_capture_on_commit_callbacks)
    assert accepted.status_code == 202
    job = api.get(f"/api/v1/statistics/jobs/{accepted.json()['id']}/").json()
    assert job["status"] == "done" and job["progress"] == 100  # eager Celery in tests
    for population in ("itt", "per_protocol"):
        document = api.get("/api/v1/statistics/", {"population": population}).json()
        jsonschema.validate(document, SCHEMA)
        assert document["population"] == population
    allocated = Counter(Randomization.objects.values_list("arm__code", flat=True))
    arms = api.get("/api/v1/statistics/").json()["arms"]
    assert {arm["code"]: arm["n"] for arm in arms} == {"CTRL": allocated["CTRL"], "EXP": allocated["EXP"]}
    assert sum(allocated.values()) == 4


def test_bad_population_and_unknown_job(api, statistician, django_capture_on_commit_callbacks):
    api.force_authenticate(statistician)
    _recompute(api, django_capture_on_commit_callbacks)
    assert api.get("/api/v1/statistics/", {"population": "everyone"}).status_code == 400
    assert api.get("/api/v1/statistics/jobs/999999/").status_code == 404


def test_blinded_users_get_pooled_figures(api, statistician, investigator_site_a, django_capture_on_commit_callbacks):
    api.force_authenticate(statistician)
    _recompute(api, django_capture_on_commit_callbacks)
    Trial.objects.update(results_blinded=True)
    api.force_authenticate(investigator_site_a)
    document = api.get("/api/v1/statistics/").json()
    assert all("by_arm" not in e and "pooled" in e and "risk_ratio" not in e for e in document["binary"])
    api.force_authenticate(statistician)
    assert "by_arm" in api.get("/api/v1/statistics/").json()["binary"][0]


def test_statistics_are_not_for_site_staff_or_monitors(api, staff_site_a, monitor):
    for user in (staff_site_a, monitor):
        api.force_authenticate(user)
        assert api.get("/api/v1/statistics/").status_code == 403
        assert api.post("/api/v1/statistics/recompute/").status_code == 403


def test_schema_and_docs_work_offline(api, staff_site_a):
    api.force_authenticate(staff_site_a)
    schema = api.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/v1/patients/", "/api/v1/statistics/", "/api/v1/patients/{study_id}/randomize/"} <= set(paths)
    docs = api.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"/static/drf_spectacular_sidecar/" in docs.content


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/statistics/recompute/" in (tmp_path / "schema.yml").read_text()


def test_exports_and_dictionary_are_wired_under_api_v1(api, statistician, staff_site_a):
    from analysis.exports import DATASETS
    from patients.models import Randomization

    api.force_authenticate(statistician)
    dictionary = api.get("/api/v1/data-dictionary/").json()["datasets"]
    assert set(dictionary) == set(DATASETS)
    response = api.get("/api/v1/export/patients.csv")
    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].split(",") == [column["name"] for column in dictionary["patients"]]
    assert len(lines) - 1 == Randomization.objects.count()
    api.force_authenticate(staff_site_a)
    assert api.get("/api/v1/export/patients.json").status_code == 403
