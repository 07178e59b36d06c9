"""Property-based API tests (schemathesis): every operation of /api/v1/schema/, fed generated requests
(valid and invalid), must answer within its own schema: no 5xx, a documented status code, and the
documented content type, headers and body.

The schema is the one the app serves (checked below), generated in-process at collection. Requests go
through Django's WSGI application in-process, inside the module's transaction, as an own-site staff
user, with real patients and records present (path parameters are drawn from them as well as
generated). Generation is bounded and deterministic (derandomized), so the module is quick and fails
the same way every time.

Every generated request is sent and checked; failures are collected, not stopped at, and a test fails
naming each distinct one (the schema documents every error answer: core/api_schema.py).
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.module_data import module_data

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 10  # per operation


def _generated_schema() -> dict:
    """The OpenAPI document /api/v1/schema/ serves, produced in-process (collection has no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


RAW_SCHEMA = _generated_schema()
schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
schema.app = WSGIHandler()
OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}


# --- The module's data: built once, rolled back when the module ends ----------------------------------


def build_world() -> dict:
    """Site-A patients at every stage and one with every record; staff and statistician auth headers."""
    from patients.models import Patient
    from quality.services import query_raise
    from tests import factories as f

    site_a = f.site("SZ")
    staff = f.make_user("staff_a", "site_staff", site_a)
    statistician = f.make_user("statistician", "statistician")
    monitor = f.make_user("monitor", "monitor")
    main, treated = (f.randomized_patient(site_a, staff, statistician) for _ in range(2))
    transfer = f.backdated_transfer(main, staff, embryos=1)
    f.backdated_transfer(treated, staff)
    today, clinical = timezone.localdate(), f.clinical_records(main, staff)
    records = {
        "transfers": transfer,
        "lab-results": clinical["lab_result"],
        "outcomes": clinical["outcome"],
        "adverse-events": clinical["adverse_event"],
        "questionnaires": clinical["questionnaire"],
        "queries": query_raise(patient=main, form="baseline", field="weight_kg", message="Source?", by=monitor),
    }
    return {
        "headers": {"Authorization": f"Token {AuthToken.objects.create(user=staff)[1]}"},
        "statistician": {"Authorization": f"Token {AuthToken.objects.create(user=statistician)[1]}"},
        "ids": {prefix: record.pk for prefix, record in records.items()},
        "main": main.study_id,
        "main_version": Patient.objects.get(pk=main.pk).version,
        "screened": f.screen(site_a, staff).study_id,
        "consented": f.consented_patient(site_a, staff).study_id,
        "randomizable": f.randomizable_patient(site_a, staff).study_id,
        "fresh": f.randomized_patient(site_a, staff, statistician).study_id,
        "treated": treated.study_id,
        "today": today.isoformat(),
        "an_hour_ago": (timezone.now() - timedelta(minutes=30)).replace(microsecond=0).isoformat(),
    }


world = module_data(build_world)


# --- Checking answers ----------------------------------------------------------------------------------


@dataclass
class Findings:
    failures: dict[tuple[str, int], str] = field(default_factory=dict)

    def check(self, case, response, headers) -> None:
        """Run the checks on one answer; remember the first example of each kind of failure."""
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as error:
            for failure in error.exceptions if isinstance(error, FailureGroup) else [error]:
                where = f"{response.status_code} {response.text[:200]!r} for {case.as_curl_command()}"
                self.failures.setdefault((type(failure).__name__, response.status_code), f"{failure.title}: {where}")

    def report(self) -> None:
        assert not self.failures, "\n".join(self.failures.values())


def _real_parameters(world, operation) -> dict:
    """Path (or query) parameters naming a real record, so generated input reaches the records' code."""
    if "{study_id}" in operation.path:
        stage = {"consent": "screened", "baseline": "consented", "randomize": "randomizable"}
        return {
            "path_parameters": {"study_id": world[next((v for k, v in stage.items() if k in operation.path), "main")]}
        }
    prefix = operation.path.removeprefix("/api/v1/").split("/")[0]
    if "{id}" in operation.path and prefix in world["ids"]:
        return {"path_parameters": {"id": world["ids"][prefix]}}
    if prefix == "audit":
        return {"query": {"patient": world["main"]}}
    return {}


def _strategy(world, operation):
    """Valid and invalid requests, to generated and to real records."""
    strategies = []
    real = _real_parameters(world, operation)
    for kwargs in [{}, *([real] if real else [])]:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(mode, **kwargs))
    return st.one_of(strategies)


# --- Tests ---------------------------------------------------------------------------------------------


def test_the_fuzzed_schema_is_the_one_the_app_serves(world, client):
    served = client.get("/api/v1/schema/", {"format": "json"}, HTTP_AUTHORIZATION=world["headers"]["Authorization"])
    assert served.status_code == 200
    assert json.loads(served.content) == RAW_SCHEMA


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_answers_within_its_schema(world, in_transaction, label):
    findings = Findings()

    @given(case=_strategy(world, OPERATIONS[label]))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def send(case):
        findings.check(case, case.call(headers=world["headers"]), world["headers"])

    send()
    findings.report()


