"""The audit history in the browser on a phone (issue 20, item 6): it fits 390 px (the table scrolls inside
its box), a filter chosen from its list narrows the rows, and the CSV link downloads the filtered rows."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import log_in
from tests.core.readable_audit_records import corrected_everywhere

PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_history_fits_a_phone_filters_and_downloads(
    timely_page: Page, live_server, site_a, staff_site_a, statistician, monitor, language
):
    page, base_url = timely_page, live_server.url
    patient = corrected_everywhere(site_a, staff_site_a, statistician, monitor)
    page.set_viewport_size(PHONE)
    log_in(page, base_url, staff_site_a.username)
    page.context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
    page.goto(f"{base_url}/patients/{patient.study_id}/history/")
    expect(page.locator("#audit-table tbody tr").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.locator("#id_record").select_option("baseline")
    page.locator("#id_field").select_option("weight_kg")
    page.locator("#audit-filters button[type=submit]").click()
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(2)  # the weight as entered, then as corrected
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.field)")) == {"weight_kg"}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    with page.expect_download() as download:
        page.locator("#audit-csv").click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    written = list(csv.reader(io.StringIO(content)))
    assert len(written) == 1 + 2  # the header and the two rows shown
    assert {row[7] for row in written[1:]} == {"", "56.0"} and {row[8] for row in written[1:]} == {"56.0", "58.5"}
