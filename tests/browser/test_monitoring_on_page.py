"""Browser journey of a monitor on the casebook review (issue 20): the forms' values beside their states,
the whole casebook verified in one action, a query raised on a field chosen from the chosen form's list,
the form still chosen afterwards; a field that is not the form's, posted by hand, is refused. On a phone."""

import re

import pytest
from playwright.sync_api import Page, expect

from quality.models import DataQuery, SourceVerification
from tests.browser.helpers import log_in
from tests.factories import randomizable_patient

PHONE = {"width": 390, "height": 844}
QUESTION = "The clinic chart says 65 kg: please check the source."
REFUSED = "“Weight” is not a field of the Baseline form: choose one of its fields."


def _fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_monitor_verifies_the_casebook_and_raises_a_query_from_the_list(
    timely_page: Page, live_server, site_a, staff_site_a, monitor
):
    patient = randomizable_patient(site_a, staff_site_a)  # screening, consent, baseline (56.0 kg) complete
    page = timely_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, monitor.get_username())
    page.goto(f"{live_server.url}/quality/casebook/{patient.study_id}/")

    # (1) The values beside their forms' states.
    forms = page.locator("#casebook-forms")
    expect(forms.locator('tr[data-form="baseline"]')).to_have_attribute("data-state", "complete")
    weight = forms.locator('[data-form-values="baseline"] tr[data-field="weight_kg"]')
    expect(weight.locator("td").first).to_have_text("Weight")
    expect(weight.locator("[data-value]")).to_have_text("56.0 kg")
    expect(forms.locator('[data-form-values="consent"] tr[data-field="signed_on"] [data-value]')).to_have_text(
        "2025-03-02"
    )
    assert _fits(page)

    # (2) The whole casebook verified in one action, one verification per form.
    page.locator("#verify-all").get_by_role("button", name="Verify all").click()
    expect(page.get_by_role("alert").filter(has_text="Verified 3 forms: Screening, Consent, Baseline.")).to_be_visible()
    for key in ("screening", "consent", "baseline"):
        expect(forms.locator(f'tr[data-form="{key}"]')).to_have_attribute("data-state", "verified")
        expect(forms.locator(f'tr[data-form="{key}"]')).to_contain_text(f"verified by {monitor.get_full_name()}")
    expect(page.locator("#verify-all")).to_have_count(0)
    assert sorted(SourceVerification.objects.values_list("form", flat=True)) == ["baseline", "consent", "screening"]

    # (3) A query on a field chosen from the chosen form's list; the form stays chosen afterwards.
    raise_form = page.locator("#raise-query-form")
    raise_form.get_by_label("Form", exact=True).select_option(label="Baseline")
    field = raise_form.get_by_label("Field", exact=True)
    expect(field.locator("optgroup")).to_have_count(1)
    expect(field.locator("optgroup")).to_have_attribute("label", "Baseline")
    expect(field.locator('option[value="signed_on"]')).to_have_count(0)  # Consent's field is not offered
    field.select_option(label="Weight (kg)")
    raise_form.get_by_label("Question", exact=True).fill(QUESTION)
    raise_form.get_by_role("button", name="Raise query").click()
    expect(page.get_by_role("alert").filter(has_text="Query raised.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?form=baseline#raise-query-form$"))
    expect(raise_form.get_by_label("Form", exact=True)).to_have_value("baseline")
    query = DataQuery.objects.get()
    assert (query.form, query.field, query.raised_by) == ("baseline", "weight_kg", monitor)
    expect(weight.locator("[data-open-queries]")).to_have_text("1 open query")
    expect(forms.locator('tr[data-form="baseline"] [data-open-queries]')).to_have_text("1 open query")

    # (4) A field that is not the form's, posted by hand (an option added to the list), is refused.
    field.evaluate("select => { select.add(new Option('Weight', 'Weight')); select.value = 'Weight'; }")
    raise_form.get_by_label("Question", exact=True).fill("Weight?")
    raise_form.get_by_role("button", name="Raise query").click()
    expect(raise_form.locator('.invalid-feedback[data-field="field"]')).to_have_text(REFUSED)
    assert DataQuery.objects.count() == 1
    assert _fits(page)
