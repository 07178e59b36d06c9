"""The query list at scale (issue 20): 50 a page with page links that keep the filters, every filter
narrowing the list, bad filters and page numbers reported and ignored (never a 500), another site's
queries never listed, ages in whole days, a bounded number of database queries, and the page in Chinese."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from quality.models import DataQuery, QueryOrigin, QueryStatus
from tests.factories import consented_patient
from tests.quality.many_queries import many_queries

pytestmark = pytest.mark.django_db

URL = reverse("quality:queries")


def _rows(response) -> set[int]:
    assert response.status_code == 200, response.status_code
    return {int(pk) for pk in re.findall(r'<tr data-query="(\d+)"', response.content.decode())}


def _pks(queries) -> set[int]:
    return {q.pk for q in queries}


@pytest.fixture
def patient_a(site_a, staff_site_a):
    return consented_patient(site_a, staff_site_a)


@pytest.fixture
def patient_b(site_b, staff_site_b):
    return consented_patient(site_b, staff_site_b)


@pytest.fixture
def mixed(patient_a, patient_b, monitor):
    """Queries of both sites that differ in one respect each, so every filter has something to leave out."""
    return {
        "a_open": many_queries(patient_a, 2, by=monitor),
        "a_answered": many_queries(patient_a, 2, by=monitor, status=QueryStatus.ANSWERED, field="weight_kg"),
        "a_closed_old": many_queries(patient_a, 1, by=monitor, status=QueryStatus.CLOSED, days_old=30),
        "a_automatic_old": many_queries(
            patient_a, 2, origin=QueryOrigin.AUTOMATIC, form="labs:ET14", field="E2", days_old=20
        ),
        "b_open": many_queries(patient_b, 2, by=monitor, form="baseline", field="height_cm"),
    }


def test_the_list_shows_50_a_page_and_page_links_keep_the_filters(client, patient_a, monitor):
    many_queries(patient_a, 60, by=monitor)
    many_queries(patient_a, 3, by=monitor, status=QueryStatus.ANSWERED)
    client.force_login(monitor)
    first = client.get(URL, {"status": "open"})
    assert len(_rows(first)) == 50
    page = first.content.decode()
    assert "status=open&amp;page=2" in page and "1–50 of 60 queries shown" in page
    second = client.get(URL, {"status": "open", "page": "2"})
    assert len(_rows(second)) == 10
    assert _rows(first).isdisjoint(_rows(second))
    assert _rows(first) | _rows(second) == _pks(DataQuery.objects.filter(status="open"))


@pytest.mark.parametrize("page, shown", [("999", 2), ("abc", 1), ("-1", 2), ("0", 2), ("1" * 40, 2)])
def test_a_bad_page_number_shows_a_real_page_and_says_so(client, patient_a, monitor, page, shown):
    many_queries(patient_a, 55, by=monitor)
    client.force_login(monitor)
    response = client.get(URL, {"page": page})
    assert len(_rows(response)) == (50 if shown == 1 else 5)
    assert 'id="page-note"' in response.content.decode()


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"site": "BJ"}, ["b_open"]),
        ({"form": "labs:ET14"}, ["a_automatic_old"]),
        ({"field": "WEIGHT_KG"}, ["a_answered"]),
        ({"status": "answered"}, ["a_answered"]),
        ({"origin": "automatic"}, ["a_automatic_old"]),
        ({"min_age": "15"}, ["a_closed_old", "a_automatic_old"]),
        ({"study_id": "bj-0001"}, ["b_open"]),
        ({"site": "SZ", "origin": "manual", "status": "open"}, ["a_open"]),
    ],
)
def test_each_filter_narrows_the_list(client, mixed, monitor, params, expected):
    client.force_login(monitor)
    assert _rows(client.get(URL)) == _pks(q for group in mixed.values() for q in group)
    assert _rows(client.get(URL, params)) == _pks(q for name in expected for q in mixed[name])


def test_another_sites_queries_are_never_listed(client, mixed, staff_site_b):
    client.force_login(staff_site_b)
    own = _pks(mixed["b_open"])
    assert _rows(client.get(URL)) == own
    # Site A is not one of their choices: the filter is refused and ignored, never widened.
    assert _rows(client.get(URL, {"site": "SZ"})) == own
    assert _rows(client.get(URL, {"study_id": "SZ-0001"})) == set()
    assert _rows(client.get(URL, {"form": "labs:ET14"})) == own
    assert "labs:ET14" not in client.get(URL).content.decode()  # not even as a form choice


@pytest.mark.parametrize(
    "params",
    [
        {"min_age": "abc"},
        {"min_age": "-3"},
        {"min_age": "9" * 30},
        {"status": "bogus"},
        {"origin": "<script>"},
        {"site": "XX"},
        {"form": "nope"},
        {"study_id": "S" * 200},
        {"field": "f" * 500},
    ],
)
def test_a_bad_filter_is_reported_and_ignored(client, mixed, monitor, params):
    client.force_login(monitor)
    response = client.get(URL, {**params, "status": params.get("status", "open")})
    page = response.content.decode()
    assert 'id="filter-errors"' in page
    name = next(iter(params))
    assert f'data-filter-error="{name}"' in page
    if name != "status":  # the good filter beside the bad one still applies
        assert _rows(response) == _pks(mixed["a_open"] + mixed["a_automatic_old"] + mixed["b_open"])


def test_ages_are_whole_days_in_the_list_and_the_thread(client, patient_a, monitor):
    (old,) = many_queries(patient_a, 1, by=monitor, days_old=40)
    (closed,) = many_queries(patient_a, 1, by=monitor, status=QueryStatus.CLOSED, days_old=10)
    DataQuery.objects.filter(pk=closed.pk).update(closed_at=timezone.now() - timedelta(days=3))
    (fresh,) = many_queries(patient_a, 1, by=monitor)
    client.force_login(monitor)
    page = client.get(URL).content.decode()
    ages = dict(re.findall(r'<tr data-query="(\d+)".*?data-age-days="(-?\d+)"', page, flags=re.S))
    assert ages == {str(old.pk): "40", str(closed.pk): "7", str(fresh.pk): "0"}
    assert "minute" not in page and "month" not in page
    assert "open 40 days" in client.get(reverse("quality:query", args=[old.pk])).content.decode()
    assert "closed after 7 days" in client.get(reverse("quality:query", args=[closed.pk])).content.decode()


def _count_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return len(captured)


def test_the_list_costs_the_same_queries_for_3_and_50_rows(
    client, patient_a, patient_b, monitor, django_assert_max_num_queries
):
    many_queries(patient_a, 2, by=monitor)
    many_queries(patient_b, 1, by=monitor, status=QueryStatus.ANSWERED)
    client.force_login(monitor)
    _count_queries(client)  # the first request fills per-process caches (the trial, the roles)
    few = _count_queries(client)
    many_queries(patient_a, 80, by=monitor)
    many_queries(patient_b, 80, origin=QueryOrigin.AUTOMATIC)
    # Session, user, the user's permissions, the sites (choices), the queries' forms (choices), the count, one
    # page of queries with patient, site and users joined, their messages, the trial (the layout): none per row.
    with django_assert_max_num_queries(9):
        assert client.get(URL, {"page": "2"}).status_code == 200
    assert _count_queries(client) == few


def test_the_list_in_chinese(client, mixed, monitor):
    client.force_login(monitor)
    response = client.get(URL, {"status": "answered"}, headers={"accept-language": "zh-hans"})
    page = response.content.decode()
    assert response.status_code == 200 and '<html lang="zh-hans"' in page
    assert "数据质疑" in page and "已回复" in page
    assert _rows(response) == _pks(mixed["a_answered"])
    assert 'id="select-all"' in page and page.count('class="form-check-input query-select"') == 2
    refused = client.post(
        f"{URL}?status=answered", {"action": "close", "query": ["x"]}, headers={"accept-language": "zh-hans"}
    )
    assert refused.status_code == 400 and 'id="bulk-errors"' in refused.content.decode()
