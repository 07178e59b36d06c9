"""Data quality and sign-off through the services: query workflow, automatic checks, source-data
verification, e-signature and locks — every transition and every refused one."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from core.exceptions import InvalidTransition, Locked, ReasonRequired, SignatureRefused, StaleVersion, ValidationFailed
from core.models import Trial, TrialStatus
from labs.models import LabResult
from labs.services import lab_draw_record, lab_result_correct
from outcomes.services import outcome_record
from patients import services as patient_services
from patients.models import Baseline, Patient
from quality import catalogue, selectors, services
from quality.models import CasebookSignature, DataQuery, QueryMessage
from tests.factories import (
    PASSWORD,
    backdated_transfer,
    baseline_input,
    consented_patient,
    identity,
    randomized_patient,
    screen,
)

pytestmark = pytest.mark.django_db

NORMAL_LABS = [
    ("FSH", "6", "IU/L"),
    ("LH", "5", "IU/L"),
    ("E2", "300", "pmol/L"),
    ("CA125", "10", "U/mL"),
    ("IL6", "2", "pg/mL"),
    ("BHCG", "1", "IU/L"),
]


def _earlier_today() -> datetime:
    at = timezone.make_aware(datetime.combine(timezone.localdate(), time(7)))
    return min(at, timezone.now() - timedelta(minutes=1))


@pytest.fixture
def treated(site_a, staff_site_a, statistician):
    """Transferred 14 days ago, so an ET14 draw today is inside its window."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    backdated_transfer(patient, staff_site_a, days_ago=14)
    return patient


def _labs(patient, by, *, timepoint="ET14", **overrides):
    entries = [(code, overrides.get(code, value), unit) for code, value, unit in NORMAL_LABS]
    return lab_draw_record(patient=patient, timepoint=timepoint, drawn_at=_earlier_today(), entries=entries, by=by)


# --- Manual query workflow ---------------------------------------------------------------------


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


# --- Automatic checks ----------------------------------------------------------------------------


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
    day = transfer.transfer_date
    outcome_record(
        patient=patient,
        data={
            "beta_hcg_positive": True,
            "beta_hcg_date": day + timedelta(days=14),
            "beta_hcg_value": 250,
            "clinical_pregnancy": True,
            "ultrasound_date": day + timedelta(days=30),
            "gestational_sacs": 2,
            "fetal_heartbeat": True,
        },
        by=staff_site_a,
        confirm_sacs=True,
    )
    query = _automatic(patient).get()
    assert (query.form, query.field, query.evidence) == ("outcome", "gestational_sacs", "2 sacs / 1 embryos")


# --- Form status, missing and overdue forms --------------------------------------------------------


def _states(patient):
    return {f.key: f.state for f in selectors.casebook_get(patient).forms}


def test_expected_forms_follow_the_patients_status(site_a, staff_site_a, statistician):
    ineligible = screen(site_a, staff_site_a, eligible=False)
    assert _states(ineligible) == {"screening": "complete"}
    consented = consented_patient(site_a, staff_site_a, **_other_identity(1))
    assert _states(consented) == {"screening": "complete", "consent": "complete", "baseline": "not started"}
    randomized = randomized_patient(site_a, staff_site_a, statistician, **_other_identity(2))
    states = _states(randomized)
    assert states["randomization"] == "complete" and states["transfer"] == "not started"
    assert {"labs:BASELINE", "labs:ET14", "labs:ET28", "outcome", "questionnaire:RAND36:ET28"} <= set(states)
    assert ("dalteparin" in states) == (randomized.randomization.arm.code == "EXP")


def _other_identity(n):
    return {"medical_record_number": f"MRN-Q{n}", "full_name": f"Other Woman {n}"}


def test_a_partial_lab_draw_is_in_progress_and_a_full_one_complete(treated, staff_site_a):
    lab_draw_record(
        patient=treated, timepoint="ET14", drawn_at=_earlier_today(), entries=[("FSH", "6", "IU/L")], by=staff_site_a
    )
    _labs(treated, staff_site_a, timepoint="ET28")
    states = _states(treated)
    assert (states["labs:ET14"], states["labs:ET28"], states["labs:BASELINE"]) == (
        "in progress",
        "complete",
        "not started",
    )


