"""Issue 20's acceptance: "The audit page of SZ-0001 shows no column name ending in `_id` and no Python
literal", on the demo trial's SZ-0001, in English and in Chinese.

The whole demo takes minutes to seed, so only its first woman is entered: the real seed_demo path
(accounts, allocation lists, enrolment, randomization, its audited back-dating, treatment, labs, outcome
and questionnaires), with the enrolment schedule cut to her and her clinical plan taken from the full
trial's plan, so SZ-0001 holds the records and the trail she has in the demo.
"""

import csv
import io

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from core.audit_trail import patient_trail_sources
from patients.models import Patient
from sampledata import demo, demo_clinical
from sampledata.demo_profiles import demo_profiles
from tests.core.readable_audit_records import dump_traces, history_table
from tests.factories import ensure_trial_configuration

pytestmark = pytest.mark.django_db
PASSWORD = "demo-pass-for-tests"


def _first_woman_only(monkeypatch):
    schedule, plan = demo.enrolment_schedule, demo_clinical.clinical_plan

    def her_plan(arms, analytes, timepoints, instruments, infertility, **kwargs):
        everyone = demo_profiles()
        plans = plan(
            [p.arm for p in everyone], analytes, timepoints, instruments, [p.infertility_type for p in everyone]
        )
        return plans[: len(arms)]

    monkeypatch.setattr(demo, "enrolment_schedule", lambda *args, **kwargs: schedule(*args, **kwargs)[:1])
    monkeypatch.setattr(demo_clinical, "clinical_plan", her_plan)


@pytest.fixture(scope="module")
def sz_0001(django_db_setup, django_db_blocker):
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=fast),
        pytest.MonkeyPatch.context() as monkeypatch,
        transaction.atomic(),
    ):
        ensure_trial_configuration()
        _first_woman_only(monkeypatch)
        demo.demo_trial_seed(password=PASSWORD)
        yield Patient.objects.get(study_id="SZ-0001")
        transaction.set_rollback(True)


@pytest.fixture
def staff(sz_0001, client):
    client.force_login(type(sz_0001.consents.get().obtained_by).objects.get(username="staff"))
    return client


def test_only_the_first_demo_woman_is_entered_with_her_records(sz_0001):
    from labs.models import LabResult
    from outcomes.models import PregnancyOutcome, QuestionnaireResponse

    assert Patient.objects.count() == 1 and sz_0001.randomization.slot_id
    assert sz_0001.transfers.exists() and PregnancyOutcome.objects.filter(patient=sz_0001).exists()
    assert LabResult.objects.filter(draw__patient=sz_0001).count() > 10
    assert QuestionnaireResponse.objects.filter(patient=sz_0001).exists()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_audit_page_of_sz_0001_shows_no_column_name_and_no_python_literal(staff, sz_0001, language):
    staff.cookies["django_language"] = language
    response = staff.get(reverse("casebook:history", args=["SZ-0001"]))
    assert response.status_code == 200
    html = response.content.decode()
    table = history_table(html)
    shown = {row["record"] for row in table.rows}
    assert {"randomization", "embryo_transfer", "lab_draw", "lab_result", "pregnancy_outcome"} <= shown
    assert {"questionnaire_response", "screening", "consent", "baseline"} <= shown
    assert dump_traces(" ".join(table.text)) == []
    keys = {f.attname for s in patient_trail_sources() for f in s.event_model.pgh_tracked_model._meta.fields}
    assert not [key for key in keys if key.endswith("_id") and f">{key}<" in html]
    backdated = [r for r in table.rows if r["record"] == "randomization" and r["field"] == "randomized_at"]
    assert backdated and all(r["audit-new"].endswith("+08:00") for r in backdated)


def test_the_demo_csv_reads_the_same_way(staff, sz_0001):
    response = staff.get(reverse("casebook:history", args=["SZ-0001"]), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) > 50
    readable = " ".join(value for row in rows for key, value in row.items() if key != "When (UTC)")
    assert dump_traces(readable) == []
