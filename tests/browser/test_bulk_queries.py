"""Browser journey of queries at scale (issue 20): a monitor lists the answered queries, ticks them all with
"select all on this page", writes one message and closes the 50 in one action; each keeps its own audit
event. The list and its bulk form fit a phone's width (the table scrolls inside its own box)."""

import re

import pytest
from playwright.sync_api import Browser, expect

from quality.models import DataQuery, QueryMessage, QueryStatus
from tests.browser.helpers import log_in, timely_context
from tests.factories import consented_patient
from tests.quality.many_queries import many_queries

CLOSING = "Checked against the source documents at the monitoring visit."


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_monitor_closes_all_answered_queries_of_the_page_in_one_action(
    browser: Browser, live_server, site_a, staff_site_a, monitor
):
    patient = consented_patient(site_a, staff_site_a)
    answered = many_queries(patient, 50, by=monitor, status=QueryStatus.ANSWERED, days_old=3)
    still_open = many_queries(patient, 3, by=monitor)
    context = timely_context(browser, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, live_server.url, monitor.get_username())

    page.goto(f"{live_server.url}/quality/queries/")
    page.locator('#query-filters select[name="status"]').select_option("answered")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]status=answered"))
    rows = page.locator("#query-table tbody tr[data-query]")
    expect(rows).to_have_count(50)
    expect(rows.first.locator("[data-age-days]")).to_have_text("3")

    page.get_by_label("Select all on this page").check()
    expect(page.locator("input.query-select:checked")).to_have_count(50)
    expect(page.locator("#selected-count")).to_have_text("50")
    page.locator("#bulk-actions textarea[name=message]").fill(CLOSING)
    page.get_by_role("button", name="Close selected").click()

    expect(page.get_by_role("alert").filter(has_text="50 queries closed.")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]status=answered"))
    expect(page.locator("#query-table")).to_contain_text("No queries.")
    ids = [q.pk for q in answered]
    assert set(DataQuery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"closed"}
    assert set(DataQuery.objects.filter(pk__in=[q.pk for q in still_open]).values_list("status", flat=True)) == {"open"}
    assert QueryMessage.objects.filter(query_id__in=ids, kind="closed", text=CLOSING).count() == 50
    events = DataQuery.pgh_event_model.objects.filter(pgh_obj_id__in=ids, status="closed")
    assert sorted(events.values_list("pgh_obj_id", flat=True)) == sorted(ids)
    assert events.values("pgh_context_id").distinct().count() == 50

    # On a phone the filters, the bulk form and the table stay within the screen's width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/quality/queries/")
    for box in ("#query-filters", "#bulk-form", "#query-table"):
        assert (
            page.locator(box).evaluate("e => e.closest('form, .table-responsive').getBoundingClientRect().right") <= 390
        )
    context.close()
