"""The dashboard reads the stored snapshot: its cost does not depend on the number of patients."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analysis import services
from core.models import Trial
from tests.factories import live_list, randomized_patient

pytestmark = pytest.mark.django_db


def _snapshot():
    job, _ = services.statistics_request()
    return services.statistics_compute(job_id=job.pk)


def _dashboard_queries(client, django_assert_max_num_queries) -> int:
    # session, user, her permissions (own and groups'), the latest snapshot with the data's version (is
    # it stale?), the trial (header and blinding, read once), and here the snapshot's figures: each call
    # is the first view of a new snapshot, whose rendered figures are not cached yet. The session is saved
    # at most once a minute (idle timeout), never on these views: see the warm-up.
    with django_assert_max_num_queries(6) as captured:
        response = client.get(reverse("analysis:dashboard"))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_dashboard_query_count_is_the_same_for_10_and_300_patients(
    client, site_a, staff_site_a, statistician, investigator_site_a, django_assert_max_num_queries
):
    live_list(site_a, statistician, length=400)
    for _ in range(10):
        randomized_patient(site_a, staff_site_a, statistician)
    _snapshot()
    client.force_login(investigator_site_a)
    client.get(reverse("patients:list"))  # the first view after login starts the idle-timeout clock
    with_ten = _dashboard_queries(client, django_assert_max_num_queries)
    for _ in range(290):
        randomized_patient(site_a, staff_site_a, statistician)
    assert _snapshot().patients == 300
    assert _dashboard_queries(client, django_assert_max_num_queries) == with_ten


def test_dashboard_and_tables_are_for_investigators_and_statisticians_only(client, staff_site_a, monitor, statistician):
    _snapshot()
    for user, status in ((staff_site_a, 403), (monitor, 403), (statistician, 200)):
        client.force_login(user)
        assert client.get(reverse("analysis:dashboard")).status_code == status
        assert client.get(reverse("analysis:table_csv", args=["outcomes"])).status_code == status
        assert client.post(reverse("analysis:recompute")).status_code in ((403,) if status == 403 else (302,))


def test_every_table_downloads_as_csv(client, site_a, staff_site_a, statistician):
    randomized_patient(site_a, staff_site_a, statistician)
    _snapshot()
    client.force_login(statistician)
    for table in ("table1", "outcomes", "labs", "questionnaires", "consort", "safety", "enrollment", "completeness"):
        response = client.get(reverse("analysis:table_csv", args=[table]), {"population": "per_protocol"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), table
        assert b"\n" in response.content
    assert client.get(reverse("analysis:table_csv", args=["nope"])).status_code == 404


def _figures(response) -> str:
    """The cached part of the page: from the section navigation to the page's scripts."""
    html = response.content.decode()
    return html[html.index('<nav class="mb-3 small"') : html.index("<script")]


def _payload_reads(client, user, **params) -> tuple:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("analysis:dashboard"), params)
    assert response.status_code == 200
    return response, sum('"payload"' in q["sql"] for q in queries.captured_queries)


def test_figures_are_rendered_once_per_snapshot_then_served_from_the_cache(client, site_a, staff_site_a, statistician):
    randomized_patient(site_a, staff_site_a, statistician)
    first = _snapshot()
    rendered, reads = _payload_reads(client, statistician)
    cached, reads_again = _payload_reads(client, statistician)
    assert (reads, reads_again) == (1, 0)  # the figures are read and rendered once, then come from the cache
    assert _figures(cached) == _figures(rendered) and 'data-box="randomized"' in _figures(cached)
    randomized_patient(site_a, staff_site_a, statistician)
    assert _snapshot().pk != first.pk
    newer, reads = _payload_reads(client, statistician)
    assert reads == 1 and _figures(newer) != _figures(rendered)  # a new snapshot: rendered afresh
    assert 'data-box="randomized" title="List these patients">2</a>' in _figures(newer)


def test_cached_figures_are_kept_apart_by_blinding_population_and_language(
    client, site_a, staff_site_a, statistician, investigator_site_a
):
    randomized_patient(site_a, staff_site_a, statistician)
    _snapshot()
    Trial.objects.update(results_blinded=True)
    unblinded, _reads = _payload_reads(client, statistician)
    blinded, reads = _payload_reads(client, investigator_site_a)
    assert reads == 1  # not the statistician's rendering
    assert 'id="blinded-note"' in blinded.content.decode() and 'data-arm="EXP"' not in _figures(blinded)
    assert 'data-arm="EXP"' in _figures(unblinded)
    per_protocol, reads = _payload_reads(client, statistician, population="per_protocol")
    assert reads == 1 and _figures(per_protocol) != _figures(unblinded)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese, reads = _payload_reads(client, statistician)
    assert reads == 1 and "CONSORT 流程图" in _figures(chinese) and "CONSORT 流程图" not in _figures(unblinded)


def test_consort_follow_up_and_analysis_stages_show_each_arms_count_linked_to_its_patients(
    client, site_a, staff_site_a, statistician
):
    for _ in range(3):
        randomized_patient(site_a, staff_site_a, statistician)
    counts = _snapshot().payload["dashboard"]["consort"]["counts"]
    client.force_login(statistician)
    page = client.get(reverse("analysis:dashboard")).content.decode()
    patients = reverse("patients:list")
    for stage, label, prefix in (
        ("Follow-up", "Discontinued (withdrawn or lost to follow-up)", "discontinued_"),
        ("Analysis", "Analysed, intention to treat", "analysed_itt_"),
    ):
        assert f'<div class="consort-stage text-muted mb-1 mt-3">{stage}</div>' in page
        for arm in ("CTRL", "EXP"):
            box = f"{prefix}{arm}"
            link = f'href="{patients}?consort={box}" data-box="{box}"'
            assert link in page and f'{label} (n = <a class="consort-count" {link}' in page
            assert f'data-box="{box}" title="List these patients">{counts[box]}</a>' in page
    assert page.index(">Follow-up<") < page.index("discontinued_CTRL") < page.index(">Analysis<")
    assert page.index(">Analysis<") < page.index('data-box="analysed_itt_CTRL"')


def test_the_page_says_the_figures_are_stale_once_data_changed_after_them(
    client, site_a, staff_site_a, statistician, django_capture_on_commit_callbacks
):
    """The data's version is read with the snapshot (one query): a change after it shows the warning."""
    randomized_patient(site_a, staff_site_a, statistician)
    snapshot = _snapshot()
    client.force_login(statistician)
    fresh = client.get(reverse("analysis:dashboard")).content.decode()
    assert 'data-stale="false"' in fresh and 'id="stale-warning"' not in fresh
    with django_capture_on_commit_callbacks(execute=True):  # the data's version moves on at commit
        randomized_patient(site_a, staff_site_a, statistician)
    stale = client.get(reverse("analysis:dashboard")).content.decode()
    assert 'data-stale="true"' in stale and 'id="stale-warning"' in stale
    assert f'data-snapshot="{snapshot.pk}"' in stale  # still the same figures, now marked stale
