"""Browser journeys of randomization: staff randomize a consented woman; the statistician manages allocation lists."""

import re

import pytest
from playwright.sync_api import Page, expect

from patients.models import AllocationList, Patient
from tests.browser.helpers import log_in
from tests.factories import live_list, randomizable_patient

CONFIRM_LABEL = "I have checked eligibility, consent and baseline; allocate the next slot now."


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_randomizes_a_consented_patient_and_sees_her_arm(
    timely_page: Page, live_server, site_a, staff_site_a, statistician
):
    page = timely_page
    base_url = live_server.url
    allocation_list = live_list(site_a, statistician, age_group="<35", length=20, seed=2024)
    expected_arm = allocation_list.slots.get(sequence=1).arm.code
    patient = randomizable_patient(site_a, staff_site_a)
    assert patient.age_at_enrolment < 35
    study_id = patient.study_id

    log_in(page, base_url, staff_site_a.username)

    page.goto(f"{base_url}/patients/{study_id}/")
    expect(page.locator("#patient-status")).to_have_attribute("data-status", "consented")
    expect(page.locator("#randomization-card")).to_contain_text("Ready to randomize.")
    page.locator("#randomization-card").get_by_role("link", name="Randomize").click()
    expect(page).to_have_url(re.compile(rf"/patients/{study_id}/randomize/$"))
    expect(page.get_by_role("heading", name=re.compile(rf"Randomize\s+{study_id}"))).to_be_visible()
    expect(page.locator("#preconditions")).to_contain_text("Consented")

    # Submitting without the confirmation is refused, and nothing is allocated.
    page.get_by_role("button", name="Randomize now").click()
    expect(page).to_have_url(re.compile(rf"/patients/{study_id}/randomize/$"))
    expect(page.locator(".invalid-feedback")).to_have_text("This field is required.")
    expect(page.get_by_label(CONFIRM_LABEL)).not_to_be_checked()
    patient.refresh_from_db()
    assert patient.status == "consented"
    assert not hasattr(Patient.objects.get(pk=patient.pk), "randomization")
    assert not allocation_list.slots.filter(randomization__isnull=False).exists()

    # Confirmed: she gets the first slot of her stratum.
    page.get_by_label(CONFIRM_LABEL).check()
    page.get_by_role("button", name="Randomize now").click()
    expect(page).to_have_url(re.compile(rf"/patients/{study_id}/$"))
    expect(page.get_by_role("alert")).to_contain_text(f"{study_id} randomized to {expected_arm} — ")
    expect(page.locator("#patient-status")).to_have_attribute("data-status", "randomized")
    expect(page.locator("#allocated-arm")).to_have_attribute("data-arm", expected_arm)
    expect(page.locator("#randomization-card").get_by_role("link", name="Randomize")).to_have_count(0)
    expect(page.get_by_role("link", name="Randomize", exact=True)).to_have_count(0)

    patient.refresh_from_db()
    assert patient.status == "randomized"
    assert patient.randomization.arm.code == expected_arm
    assert patient.randomization.slot.sequence == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_statistician_generates_a_list_puts_it_live_and_sees_slot_use(
    timely_page: Page, live_server, site_a, statistician, tmp_path
):
    page = timely_page
    base_url = live_server.url

    log_in(page, base_url, statistician.username)
    page.goto(f"{base_url}/allocation/")
    expect(page.get_by_role("heading", name=re.compile("Allocation lists"))).to_be_visible()
    expect(page.locator("#strata-table")).to_contain_text("No allocation lists yet.")

    # An imported CSV with a repeated sequence is refused line by line; no list is created.
    bad_csv = tmp_path / "bad_list.csv"
    bad_csv.write_text("sequence,arm\n1,CTRL\n1,EXP\n")
    page.locator("#id_imp-site").select_option(value=str(site_a.pk))
    page.locator("#id_imp-age_group").select_option(value="<35")
    page.locator("#id_imp-file").set_input_files(str(bad_csv))
    page.get_by_role("button", name="Import draft").click()
    expect(page).to_have_url(re.compile(r"/allocation/$"))
    expect(page.locator('.invalid-feedback[data-field="file"]')).to_have_text(
        "Line 3: Sequence 1 appears again (first on line 2)."
    )
    assert not AllocationList.objects.filter(site=site_a, age_group="<35").exists()

    # Generate a draft for SZ >=35.
    page.goto(f"{base_url}/allocation/")
    page.locator("#id_gen-site").select_option(value=str(site_a.pk))
    page.locator("#id_gen-age_group").select_option(value=">=35")
    expect(page.locator("#id_gen-seed")).to_have_count(0)  # the server draws the seed
    page.locator("#id_gen-length").fill("20")
    page.locator("#id_gen-block_sizes").fill("2,4")
    page.get_by_role("button", name="Generate draft").click()
    expect(page).to_have_url(re.compile(r"/allocation/\d+/$"))
    expect(page.locator("#list-status")).to_have_text("Draft")
    expect(page.locator("#slot-table tr[data-sequence]")).to_have_count(20)
    expect(page.locator("#list-hash")).to_have_count(0)

    allocation_list = AllocationList.objects.get(site=site_a, age_group=">=35")
    assert allocation_list.status == "draft"
    assert re.fullmatch(r"[0-9a-f]{64}", allocation_list.seed_hex) and allocation_list.seed_source == "server"
    expect(page.locator("#seed-value")).to_have_text(allocation_list.seed_hex)
    assert allocation_list.block_sizes == [2, 4]
    assert allocation_list.slots.count() == 20
    assert page.url.endswith(f"/allocation/{allocation_list.pk}/")

    # Put live: the list is frozen with its SHA-256.
    page.get_by_role("button", name="Put live (freezes the list)").click()
    expect(page.locator("#list-status")).to_have_text("Live")
    list_hash = page.locator("#list-hash")
    expect(list_hash).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_role("button", name="Put live (freezes the list)")).to_have_count(0)
    allocation_list.refresh_from_db()
    assert allocation_list.status == "live"
    assert re.fullmatch(r"[0-9a-f]{64}", allocation_list.sha256)
    expect(list_hash).to_have_text(allocation_list.sha256)
    expect(page.get_by_role("alert")).to_contain_text(f"SHA-256 {allocation_list.sha256}.")

    # The overview shows the stratum with 20 slots, none used.
    page.get_by_role("link", name="All lists").click()
    expect(page).to_have_url(re.compile(r"/allocation/$"))
    row = page.locator(f'#strata-table tr[data-list="{allocation_list.pk}"]')
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(0)).to_have_text(f"{site_a.code} >=35")
    expect(cells.nth(1)).to_have_text("Live")
    expect(cells.nth(4)).to_have_text("20")
    expect(cells.nth(5)).to_have_text("0")
    expect(cells.nth(6)).to_have_text("20")
    expect(cells.nth(7)).to_have_text(allocation_list.sha256)
    expect(page.locator("#strata-table tr[data-list]")).to_have_count(1)
    assert not AllocationList.objects.filter(site=site_a, age_group="<35").exists()
