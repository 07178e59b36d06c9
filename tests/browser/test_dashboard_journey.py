"""Browser journeys of the trial dashboard: a stale snapshot, its charts and tables, and a recomputation."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from analysis import services
from analysis.models import JobStatus, StatisticsJob, StatisticsSnapshot
from core.audit import audited
from core.models import Trial
from labs.services import lab_draw_record
from outcomes.services import adverse_event_record
from tests.browser.helpers import log_in, timely_context
from tests.factories import adverse_event_form, randomized_patient
from tests.factories import screen as screen_patient


@pytest.fixture
def no_recompute_on_change(settings):
    """Changes only mark the snapshot stale: nothing recomputes behind the test's back."""
    settings.STATISTICS_RECOMPUTE_ON_CHANGE = False


def _small_trial(site, staff, statistician, n: int = 6) -> list:
    """n randomized women, the first four with a baseline draw (so the box plots have values), and
    adverse events in the first two (so at least one risk ratio is estimable for the forest plot)."""
    patients = [randomized_patient(site, staff, statistician) for _ in range(n)]
    drawn_at = timezone.now() - timedelta(hours=1)
    for value, patient in zip(("5.2", "6.8", "7.4", "9.1"), patients, strict=False):
        entries = [("FSH", value, "IU/L"), ("LH", "5.0", "IU/L"), ("E2", "300", "pmol/L")]
        lab_draw_record(patient=patient, timepoint="BASELINE", drawn_at=drawn_at, entries=entries, by=staff)
    for patient in patients[:2]:
        adverse_event_record(patient=patient, data=adverse_event_form(), by=staff)
    return patients


