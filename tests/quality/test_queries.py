"""Manual data queries through the services: raise, answer, close, reopen — every transition and every
refused one, audited and append-only."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from core.exceptions import InvalidTransition, ValidationFailed
from quality import services
from quality.models import DataQuery, QueryMessage
from tests.factories import consented_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def manual_query(site_a, staff_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    return services.query_raise(
        patient=patient, form="consent", field="signed_on", message="Date differs from the source.", by=monitor
    )


def test_monitor_raises_staff_answers_monitor_closes(manual_query, staff_site_a, monitor):
    assert (manual_query.status, manual_query.origin, manual_query.raised_by) == ("open", "manual", monitor)
    answered = services.query_answer(query=manual_query, message="Checked: 3 March is right.", by=staff_site_a)
    assert answered.status == "answered"
    closed = services.query_close(query=answered, message="Agreed.", by=monitor)
    assert closed.status == "closed" and closed.closed_by == monitor and closed.closed_at is not None
    thread = list(QueryMessage.objects.filter(query=manual_query).values_list("kind", "author_name", "text"))
    assert thread == [
        ("raised", "monitor", "Date differs from the source."),
        ("answered", "staff_a", "Checked: 3 March is right."),
        ("closed", "monitor", "Agreed."),
    ]


def test_staff_cannot_close_a_monitors_query(manual_query, staff_site_a):
    services.query_answer(query=manual_query, message="Fixed.", by=staff_site_a)
    with pytest.raises(PermissionDenied, match="Only a monitor"):
        services.query_close(query=manual_query, message="done", by=staff_site_a)
    assert DataQuery.objects.get(pk=manual_query.pk).status == "answered"


def test_monitor_reopens_an_unsatisfying_answer_and_staff_answer_again(manual_query, staff_site_a, monitor):
    services.query_answer(query=manual_query, message="ok", by=staff_site_a)
    reopened = services.query_reopen(query=manual_query, message="Please attach the source date.", by=monitor)
    assert reopened.status == "open"
    assert services.query_answer(query=manual_query, message="It is 2025-03-03.", by=staff_site_a).status == "answered"


@pytest.mark.parametrize(
    "action, actor, error",
    [
        ("answer_closed", "staff", InvalidTransition),
        ("close_twice", "monitor", InvalidTransition),
        ("reopen_open", "monitor", InvalidTransition),
        ("answer_other_site", "staff_b", PermissionDenied),
        ("answer_as_monitor", "monitor", PermissionDenied),
        ("empty_answer", "staff", ValidationFailed),
    ],
)
def test_refused_query_transitions_change_nothing(
    manual_query, staff_site_a, staff_site_b, monitor, action, actor, error
):
    users = {"staff": staff_site_a, "staff_b": staff_site_b, "monitor": monitor}
    if action in ("answer_closed", "close_twice"):
        services.query_close(query=manual_query, message="", by=monitor)
    before = (DataQuery.objects.get(pk=manual_query.pk).status, QueryMessage.objects.count())
    with pytest.raises(error):
        if action == "answer_closed":
            services.query_answer(query=manual_query, message="late", by=users[actor])
        elif action == "close_twice":
            services.query_close(query=manual_query, message="again", by=users[actor])
        elif action == "reopen_open":
            services.query_reopen(query=manual_query, message="why", by=users[actor])
        elif action == "empty_answer":
            services.query_answer(query=manual_query, message="   ", by=users[actor])
        else:
            services.query_answer(query=manual_query, message="answer", by=users[actor])
    assert (DataQuery.objects.get(pk=manual_query.pk).status, QueryMessage.objects.count()) == before


def test_only_monitors_raise_and_only_on_forms_of_the_casebook(site_a, staff_site_a, monitor, statistician):
    patient = consented_patient(site_a, staff_site_a)
    with pytest.raises(PermissionDenied):
        services.query_raise(patient=patient, form="consent", field="x", message="?", by=staff_site_a)
    with pytest.raises(PermissionDenied):
        services.query_raise(patient=patient, form="consent", field="x", message="?", by=statistician)
    with pytest.raises(ValidationFailed) as refused:
        services.query_raise(patient=patient, form="outcome", field="live_birth", message="?", by=monitor)
    assert "is not a form of" in refused.value.errors["form"][0]
    assert not DataQuery.objects.exists()


def test_query_changes_are_audited_with_who_and_why(manual_query, staff_site_a):
    services.query_answer(query=manual_query, message="Fixed.", by=staff_site_a)
    event = DataQuery.pgh_event_model.objects.filter(pgh_obj_id=manual_query.pk).order_by("pgh_id").last()
    assert event.status == "answered"
    assert event.pgh_context.metadata["username"] == "staff_a"
    assert event.pgh_context.metadata["reason"] == "Query answered"


def test_query_messages_cannot_be_rewritten(manual_query):
    with pytest.raises(Exception, match="append_only"), transaction.atomic():
        QueryMessage.objects.filter(query=manual_query).update(text="never said")
