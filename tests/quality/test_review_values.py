"""The casebook review shows every form's values as people read them (choices by label, ISO dates, units),
beside its state, who verified it and its open queries; in a number of queries that does not grow with
the number of forms."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.audit_display import moment_text
from core.models import Site
from labs.models import LabDraw
from outcomes import services as outcomes
from patients.models import Randomization
from patients.treatment import luteal_support_record
from quality import services
from tests.factories import adverse_event_form, backdated_transfer, consented_patient, randomized_patient
from tests.quality.helpers import _labs

pytestmark = pytest.mark.django_db

# 49 today, one per table whatever the number of forms (the test below).
MAX_PAGE_QUERIES = 50


@pytest.fixture
def treated(site_a, staff_site_a, statistician):
    """Randomized, transferred 14 days ago: two lab draws (IL6 high at ET14), luteal support, an outcome,
    an adverse event and a questionnaire — a casebook of many forms."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    transfer = backdated_transfer(patient, staff_site_a, days_ago=14)
    _labs(patient, staff_site_a, timepoint="ET14", IL6="50")
    luteal_support_record(
        patient=patient,
        drug="Progesterone gel",
        route="vaginal",
        daily_dose="90 mg",
        start_date=transfer.transfer_date,
        stop_date=None,
        by=staff_site_a,
    )
    outcomes.outcome_record(patient=patient, data={"beta_hcg_positive": False}, by=staff_site_a)
    yesterday = timezone.localdate() - timedelta(days=1)
    outcomes.adverse_event_record(
        patient=patient, data=adverse_event_form(onset_date=yesterday, resolution_date=yesterday), by=staff_site_a
    )
    outcomes.questionnaire_record(
        patient=patient,
        instrument="RAND36",
        timepoint="BASELINE",
        completed_on=timezone.localdate(),
        answers={str(k): 3 for k in range(3, 13)},
        by=staff_site_a,
    )
    return patient


def _page(client, user, patient) -> str:
    client.force_login(user)
    response = client.get(reverse("casebook:review", args=[patient.study_id]))
    assert response.status_code == 200
    return response.content.decode()


def _value(page: str, form: str, field: str) -> str:
    body = re.search(rf'<tbody data-form-values="{re.escape(form)}">(.*?)</tbody>', page, re.S).group(1)
    row = re.search(rf'<tr data-field="{re.escape(field)}">(.*?)</tr>', body, re.S).group(1)
    return re.search(r"<span data-value>(.*?)</span>", row, re.S).group(1)


def test_registry_values_read_as_entered_with_units_and_labels(client, treated, monitor):
    page = _page(client, monitor, treated)
    assert _value(page, "baseline", "weight_kg").strip() == "56.0 kg"
    assert _value(page, "baseline", "infertility_type").strip() == "Primary"
    assert _value(page, "baseline", "education").strip() == "College or higher"
    assert _value(page, "consent", "signed_on").strip() == "2025-03-02"
    assert _value(page, "screening", "screening_date").strip() == "2025-03-01"
    assert _value(page, "screening", "BLEEDING_DISORDER").strip() == "No"
    assert _value(page, "screening", "age_at_enrolment").strip() == f"{treated.age_at_enrolment} years"
    arm = Randomization.objects.select_related("arm").get(patient=treated).arm
    assert _value(page, "randomization", "arm").strip() == f"{arm.code} — {arm.label}"
    assert '<td class="ps-3 w-50">Weight</td>' in page and '<option value="weight_kg">Weight (kg)</option>' in page


def test_clinical_values_labs_questionnaires_and_records_of_several(client, treated, monitor):
    page = _page(client, monitor, treated)
    assert _value(page, "labs:ET14", "FSH").strip() == "6 IU/L"
    assert _value(page, "labs:ET14", "IL6").strip() == "50 pg/mL"
    drawn_at = LabDraw.objects.get(patient=treated, timepoint__code="ET14").drawn_at
    assert _value(page, "labs:ET14", "drawn_at").strip() == moment_text(drawn_at, treated.site.time_zone)
    assert _value(page, "questionnaire:RAND36:BASELINE", "item_3").strip() == "3 — No, not limited at all"
    assert _value(page, "questionnaire:RAND36:BASELINE", "item_1").strip() == "—"
    assert _value(page, "outcome", "beta_hcg_positive").strip() == "No"
    assert _value(page, "luteal_support", "route").strip() == "Vaginal"
    assert _value(page, "adverse_events", "term").strip() == "Injection-site bruising"
    assert "Entry 1" in page
    # The automatic query on IL6 shows on its field and its form; forms are grouped by visit.
    il6 = re.search(r'<tr data-field="IL6">.*?</tr>', page, re.S).group(0)
    assert 'data-flag="high">High</span>' in il6 and 'data-open-queries="1"' in il6
    assert 'data-open-queries="1"' in page
    assert page.index('data-visit="enrolment"') < page.index('data-visit="treatment"')
    assert page.index('data-visit="treatment"') < page.index('data-visit="timepoint:ET14"')


def test_a_verified_form_says_by_whom_and_when(client, treated, monitor):
    services.forms_verify(patient=treated, forms=["baseline"], by=monitor)
    page = _page(client, monitor, treated)
    header = re.search(r'<tr data-form="baseline" data-state="verified".*?</tr>', page, re.S).group(0)
    assert f"verified by {monitor.get_full_name()} on {timezone.localtime():%Y-%m-%d}" in header


def _queries(client, user, patient) -> int:
    client.force_login(user)
    url = reverse("casebook:review", args=[patient.study_id])
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_for_3_forms_as_for_15(
    client, treated, site_a, staff_site_a, monitor, django_assert_max_num_queries
):
    """Session, user and permissions (3), the patient, her casebook's states (quality.selectors: 24, one per
    table), her values (casebook.review_selectors: 13, one per table), the catalogue's analytes and criteria,
    time points, open queries by field and in all, the trial, the query list and its messages."""
    small = consented_patient(site_a, staff_site_a, medical_record_number="MRN-SMALL")
    # A query each, so both pages read the query messages (the big one has its automatic IL6 query).
    services.query_raise(patient=small, form="consent", field="signed_on", message="Date?", by=monitor)
    forms_small = _page(client, monitor, small).count('<tr data-form="')
    forms_big = _page(client, monitor, treated).count('<tr data-form="')
    assert (forms_small, forms_big >= 15) == (3, True)
    url = reverse("casebook:review", args=[treated.study_id])
    with django_assert_max_num_queries(MAX_PAGE_QUERIES):
        client.get(url)
    assert _queries(client, monitor, small) == _queries(client, monitor, treated)


def test_times_read_in_the_sites_zone_as_on_her_audit_history(client, treated, monitor):
    drawn_at = LabDraw.objects.get(patient=treated, timepoint__code="ET14").drawn_at
    for zone, offset in (("Pacific/Kiritimati", "+14:00"), ("Pacific/Pago_Pago", "-11:00")):
        Site.objects.filter(pk=treated.site_id).update(time_zone=zone)
        shown = _value(_page(client, monitor, treated), "labs:ET14", "drawn_at").strip()
        assert shown == moment_text(drawn_at, zone) and shown.endswith(offset)
