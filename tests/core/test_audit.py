"""The audit trail: who, when, what and why for every change; append-only even against raw SQL."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from casebook.selectors import patient_audit_history
from core.exceptions import ReasonRequired, StaleVersion
from core.selectors import audit_entries
from patients import services
from patients.models import Baseline, Patient
from tests.factories import baseline_input, consented_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def baseline(site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    return services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)


def _entries(baseline):
    return audit_entries(Baseline.pgh_event_model, record_label="Baseline", patient_id=baseline.patient_id)


def test_creation_is_recorded_with_user_time_values_and_request(baseline, staff_site_a):
    [created] = _entries(baseline)
    assert created.action == "created"
    assert created.username == staff_site_a.username
    assert created.at is not None and created.at.utcoffset().total_seconds() == 0
    assert {c.field: c.new for c in created.changes}["weight_kg"] == Decimal("56.0")


def test_update_records_old_and_new_value_and_reason(baseline, staff_site_a):
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("58.5")),
        by=staff_site_a,
        reason="Transcription error: source says 58.5 kg",
        expected_version=1,
    )
    created, changed = _entries(baseline)
    assert changed.action == "changed"
    assert changed.reason == "Transcription error: source says 58.5 kg"
    assert changed.username == staff_site_a.username
    changes = {c.field: (c.old, c.new) for c in changed.changes}
    assert changes["weight_kg"] == (Decimal("56.0"), Decimal("58.5"))
    assert changes["bmi"] == (Decimal("21.88"), Decimal("22.85"))
    assert changed.at >= created.at


def test_void_is_recorded_with_reason_and_the_record_stays(baseline, staff_site_a):
    services.baseline_void(baseline=baseline, by=staff_site_a, reason="Entered for the wrong patient")
    voided = _entries(baseline)[-1]
    assert voided.action == "voided"
    assert voided.reason == "Entered for the wrong patient"
    assert Baseline.objects.filter(pk=baseline.pk, voided_at__isnull=False).exists()


def test_change_without_reason_is_refused_by_the_service(baseline, staff_site_a):
    with pytest.raises(ReasonRequired):
        services.baseline_update(
            baseline=baseline,
            data=baseline_input(weight_kg=Decimal("60")),
            by=staff_site_a,
            reason=" ",
            expected_version=1,
        )
    baseline.refresh_from_db()
    assert baseline.weight_kg == Decimal("56.0") and baseline.version == 1


def test_change_without_reason_is_refused_by_the_database_too(baseline):
    """Code that bypasses the services (a shell, a bug) still cannot change clinical data silently."""
    with pytest.raises(IntegrityError, match="a reason is required"), transaction.atomic():
        Baseline.objects.filter(pk=baseline.pk).update(weight_kg=Decimal("70"))
    baseline.refresh_from_db()
    assert baseline.weight_kg == Decimal("56.0")


def test_clinical_records_cannot_be_hard_deleted(baseline):
    with pytest.raises(InternalError, match="Cannot delete"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM patients_baseline WHERE id = %s", [baseline.pk])
    assert Baseline.objects.filter(pk=baseline.pk).exists()


@pytest.mark.parametrize("statement", ["UPDATE {table} SET weight_kg = 99", "DELETE FROM {table}"])
def test_raw_sql_cannot_alter_audit_events(baseline, statement):
    table = Baseline.pgh_event_model._meta.db_table
    with pytest.raises(InternalError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))
    assert Baseline.pgh_event_model.objects.filter(weight_kg=Decimal("56.0")).count() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{username}', '\"someone_else\"')",
        "DELETE FROM pghistory_context",
    ],
)
def test_raw_sql_cannot_rewrite_who_or_why(baseline, statement):
    with pytest.raises(IntegrityError, match="audit context"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_stale_version_is_refused_naming_who_changed_it(baseline, staff_site_a, investigator_site_a):
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(height_cm=Decimal("161")),
        by=investigator_site_a,
        reason="Remeasured",
        expected_version=1,
    )
    with pytest.raises(StaleVersion, match=f"changed by {investigator_site_a.username}"):
        services.baseline_update(
            baseline=baseline,
            data=baseline_input(weight_kg=Decimal("57")),
            by=staff_site_a,
            reason="Other fix",
            expected_version=1,
        )
    baseline.refresh_from_db()
    assert (baseline.height_cm, baseline.weight_kg, baseline.version) == (Decimal("161.0"), Decimal("56.0"), 2)


def test_each_service_call_keeps_its_own_reason(site_a, staff_site_a):
    """Two changes in one request must not share one context (the second reason would overwrite the first)."""
    patient = consented_patient(site_a, staff_site_a)
    baseline = services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("57")),
        by=staff_site_a,
        reason="first",
        expected_version=1,
    )
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("58")),
        by=staff_site_a,
        reason="second",
        expected_version=2,
    )
    assert [e.reason for e in _entries(baseline)[1:]] == ["first", "second"]


def test_patient_history_spans_forms_and_hides_identity_from_monitors(site_a, staff_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    services.patient_withdraw(patient=patient, withdrawn_on=date(2025, 3, 5), reason="Moved away", by=staff_site_a)
    staff_view = patient_audit_history(user=staff_site_a, patient=Patient.objects.get(pk=patient.pk))
    monitor_view = patient_audit_history(user=monitor, patient=patient)
    assert {e.record for e in staff_view} == {"patient", "patient_identity", "screening", "consent"}
    assert {e.record_label for e in staff_view} == {"Registration", "Identity", "Screening", "Consent"}
    assert "patient_identity" not in {e.record for e in monitor_view}
    withdrawal = [e for e in staff_view if e.record == "patient" and e.reason == "Moved away"]
    assert [(c.field, c.old, c.new) for c in withdrawal[0].changes] == [("status", "consented", "withdrawn")]
