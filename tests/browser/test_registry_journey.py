"""Browser journey of a site staff member: log in, screen two women, consent and baseline one, find both in the list."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from patients.models import Baseline, Patient
from patients.rules import age_on
from tests.browser.helpers import log_in

INCLUSIONS = ["AGE_20_40", "FAILED_TRANSFERS_2PLUS", "NORMAL_CAVITY", "PLATELETS_100PLUS"]
EXCLUSIONS = [
    "THROMBOPHILIA_ANTICOAG",
    "BLEEDING_DISORDER",
    "HIT_OR_LMWH_ALLERGY",
    "UTERINE_ANOMALY",
    "HEPATIC_RENAL_IMPAIRMENT",
]


def _screen(
    page: Page, base_url: str, *, site_label: str, name: str, mrn: str, dob: date, screened_on: date, present=()
) -> str:
    """Fill the screening form (all inclusions met, exclusions absent unless listed) and return the study id."""
    page.goto(f"{base_url}/patients/screen/")
    expect(page.get_by_role("heading", name="Screen a patient")).to_be_visible()
    page.get_by_label("Site").select_option(label=site_label)
    page.get_by_label("Screening date").fill(screened_on.isoformat())
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Medical record number").fill(mrn)
    page.get_by_label("Date of birth").fill(dob.isoformat())
    page.get_by_label("Phone").fill("+86 755 1234 5678")
    for code in INCLUSIONS:
        page.locator(f'input[name="criterion_{code}"][value="yes"]').check()
    for code in EXCLUSIONS:
        answer = "yes" if code in present else "no"
        page.locator(f'input[name="criterion_{code}"][value="{answer}"]').check()
    page.get_by_role("button", name="Register screening").click()
    expect(page).to_have_url(re.compile(r"/patients/SZ-\d{4}/$"))
    study_id = page.locator("#study-id").inner_text().strip()
    assert re.fullmatch(r"SZ-\d{4}", study_id)
    return study_id


def _fill_baseline(page: Page, *, height: str) -> None:
    page.get_by_label("Height (cm)").fill(height)
    page.get_by_label("Weight (kg)").fill("56")
    page.get_by_label("Previous failed embryo transfers").fill("2")
    page.get_by_label("Prior miscarriages").fill("1")
    page.get_by_label("Infertility type").select_option("primary")
    page.get_by_label("Infertility duration (years)").fill("3.5")
    page.get_by_label("Education").select_option("college_or_higher")
    page.get_by_label("AMH (ng/mL, optional)").fill("2.1")
    page.get_by_role("button", name="Save").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_screens_consents_and_finds_patients_in_list(timely_page: Page, live_server, site_a, staff_site_a):
    page = timely_page
    base_url = live_server.url
    today = timezone.localdate()
    screened_on = today - timedelta(days=10)
    dob = date(screened_on.year - 30, 1, 15)
    expected_age = age_on(dob, screened_on)
    assert 29 <= expected_age <= 30

    log_in(page, base_url, staff_site_a.username)

    # Eligible woman: every inclusion met, no exclusion present.
    eligible_id = _screen(
        page, base_url, site_label=str(site_a), name="Li Na", mrn="MRN-BR-0001", dob=dob, screened_on=screened_on
    )
    expect(page.locator("#patient-status")).to_have_attribute("data-status", "eligible")
    expect(page.get_by_role("alert")).to_contain_text(f"{eligible_id} registered: eligible.")
    expect(page.get_by_text(f"age {expected_age}")).to_be_visible()
    expect(page.locator("#screening-card [data-failed]")).to_have_count(0)

    # Ineligible woman: a bleeding disorder is present.
    ineligible_id = _screen(
        page,
        base_url,
        site_label=str(site_a),
        name="Wang Fang",
        mrn="MRN-BR-0002",
        dob=dob,
        screened_on=screened_on,
        present=("BLEEDING_DISORDER",),
    )
    assert ineligible_id != eligible_id
    expect(page.locator("#patient-status")).to_have_attribute("data-status", "ineligible")
    expect(page.locator("#screening-card")).to_contain_text("ineligible")
    failed_rows = page.locator("#screening-card [data-failed]")
    expect(failed_rows).to_have_count(1)
    expect(failed_rows).to_have_attribute("data-failed", "BLEEDING_DISORDER")
    expect(failed_rows).to_contain_text("Bleeding disorder or active bleeding")
    expect(failed_rows).to_contain_text("present")
    expect(page.get_by_role("link", name="Record consent")).to_have_count(0)
    expect(page.locator("#consent-card")).to_contain_text("Not applicable")

    # Consent for the eligible woman.
    page.goto(f"{base_url}/patients/{eligible_id}/")
    page.get_by_role("link", name="Record consent").click()
    page.get_by_label("Consent form version").fill("v2.1")
    page.get_by_label("Date signed").fill((screened_on + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/patients/{eligible_id}/$"))
    expect(page.locator("#patient-status")).to_have_attribute("data-status", "consented")
    expect(page.locator("#consent-card")).to_contain_text("Form version v2.1")

    # Baseline: an impossible height is refused with its reason, and nothing is saved.
    page.get_by_role("link", name="Record baseline").click()
    expect(page).to_have_url(re.compile(rf"/patients/{eligible_id}/baseline/$"))
    _fill_baseline(page, height="400")
    expect(page).to_have_url(re.compile(rf"/patients/{eligible_id}/baseline/$"))
    height_error = page.locator('.invalid-feedback[data-field="height_cm"]')
    expect(height_error).to_have_text("400 cm is outside the plausible range 120–220 cm.")
    expect(page.get_by_label("Height (cm)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Height (cm)")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert not Baseline.objects.filter(patient__study_id=eligible_id).exists()

    # Corrected and saved: BMI derived from 160 cm / 56 kg.
    _fill_baseline(page, height="160")
    expect(page).to_have_url(re.compile(rf"/patients/{eligible_id}/$"))
    expect(page.get_by_role("alert")).to_contain_text("Baseline saved.")
    expect(page.locator("#bmi")).to_have_text("21.88 kg/m²")
    expect(page.locator('#form-states [data-form="baseline"]')).to_have_attribute("data-state", "complete")
    expect(page.locator("#patient-status")).to_have_attribute("data-status", "consented")
    assert Baseline.objects.filter(patient__study_id=eligible_id, voided_at__isnull=True).count() == 1
    assert Patient.objects.get(study_id=eligible_id).status == "consented"

    # The list shows both women with their statuses.
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page).to_have_url(re.compile(r"/patients/$"))
    rows = page.locator("#patient-table tbody tr[data-study-id]")
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-study-id="{eligible_id}"] [data-status]')).to_have_attribute(
        "data-status", "consented"
    )
    expect(page.locator(f'tr[data-study-id="{ineligible_id}"] [data-status]')).to_have_attribute(
        "data-status", "ineligible"
    )

    # Searching one study id finds exactly her row.
    page.locator("#q").fill(ineligible_id)
    page.locator("#q").press("Enter")
    expect(page).to_have_url(re.compile(rf"[?&]q={ineligible_id}"))
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-study-id", ineligible_id)
    expect(rows.locator("[data-status]")).to_have_attribute("data-status", "ineligible")
    expect(page.locator("#q")).to_have_value(ineligible_id)

    # The status filter narrows the whole list to the consented woman.
    page.locator("#q").fill("")
    page.locator("#status").select_option("consented")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]status=consented"))
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-study-id", eligible_id)
