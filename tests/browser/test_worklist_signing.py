"""Browser journey from the worklist to a signature (issue 20): the investigator logs in and lands on her
worklist, which lists the casebook ready to sign (and not the one with a form missing, nor another site's);
its link opens the review page at the signature, which shows what is signed (forms, states, open items, the
casebook hash); she re-enters her password, chooses the meaning and signs there."""

import re

import pytest
from playwright.sync_api import Page, expect

from quality import selectors
from quality import services as quality
from quality.models import CasebookSignature, SignatureMeaning
from tests.browser.helpers import log_in
from tests.factories import PASSWORD, make_user, screen, site

PHONE = {"width": 390, "height": 844}


def _choose_meaning(form, value: str) -> None:
    """The meaning is chosen explicitly, whether the form offers it as radio buttons or as a list."""
    listed = form.locator('select[name="meaning"]')
    if listed.count():
        listed.select_option(value)
    else:
        form.locator(f'input[name="meaning"][value="{value}"]').check()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_investigator_signs_a_ready_casebook_from_her_worklist(
    timely_page: Page, live_server, site_a, staff_site_a, monitor, investigator_site_a
):
    base_url = live_server.url
    ready = screen(site_a, staff_site_a, eligible=False)  # complete with its screening form alone
    quality.form_verify(patient=ready, form="screening", by=monitor)
    waiting = screen(site_a, staff_site_a)  # eligible: consent still to come, not ready
    site_b = site("BJ", "Second site (Beijing)")
    elsewhere = screen(site_b, make_user("staff_b", "site_staff", site_b), eligible=False)
    content_hash = selectors.casebook_get(ready).content_hash

    # (1) Logging in lands on the worklist, which lists the ready casebook and nothing else to sign.
    page = timely_page
    page.set_viewport_size(PHONE)
    log_in(page, base_url, investigator_site_a.get_username())
    expect(page).to_have_url(f"{base_url}/")
    to_sign = page.locator('#worklist-investigator [data-item="casebooks_to_sign"]')
    expect(to_sign).to_have_attribute("data-count", "1")
    expect(to_sign.get_by_role("link", name=ready.study_id, exact=True)).to_be_visible()
    for other in (waiting, elsewhere):
        expect(page.get_by_text(other.study_id)).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # (2) Its link opens the review page at the signature, which shows what would be signed.
    to_sign.get_by_role("link", name=ready.study_id, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/quality/casebook/{ready.study_id}/#signature$"))
    card = page.locator("#signature")
    expect(card).to_be_in_viewport()
    expect(card.locator('[data-signed-form="screening"]')).to_contain_text("verified")
    expect(card.locator("#casebook-hash")).to_have_text(content_hash)
    expect(card.locator("#sign-blockers")).to_have_count(0)
    expect(card.locator("#no-open-items")).to_be_visible()

    # (3) She signs there: user name and password again, the meaning chosen.
    form = card.locator("#sign-form")
    form.get_by_label("User name").fill(investigator_site_a.get_username())
    form.get_by_label("Password").fill(PASSWORD)
    _choose_meaning(form, SignatureMeaning.APPROVAL.value)
    form.get_by_role("button", name="Sign casebook").click()
    expect(page.get_by_role("alert").filter(has_text="Casebook signed.")).to_have_count(1)

    signature = CasebookSignature.objects.get(patient=ready)
    assert (signature.signer, signature.meaning, signature.content_hash) == (
        investigator_site_a,
        "approval",
        content_hash,
    )
    record = page.locator("#signature-record")
    expect(record).to_have_attribute("data-valid", "true")
    expect(record).to_contain_text(investigator_site_a.get_full_name())
    expect(record).to_contain_text(str(SignatureMeaning.APPROVAL.label))
    expect(page.locator("#sign-form")).to_have_count(0)

    # (4) Back on the worklist, nothing is left to sign.
    page.goto(f"{base_url}/")
    expect(page.locator('#worklist-investigator [data-item="casebooks_to_sign"]')).to_have_attribute("data-count", "0")
