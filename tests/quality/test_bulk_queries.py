"""Bulk actions on the query list (issue 20): site staff answer the ticked open queries of their sites, a
monitor closes the ticked ones, with one message; each query keeps its own message and its own audit
event. A batch holding one query the user may not act on is refused whole, naming it, and saves nothing."""

import re

import pytest
from django.urls import reverse

from quality import services
from quality.models import DataQuery, QueryMessage, QueryStatus
from tests.factories import consented_patient
from tests.quality.many_queries import many_queries

pytestmark = pytest.mark.django_db

URL = reverse("quality:queries")
EVENTS = DataQuery.pgh_event_model
MESSAGE_EVENTS = QueryMessage.pgh_event_model


@pytest.fixture
def patient_a(site_a, staff_site_a):
    return consented_patient(site_a, staff_site_a)


@pytest.fixture
def patient_b(site_b, staff_site_b):
    return consented_patient(site_b, staff_site_b)


def _shown(client, params=None) -> dict[int, str]:
    """The queries the page offers to tick, with the version it shows for each."""
    page = client.get(URL, params or {}).content.decode()
    return {int(pk): version for pk, version in re.findall(r'name="version_(\d+)" value="(\d+)"', page)}


def _post(client, action, ids, message="", versions=None, query_string=""):
    data = {"action": action, "query": [str(pk) for pk in ids], "message": message}
    data.update({f"version_{pk}": v for pk, v in (versions or {}).items()})
    return client.post(f"{URL}{query_string}", data)


def _state():
    """Everything a refused batch must leave as it was."""
    return (
        dict(DataQuery.objects.values_list("pk", "status")),
        QueryMessage.objects.count(),
        EVENTS.objects.count(),
        MESSAGE_EVENTS.objects.count(),
    )


def test_a_monitor_closes_50_answered_queries_in_one_post_each_audited_singly(client, patient_a, monitor):
    answered = many_queries(patient_a, 50, by=monitor, status=QueryStatus.ANSWERED)
    untouched = many_queries(patient_a, 5, by=monitor)
    client.force_login(monitor)
    shown = _shown(client, {"status": "answered"})
    assert set(shown) == {q.pk for q in answered}  # one page holds them all
    response = _post(client, "close", shown, "Checked against the source.", shown, "?status=answered")
    assert response.status_code == 302 and response["Location"] == f"{URL}?status=answered"
    ids = [q.pk for q in answered]
    closed = DataQuery.objects.filter(pk__in=ids)
    assert {(q.status, q.closed_by_id, q.version) for q in closed} == {("closed", monitor.pk, 2)}
    assert set(DataQuery.objects.filter(pk__in=[q.pk for q in untouched]).values_list("status", flat=True)) == {"open"}
    # Each query: its own closing message in its thread...
    messages = QueryMessage.objects.filter(query_id__in=ids, kind="closed")
    assert sorted(messages.values_list("query_id", flat=True)) == sorted(ids)
    assert set(messages.values_list("text", "author_name")) == {("Checked against the source.", "monitor")}
    # ...and its own audit event, in its own audit context, saying who and why.
    events = EVENTS.objects.filter(pgh_obj_id__in=ids, status="closed").select_related("pgh_context")
    assert sorted(e.pgh_obj_id for e in events) == sorted(ids)
    assert len({e.pgh_context_id for e in events}) == 50
    assert {(e.pgh_context.metadata["username"], e.pgh_context.metadata["reason"]) for e in events} == {
        ("monitor", "Query closed")
    }
    assert MESSAGE_EVENTS.objects.filter(query_id__in=ids, kind="closed").count() == 50
    assert "50 queries closed." in client.get(response["Location"]).content.decode()


def test_staff_answer_the_ticked_open_queries_with_one_message(client, patient_a, staff_site_a, monitor):
    open_queries = many_queries(patient_a, 3, by=monitor)
    client.force_login(staff_site_a)
    shown = _shown(client)
    assert set(shown) == {q.pk for q in open_queries}
    assert _post(client, "answer", shown, "Corrected in the form.", shown).status_code == 302
    for query in open_queries:
        thread = list(QueryMessage.objects.filter(query=query).values_list("kind", "author_name", "text"))
        assert thread[-1] == ("answered", "staff_a", "Corrected in the form.")
        assert EVENTS.objects.filter(pgh_obj_id=query.pk).latest("pgh_id").pgh_context.metadata["reason"] == (
            "Query answered"
        )
    assert set(DataQuery.objects.values_list("status", flat=True)) == {"answered"}


def test_the_page_offers_each_role_only_what_it_may_do(client, patient_a, patient_b, staff_site_a, monitor):
    (open_a,) = many_queries(patient_a, 1, by=monitor)
    (answered_a,) = many_queries(patient_a, 1, by=monitor, status=QueryStatus.ANSWERED)
    (closed_a,) = many_queries(patient_a, 1, by=monitor, status=QueryStatus.CLOSED)
    client.force_login(staff_site_a)
    page = client.get(URL).content.decode()
    assert set(_shown(client)) == {open_a.pk} and 'value="close"' not in page and 'value="answer"' in page
    client.force_login(monitor)
    page = client.get(URL).content.decode()
    assert set(_shown(client)) == {open_a.pk, answered_a.pk} and 'value="answer"' not in page
    assert closed_a.pk not in _shown(client)


