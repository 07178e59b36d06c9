"""Browser journeys of lab data: staff enter a draw by hand, and upload a CSV that is checked before import."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from labs.models import LabDraw, LabImport, LabResult
from tests.browser.helpers import log_in
from tests.factories import randomized_patient, with_transfer

HEADER = "study_id,timepoint,drawn_at,analyte,value,unit"
DRAWN_AT = "2025-01-01T08:00:00+08:00"


@pytest.fixture
def upload_dir(settings, tmp_path):
    """Checked uploads are kept between preview and confirmation; keep them out of the project tree."""
    settings.LAB_UPLOAD_DIR = tmp_path / "uploads"
    return settings.LAB_UPLOAD_DIR


def _fill_draw(page: Page, *, drawn_at: str, fsh: str) -> None:
    page.locator("#id_timepoint").select_option("BASELINE")
    page.locator("#id_drawn_at").fill(drawn_at)
    page.locator("#id_FSH_value").fill(fsh)
    page.locator("#id_FSH_unit").select_option("IU/L")
    page.locator("#id_LH_value").fill("120")
    page.locator("#id_LH_unit").select_option("IU/L")
    page.locator("#id_E2_value").fill("50")
    page.locator("#id_E2_unit").select_option("pg/mL")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_enters_a_draw_and_sees_the_out_of_range_value_flagged(
    timely_page: Page, live_server, site_a, staff_site_a, statistician
):
    page = timely_page
    base_url = live_server.url
    patient = with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)
    study_id = patient.study_id
    drawn_at = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    log_in(page, base_url, staff_site_a.username)
    page.goto(f"{base_url}/patients/{study_id}/")
    expect(page.locator("#labs-card")).to_contain_text("No lab draws yet.")
    page.locator("#labs-card").get_by_role("link", name="Enter lab draw").click()
    expect(page).to_have_url(re.compile(rf"/labs/draw/{study_id}/$"))

    # A non-numeric FSH is refused beside FSH, and the whole draw is not saved.
    _fill_draw(page, drawn_at=drawn_at, fsh="abc")
    page.get_by_role("button", name="Save draw").click()
    expect(page).to_have_url(re.compile(rf"/labs/draw/{study_id}/$"))
    fsh_error = page.locator('tr[data-analyte="FSH"] .invalid-feedback[data-field="FSH_value"]')
    expect(fsh_error).to_have_text("FSH: 'abc' is not a number (use digits, optionally with < or >).")
    expect(page.locator("#id_FSH_value")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    expect(page.locator("#id_FSH_value")).to_have_value("abc")
    expect(page.locator("#id_LH_value")).to_have_value("120")
    expect(page.locator("#id_E2_unit")).to_have_value("pg/mL")
    assert not LabDraw.objects.filter(patient=patient).exists()
    assert not LabResult.objects.exists()

    # Corrected and saved.
    _fill_draw(page, drawn_at=drawn_at, fsh="6.2")
    page.get_by_role("button", name="Save draw").click()
    expect(page).to_have_url(re.compile(rf"/patients/{study_id}/$"))
    alerts = page.get_by_role("alert")
    expect(alerts.filter(has_text="Lab draw saved: Baseline (ET day, before the first dose).")).to_have_count(1)
    expect(alerts.filter(has_text="Outside the reference range: LH high.")).to_have_count(1)
    expect(page.locator("#labs-card [data-window-warning]")).to_have_count(0)

    timeline = page.locator("#lab-timeline")
    lh = timeline.locator('tr[data-analyte="LH"] span[data-flag]')
    expect(lh).to_have_count(1)
    expect(lh).to_have_attribute("data-flag", "high")
    expect(lh).to_have_text("120.00")  # to LH's display decimals
    fsh = timeline.locator('tr[data-analyte="FSH"] span[data-flag]')
    expect(fsh).to_have_attribute("data-flag", "normal")
    expect(fsh).to_have_text("6.20")
    e2_row = timeline.locator('tr[data-analyte="E2"]')
    expect(e2_row.locator("span[data-flag]")).to_have_attribute("data-flag", "normal")
    expect(e2_row.locator("span[data-flag]")).to_have_text("183.6")  # stored 183.55
    expect(e2_row).to_contain_text("entered 50 pg/mL")
    expect(timeline.locator('tr[data-analyte="CA125"] span[data-flag]')).to_have_count(0)

    # Charts are drawn (Chart.js loaded and ran) for each measured analyte only.
    expect(page.locator('canvas[data-chart="LH"]')).to_have_attribute("data-drawn", "true")
    expect(page.locator("canvas[data-chart]")).to_have_count(3)
    expect(page.locator('canvas[data-chart][data-drawn="true"]')).to_have_count(3)

    draw = LabDraw.objects.get(patient=patient)
    assert draw.timepoint.code == "BASELINE"
    assert timezone.localtime(draw.drawn_at).strftime("%Y-%m-%dT%H:%M") == drawn_at
    assert draw.window_warning == ""
    results = {r.analyte.code: r for r in draw.results.select_related("analyte")}
    assert set(results) == {"FSH", "LH", "E2"}
    assert (results["LH"].canonical_value, results["LH"].flag) == (Decimal("120"), "high")
    assert (results["FSH"].canonical_value, results["FSH"].flag) == (Decimal("6.2"), "normal")
    assert (results["E2"].canonical_value, results["E2"].flag) == (Decimal("183.55"), "normal")
    assert (results["E2"].value_as_entered, results["E2"].unit_as_entered) == ("50", "pg/mL")


def _write_csv(path, rows: list[str]):
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _check_file(page: Page, base_url: str, path) -> None:
    page.goto(f"{base_url}/patients/")
    page.get_by_role("link", name="Import labs").click()
    expect(page).to_have_url(re.compile(r"/labs/import/$"))
    page.locator("#id_file").set_input_files(str(path))
    page.get_by_role("button", name="Check file").click()
    expect(page.locator("#import-preview")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_uploads_a_file_with_bad_rows_and_nothing_is_imported(
    timely_page: Page, live_server, site_a, staff_site_a, statistician, tmp_path, upload_dir
):
    page = timely_page
    base_url = live_server.url
    first = randomized_patient(site_a, staff_site_a, statistician).study_id
    second = randomized_patient(site_a, staff_site_a, statistician).study_id
    unknown = "SZ-9999"
    assert len({first, second, unknown}) == 3

    good = {
        2: f"{first},BASELINE,{DRAWN_AT},FSH,6.2,IU/L",
        3: f"{first},BASELINE,{DRAWN_AT},LH,5.1,IU/L",
        5: f"{second},BASELINE,{DRAWN_AT},FSH,7.0,mIU/mL",
        7: f"{second},BASELINE,{DRAWN_AT},E2,300,pmol/L",
        9: f"{second},BASELINE,{DRAWN_AT},CA125,12,U/mL",
    }
    bad = {
        4: f"{first},BASELINE,{DRAWN_AT},E2,abc,pg/mL",
        6: f"{second},BASELINE,{DRAWN_AT},LH,4.4,mmol/L",
        8: f"{unknown},BASELINE,{DRAWN_AT},FSH,5.0,IU/L",
    }
    lines = {**good, **bad}
    bad_file = _write_csv(tmp_path / "labs_bad.csv", [lines[n] for n in sorted(lines)])

    log_in(page, base_url, staff_site_a.username)

    # Every row is checked: the three bad ones are listed by line with their reasons; nothing is imported.
    _check_file(page, base_url, bad_file)
    expect(page.locator("#import-preview")).to_contain_text("8 rows")
    expect(page.locator('[data-count="bad"]')).to_have_text("3")
    expect(page.get_by_role("alert").filter(has_text="3 row(s) have problems.")).to_contain_text(
        "Nothing will be imported until they are fixed."
    )
    error_rows = page.locator("#import-errors tr[data-row]")
    expect(error_rows).to_have_count(3)
    expected_errors = {
        4: ("value", "E2: 'abc' is not a number (use digits, optionally with < or >)."),
        6: ("unit", "LH: Unit 'mmol/L' is not accepted here; use one of: IU/L, mIU/mL."),
        8: ("study_id", f"Unknown study id '{unknown}' at your sites."),
    }
    for index, (line, (column, message)) in enumerate(sorted(expected_errors.items())):
        row = error_rows.nth(index)
        expect(row).to_have_attribute("data-row", str(line))
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(str(line))
        expect(cells.nth(1)).to_have_text(column)
        expect(cells.nth(2)).to_have_text(message)
    expect(page.get_by_role("button", name="Import now")).to_have_count(0)
    assert not LabDraw.objects.exists()
    assert not LabResult.objects.exists()
    assert not LabImport.objects.exists()

    # The corrected file: every row would be created, and nothing is written before confirmation.
    fixed = {
        **good,
        4: f"{first},BASELINE,{DRAWN_AT},E2,55,pg/mL",
        6: f"{second},BASELINE,{DRAWN_AT},LH,4.4,IU/L",
    }
    n = len(fixed)
    fixed_file = _write_csv(tmp_path / "labs_fixed.csv", [fixed[k] for k in sorted(fixed)])
    page.get_by_role("link", name="Upload another file").click()
    _check_file(page, base_url, fixed_file)
    expect(page.locator("#import-errors")).to_have_count(0)
    expect(page.locator('[data-count="create"]')).to_have_text(str(n))
    expect(page.locator('[data-count="update"]')).to_have_text("0")
    expect(page.locator('[data-count="unchanged"]')).to_have_text("0")
    expect(page.locator('[data-count="bad"]')).to_have_text("0")
    # No transfer is recorded for either woman: a warning per draw, which does not block the import.
    expect(page.locator("#import-warnings li")).to_have_count(2)
    assert not LabResult.objects.exists()

    page.get_by_role("button", name="Import now").click()
    expect(page).to_have_url(re.compile(r"/labs/import/$"))
    expect(page.get_by_role("alert")).to_contain_text(f"Imported: {n} new, 0 updated, 0 unchanged, 0 skipped.")
    assert LabResult.objects.count() == n
    assert LabDraw.objects.count() == 2
    log = LabImport.objects.get()
    assert (log.rows_total, log.created, log.updated, log.unchanged) == (n, n, 0, 0)
    e2 = LabResult.objects.get(draw__patient__study_id=first, analyte__code="E2")
    assert e2.canonical_value == Decimal("201.905")

    # The same file again changes nothing.
    _check_file(page, base_url, fixed_file)
    expect(page.locator('[data-count="create"]')).to_have_text("0")
    expect(page.locator('[data-count="update"]')).to_have_text("0")
    expect(page.locator('[data-count="unchanged"]')).to_have_text(str(n))
    expect(page.get_by_role("alert").filter(has_text="Nothing to import: every row is already stored.")).to_have_count(
        1
    )
    expect(page.get_by_role("button", name="Import now")).to_have_count(0)
    assert LabResult.objects.count() == n
    assert LabImport.objects.count() == 1
