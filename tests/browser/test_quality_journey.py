"""Browser journey of data quality: a query raised, answered and closed; a casebook signed with the password
re-entered; a casebook locked by the statistician, after which a correction is refused."""

import re
from datetime import UTC
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from patients.models import Baseline, CasebookLock
from quality.models import CasebookSignature, DataQuery, SignatureMeaning
from tests.browser.helpers import TIMEOUT_MS, log_in, timely_context
from tests.factories import PASSWORD, randomizable_patient, screen

QUESTION = "Weight 56 kg differs from the clinic chart (65 kg): please check the source."
ANSWER = "Checked the source: 56 kg is right, the chart entry was the partner's."
CLOSING = "Confirmed against the source document, thank you."
LOCK_REASON = "Interim analysis data freeze"
WRONG_PASSWORD = "not-the-password"
APPROVAL = str(SignatureMeaning.APPROVAL.label)  # a lazy translation in the model
REFUSED_SIGNATURE = "User name or password is not correct: the casebook was not signed."


@pytest.fixture
def browse_as(browser: Browser, live_server):
    """A logged-in page in its own browser context (own cookies) for each user."""
    contexts = []
    expect.set_options(timeout=TIMEOUT_MS)

    def open_page(user) -> Page:
        context = timely_context(browser)
        contexts.append(context)
        page = context.new_page()
        log_in(page, live_server.url, user.get_username())
        return page

    yield open_page
    for context in contexts:
        context.close()


