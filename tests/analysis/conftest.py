"""Fixtures the export tests share: the four-patient trial the export tests read (test_snapshots has
its own `trial`) and a site-B exporter."""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from core.services import record_void
from outcomes.services import adverse_event_record, outcome_record, questionnaire_record
from tests.analysis.export_helpers import IDENTITIES, _draw
from tests.factories import adverse_event_form, backdated_transfer, pregnancy_data, randomized_patient, screen

RAND36_ANSWERS = {str(k): 3 for k in range(3, 13)} | {"21": 2, "22": 1}  # PF 100, pain 90, RE unscored
SSRS_ANSWERS = {"1": 2, "2": 3, "3": 2, "4": 3, "5a": 4, "5b": 3, "5c": 1, "5d": 2, "5e": 1}
SSRS_ANSWERS |= {"6": 2, "7": 3, "8": 2, "9": 3, "10": 1}  # objective 8, subjective 18, utilization 6, total 32


@pytest.fixture
def exporter_site_b(staff_site_b):
    """A site-B staff member given the export permission by hand (no role has it besides statistician)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    staff_site_b.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename="export_data"))
    return get_user_model().objects.get(pk=staff_site_b.pk)  # fresh: no cached permissions


@dataclass
class Trial4:
    a1: object
    a2: object
    a3: object
    b1: object


def _questionnaire(patient, instrument, timepoint, answers, by):
    return questionnaire_record(
        patient=patient,
        instrument=instrument,
        timepoint=timepoint,
        completed_on=timezone.localdate(),
        answers=answers,
        by=by,
    )


@pytest.fixture
def trial(site_a, site_b, staff_site_a, staff_site_b, statistician) -> Trial4:
    """Site A: a1 (pregnant, AE, labs incl. a censored value, both questionnaires), a2 (every record of
    a kind voided except one FSH result, no outcome), a3 (screened out). Site B: b1 (lab, AE, SSRS)."""
    a1 = randomized_patient(site_a, staff_site_a, statistician, **IDENTITIES["a1"])
    transfer = backdated_transfer(a1, staff_site_a, embryos=2)
    outcome_record(patient=a1, data=pregnancy_data(transfer), by=staff_site_a)
    adverse_event_record(patient=a1, data=adverse_event_form(), by=staff_site_a)
    _draw(a1, "BASELINE", [("E2", "50", "pg/mL"), ("FSH", "<0.5", "mIU/mL"), ("LH", "5", "IU/L")], staff_site_a)
    _questionnaire(a1, "RAND36", "BASELINE", RAND36_ANSWERS, staff_site_a)
    _questionnaire(a1, "SSRS", "BASELINE", SSRS_ANSWERS, staff_site_a)

    a2 = randomized_patient(site_a, staff_site_a, statistician, **IDENTITIES["a2"])
    baseline = _draw(a2, "BASELINE", [("FSH", "6", "IU/L"), ("LH", "4", "IU/L")], staff_site_a)
    void = {"by": staff_site_a, "reason": "entered in error"}
    record_void(baseline.results.get(analyte__code="LH"), **void)
    record_void(_draw(a2, "ET14", [("BHCG", "250", "IU/L")], staff_site_a), **void)
    record_void(adverse_event_record(patient=a2, data=adverse_event_form(), by=staff_site_a), **void)
    record_void(_questionnaire(a2, "SSRS", "BASELINE", SSRS_ANSWERS, staff_site_a), **void)

    a3 = screen(site_a, staff_site_a, eligible=False, **IDENTITIES["a3"])

    b1 = randomized_patient(site_b, staff_site_b, statistician, **IDENTITIES["b1"])
    _draw(b1, "BASELINE", [("CA125", "20", "kU/L")], staff_site_b)
    adverse_event_record(patient=b1, data=adverse_event_form(term="bleeding", grade=2), by=staff_site_b)
    _questionnaire(b1, "SSRS", "ET28", SSRS_ANSWERS, staff_site_b)
    return Trial4(a1, a2, a3, b1)
