"""Issue 18, finding 3: the patient's history page and `GET /api/v1/audit/?patient=` show corrections of
the primary endpoint, adverse events and questionnaires, the query workflow, source-data verification
and e-signatures (and what invalidates them) with old → new, who and reason."""

from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.audit_trail import patient_trail_sources
from outcomes import services as outcomes
from patients import services as patient_services
from quality import selectors as quality_selectors
from quality import services as quality
from tests.factories import (
    PASSWORD,
    adverse_event_form,
    backdated_transfer,
    baseline_input,
    rand36_entered_then_corrected,
    randomized_patient,
    screen,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/audit/"


class TrailRows(HTMLParser):
    """The history table as rows: the <tr> data attributes and the text of the classed cells and spans
    (who, record, reason are cells spanning an entry's rows: carried over to its later rows)."""

    CLASSES = ("audit-user", "audit-record", "audit-reason", "audit-field-label", "audit-old", "audit-new")

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self._capturing: str | None = None
        self._carried: dict = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-record" in attrs:
            self.rows.append({key[5:]: value for key, value in attrs.items() if key.startswith("data-")})
        classes = set((attrs.get("class") or "").split())
        self._capturing = next((c for c in self.CLASSES if c in classes), None)
        if self._capturing and self.rows:
            self.rows[-1][self._capturing] = ""

    def handle_endtag(self, tag):
        self._capturing = None
        if tag == "tr" and self.rows:
            row = self.rows[-1]
            if "audit-user" in row:
                self._carried = {key: row[key] for key in ("audit-user", "audit-record", "audit-reason")}
            else:
                row.update(self._carried)

    def handle_data(self, data):
        if self._capturing and self.rows:
            self.rows[-1][self._capturing] += data.strip()


def _page_rows(client, patient) -> list[dict]:
    response = client.get(reverse("casebook:history", args=[patient.study_id]))
    assert response.status_code == 200
    parser = TrailRows()
    parser.feed(response.content.decode())
    return parser.rows


def _api_events(user, patient, language="en") -> list[dict]:
    api = APIClient()
    api.force_authenticate(user)
    response = api.get(API, {"patient": patient.study_id, "page_size": 1000}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _change(events, record, field, *, action="changed", reason=None) -> dict:
    """The one API entry of `record` whose changes include `field` (and has this reason, when given)."""
    found = [
        e
        for e in events
        if e["record"] == record and e["action"] == action and field in e["changes"] and reason in (None, e["reason"])
    ]
    assert len(found) == 1, (record, field, [(e["record"], e["action"], e["reason"]) for e in events])
    return found[0]


def _row(rows, record, field, *, action="changed", reason=None) -> dict:
    found = [
        r
        for r in rows
        if r["record"] == record
        and r["action"] == action
        and r["field"] == field
        and reason in (None, r.get("audit-reason"))
    ]
    assert len(found) == 1, (record, field, action, reason)
    return found[0]


@pytest.fixture
def corrected(site_a, staff_site_a, statistician, monitor):
    """A randomized patient whose outcome, adverse event, questionnaire and baseline were corrected with
    reasons, with a data query raised and answered and the baseline source-verified before its correction."""
    patient = randomized_patient(site_a, staff_site_a, statistician, full_name="Wang Trail Secret")
    transfer = backdated_transfer(patient, staff_site_a, days_ago=35)
    hcg_day = transfer.transfer_date + timedelta(days=14)
    outcome = outcomes.outcome_record(
        patient=patient,
        data={"beta_hcg_positive": True, "beta_hcg_date": hcg_day, "beta_hcg_value": Decimal("120")},
        by=staff_site_a,
    )
    outcomes.outcome_update(
        outcome=outcome,
        data={"beta_hcg_positive": True, "beta_hcg_date": hcg_day, "beta_hcg_value": Decimal("152.5")},
        by=staff_site_a,
        reason="Lab report re-read: 152.5 IU/L",
        expected_version=outcome.version,
    )
    onset = timezone.localdate() - timedelta(days=3)
    event = outcomes.adverse_event_record(
        patient=patient,
        data=adverse_event_form(onset_date=onset, resolution_date=None, outcome="recovering"),
        by=staff_site_a,
    )
    outcomes.adverse_event_update(
        event=event,
        data=adverse_event_form(onset_date=onset, resolution_date=None, outcome="recovering", grade=2),
        by=staff_site_a,
        reason="Grade per CTCAE: bruise over 5 cm",
        expected_version=event.version,
    )
    rand36_entered_then_corrected(patient, by=staff_site_a)
    query = quality.query_raise(
        patient=patient, form="baseline", field="weight_kg", message="Source says 61 kg?", by=monitor
    )
    quality.query_answer(query=query, message="Yes: corrected to 61 kg.", by=staff_site_a)
    quality.form_verify(patient=patient, form="baseline", by=monitor)
    baseline = patient.baselines.get(voided_at__isnull=True)
    patient_services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("61")),
        by=staff_site_a,
        reason="Query answered: source says 61 kg",
        expected_version=baseline.version,
    )
    return patient


