"""A query is raised on a field of the chosen form, chosen from a list: the service refuses any other name
(so the page, a hand-made post and the API alike), with a message on the field, and saves nothing."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.exceptions import ValidationFailed
from labs.models import Analyte
from quality import checks, services
from quality.form_field_selectors import field_config
from quality.form_fields import field_of
from quality.models import DataQuery, QueryMessage
from tests.factories import consented_patient

pytestmark = pytest.mark.django_db

WEIGHT_REFUSED = "“Weight” is not a field of the Baseline form: choose one of its fields."


@pytest.fixture
def patient(site_a, staff_site_a):
    return consented_patient(site_a, staff_site_a)


def _nothing_saved():
    return not DataQuery.objects.exists() and not QueryMessage.objects.exists()


def test_the_service_refuses_a_field_that_is_not_the_forms(patient, monitor):
    with pytest.raises(ValidationFailed) as refused:
        services.query_raise(patient=patient, form="baseline", field="Weight", message="?", by=monitor)
    assert refused.value.errors == {"field": [WEIGHT_REFUSED]}
    for form, field in (("consent", "weight_kg"), ("screening", "weight_kg"), ("baseline", ""), ("baseline", "x" * 61)):
        with pytest.raises(ValidationFailed) as refused:
            services.query_raise(patient=patient, form=form, field=field, message="?", by=monitor)
        assert list(refused.value.errors) == ["field"], (form, field)
    assert _nothing_saved()
    query = services.query_raise(patient=patient, form="screening", field="AGE_20_40", message="Age?", by=monitor)
    assert (query.form, query.field) == ("screening", "AGE_20_40")


def test_the_api_refuses_a_bad_field_with_the_same_message(patient, monitor):
    api = APIClient()
    api.force_authenticate(monitor)
    body = {"study_id": patient.study_id, "form": "baseline", "field": "Weight", "message": "Scale?"}
    refused = api.post("/api/v1/queries/", body, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == [WEIGHT_REFUSED]
    assert _nothing_saved()
    assert api.post("/api/v1/queries/", {**body, "field": "weight_kg"}, format="json").status_code == 201


def _review(client, user, patient, query=""):
    client.force_login(user)
    return client.get(reverse("casebook:review", args=[patient.study_id]) + query).content.decode()


def test_the_page_lists_each_forms_fields_by_label_grouped_by_form(client, patient, monitor):
    page = _review(client, monitor, patient)
    field_select = re.search(r'<select name="field".*?</select>', page, re.S).group(0)
    assert '<optgroup label="Baseline">' in field_select and '<optgroup label="Consent">' in field_select
    assert '<option value="weight_kg">Weight (kg)</option>' in field_select
    assert '<option value="" selected>Choose…</option>' in field_select
    form_select = re.search(r'<select name="form".*?</select>', page, re.S).group(0)
    assert '<option value="" selected>Choose…</option>' in form_select


def test_a_hand_posted_bad_field_is_refused_on_the_field(client, patient, monitor):
    client.force_login(monitor)
    url = reverse("casebook:review", args=[patient.study_id])
    response = client.post(url, {"action": "raise", "form": "baseline", "field": "Weight", "message": "Scale?"})
    page = response.content.decode()
    assert response.status_code == 400
    assert f'<div class="invalid-feedback d-block" data-field="field">{WEIGHT_REFUSED}</div>' in page.replace(
        "&ldquo;", "“"
    ).replace("&rdquo;", "”")
    assert _nothing_saved()


def test_the_chosen_form_stays_chosen_after_raising(client, patient, monitor):
    client.force_login(monitor)
    url = reverse("casebook:review", args=[patient.study_id])
    raised = client.post(url, {"action": "raise", "form": "consent", "field": "signed_on", "message": "Date?"})
    assert raised.status_code == 302 and raised.url == f"{url}?form=consent#raise-query-form"
    page = client.get(raised.url.split("#")[0]).content.decode()
    form_select = re.search(r'<select name="form".*?</select>', page, re.S).group(0)
    assert '<option value="consent" selected>Consent</option>' in form_select
    assert DataQuery.objects.get().field == "signed_on"
    # A field's "Ask" link chooses its form and the field; an unknown form in the address chooses nothing.
    page = _review(client, monitor, patient, "?form=baseline&field=weight_kg")
    assert '<option value="weight_kg" selected>Weight (kg)</option>' in page
    page = _review(client, monitor, patient, "?form=nonsense")
    assert '<option value="nonsense"' not in page


def test_every_configured_analyte_is_a_field_of_the_lab_forms():
    """Range findings name the analyte (tests/quality/test_form_fields.py checks every check's fields)."""
    config = field_config()
    codes = list(Analyte.objects.values_list("code", flat=True))
    assert len(codes) >= 6
    for finding in checks.lab_range_findings([checks.LabResultFact(1, "ET14", c, "high", "1", "u") for c in codes]):
        assert field_of(finding.form, finding.field, config) is not None, finding.field
