"""What the hostile-input modules (tests/core/test_hostile_*.py) share: their data and how they look for harm.

SPEC §8: bad input anywhere gets a clear error and saves nothing; a 500 is a bug. `row_counts` counts the
rows of every clinical table and its audit events (the fuzzers of tests/api use it too), `in_savepoint`
runs a request or a service call and rolls back what it wrote, `HOSTILE_TEXT` is what a field may be sent
instead of its value. Each module builds `build_subjects()` once for itself: `subjects =
module_data(build_subjects)` (tests/module_data.py); its `staff_client` is in tests/core/conftest.py.
"""

import json
from datetime import date, timedelta

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from labs.import_csv import HEADER

needs_db = pytest.mark.django_db  # the pure properties (parser, scoring) run without database access
HEADER_LINE = ",".join(HEADER)


def bounded(examples: int):
    """Deterministic (derandomize) and bounded; no example database, no deadline on a shared machine."""
    return hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- Rows of the clinical tables, and a savepoint to roll back in -------------------------------------------


COUNTED_MODELS = [
    "patients.Patient",
    "patients.PatientIdentity",
    "patients.Screening",
    "patients.Baseline",
    "labs.LabDraw",
    "labs.LabResult",
    "outcomes.PregnancyOutcome",
    "outcomes.AdverseEvent",
    "outcomes.QuestionnaireResponse",
    "quality.DataQuery",
]


def _counted_tables() -> list[str]:
    tables = []
    for label in COUNTED_MODELS:
        model = django_apps.get_model(label)
        tables.append(model._meta.db_table)
        event = django_apps.all_models[model._meta.app_label].get(f"{model._meta.model_name}event")
        if event is not None:  # the model's audit events
            tables.append(event._meta.db_table)
    return tables


def row_counts() -> tuple[int, ...]:
    """Rows of every clinical table and its audit events, in one query."""
    tables = _counted_tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables))
        return tuple(cursor.fetchone())


def build_subjects() -> dict:
    """Site A's staff and patients at each step a form needs."""
    from tests import factories as f

    site = f.site("SZ")
    staff = f.make_user("staff_a", "site_staff", site)
    statistician = f.make_user("statistician", "statistician")
    treated = f.randomized_patient(site, staff, statistician)
    f.backdated_transfer(treated, staff)
    return {"site": site, "staff": staff, "consented": f.consented_patient(site, staff), "treated": treated}


def in_savepoint(action):
    """Run `action()` and roll back whatever it wrote; returns its result, or the exception it raised."""
    with transaction.atomic():
        try:
            return action()
        except Exception as error:
            return error
        finally:
            transaction.set_rollback(True)


# --- Values sent instead of a field's own -------------------------------------------------------------------


HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "-1e-400",
            "NaN",
            "Infinity",
            "99999999999999999999",
            "2025-13-01",
            "2025-02-30",
            "0000-00-00",
            "9999-12-31",
            "0001-01-01",
            "<0.5",
            ">1e400",
            "1,5",
            "١٢",  # Arabic-Indic digits
            "０１",  # full-width digits
            "true",
            "null",
            "'; DROP TABLE patients_patient; --",
            "\x00",
            "A" * 300,
            "0." + "0" * 45 + "1",
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(str),
)


def _days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


def _api_post(client, url: str, body, content_type: str = "application/json"):
    """POST in a savepoint (rolled back): (response, whether any clinical row or audit event changed)."""
    before = row_counts()
    if not isinstance(body, str | bytes):
        body = json.dumps(body)
    response = in_savepoint(lambda: (client.post(url, body, content_type=content_type), row_counts()))
    if isinstance(response, Exception):
        raise response
    return response[0], response[1] != before
