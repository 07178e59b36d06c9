"""Treatment records: the transfer, luteal support, and dalteparin (a deviation outside EXP)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from core.exceptions import InvalidTransition, ValidationFailed
from patients.models import DalteparinCourse, EmbryoTransfer, ProtocolDeviation
from patients.treatment import (
    TransferInput,
    dalteparin_course_record,
    luteal_support_record,
    transfer_record,
    transfer_update,
)
from tests.factories import randomizable_patient, randomized_patient

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    return randomized_patient(site_a, staff_site_a, statistician)


def _transfer(on=None, embryos=2, cycle="fresh", stage="blastocyst"):
    # Randomization happens "now" in tests, and a transfer cannot precede it: default to today.
    return TransferInput(on or timezone.localdate(), cycle, stage, embryos)


def test_transfer_is_recorded_once_and_corrected_with_a_reason(patient, staff_site_a):
    transfer = transfer_record(patient=patient, data=_transfer(), by=staff_site_a)
    with pytest.raises(InvalidTransition, match="already has an embryo transfer"):
        transfer_record(patient=patient, data=_transfer(), by=staff_site_a)
    transfer_update(
        transfer=transfer, data=_transfer(embryos=1), by=staff_site_a, reason="One embryo", expected_version=1
    )
    assert EmbryoTransfer.objects.get().embryos_transferred == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (_transfer(embryos=4), "embryos_transferred", "Between 1 and 3 embryos"),
        (_transfer(embryos=0), "embryos_transferred", "Between 1 and 3 embryos"),
        (_transfer(on=date(2099, 1, 1)), "transfer_date", "cannot be in the future"),
        (_transfer(on=date(2020, 1, 1)), "transfer_date", "before randomization"),
        (_transfer(cycle="thawed"), "cycle_type", "fresh or frozen"),
        (_transfer(stage="morula"), "embryo_stage", "cleavage or blastocyst"),
    ],
)
def test_bad_transfer_input_is_refused_and_saves_nothing(patient, staff_site_a, data, field, message):
    with pytest.raises(ValidationFailed) as refused:
        transfer_record(patient=patient, data=data, by=staff_site_a)
    assert message in " ".join(refused.value.errors[field])
    assert not EmbryoTransfer.objects.exists()


def test_treatment_needs_randomization(site_a, staff_site_a):
    patient = randomizable_patient(site_a, staff_site_a)
    with pytest.raises(InvalidTransition, match="not randomized"):
        transfer_record(patient=patient, data=_transfer(), by=staff_site_a)


def test_luteal_support_dates_are_checked(patient, staff_site_a):
    with pytest.raises(ValidationFailed) as refused:
        luteal_support_record(
            patient=patient,
            drug="Progesterone gel",
            route="vaginal",
            daily_dose="90 mg",
            start_date=TODAY,
            stop_date=TODAY - timedelta(days=3),
            by=staff_site_a,
        )
    assert refused.value.errors["stop_date"] == ["The stop date is before the start date."]
    support = luteal_support_record(
        patient=patient,
        drug="Progesterone gel",
        route="vaginal",
        daily_dose="90 mg",
        start_date=date(2025, 3, 10),
        stop_date=None,
        by=staff_site_a,
    )
    assert support.pk


def _course(patient, by, **overrides):
    values = {"daily_dose_iu": 5000, "start_date": TODAY - timedelta(days=28), "stop_date": TODAY, "missed_doses": 1}
    values.update(overrides)
    return dalteparin_course_record(patient=patient, by=by, **values)


def _one_per_arm(site, staff, statistician):
    patients = [randomized_patient(site, staff, statistician) for _ in range(4)]  # a block of 2 or 4 has both
    by_arm = {p.randomization.arm.code: p for p in patients}
    return by_arm["EXP"], by_arm["CTRL"]


def test_dalteparin_for_a_control_patient_needs_a_recorded_deviation(site_a, staff_site_a, statistician):
    _, ctrl = _one_per_arm(site_a, staff_site_a, statistician)
    with pytest.raises(ValidationFailed, match="protocol deviation"):
        _course(ctrl, staff_site_a)
    assert not DalteparinCourse.objects.exists() and not ProtocolDeviation.objects.exists()
    course = _course(ctrl, staff_site_a, deviation_reason="Pharmacy dispensed the wrong kit")
    assert course.deviation.major and "Pharmacy dispensed" in course.deviation.description


def test_dalteparin_for_an_experimental_patient_is_no_deviation(site_a, staff_site_a, statistician):
    exp, ctrl = _one_per_arm(site_a, staff_site_a, statistician)
    assert _course(exp, staff_site_a).deviation is None
    with pytest.raises(ValidationFailed, match=f"{ctrl.study_id} is in arm CTRL"):
        _course(ctrl, staff_site_a)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"daily_dose_iu": 500_000}, "daily_dose_iu"),
        ({"missed_doses": 40}, "missed_doses"),
        ({"stop_date": TODAY - timedelta(days=40)}, "stop_date"),
    ],
)
def test_bad_dalteparin_course_is_refused(site_a, staff_site_a, statistician, overrides, field):
    exp, _ = _one_per_arm(site_a, staff_site_a, statistician)
    with pytest.raises(ValidationFailed) as refused:
        _course(exp, staff_site_a, **overrides)
    assert field in refused.value.errors
    assert not DalteparinCourse.objects.exists()
