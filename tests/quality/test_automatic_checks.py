"""Automatic checks: the queries the data raise themselves inside each clinical write (lab ranges, draw
windows, sacs against embryos), closed when the value is corrected, audited and chained."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from labs.models import LabResult
from labs.services import lab_result_correct
from outcomes.services import outcome_record
from quality import services
from quality.models import DataQuery, QueryMessage
from tests.factories import backdated_transfer, pregnancy_data, randomized_patient
from tests.quality.helpers import _labs

pytestmark = pytest.mark.django_db


def _automatic(patient):
    return DataQuery.objects.filter(patient=patient, origin="automatic")


def test_an_out_of_range_lab_value_opens_exactly_one_query_and_correcting_it_closes_it(treated, staff_site_a):
    draw = _labs(treated, staff_site_a, IL6="40")
    query = _automatic(treated).get()
    assert (query.form, query.field, query.status, query.check_code) == (
        "labs:ET14",
        "IL6",
        "open",
        "lab-range:ET14:IL6",
    )
    assert "IL6 40 pg/mL at ET14 is high" in query.messages.get().text
    fsh = LabResult.objects.get(draw=draw, analyte__code="FSH")
    lab_result_correct(result=fsh, value="7", unit="IU/L", by=staff_site_a, reason="typo", expected_version=1)
    assert _automatic(treated).count() == 1, "an unrelated correction neither duplicates nor closes it"
    il6 = LabResult.objects.get(draw=draw, analyte__code="IL6")
    lab_result_correct(result=il6, value="4", unit="pg/mL", by=staff_site_a, reason="transcription", expected_version=1)
    query.refresh_from_db()
    assert query.status == "closed" and query.closed_by is None
    assert query.messages.last().kind == "auto_closed"
    assert _automatic(treated).count() == 1


def test_automatic_queries_and_their_messages_are_audited_in_the_writers_context_and_chained(treated, staff_site_a):
    # Raised by COPY (a lab import raises thousands): each query and message still gets its audit event,
    # under the context of the change that raised it, and its link in the hash chain.
    _labs(treated, staff_site_a, IL6="40")
    query = _automatic(treated).get()
    message = query.messages.get()
    query_event = DataQuery.pgh_event_model.objects.select_related("pgh_context").get(pgh_obj_id=query.pk)
    message_event = QueryMessage.pgh_event_model.objects.select_related("pgh_context").get(pgh_obj_id=message.pk)
    assert (query_event.status, query_event.check_code, query_event.version) == ("open", "lab-range:ET14:IL6", 1)
    assert (message_event.kind, message_event.author_name, message_event.text) == ("raised", "system", message.text)
    for event in (query_event, message_event):
        assert event.pgh_context.metadata["username"] == staff_site_a.username
    assert query_event.pgh_context_id == message_event.pgh_context_id
    # Queued for the hash chain, which links them at commit (the test's transaction never commits).
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, unnest(event_ids) FROM ivf_audit_chain_pending")
        queued = set(cursor.fetchall())
    assert {("quality_dataqueryevent", query_event.pk), ("quality_querymessageevent", message_event.pk)} <= queued


def test_a_value_the_monitor_accepted_is_not_raised_again_but_a_new_value_is(treated, staff_site_a, monitor):
    draw = _labs(treated, staff_site_a, IL6="40")
    query = _automatic(treated).get()
    services.query_answer(query=query, message="Confirmed on the lab report.", by=staff_site_a)
    services.query_close(query=query, message="Source checked.", by=monitor)
    services.automatic_checks_sync([treated.pk])
    assert _automatic(treated).exclude(status="closed").count() == 0
    il6 = LabResult.objects.get(draw=draw, analyte__code="IL6")
    lab_result_correct(result=il6, value="50", unit="pg/mL", by=staff_site_a, reason="re-run", expected_version=1)
    assert _automatic(treated).filter(status="open").get().evidence == "50 pg/mL"


def test_one_unresolved_automatic_query_per_check_is_a_database_rule(treated, staff_site_a):
    _labs(treated, staff_site_a, IL6="40")
    with pytest.raises(IntegrityError), transaction.atomic():
        DataQuery.objects.create(
            patient=treated, form="labs:ET14", field="IL6", origin="automatic", check_code="lab-range:ET14:IL6"
        )


def test_a_draw_outside_its_window_opens_a_query(site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    backdated_transfer(patient, staff_site_a, days_ago=30)
    _labs(patient, staff_site_a, timepoint="ET14")  # drawn today = ET+30, window ET14 ±2
    query = _automatic(patient).get()
    assert (query.form, query.field, query.check_code) == ("labs:ET14", "drawn_at", "lab-window:ET14")


def test_more_sacs_than_embryos_opens_an_outcome_query(site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    transfer = backdated_transfer(patient, staff_site_a, days_ago=40, embryos=1)
    data = pregnancy_data(
        transfer, beta_hcg_value=250, ultrasound_date=transfer.transfer_date + timedelta(days=30), gestational_sacs=2
    )
    outcome_record(patient=patient, data=data, by=staff_site_a, confirm_sacs=True)
    query = _automatic(patient).get()
    assert (query.form, query.field, query.evidence) == ("outcome", "gestational_sacs", "2 sacs / 1 embryos")