@pytest.fixture
def signed_then_voided(site_a, staff_site_a, investigator_site_a):
    """A screen failure's (complete) casebook signed by the investigator on its page, then voided with a
    reason: the change invalidates the signature."""
    patient = screen(site_a, staff_site_a, eligible=False)
    browser = Client()
    browser.force_login(investigator_site_a)
    signing = {"action": "sign", "username": "investigator_a", "password": PASSWORD, "meaning": "approval"}
    assert browser.post(reverse("casebook:review", args=[patient.study_id]), signing).status_code == 302
    assert quality_selectors.casebook_get(patient).signature_valid
    patient_services.patient_void(patient=patient, by=staff_site_a, reason="Registered twice: SZ duplicate")
    assert not quality_selectors.casebook_get(patient).signature_valid
    return patient


CORRECTIONS = [
    # record, field, old, new (as the API writes them), who, reason
    ("pregnancy_outcome", "beta_hcg_value", "120.00", "152.50", "staff_a", "Lab report re-read: 152.5 IU/L"),
    ("adverse_event", "grade", 1, 2, "staff_a", "Grade per CTCAE: bruise over 5 cm"),
    ("baseline", "weight_kg", "56.0", "61.0", "staff_a", "Query answered: source says 61 kg"),
    ("data_query", "status", "open", "answered", "staff_a", "Query answered"),
]


def test_corrections_of_outcome_adverse_event_questionnaire_and_query_answer_are_in_the_api(corrected, staff_site_a):
    events = _api_events(staff_site_a, corrected)
    for record, field, old, new, who, reason in CORRECTIONS:
        entry = _change(events, record, field, reason=reason)
        assert entry["changes"][field] == [old, new], record
        assert (entry["user"], entry["reason"]) == (who, reason)
        assert entry["field_label"][field]
    questionnaire = _change(events, "questionnaire_response", "answers", reason="Item 3 transcribed wrongly")
    old_answers, new_answers = questionnaire["changes"]["answers"]
    assert (old_answers["3"], new_answers["3"]) == (3, 1) and questionnaire["user"] == "staff_a"
    assert questionnaire["changes"]["scores"][0] != questionnaire["changes"]["scores"][1]
    messages = [e for e in events if e["record"] == "query_message"]
    assert [(m["user"], m["changes"]["text"][1], m["changes"]["kind"][1]) for m in messages] == [
        ("monitor", "Source says 61 kg?", "raised"),
        ("staff_a", "Yes: corrected to 61 kg.", "answered"),
    ]
    assert _change(events, "pregnancy_outcome", "beta_hcg_value")["record_label"] == "Pregnancy outcome"
    assert _change(events, "adverse_event", "grade")["field_label"] == {"grade": "CTCAE grade"}