def test_missing_forms_lists_overdue_ones_per_site(site_a, site_b, staff_site_a, staff_site_b, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    backdated_transfer(patient, staff_site_a, days_ago=40)
    rows = selectors.missing_forms(user=staff_site_a)
    overdue = {r.form.key for r in rows if r.form.overdue}
    assert {"labs:BASELINE", "labs:ET14", "labs:ET28", "outcome", "luteal_support"} <= overdue
    assert all(r.patient == patient for r in rows)
    assert selectors.missing_forms(user=staff_site_b) == []


def test_missing_forms_costs_the_same_queries_for_3_and_30_patients(site_a, staff_site_a, statistician):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost():
        with CaptureQueriesContext(connection) as captured:
            selectors.missing_forms(user=staff_site_a)
        return len(captured)

    for n in range(3):
        randomized_patient(site_a, staff_site_a, statistician, **_other_identity(10 + n))
    small = cost()
    for n in range(27):
        consented_patient(site_a, staff_site_a, **_other_identity(20 + n))
    assert cost() == small


# --- Source-data verification ---------------------------------------------------------------------


def test_verified_form_is_unverified_by_any_later_change(site_a, staff_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.form_verify(patient=patient, form="baseline", by=monitor)
    assert _states(patient)["baseline"] == "verified"
    patient_services.baseline_update(
        baseline=baseline, data=baseline_input(weight_kg=61), by=staff_site_a, reason="scale", expected_version=1
    )
    form = next(f for f in selectors.casebook_get(patient).forms if f.key == "baseline")
    assert (form.state, form.verified_stale) == ("complete", True)


def test_only_monitors_verify_and_only_complete_forms(site_a, staff_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    with pytest.raises(PermissionDenied):
        services.form_verify(patient=patient, form="consent", by=staff_site_a)
    with pytest.raises(InvalidTransition, match="not started"):
        services.form_verify(patient=patient, form="baseline", by=monitor)


# --- Electronic signature -----------------------------------------------------------------------


@pytest.fixture
def complete_casebook(site_a, staff_site_a):
    # A screen failure's casebook is complete with its screening form alone.
    return screen(site_a, staff_site_a, eligible=False)


def _sign(patient, by, password=PASSWORD, username=None):
    return services.casebook_sign(
        patient=patient,
        username=username or by.get_username(),
        password=password,
        meaning="approval",
        by=by,
        request=RequestFactory().post("/quality/casebook/"),
    )


def test_investigator_signs_a_complete_casebook_bound_to_its_content(complete_casebook, investigator_site_a):
    signature = _sign(complete_casebook, investigator_site_a)
    book = selectors.casebook_get(complete_casebook)
    assert book.signature == signature and book.signature_valid
    assert signature.content_hash == book.content_hash and signature.manifest == book.manifest
    assert signature.printed_name and signature.meaning == "approval"
    assert _states(complete_casebook) == {"screening": "signed"}


def test_a_change_after_signing_invalidates_the_signature(complete_casebook, investigator_site_a, staff_site_a):
    _sign(complete_casebook, investigator_site_a)
    patient_services.identity_update(
        patient=complete_casebook,
        identity=identity(full_name="Corrected Name"),
        by=staff_site_a,
        reason="spelling",
        expected_version=None,
    )
    assert selectors.casebook_get(complete_casebook).signature_valid, "identity is not part of the signed clinical data"
    patient_services.patient_void(patient=complete_casebook, by=staff_site_a, reason="duplicate registration")
    book = selectors.casebook_get(complete_casebook)
    assert book.signature is not None and not book.signature_valid


@pytest.mark.parametrize("password, username", [("wrong-password", None), (PASSWORD, "someone_else")])
def test_signing_with_wrong_credentials_is_refused(complete_casebook, investigator_site_a, password, username):
    with pytest.raises(SignatureRefused, match="not correct"):
        _sign(complete_casebook, investigator_site_a, password=password, username=username)
    assert not CasebookSignature.objects.exists()


def test_signing_an_incomplete_casebook_is_refused(treated, investigator_site_a):
    with pytest.raises(SignatureRefused, match="cannot be signed yet") as refused:
        _sign(treated, investigator_site_a)
    assert "Luteal support is not started." in str(refused.value)
    assert not CasebookSignature.objects.exists()


def test_open_queries_block_signing(complete_casebook, investigator_site_a, monitor):
    services.query_raise(patient=complete_casebook, form="screening", field="AGE_20_40", message="?", by=monitor)
    with pytest.raises(SignatureRefused, match="1 data query is not closed"):
        _sign(complete_casebook, investigator_site_a)


def test_staff_and_other_site_investigators_cannot_sign(complete_casebook, staff_site_a, site_b):
    from tests.factories import make_user

    with pytest.raises(PermissionDenied):
        _sign(complete_casebook, staff_site_a)
    with pytest.raises(PermissionDenied):
        _sign(complete_casebook, make_user("investigator_b", "investigator", site_b))


def test_signatures_cannot_be_altered(complete_casebook, investigator_site_a):
    _sign(complete_casebook, investigator_site_a)
    with pytest.raises(Exception, match="append_only"), transaction.atomic():
        CasebookSignature.objects.update(printed_name="Someone Else")


# --- Locks --------------------------------------------------------------------------------------


def test_a_locked_casebook_refuses_every_change_until_unlocked_with_a_reason(site_a, staff_site_a, statistician):
    patient = consented_patient(site_a, staff_site_a)
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.casebook_lock(patient=patient, reason="ready for analysis", by=statistician)
    with pytest.raises(Locked, match="locked by statistician"):
        patient_services.baseline_update(
            baseline=baseline, data=baseline_input(weight_kg=70), by=staff_site_a, reason="x", expected_version=1
        )
    with pytest.raises(Locked):
        patient_services.identity_update(
            patient=patient, identity=identity(phone="123"), by=staff_site_a, reason="x", expected_version=None
        )
    assert Baseline.objects.get().weight_kg == baseline.weight_kg
    assert _states(patient) == {
        "screening": "locked",
        "consent": "locked",
        "baseline": "locked",
        "randomization": "not started",
    }
    with pytest.raises(ReasonRequired):
        services.casebook_unlock(patient=patient, reason=" ", by=statistician)
    lock = services.casebook_unlock(patient=patient, reason="query from the sponsor", by=statistician)
    assert lock.unlock_reason == "query from the sponsor"
    patient_services.baseline_update(
        baseline=baseline, data=baseline_input(weight_kg=70), by=staff_site_a, reason="x", expected_version=1
    )


def test_only_the_statistician_locks(site_a, staff_site_a, monitor, investigator_site_a):
    patient = consented_patient(site_a, staff_site_a)
    for user in (staff_site_a, monitor, investigator_site_a):
        with pytest.raises(PermissionDenied):
            services.casebook_lock(patient=patient, reason="r", by=user)
        with pytest.raises(PermissionDenied):
            services.database_lock(reason="r", by=user)


def test_database_lock_freezes_the_whole_trial_and_unlock_restores_it(site_a, staff_site_a, statistician, treated):
    status_before = Trial.objects.get().status
    services.database_lock(reason="final analysis", by=statistician)
    assert Trial.objects.get().status == TrialStatus.LOCKED
    with pytest.raises(Locked, match="trial database is locked"):
        screen(site_a, staff_site_a, **_other_identity(99))
    with pytest.raises(Locked):
        _labs(treated, staff_site_a)
    with pytest.raises(InvalidTransition):
        services.database_lock(reason="again", by=statistician)
    assert Patient.objects.count() == 1
    services.database_unlock(reason="late data", by=statistician)
    assert Trial.objects.get().status == status_before
    _labs(treated, staff_site_a)


def test_lab_import_reports_locked_casebooks_and_saves_nothing(treated, staff_site_a, statistician):
    from labs.importing import lab_results_import

    services.casebook_lock(patient=treated, reason="clean", by=statistician)
    header = "study_id,timepoint,drawn_at,analyte,value,unit\n"
    csv = f"{header}{treated.study_id},ET14,{_earlier_today().isoformat()},FSH,6,IU/L\n"
    report = lab_results_import(content=csv.encode(), filename="x.csv", by=staff_site_a)
    assert any("casebook is locked" in p.message for p in report.problems)
    assert not LabResult.objects.exists()


# --- Optimistic concurrency ----------------------------------------------------------------------


def test_two_users_editing_the_same_form_the_second_is_refused_and_the_first_survives(
    site_a, staff_site_a, investigator_site_a
):
    patient = consented_patient(site_a, staff_site_a)
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    opened_version = baseline.version  # both open the form at this version
    patient_services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=62),
        by=staff_site_a,
        reason="weighed",
        expected_version=opened_version,
    )
    with pytest.raises(StaleVersion, match="changed by staff_a"):
        patient_services.baseline_update(
            baseline=baseline,
            data=baseline_input(weight_kg=75),
            by=investigator_site_a,
            reason="weighed",
            expected_version=opened_version,
        )
    assert Baseline.objects.get(pk=baseline.pk).weight_kg == 62


def test_catalogue_due_dates_use_the_window_end():
    facts = catalogue.PatientFacts(
        "randomized", True, date(2025, 1, 1), {"randomization": catalogue.FormRecords([("r", 1, 1)], active=1)}
    )
    windows = [catalogue.TimepointWindow("ET14", "ET+14", 14, 2)]
    forms = {f.key: f for f in catalogue.expected_forms(facts, lab_timepoints=windows, questionnaires=[])}
    assert forms["labs:ET14"].due == date(2025, 1, 17)
    assert forms["outcome"].due == date(2025, 2, 5)
    assert "dalteparin" not in forms