def _alert(page: Page, text: str):
    return page.get_by_role("alert").filter(has_text=text)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_query_signature_and_lock_journey(
    browse_as, live_server, site_a, staff_site_a, monitor, investigator_site_a, statistician
):
    base_url = live_server.url
    consented = randomizable_patient(site_a, staff_site_a)  # consent and baseline (56.0 kg)
    ineligible = screen(site_a, staff_site_a, eligible=False)  # casebook complete with screening alone
    consented_id, ineligible_id = consented.study_id, ineligible.study_id
    baseline_before = Baseline.objects.get(patient=consented, voided_at__isnull=True)
    assert baseline_before.weight_kg == Decimal("56.0")

    # (1) The monitor opens the consented patient's casebook review and raises a query on the weight.
    mon = browse_as(monitor)
    mon.goto(f"{base_url}/patients/{consented_id}/")
    mon.get_by_role("link", name="Casebook review").click()
    expect(mon).to_have_url(re.compile(rf"/quality/casebook/{consented_id}/$"))
    expect(mon.locator('#casebook-forms tr[data-form="baseline"]')).to_have_attribute("data-state", "complete")
    expect(mon.locator("#casebook-queries")).to_contain_text("No queries.")
    raise_form = mon.locator("#raise-query-form")
    raise_form.get_by_label("Form", exact=True).select_option("baseline")
    raise_form.get_by_label("Field", exact=True).select_option("weight_kg")
    raise_form.get_by_label("Question", exact=True).fill(QUESTION)
    raise_form.get_by_role("button", name="Raise query").click()
    expect(mon).to_have_url(re.compile(rf"/quality/casebook/{consented_id}/\?form=baseline#raise-query-form$"))
    expect(_alert(mon, "Query raised.")).to_have_count(1)
    query = DataQuery.objects.get(patient=consented)
    item = mon.locator(f'#casebook-queries [data-query="{query.pk}"]')
    expect(item).to_have_attribute("data-status", "open")
    expect(item).to_have_text(f"#{query.pk} baseline.weight_kg — Open (manual)")
    assert (query.form, query.field, query.status, query.raised_by) == ("baseline", "weight_kg", "open", monitor)

    # (2) Site staff find it in the query list, open it and answer it.
    staff = browse_as(staff_site_a)
    staff.goto(f"{base_url}/quality/queries/")
    row = staff.locator(f'#query-table tr[data-query="{query.pk}"]')
    expect(row).to_have_attribute("data-status", "open")
    expect(row).to_contain_text(consented_id)
    expect(row).to_contain_text("weight_kg")
    expect(row.locator(".badge")).to_have_text("Open")
    expect(row).to_contain_text("monitor")
    expect(row).to_contain_text(QUESTION)
    row.get_by_role("link", name=str(query.pk), exact=True).click()
    expect(staff).to_have_url(re.compile(rf"/quality/queries/{query.pk}/$"))
    expect(staff.locator("#query-status")).to_have_text("Open")
    expect(staff.locator("#query-thread > [data-kind]")).to_have_count(1)
    expect(staff.locator('#query-thread [data-kind="raised"]')).to_contain_text("Raised by monitor")
    expect(staff.locator('#query-thread [data-kind="raised"]')).to_contain_text(QUESTION)
    expect(staff.get_by_role("button", name="Close query")).to_have_count(0)
    staff.get_by_label("Message").fill(ANSWER)
    staff.get_by_role("button", name="Answer").click()
    expect(staff).to_have_url(re.compile(rf"/quality/queries/{query.pk}/$"))
    expect(_alert(staff, "Answer sent to the monitor.")).to_have_count(1)
    expect(staff.locator("#query-status")).to_have_text("Answered")
    expect(staff.locator('#query-thread [data-kind="answered"]')).to_contain_text(
        f"Answered by {staff_site_a.username}"
    )
    expect(staff.locator('#query-thread [data-kind="answered"]')).to_contain_text(ANSWER)
    expect(staff.get_by_role("button", name="Answer")).to_have_count(0)

    # (3) The monitor finds it among the answered queries and closes it.
    mon.goto(f"{base_url}/quality/queries/")
    mon.locator('#query-filters select[name="status"]').select_option("answered")
    mon.get_by_role("button", name="Filter").click()
    expect(mon).to_have_url(re.compile(r"[?&]status=answered"))
    answered_rows = mon.locator("#query-table tbody tr[data-query]")
    expect(answered_rows).to_have_count(1)
    expect(answered_rows.locator(".badge")).to_have_text("Answered")
    expect(answered_rows).to_contain_text(ANSWER)
    answered_rows.get_by_role("link", name=str(query.pk), exact=True).click()
    expect(mon.locator("#query-status")).to_have_text("Answered")
    expect(mon.get_by_role("button", name="Answer")).to_have_count(0)
    expect(mon.get_by_role("button", name="Reopen")).to_be_visible()
    mon.get_by_label("Message").fill(CLOSING)
    mon.get_by_role("button", name="Close query").click()
    expect(_alert(mon, "Query closed.")).to_have_count(1)
    expect(mon.locator("#query-status")).to_have_text("Closed")
    expect(mon.locator("#query-status")).to_have_attribute("data-status", "closed")
    thread = mon.locator("#query-thread > [data-kind]")
    expect(thread).to_have_count(3)
    expected_thread = [
        ("raised", "Raised by monitor", QUESTION),
        ("answered", f"Answered by {staff_site_a.username}", ANSWER),
        ("closed", "Closed by monitor", CLOSING),
    ]
    for index, (kind, who, text) in enumerate(expected_thread):
        expect(thread.nth(index)).to_have_attribute("data-kind", kind)
        expect(thread.nth(index)).to_contain_text(who)
        expect(thread.nth(index)).to_contain_text(text)
    expect(mon.locator("#query-action-form")).to_have_count(0)  # nothing left to do on a closed query
    mon.get_by_role("link", name="casebook review").click()
    expect(mon.locator(f'#casebook-queries [data-query="{query.pk}"]')).to_have_attribute("data-status", "closed")
    expect(mon.locator(f'#casebook-queries [data-query="{query.pk}"]')).to_contain_text("Closed (manual)")

    query.refresh_from_db()
    assert (query.status, query.closed_by, query.closed_at is not None) == ("closed", monitor, True)
    assert list(query.messages.order_by("at", "pk").values_list("kind", "author_name", "text")) == [
        ("raised", "monitor", QUESTION),
        ("answered", staff_site_a.username, ANSWER),
        ("closed", "monitor", CLOSING),
    ]

    # (4) The investigator signs the ineligible patient's casebook: a wrong password is refused, then signed.
    inv = browse_as(investigator_site_a)
    inv.goto(f"{base_url}/quality/casebook/{ineligible_id}/")
    card = inv.locator("#signature")
    expect(card).to_contain_text("Not signed.")
    expect(inv.locator("#sign-blockers")).to_have_count(0)
    expect(inv.locator('#casebook-forms tr[data-form="screening"]')).to_have_attribute("data-state", "complete")
    card.get_by_label("User name").fill(investigator_site_a.username)
    card.get_by_label("Password").fill(WRONG_PASSWORD)
    card.get_by_label(APPROVAL, exact=True).check()
    card.get_by_role("button", name="Sign casebook").click()
    expect(inv).to_have_url(re.compile(rf"/quality/casebook/{ineligible_id}/$"))
    expect(card.locator('.invalid-feedback[data-field="password"]')).to_have_text(REFUSED_SIGNATURE)
    expect(card).to_contain_text("Not signed.")
    expect(inv.locator("#signature-record")).to_have_count(0)
    assert not CasebookSignature.objects.exists()

    card.get_by_label("User name").fill(investigator_site_a.username)
    card.get_by_label("Password").fill(PASSWORD)
    card.get_by_label(APPROVAL, exact=True).check()
    card.get_by_role("button", name="Sign casebook").click()
    expect(_alert(inv, "Casebook signed.")).to_have_count(1)
    signature = CasebookSignature.objects.get(patient=ineligible)
    printed_name = investigator_site_a.get_full_name()
    assert printed_name and signature.printed_name == printed_name
    assert (signature.signer, signature.meaning) == (investigator_site_a, "approval")
    shown = inv.locator("#signature-record")
    expect(shown).to_have_attribute("data-valid", "true")
    expect(shown.locator("strong")).to_have_text(printed_name)
    expect(shown).to_contain_text(f"{signature.signed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    expect(shown).to_contain_text(APPROVAL)
    expect(inv.locator('#casebook-forms tr[data-form="screening"]')).to_have_attribute("data-state", "signed")

    # (5) The statistician locks the consented patient's casebook with a reason.
    stat = browse_as(statistician)
    stat.goto(f"{base_url}/quality/casebook/{consented_id}/")
    lock_card = stat.locator("#lock-card")
    lock_card.get_by_label("Reason").fill(LOCK_REASON)
    lock_card.get_by_role("button", name="Lock casebook").click()
    expect(_alert(stat, "Casebook locked.")).to_have_count(1)
    lock = CasebookLock.objects.get(patient=consented, unlocked_at__isnull=True)
    assert (lock.locked_by, lock.reason) == (statistician, LOCK_REASON)
    expect(stat.locator("#lock-badge")).to_have_text("Locked")
    expect(stat.locator("#casebook-lock")).to_contain_text(f"Casebook locked by {statistician.username}")
    expect(stat.locator("#casebook-lock")).to_contain_text(LOCK_REASON)
    expect(stat.locator('#casebook-forms tr[data-form="baseline"]')).to_have_attribute("data-state", "locked")
    expect(lock_card.get_by_role("button", name="Unlock casebook")).to_be_visible()

    # (6) Staff see the lock on her page, without edit links; a correction posted directly is refused.
    staff.goto(f"{base_url}/patients/{consented_id}/")
    expect(staff.locator("#locked-banner")).to_have_text(
        f"This casebook is locked ({LOCK_REASON}): its data cannot be changed."
    )
    expect(staff.locator('#form-states [data-form="baseline"]')).to_have_attribute("data-state", "locked")
    baseline_card = staff.locator("#baseline-card")
    expect(baseline_card).to_contain_text("160.0 cm / 56.0 kg")
    for name in ("Correct baseline", "Void", "Record baseline"):
        expect(baseline_card.get_by_role("link", name=name, exact=True)).to_have_count(0)
    for name in ("Withdraw", "Void registration", "Record consent"):
        expect(staff.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(staff.locator("#consent-card").get_by_role("link")).to_have_count(0)

    staff.goto(f"{base_url}/patients/{consented_id}/baseline/")
    expect(staff.get_by_role("heading", name="Correct baseline")).to_be_visible()
    staff.get_by_label("Weight (kg)").fill("65")
    staff.get_by_label("Reason").fill("Query answered: weight re-measured")
    staff.get_by_role("button", name="Save").click()
    expect(staff).to_have_url(re.compile(rf"/patients/{consented_id}/baseline/$"))
    locked_at = timezone.localtime(lock.locked_at)
    refusal = staff.locator('[data-testid="form-errors"]')
    expect(refusal).to_have_text(
        f"This casebook was locked by {statistician.username} on {locked_at:%Y-%m-%d %H:%M} ({LOCK_REASON}): "
        "its data cannot be changed. Ask the statistician to unlock it if a correction is needed."
    )
    expect(_alert(staff, "Baseline saved.")).to_have_count(0)

    baseline = Baseline.objects.get(patient=consented, voided_at__isnull=True)
    assert (baseline.pk, baseline.weight_kg, baseline.version) == (
        baseline_before.pk,
        Decimal("56.0"),
        baseline_before.version,
    )
    assert Baseline.objects.filter(patient=consented).count() == 1
    assert CasebookLock.objects.filter(patient=consented, unlocked_at__isnull=True).count() == 1