def test_source_verification_and_the_correction_that_invalidates_it_are_in_the_api(corrected, monitor):
    events = _api_events(monitor, corrected)
    [verified] = [e for e in events if e["record"] == "source_verification"]
    assert verified["action"] == "created" and verified["user"] == "monitor"
    assert verified["reason"] == "Source data verified" and verified["changes"]["form"] == [None, "baseline"]
    verified_hash = verified["changes"]["content_hash"][1]
    correction = _change(events, "baseline", "weight_kg", reason="Query answered: source says 61 kg")
    assert correction["at"] >= verified["at"]  # one test transaction: the same moment
    # What the correction did to the mark: the form's content no longer has the verified hash.
    form = next(f for f in quality_selectors.casebook_get(corrected).forms if f.key == "baseline")
    assert form.verified_stale and form.content_hash != verified_hash


def test_signature_and_the_change_that_invalidates_it_are_in_the_api(signed_then_voided, investigator_site_a):
    events = _api_events(investigator_site_a, signed_then_voided)
    [signed] = [e for e in events if e["record"] == "casebook_signature"]
    assert (signed["action"], signed["user"], signed["reason"]) == (
        "created",
        "investigator_a",
        "Casebook signed (approval)",
    )
    assert signed["changes"]["meaning"] == [None, "approval"] and signed["changes"]["content_hash"][1]
    assert signed["record_label"] == "E-signature" and signed["field_label"]["meaning"] == "Meaning"
    voided = _change(events, "patient", "voided_at", action="voided")
    assert (voided["user"], voided["reason"]) == ("staff_a", "Registered twice: SZ duplicate")
    assert voided["changes"]["voided_at"][0] is None and voided["changes"]["voided_at"][1]
    assert voided["at"] >= signed["at"]


def test_every_kind_of_change_is_on_the_history_page_with_old_new_who_and_reason(client, corrected, staff_site_a):
    client.force_login(staff_site_a)
    rows = _page_rows(client, corrected)
    expected = [
        ("pregnancy_outcome", "beta_hcg_value", "120.00", "152.50", "Pregnancy outcome", "β-hCG value (IU/L)"),
        ("adverse_event", "grade", "1", "2", "Adverse event", "CTCAE grade"),
        ("baseline", "weight_kg", "56.0", "61.0", "Baseline", "Weight (kg)"),
        ("data_query", "status", "Open", "Answered", "Data query", "Status"),  # choices by their labels (issue 20)
    ]
    for (record, field, old, new, *_), (_r, _f, _o, _n, who, reason) in zip(expected, CORRECTIONS, strict=True):
        row = _row(rows, record, field, reason=reason)
        assert (row["audit-old"], row["audit-new"], row["audit-user"]) == (old, new, who), record
    for record, field, *_, record_label, label in expected:
        row = _row(rows, record, field)
        assert (row["audit-record"], row["audit-field-label"]) == (record_label, label)
    questionnaire = _row(rows, "questionnaire_response", "answers", reason="Item 3 transcribed wrongly")
    # Only the corrected answer, as "item: answer" (issue 20: the page showed both whole Python dicts).
    assert (questionnaire["audit-old"], questionnaire["audit-new"]) == ("3: 3", "3: 1")
    assert questionnaire["audit-record"] == "Questionnaire"
    verified = _row(rows, "source_verification", "form", action="created")
    assert (verified["audit-new"], verified["audit-user"], verified["audit-reason"]) == (
        "baseline",
        "monitor",
        "Source data verified",
    )
    texts = {r["audit-new"] for r in rows if r["record"] == "query_message" and r["field"] == "text"}
    assert texts == {"Source says 61 kg?", "Yes: corrected to 61 kg."}


def test_signature_and_its_invalidation_are_on_the_history_page(client, signed_then_voided, investigator_site_a):
    client.force_login(investigator_site_a)
    rows = _page_rows(client, signed_then_voided)
    signed = _row(rows, "casebook_signature", "meaning", action="created")
    assert (signed["audit-new"], signed["audit-user"], signed["audit-record"]) == (
        "Approval: I have reviewed this casebook and its data are complete and accurate",  # the choice's label
        "investigator_a",
        "E-signature",
    )
    voided = _row(rows, "patient", "void_reason", action="voided")
    assert (voided["audit-old"], voided["audit-new"]) == ("", "Registered twice: SZ duplicate")
    assert (voided["audit-user"], voided["audit-reason"]) == ("staff_a", "Registered twice: SZ duplicate")


