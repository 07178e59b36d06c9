"""Lab values on pages to the decimals configured per analyte (issue 20: E2 showed 764.3022 pmol/L); the stored
value, the API and the exports keep full precision."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from labs.display import lab_value, rounded
from labs.models import Analyte, LabResult
from labs.services import lab_result_add
from tests.factories import randomized_patient, with_transfer


@pytest.mark.parametrize(
    ("value", "decimals", "censoring", "shown"),
    [
        ("764.3022", 1, "", "764.3"),
        ("2.2500", 1, "", "2.3"),  # halves away from zero, as laboratories report
        ("2.2500", 2, "", "2.25"),
        ("120.0000", 2, "", "120.00"),
        ("1000.0000", 0, "", "1000"),  # never 1E+3
        ("0.0600", 1, ">", ">0.06"),  # a limit keeps its digits: ">0.1" would be false
        ("1000.0000", 1, "<", "<1000.0"),
    ],
)
def test_lab_value_rounds_to_the_analytes_decimals(value, decimals, censoring, shown):
    assert lab_value(Decimal(value), decimals, censoring) == shown


def test_rounding_keeps_the_value_a_decimal():
    assert rounded(Decimal("764.3022"), 1) == Decimal("764.3")


@pytest.mark.django_db
def test_the_seeded_analytes_have_display_decimals_fitting_their_units():
    decimals = dict(Analyte.objects.values_list("code", "display_decimals"))
    assert decimals == {"E2": 1, "BHCG": 1, "FSH": 2, "LH": 2, "CA125": 1, "IL6": 2}


@pytest.fixture
def e2_result(site_a, staff_site_a, statistician):
    """E2 entered as 208.2 pg/mL: 764.3022 pmol/L in the canonical unit."""
    patient = with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)
    return lab_result_add(
        patient=patient,
        timepoint="BASELINE",
        analyte="E2",
        value="208.2",
        unit="pg/mL",
        drawn_at=timezone.now() - timedelta(hours=1),
        by=staff_site_a,
    )


@pytest.mark.django_db
def test_the_patient_page_shows_e2_to_one_decimal_and_keeps_the_stored_value(client, staff_site_a, e2_result):
    client.force_login(staff_site_a)
    patient = e2_result.draw.patient
    body = client.get(reverse("casebook:patient", args=[patient.study_id])).content.decode()
    assert 'data-value="764.3">764.3</span>' in body
    assert "764.3022" not in body  # nor in the chart's data: its tooltips show the table's value
    assert '"y": 764.3' in body
    assert LabResult.objects.get(pk=e2_result.pk).canonical_value == Decimal("764.3022")


@pytest.mark.django_db
def test_the_decimals_are_configuration(client, staff_site_a, e2_result):
    Analyte.objects.filter(code="E2").update(display_decimals=3)
    client.force_login(staff_site_a)
    body = client.get(reverse("casebook:patient", args=[e2_result.draw.patient.study_id])).content.decode()
    assert ">764.302</span>" in body


@pytest.mark.django_db
def test_the_api_keeps_full_precision(staff_site_a, e2_result):
    api = APIClient()
    api.force_authenticate(staff_site_a)
    listed = api.get("/api/v1/lab-results/").json()["results"]
    assert [r["canonical_value"] for r in listed if r["analyte"] == "E2"] == ["764.3022"]


@pytest.mark.django_db
def test_the_lab_results_export_keeps_full_precision(statistician, e2_result):
    from tests.analysis.export_helpers import _table

    _header, rows = _table(statistician, "lab-results", "csv")
    assert [row["canonical_value"] for row in rows if row["analyte"] == "E2"] == ["764.3022"]