# Generated input rarely passes the domain rules, so each write is also sent once with a valid body
# (placeholders name world entries): its success answer must be documented and match its schema too.
VALID_WRITES = {
    "POST /api/v1/patients/{study_id}/consent/": {"form_version": "v2.1", "signed_on": "2025-03-02"},
    "POST /api/v1/patients/{study_id}/baseline/": {
        "height_cm": "160.0",
        "weight_kg": "56.0",
        "previous_failed_transfers": 2,
        "prior_miscarriages": 1,
        "infertility_type": "primary",
        "infertility_years": "3.5",
        "education": "college_or_higher",
    },
    "POST /api/v1/patients/{study_id}/randomize/": None,
    "POST /api/v1/transfers/": {
        "study_id": "{fresh}",
        "transfer_date": "{today}",
        "cycle_type": "fresh",
        "embryo_stage": "blastocyst",
        "embryos_transferred": 2,
    },
    "POST /api/v1/outcomes/": {"study_id": "{treated}", "beta_hcg_positive": False},
    "POST /api/v1/lab-results/": {
        "study_id": "{treated}",
        "timepoint": "BASELINE",
        "analyte": "E2",
        "value": 50,
        "unit": "pg/mL",
        "drawn_at": "{an_hour_ago}",
    },
    "PATCH /api/v1/transfers/{id}/": {"embryos_transferred": 2, "reason": "Chart says 2", "version": 1},
    "PATCH /api/v1/lab-results/{id}/": {"value": "55", "reason": "Transcription error", "version": 1},
    "PATCH /api/v1/outcomes/{id}/": {"beta_hcg_value": "3.5", "reason": "Value added", "version": 1},
    "PATCH /api/v1/adverse-events/{id}/": {
        "outcome": "recovered",
        "resolution_date": "{today}",
        "reason": "Resolved",
        "version": 1,
    },
    "PATCH /api/v1/questionnaires/{id}/": {"answers": {"3": 2}, "reason": "Item 3 misread", "version": 1},
    "PATCH /api/v1/patients/{study_id}/": {
        "phone": "+86 755 1111 2222",
        "reason": "New number",
        "version": "{main_version}",
    },
    "PATCH /api/v1/queries/{id}/": {"status": "answered", "message": "Checked against the chart."},
}


def _fill(world, body):
    if body is None:
        return {}
    values = {k: world[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v for k, v in body.items()}
    return {"body": values, "media_type": "application/json"}


@pytest.mark.parametrize("label", sorted(VALID_WRITES))
def test_a_valid_write_answers_as_documented(world, in_transaction, label):
    operation = OPERATIONS[label]
    case = operation.Case(**_real_parameters(world, operation), **_fill(world, VALID_WRITES[label]))
    response = case.call(headers=world["headers"])
    assert 200 <= response.status_code < 300, response.text
    findings = Findings()
    findings.check(case, response, world["headers"])
    findings.report()


@pytest.mark.parametrize("media_type", ["multipart/form-data", "text/csv"])
def test_a_lab_import_dry_run_answers_as_documented(world, in_transaction, media_type):
    row = f"{world['treated']},BASELINE,{world['an_hour_ago']},FSH,6.1,IU/L"
    csv = f"study_id,timepoint,drawn_at,analyte,value,unit\n{row}\n".encode()
    body = {"file": csv} if media_type == "multipart/form-data" else csv
    case = OPERATIONS["POST /api/v1/lab-imports/"].Case(query={"dry_run": "1"}, body=body, media_type=media_type)
    response = case.call(headers=world["headers"])
    assert response.status_code == 200, response.text
    findings = Findings()
    findings.check(case, response, world["headers"])
    findings.report()


def test_an_audit_trail_answers_as_documented(world, in_transaction):
    case = OPERATIONS["GET /api/v1/audit/"].Case(**_real_parameters(world, OPERATIONS["GET /api/v1/audit/"]))
    response = case.call(headers=world["headers"])
    assert response.status_code == 200 and response.json()["results"], response.text
    findings = Findings()
    findings.check(case, response, world["headers"])
    findings.report()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_streamed_export_answers_as_documented(world, in_transaction, fmt):
    """Exports are the statistician's; staff only ever get the 403 the fuzzing above sees."""
    case = OPERATIONS["GET /api/v1/export/{dataset}.{fmt}"].Case(path_parameters={"dataset": "patients", "fmt": fmt})
    response = case.call(headers=world["statistician"])
    assert response.status_code == 200, response.text
    findings = Findings()
    findings.check(case, response, world["statistician"])
    findings.report()


def test_the_odm_export_answers_as_documented(world, in_transaction):
    case = OPERATIONS["GET /api/v1/export/odm.xml"].Case(query={"audit": "1"})
    response = case.call(headers=world["statistician"])
    assert response.status_code == 200, response.text
    findings = Findings()
    findings.check(case, response, world["statistician"])
    findings.report()