def test_casebook_lock_and_unlock_are_in_the_trail(client, signed_then_voided, statistician):
    patient = signed_then_voided
    quality.casebook_lock(patient=patient, reason="Ready for analysis", by=statistician)
    quality.casebook_unlock(patient=patient, reason="Late lab report arrived", by=statistician)
    events = _api_events(statistician, patient)
    unlocked = _change(events, "casebook_lock", "unlock_reason", reason="Late lab report arrived")
    assert unlocked["changes"]["unlock_reason"] == ["", "Late lab report arrived"]
    assert unlocked["user"] == "statistician" and unlocked["field_label"]["unlock_reason"] == "Unlock reason"
    client.force_login(statistician)
    row = _row(_page_rows(client, patient), "casebook_lock", "reason", action="created")
    assert (row["audit-new"], row["audit-user"], row["audit-record"]) == (
        "Ready for analysis",
        "statistician",
        "Casebook lock",
    )


def test_labels_follow_the_request_language(corrected, staff_site_a):
    event = _change(_api_events(staff_site_a, corrected, "zh-hans"), "adverse_event", "grade")
    assert (event["record"], event["record_label"], event["field_label"]) == (
        "adverse_event",
        "不良事件",
        {"grade": "CTCAE 分级"},
    )


def test_another_sites_staff_get_404_and_a_monitor_sees_no_identity(
    client, corrected, staff_site_b, monitor, staff_site_a
):
    api = APIClient()
    api.force_authenticate(staff_site_b)
    assert api.get(API, {"patient": corrected.study_id}).status_code == 404
    client.force_login(staff_site_b)
    assert client.get(reverse("casebook:history", args=[corrected.study_id])).status_code == 404
    staff_records = {e["record"] for e in _api_events(staff_site_a, corrected)}
    monitor_events = _api_events(monitor, corrected)
    assert "patient_identity" in staff_records and "patient_identity" not in {e["record"] for e in monitor_events}
    assert {"pregnancy_outcome", "adverse_event", "data_query", "source_verification"} <= {
        e["record"] for e in monitor_events
    }
    client.force_login(monitor)
    page = client.get(reverse("casebook:history", args=[corrected.study_id])).content.decode()
    assert "Wang Trail Secret" not in page and 'data-record="patient_identity"' not in page
    assert 'data-record="pregnancy_outcome"' in page


def test_the_history_page_costs_the_same_queries_for_few_and_many_events(
    client, corrected, staff_site_a, django_assert_num_queries
):
    client.force_login(staff_site_a)
    url = reverse("casebook:history", args=[corrected.study_id])
    client.get(url)  # the session's idle-timeout refresh and other first-visit writes

    def cost() -> int:
        with django_assert_num_queries(_page_queries()) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    few = cost()
    for grade in (3, 4, 2, 3, 4, 2):  # six more corrections of the adverse event, more queries and messages
        event = corrected.adverse_events.get()
        outcomes.adverse_event_update(
            event=event,
            data=adverse_event_form(
                onset_date=event.onset_date, resolution_date=None, outcome="recovering", grade=grade
            ),
            by=staff_site_a,
            reason=f"Regraded {grade}",
            expected_version=event.version,
        )
    assert cost() == few


# The names the page shows instead of keys (casebook.audit_history.TrailNames), one query per kind whatever
# the number of entries: users (who changed what, and user keys), her site, her allocation slot, her arm,
# the questionnaire's instrument and time point, the data query, and the screening criteria.
NAME_QUERIES = 8


def _page_queries() -> int:
    # Session and user, the user's permissions (one query), the trial for the header; the patient, her
    # site memberships; then one query per record type of her trail (each joined to its audit context),
    # then the names.
    return 6 + len(patient_trail_sources()) + NAME_QUERIES
