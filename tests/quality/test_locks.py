"""Changes refused: a locked casebook or trial database refuses every write until unlocked with a
reason, and a form saved from a stale version is refused (optimistic concurrency)."""

import pytest
from django.core.exceptions import PermissionDenied

from core.exceptions import InvalidTransition, Locked, ReasonRequired, StaleVersion
from core.models import Trial, TrialStatus
from labs.models import LabResult
from patients import services as patient_services
from patients.models import Baseline, Patient
from quality import services
from tests.factories import baseline_input, consented_patient, identity, screen
from tests.quality.helpers import _earlier_today, _labs, _other_identity, _states

pytestmark = pytest.mark.django_db


# --- Locks --------------------------------------------------------------------------------------


def test_a_locked_casebook_refuses_every_change_until_unlocked_with_a_reason(site_a, staff_site_a, statistician):
    patient = consented_patient(site_a, staff_site_a)
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.casebook_lock(patient=patient, reason="ready for analysis", by=statistician)
    with pytest.raises(Locked, match="locked by statistician"):
        patient_services.baseline_update(
            baseline=baseline, data=baseline_input(weight_kg=70), by=staff_site_a, reason="x", expected_version=1
        )
    with pytest.raises(Locked):
        patient_services.identity_update(
            patient=patient, identity=identity(phone="123"), by=staff_site_a, reason="x", expected_version=None
        )
    assert Baseline.objects.get().weight_kg == baseline.weight_kg
    assert _states(patient) == {
        "screening": "locked",
        "consent": "locked",
        "baseline": "locked",
        "randomization": "not started",
    }
    with pytest.raises(ReasonRequired):
        services.casebook_unlock(patient=patient, reason=" ", by=statistician)
    lock = services.casebook_unlock(patient=patient, reason="query from the sponsor", by=statistician)
    assert lock.unlock_reason == "query from the sponsor"
    patient_services.baseline_update(
        baseline=baseline, data=baseline_input(weight_kg=70), by=staff_site_a, reason="x", expected_version=1
    )


def test_only_the_statistician_locks(site_a, staff_site_a, monitor, investigator_site_a):
    patient = consented_patient(site_a, staff_site_a)
    for user in (staff_site_a, monitor, investigator_site_a):
        with pytest.raises(PermissionDenied):
            services.casebook_lock(patient=patient, reason="r", by=user)
        with pytest.raises(PermissionDenied):
            services.database_lock(reason="r", by=user)


def test_database_lock_freezes_the_whole_trial_and_unlock_restores_it(site_a, staff_site_a, statistician, treated):
    status_before = Trial.objects.get().status
    services.database_lock(reason="final analysis", by=statistician, override_reason="the test's patient is open")
    assert Trial.objects.get().status == TrialStatus.LOCKED
    with pytest.raises(Locked, match="trial database is locked"):
        screen(site_a, staff_site_a, **_other_identity(99))
    with pytest.raises(Locked):
        _labs(treated, staff_site_a)
    with pytest.raises(InvalidTransition):
        services.database_lock(reason="again", by=statistician, override_reason="again")
    assert Patient.objects.count() == 1
    services.database_unlock(reason="late data", by=statistician)
    assert Trial.objects.get().status == status_before
    _labs(treated, staff_site_a)


def test_lab_import_reports_locked_casebooks_and_saves_nothing(treated, staff_site_a, statistician):
    from labs.importing import lab_results_import

    services.casebook_lock(patient=treated, reason="clean", by=statistician)
    header = "study_id,timepoint,drawn_at,analyte,value,unit\n"
    csv = f"{header}{treated.study_id},ET14,{_earlier_today().isoformat()},FSH,6,IU/L\n"
    report = lab_results_import(content=csv.encode(), filename="x.csv", by=staff_site_a)
    assert any("casebook is locked" in p.message for p in report.problems)
    assert not LabResult.objects.exists()


# --- Optimistic concurrency ----------------------------------------------------------------------


def test_two_users_editing_the_same_form_the_second_is_refused_and_the_first_survives(
    site_a, staff_site_a, investigator_site_a
):
    patient = consented_patient(site_a, staff_site_a)
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    opened_version = baseline.version  # both open the form at this version
    patient_services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=62),
        by=staff_site_a,
        reason="weighed",
        expected_version=opened_version,
    )
    with pytest.raises(StaleVersion, match="changed by staff_a"):
        patient_services.baseline_update(
            baseline=baseline,
            data=baseline_input(weight_kg=75),
            by=investigator_site_a,
            reason="weighed",
            expected_version=opened_version,
        )
    assert Baseline.objects.get(pk=baseline.pk).weight_kg == 62