@pytest.mark.parametrize(
    "who, action, pick, message, status, says",
    [
        ("staff_b", "answer", "site_a_and_own", "ok", 400, "are not among the queries you can see"),
        ("monitor", "answer", "open", "ok", 403, "Only staff of the patients"),
        ("statistician", "close", "answered", "", 403, "Only a monitor"),
        ("staff_a", "close", "answered", "", 403, "Only a monitor"),
        ("staff_a", "answer", "open_and_answered", "ok", 400, "are not open"),
        ("monitor", "close", "answered_and_closed", "", 400, "is already closed"),
        ("monitor", "close", "unknown", "", 400, "is not among the queries you can see"),
        ("staff_a", "answer", "open", "   ", 400, "Write an answer."),
        ("monitor", "close", "not_a_number", "", 400, "is not a query number"),
        ("monitor", "close", "too_many", "", 400, "Select at most 500 queries at a time."),
        ("monitor", "close", "none", "", 400, "Select at least one query."),
        ("monitor", "delete", "answered", "", 400, "Select a valid choice"),
        ("monitor", "close", "bad_version", "", 400, "damaged version"),
    ],
)
def test_a_refused_batch_saves_nothing_and_says_why(
    client,
    patient_a,
    patient_b,
    staff_site_a,
    staff_site_b,
    monitor,
    statistician,
    who,
    action,
    pick,
    message,
    status,
    says,
):
    open_a = many_queries(patient_a, 2, by=monitor)
    answered_a = many_queries(patient_a, 2, by=monitor, status=QueryStatus.ANSWERED)
    closed_a = many_queries(patient_a, 1, by=monitor, status=QueryStatus.CLOSED)
    own_b = many_queries(patient_b, 1, by=monitor)
    picks = {
        "site_a_and_own": [*open_a, *own_b],
        "open": open_a,
        "answered": answered_a,
        "open_and_answered": [*open_a, *answered_a],
        "answered_and_closed": [*answered_a, *closed_a],
    }
    ids = [q.pk for q in picks.get(pick, [])]
    ids = {
        "unknown": [answered_a[0].pk, 987654321],
        "not_a_number": [answered_a[0].pk, "1; DROP TABLE"],
        "too_many": list(range(1, 502)),
    }.get(pick, ids)
    versions = {answered_a[0].pk: "v1"} if pick == "bad_version" else {}
    ids = [answered_a[0].pk] if pick == "bad_version" else ids
    users = {"staff_a": staff_site_a, "staff_b": staff_site_b, "monitor": monitor, "statistician": statistician}
    client.force_login(users[who])
    before = _state()
    response = _post(client, action, ids, message, versions)
    assert response.status_code == status
    page = response.content.decode()
    assert 'id="bulk-errors"' in page and says in page
    assert _state() == before


def test_a_refusal_names_the_queries_and_keeps_them_ticked(client, patient_a, monitor):
    answered = many_queries(patient_a, 3, by=monitor, status=QueryStatus.ANSWERED)
    (closed,) = many_queries(patient_a, 1, by=monitor, status=QueryStatus.CLOSED)
    client.force_login(monitor)
    response = _post(client, "close", [*[q.pk for q in answered], closed.pk])
    page = response.content.decode()
    assert f"Query #{closed.pk} is already closed." in page and "Nothing was saved." in page
    for query in answered:
        assert re.search(rf'value="{query.pk}" id="select-{query.pk}" checked', page)


def test_a_query_changed_since_the_page_was_shown_is_refused(client, patient_a, staff_site_a, monitor):
    queries = many_queries(patient_a, 3, by=monitor)
    client.force_login(monitor)
    shown = _shown(client)  # all three open, version 1
    services.query_answer(query=queries[0], message="Fixed meanwhile.", by=staff_site_a)
    before = _state()
    response = _post(client, "close", shown, "Closing the lot.", shown)
    assert response.status_code == 400
    assert f"Query #{queries[0].pk} changed after the page was shown" in response.content.decode()
    assert _state() == before


def test_the_batch_is_one_transaction(monkeypatch, patient_a, monitor):
    """Should a query fail half-way (whatever the cause), the queries closed before it are rolled back."""
    queries = many_queries(patient_a, 4, by=monitor, status=QueryStatus.ANSWERED)
    real_close, calls = services.query_close, []

    def failing_third(**kwargs):
        calls.append(kwargs["query"].pk)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real_close(**kwargs)

    monkeypatch.setattr("quality.services.bulk_queries.query_close", failing_third)
    before = _state()
    with pytest.raises(RuntimeError):
        services.queries_close(ids=[q.pk for q in queries], message="", by=monitor)
    assert _state() == before and len(calls) == 3


def test_the_services_are_exported_by_the_package():
    from quality.services import bulk_queries

    assert services.queries_answer is bulk_queries.queries_answer
    assert services.queries_close is bulk_queries.queries_close


def test_a_bulk_close_costs_a_fixed_number_of_statements_per_query(
    client, patient_a, monitor, django_assert_max_num_queries
):
    queries = many_queries(patient_a, 50, by=monitor, status=QueryStatus.ANSWERED)
    client.force_login(monitor)
    client.get(URL)  # the per-process caches (the trial, the roles) are filled by a first request
    # Session, user, permissions, the savepoints, one locking read of the batch; then per query its own
    # service: its row locked again, its audit context (set before each of its 2 writes), its update, its message.
    with django_assert_max_num_queries(12 + 5 * len(queries)):
        assert _post(client, "close", [q.pk for q in queries]).status_code == 302
