"""Lab draws through the service: conversion, flags, windows, bad input saving nothing, corrections."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import InvalidTransition, StaleVersion, ValidationFailed
from labs.models import LabDraw, LabResult
from labs.services import lab_draw_record, lab_result_correct
from tests.factories import randomizable_patient, randomized_patient, with_transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    return with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)


def _today_at(hour: int) -> datetime:
    """Today at `hour` local time, or just now if that is still in the future (draws cannot be)."""
    at = timezone.make_aware(datetime.combine(timezone.localdate(), time(hour)))
    return min(at, timezone.now() - timedelta(minutes=1))


def test_draw_converts_keeps_what_was_entered_and_flags(patient, staff_site_a):
    draw = lab_draw_record(
        patient=patient,
        timepoint="BASELINE",
        drawn_at=_today_at(7),
        entries=[("E2", "50", "pg/mL"), ("LH", "120", "IU/L"), ("FSH", "<0.5", "mIU/mL")],
        by=staff_site_a,
    )
    results = {r.analyte.code: r for r in draw.results.select_related("analyte")}
    assert (results["E2"].value_as_entered, results["E2"].unit_as_entered) == ("50", "pg/mL")
    assert results["E2"].canonical_value == Decimal("183.5500")
    assert results["E2"].flag == "normal"
    assert results["LH"].flag == "high"
    assert (results["FSH"].censoring, results["FSH"].canonical_value, results["FSH"].flag) == (
        "<",
        Decimal("0.5"),
        "low",
    )
    assert draw.window_warning == ""


def test_draw_outside_its_window_is_accepted_with_a_warning(patient, staff_site_a):
    draw = lab_draw_record(
        patient=patient,
        timepoint="ET14",
        drawn_at=_today_at(8),  # ET+0, not ET+14±2
        entries=[("BHCG", "250", "IU/L")],
        by=staff_site_a,
    )
    assert "outside the ET14 window (ET+12 to ET+16)" in draw.window_warning


def test_draw_without_a_transfer_warns_that_the_window_was_not_checked(site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    draw = lab_draw_record(
        patient=patient, timepoint="BASELINE", drawn_at=_today_at(7), entries=[("FSH", "5", "IU/L")], by=staff_site_a
    )
    assert "No embryo transfer recorded" in draw.window_warning


@pytest.mark.parametrize(
    ("entries", "field", "message"),
    [
        ([("FSH", "abc", "IU/L")], "FSH_value", "'abc' is not a number"),
        ([("FSH", "-2", "IU/L")], "FSH_value", "negative"),
        ([("FSH", "900", "IU/L")], "FSH_value", "above the physiological maximum for FSH (500 IU/L)"),
        ([("E2", "50", "ng/dL")], "E2_unit", "use one of: pg/mL, pmol/L"),
        ([("FSH", "5", "IU/L"), ("FSH", "6", "IU/L")], "FSH_value", "entered twice in one draw"),
        ([("XYZ", "5", "IU/L")], "__all__", "Unknown analyte 'XYZ'"),
        ([], "__all__", "Enter at least one result."),
    ],
)
def test_bad_values_save_nothing(patient, staff_site_a, entries, field, message):
    with pytest.raises(ValidationFailed) as refused:
        lab_draw_record(patient=patient, timepoint="BASELINE", drawn_at=_today_at(7), entries=entries, by=staff_site_a)
    assert message in " ".join(refused.value.errors[field])
    assert not LabDraw.objects.exists() and not LabResult.objects.exists()


def test_one_good_and_one_bad_value_saves_neither(patient, staff_site_a):
    with pytest.raises(ValidationFailed):
        lab_draw_record(
            patient=patient,
            timepoint="BASELINE",
            drawn_at=_today_at(7),
            entries=[("FSH", "5", "IU/L"), ("LH", "x", "IU/L")],
            by=staff_site_a,
        )
    assert not LabResult.objects.exists()


def test_unknown_time_point_future_draw_and_second_draw_are_refused(patient, staff_site_a):
    with pytest.raises(ValidationFailed, match="Unknown time point"):
        lab_draw_record(patient=patient, timepoint="ET99", drawn_at=_today_at(7), entries=[], by=staff_site_a)
    with pytest.raises(ValidationFailed, match="cannot be in the future"):
        lab_draw_record(
            patient=patient,
            timepoint="BASELINE",
            drawn_at=timezone.now() + timedelta(hours=2),
            entries=[("FSH", "5", "IU/L")],
            by=staff_site_a,
        )
    lab_draw_record(
        patient=patient, timepoint="BASELINE", drawn_at=_today_at(7), entries=[("FSH", "5", "IU/L")], by=staff_site_a
    )
    with pytest.raises(InvalidTransition, match="already has a BASELINE draw"):
        lab_draw_record(
            patient=patient, timepoint="BASELINE", drawn_at=_today_at(7), entries=[("LH", "5", "IU/L")], by=staff_site_a
        )


def test_labs_need_a_randomized_patient(site_a, staff_site_a):
    patient = randomizable_patient(site_a, staff_site_a)
    with pytest.raises(InvalidTransition, match="not randomized"):
        lab_draw_record(
            patient=patient,
            timepoint="BASELINE",
            drawn_at=_today_at(7),
            entries=[("FSH", "5", "IU/L")],
            by=staff_site_a,
        )


def test_correction_rederives_canonical_value_and_flag_and_needs_reason_and_version(patient, staff_site_a):
    draw = lab_draw_record(
        patient=patient, timepoint="BASELINE", drawn_at=_today_at(7), entries=[("E2", "50", "pg/mL")], by=staff_site_a
    )
    result = draw.results.get()
    corrected = lab_result_correct(
        result=result, value="5000", unit="pmol/L", by=staff_site_a, reason="Lab report reissued", expected_version=1
    )
    assert (corrected.canonical_value, corrected.flag, corrected.version) == (Decimal("5000.0000"), "high", 2)
    with pytest.raises(StaleVersion):
        lab_result_correct(result=result, value="10", unit="pmol/L", by=staff_site_a, reason="x", expected_version=1)
