"""Form status: which forms a casebook expects, how complete each is, and the missing and overdue ones
per site."""

from datetime import date

import pytest

from labs.services import lab_draw_record
from quality import catalogue, selectors
from tests.factories import backdated_transfer, consented_patient, randomized_patient, screen
from tests.quality.helpers import _earlier_today, _labs, _other_identity, _states

pytestmark = pytest.mark.django_db


def test_expected_forms_follow_the_patients_status(site_a, staff_site_a, statistician):
    ineligible = screen(site_a, staff_site_a, eligible=False)
    assert _states(ineligible) == {"screening": "complete"}
    consented = consented_patient(site_a, staff_site_a, **_other_identity(1))
    assert _states(consented) == {"screening": "complete", "consent": "complete", "baseline": "not started"}
    randomized = randomized_patient(site_a, staff_site_a, statistician, **_other_identity(2))
    states = _states(randomized)
    assert states["randomization"] == "complete" and states["transfer"] == "not started"
    assert {"labs:BASELINE", "labs:ET14", "labs:ET28", "outcome", "questionnaire:RAND36:ET28"} <= set(states)
    assert ("dalteparin" in states) == (randomized.randomization.arm.code == "EXP")


def test_a_partial_lab_draw_is_in_progress_and_a_full_one_complete(treated, staff_site_a):
    lab_draw_record(
        patient=treated, timepoint="ET14", drawn_at=_earlier_today(), entries=[("FSH", "6", "IU/L")], by=staff_site_a
    )
    _labs(treated, staff_site_a, timepoint="ET28")
    states = _states(treated)
    assert (states["labs:ET14"], states["labs:ET28"], states["labs:BASELINE"]) == (
        "in progress",
        "complete",
        "not started",
    )


def test_missing_forms_lists_overdue_ones_per_site(site_a, site_b, staff_site_a, staff_site_b, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    backdated_transfer(patient, staff_site_a, days_ago=40)
    rows = selectors.missing_forms(user=staff_site_a)
    overdue = {r.form.key for r in rows if r.form.overdue}
    assert {"labs:BASELINE", "labs:ET14", "labs:ET28", "outcome", "luteal_support"} <= overdue
    assert all(r.patient == patient for r in rows)
    assert selectors.missing_forms(user=staff_site_b) == []


def test_missing_forms_costs_the_same_queries_for_3_and_30_patients(site_a, staff_site_a, statistician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost():
        with CaptureQueriesContext(connection) as captured:
            selectors.missing_forms(user=staff_site_a)
        return len(captured)

    for n in range(3):
        randomized_patient(site_a, staff_site_a, statistician, **_other_identity(10 + n))
    small = cost()
    for n in range(27):
        consented_patient(site_a, staff_site_a, **_other_identity(20 + n))
    assert cost() == small


def test_catalogue_due_dates_use_the_window_end():
    facts = catalogue.PatientFacts(
        "randomized", True, date(2025, 1, 1), {"randomization": catalogue.FormRecords([("r", 1, 1)], active=1)}
    )
    windows = [catalogue.TimepointWindow("ET14", "ET+14", 14, 2)]
    forms = {f.key: f for f in catalogue.expected_forms(facts, lab_timepoints=windows, questionnaires=[])}
    assert forms["labs:ET14"].due == date(2025, 1, 17)
    assert forms["outcome"].due == date(2025, 2, 5)
    assert "dalteparin" not in forms
