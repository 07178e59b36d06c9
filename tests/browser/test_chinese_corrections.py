"""Corrections saved in Chinese in the browser: a consent and a pregnancy outcome, whose date inputs must hold
ISO values for the browser to show them (Django's zh-hans 2023/03/11 left them empty, and saving then
said the date was required)."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from outcomes.models import PregnancyOutcome
from outcomes.services import outcome_record
from patients.models import Consent
from tests import factories as f
from tests.browser.helpers import log_in


def _in_chinese(page: Page, base_url: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": base_url}])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_consent_and_outcome_corrections_save_in_chinese(
    timely_page: Page, live_server, site_a, staff_site_a, statistician
):
    page, base_url = timely_page, live_server.url
    patient = f.randomized_patient(site_a, staff_site_a, statistician)
    transfer = f.backdated_transfer(patient, staff_site_a)
    et = transfer.transfer_date
    outcome_record(patient=patient, data=f.pregnancy_data(transfer), by=staff_site_a)
    consent = Consent.objects.get(patient=patient, voided_at__isnull=True)
    log_in(page, base_url, staff_site_a.username)
    _in_chinese(page, base_url)

    page.goto(f"{base_url}/patients/{patient.study_id}/consent/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator('input[name="signed_on"]')).to_have_value(consent.signed_on.isoformat())
    page.locator('input[name="form_version"]').fill("v2.2")  # the factory's consent is v2.1
    page.locator('textarea[name="reason"]').fill("版本号录入错误")
    page.locator('form button[type="submit"]').last.click()
    expect(page).to_have_url(f"{base_url}/patients/{patient.study_id}/")
    corrected = Consent.objects.get(pk=consent.pk)
    assert (corrected.form_version, corrected.signed_on) == ("v2.2", consent.signed_on)
    assert corrected.version == consent.version + 1

    page.goto(f"{base_url}/outcomes/{patient.study_id}/pregnancy/")
    expect(page.locator('input[name="beta_hcg_date"]')).to_have_value((et + timedelta(days=14)).isoformat())
    expect(page.locator('input[name="ultrasound_date"]')).to_have_value((et + timedelta(days=28)).isoformat())
    page.locator('input[name="beta_hcg_value"]').fill("912")
    page.locator('textarea[name="reason"]').fill("化验单数值抄错")
    page.locator('form button[type="submit"]').last.click()
    expect(page).to_have_url(f"{base_url}/patients/{patient.study_id}/")
    outcome = PregnancyOutcome.objects.get(patient=patient, voided_at__isnull=True)
    assert outcome.beta_hcg_value == 912
    assert (outcome.beta_hcg_date, outcome.ultrasound_date) == (et + timedelta(days=14), et + timedelta(days=28))