def _first_snapshot() -> StatisticsSnapshot:
    """Request and compute a snapshot, whichever way Celery runs.

    Eager Celery (no broker) runs the task when the job's row commits, i.e. already inside
    statistics_request here (autocommit); statistics_compute then only returns the job's snapshot.
    With a real broker nothing consumes the job in the test, and statistics_compute does the work.
    """
    job, queued = services.statistics_request()
    assert queued
    snapshot = services.statistics_compute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.snapshot_id == snapshot.pk
    return snapshot


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_investigator_sees_charts_triggers_a_recomputation_and_watches_it_finish(
    timely_page: Page,
    live_server,
    site_a,
    staff_site_a,
    statistician,
    investigator_site_a,
    no_recompute_on_change,
):
    page = timely_page
    base_url = live_server.url
    _small_trial(site_a, staff_site_a, statistician)
    first = _first_snapshot()
    assert first.patients == 6
    assert first.payload["dashboard"]["consort"]["counts"]["randomized"] == 6
    assert not services.snapshot_is_stale(first)

    # One more woman is randomized: the stored figures are now out of date.
    randomized_patient(site_a, staff_site_a, statistician)
    assert services.snapshot_is_stale(first)

    log_in(page, base_url, investigator_site_a.username)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    banner = page.locator("#snapshot-banner")
    expect(banner).to_have_attribute("data-stale", "true")
    expect(banner).to_contain_text("Data changed since — recomputation pending")
    expect(banner).to_contain_text(re.compile(r"Computed at \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\)\s+from data as of"))
    expect(page.locator("#snapshot-patients")).to_have_text("6")
    expect(page.locator("#population-switch .active")).to_have_attribute("data-population", "itt")
    expect(page.locator("#blinded-note")).to_have_count(0)

    # The CONSORT diagram shows the snapshot's counts, each linked to its patients.
    randomized_box = page.locator('#consort [data-box="randomized"]')
    expect(randomized_box).to_have_text("6")
    expect(randomized_box).to_have_attribute("href", "/patients/?consort=randomized")
    expect(page.locator('#consort [data-box="assessed"]')).to_have_text("6")
    allocated = [page.locator(f'#consort [data-box="allocated_{arm}"]').inner_text() for arm in ("CTRL", "EXP")]
    assert sum(int(n) for n in allocated) == 6

    # Tables are rendered on the server: outcomes with comparisons, labs by time point.
    expect(page.locator("#outcomes-table tbody tr")).to_have_count(8)
    expect(page.locator('#outcomes-table tr[data-key="any_adverse_event"] [data-stat="risk_ratio"]')).to_contain_text(
        re.compile(r"^\d+\.\d\d \(\d+\.\d\d to \d+\.\d\d\)")
    )
    fsh_baseline = page.locator('table[data-lab-table="FSH"] tr[data-key="lab.FSH.BASELINE"]')
    expect(fsh_baseline.locator("th")).to_have_text("BASELINE")

    # Chart.js drew the forest plot, the box plots and the enrollment curve.
    expect(page.locator("canvas#forest-plot")).to_have_attribute("data-drawn", "true")
    expect(page.locator('canvas[data-box-plot="FSH"]')).to_have_attribute("data-drawn", "true")
    expect(page.locator("canvas#enrollment-chart")).to_have_attribute("data-drawn", "true")

    # A table downloads as CSV, for the population shown.
    with page.expect_download() as download_info:
        page.locator('#outcomes a[data-csv="outcomes"]').click()
    download = download_info.value
    assert download.suggested_filename == f"outcomes-itt-{first.pk}.csv"
    with open(download.path(), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith("key,label,")
    assert [line.split(",")[0] for line in lines[1:3]] == ["clinical_pregnancy", "implantation"]

    # Recompute: the progress bar shows the job, and the page reloads once it is done.
    progress = page.locator("#job-progress")
    expect(progress).to_be_hidden()
    with page.expect_navigation():
        page.get_by_role("button", name="Recompute now").click()
        expect(progress).to_be_visible()
        expect(page.locator("#job-status")).to_contain_text(re.compile(r"Requesting|Queued|Running|Done"))

    expect(banner).to_have_attribute("data-stale", "false")
    expect(banner).not_to_contain_text("recomputation pending")
    expect(page.locator("#snapshot-patients")).to_have_text("7")
    expect(randomized_box).to_have_text("7")
    expect(progress).to_be_hidden()
    expect(page.locator("canvas#forest-plot")).to_have_attribute("data-drawn", "true")

    job = StatisticsJob.objects.latest("requested_at")
    assert job.status == JobStatus.DONE and job.requested_by == investigator_site_a
    assert job.snapshot.patients == 7 and job.snapshot_id != first.pk
    assert StatisticsSnapshot.objects.count() == 2


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_tables_are_complete_and_recompute_redirects(
    browser: Browser, live_server, site_a, staff_site_a, statistician, investigator_site_a, no_recompute_on_change
):
    context = timely_context(browser, java_script_enabled=False)
    page = context.new_page()
    base_url = live_server.url
    _small_trial(site_a, staff_site_a, statistician, n=4)

    log_in(page, base_url, investigator_site_a.username)
    page.goto(f"{base_url}/dashboard/")
    expect(page.locator("#no-snapshot")).to_have_text("No statistics have been computed yet.")
    expect(page.locator("#snapshot-banner")).to_have_attribute("data-stale", "true")

    page.get_by_role("button", name="Recompute now").click()
    expect(page).to_have_url(re.compile(r"/dashboard/\?job=\d+$"))
    expect(page.locator("#job-requested")).to_be_visible()
    # Eager Celery ran the job inside the request: the figures are already there.
    expect(page.locator("#snapshot-banner")).to_have_attribute("data-stale", "false")
    expect(page.locator('#consort [data-box="randomized"]')).to_have_text("4")
    expect(page.locator("#outcomes-table tbody tr")).to_have_count(8)
    expect(page.locator('table[data-lab-table="FSH"] tr[data-key="lab.FSH.BASELINE"] td').nth(1)).not_to_be_empty()
    expect(page.locator("canvas#forest-plot")).not_to_have_attribute("data-drawn", "true")

    page.locator('#population-switch [data-population="per_protocol"]').click()
    expect(page).to_have_url(re.compile(r"/dashboard/\?population=per_protocol$"))
    expect(page.locator("#population-switch .active")).to_have_attribute("data-population", "per_protocol")
    expect(page.locator('#table1 a[data-csv="table1"]')).to_have_attribute(
        "href", "/dashboard/tables/table1.csv?population=per_protocol"
    )
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_blinded_investigator_sees_pooled_figures_only(
    timely_page: Page, live_server, site_a, staff_site_a, statistician, investigator_site_a, no_recompute_on_change
):
    page = timely_page
    _small_trial(site_a, staff_site_a, statistician, n=4)
    screen_patient(site_a, staff_site_a, eligible=False)
    with audited(by=statistician, reason="test setup: blind the results"):
        Trial.objects.update(results_blinded=True)
    _first_snapshot()

    log_in(page, live_server.url, investigator_site_a.username)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#blinded-note")).to_have_text("Results are blinded: pooled over arms.")
    outcomes = page.locator("#outcomes-table")
    expect(outcomes.locator("thead th[data-arm]")).to_have_count(1)
    expect(outcomes.locator("thead th[data-arm]")).to_contain_text("All arms")
    expect(outcomes).not_to_contain_text("Risk ratio")
    expect(outcomes.locator('td[data-arm="CTRL"], td[data-arm="EXP"]')).to_have_count(0)
    expect(page.locator("canvas#forest-plot")).to_have_count(0)
    expect(page.locator('canvas[data-box-plot="FSH"]')).to_have_attribute("data-drawn", "true")
    expect(page.locator('#consort [data-box="excluded_ineligible"]')).to_have_text("1")
