"""The patient's audit trail covers every tracked model that belongs to her, found from the app registry.

The enumeration test computes the set of tracked models with a foreign-key path to `patients.Patient`
itself (pghistory's event models, `_meta.get_fields()`), independently of core.audit_trail, so a form
added later without a place in the trail fails here.
"""

import pghistory.models
import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import audit_trail
from core.audit_trail import NOT_IN_TRAIL, RECORD_LABELS, field_label, patient_path, patient_trail_sources, record_name
from core.terms import AUDIT_RECORDS

PATIENT = apps.get_model("patients", "Patient")


def _tracked_models() -> set:
    """Every model pghistory records, from its event models (not from the tracked models' attribute)."""
    return {
        model.pgh_tracked_model
        for model in apps.get_models()
        if issubclass(model, pghistory.models.Event) and getattr(model, "pgh_tracked_model", None) is not None
    }


def _reaches_patient(model, seen=frozenset()) -> bool:
    if model is PATIENT:
        return True
    forward = [
        f.related_model
        for f in model._meta.get_fields()
        if f.concrete and f.is_relation and (f.many_to_one or f.one_to_one) and f.related_model not in seen
    ]
    return any(_reaches_patient(related, seen | {model}) for related in forward)


def test_every_tracked_model_with_a_path_to_the_patient_is_in_her_trail():
    belongs_to_her = {model for model in _tracked_models() if _reaches_patient(model)}
    in_trail = {source.event_model.pgh_tracked_model for source in patient_trail_sources()}
    left_out = {m._meta.label for m in belongs_to_her - in_trail} - {
        m._meta.label for m in belongs_to_her if record_name(m) in NOT_IN_TRAIL
    }
    assert not left_out, f"tracked models of a patient missing from her audit trail: {sorted(left_out)}"
    assert in_trail <= belongs_to_her
    # The finding of issue 18: the primary endpoint and the sign-off records were missing.
    assert {
        "outcomes.PregnancyOutcome",
        "outcomes.AdverseEvent",
        "outcomes.QuestionnaireResponse",
        "quality.DataQuery",
        "quality.QueryMessage",
        "quality.SourceVerification",
        "quality.CasebookSignature",
        "patients.CasebookLock",
        "labs.LabResult",
    } <= {m._meta.label for m in in_trail}


@pytest.mark.django_db
def test_her_history_reads_the_event_table_of_every_model_that_belongs_to_her(site_a, staff_site_a):
    """The history itself (not only the list of sources) reads every one of them, for a reader who may
    see her identity."""
    from casebook.selectors import patient_audit_history
    from tests.factories import screen

    patient = screen(site_a, staff_site_a)
    with CaptureQueriesContext(connection) as captured:
        patient_audit_history(user=staff_site_a, patient=patient)
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    belongs_to_her = {m for m in _tracked_models() if _reaches_patient(m) and record_name(m) not in NOT_IN_TRAIL}
    unread = [m._meta.label for m in belongs_to_her if f'"{m.pgh_event_model._meta.db_table}"' not in sql]
    assert not unread, f"her history does not read the audit events of {sorted(unread)}"


def test_models_without_a_patient_path_stay_out():
    in_trail = {source.event_model.pgh_tracked_model._meta.label for source in patient_trail_sources()}
    for label in ("core.Site", "core.SiteMembership", "patients.AllocationList", "patients.AllocationSlot"):
        assert label not in in_trail
    assert "core.DatabaseLock" not in in_trail  # the whole trial's, not hers


def test_paths_follow_foreign_keys_by_model():
    get = apps.get_model
    assert patient_path(PATIENT, PATIENT) == ""
    assert patient_path(get("outcomes", "PregnancyOutcome"), PATIENT) == "patient"
    assert patient_path(get("labs", "LabResult"), PATIENT) == "draw__patient"
    assert patient_path(get("quality", "QueryMessage"), PATIENT) == "query__patient"
    assert patient_path(get("patients", "DalteparinCourse"), PATIENT) == "patient"  # the shortest of two
    assert patient_path(get("patients", "AllocationSlot"), PATIENT) is None


def test_record_names_are_stable_snake_case_class_names():
    names = {source.event_model.pgh_tracked_model._meta.label: source.record for source in patient_trail_sources()}
    assert names["outcomes.PregnancyOutcome"] == "pregnancy_outcome"
    assert names["outcomes.AdverseEvent"] == "adverse_event"
    assert names["outcomes.QuestionnaireResponse"] == "questionnaire_response"
    assert names["patients.CasebookLock"] == "casebook_lock"
    assert names["quality.CasebookSignature"] == "casebook_signature"
    assert names["quality.SourceVerification"] == "source_verification"
    assert names["quality.DataQuery"] == "data_query"
    assert names["quality.QueryMessage"] == "query_message"
    assert names["patients.Patient"] == "patient"
    assert len(set(names.values())) == len(names)


def test_every_record_of_the_trail_has_a_marked_page_label():
    for source in patient_trail_sources():
        assert RECORD_LABELS.get(source.record) == source.label, source.record
        assert source.label in AUDIT_RECORDS, f"{source.label!r} is not in core.terms.AUDIT_RECORDS"


def test_only_the_identity_is_restricted_and_nothing_is_hidden_without_a_reason():
    assert [s.record for s in patient_trail_sources() if s.identity] == ["patient_identity"]
    assert all(reason.strip() for reason in NOT_IN_TRAIL.values())


def test_field_labels_repeat_the_forms_labels():
    get = apps.get_model
    assert field_label(get("outcomes", "PregnancyOutcome"), "beta_hcg_value") == "β-hCG value (IU/L)"
    assert field_label(get("outcomes", "AdverseEvent"), "grade") == "CTCAE grade"
    assert field_label(get("patients", "Baseline"), "weight_kg") == "Weight (kg)"
    # No entry in core.audit_labels: the field's name as words.
    assert field_label(get("outcomes", "AdverseEvent"), "onset_date") == "Onset date"


@pytest.mark.django_db
def test_filters_select_her_rows_by_their_path(site_a, staff_site_a, statistician):
    from tests.factories import clinical_records, randomized_patient, with_transfer

    patient = with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)
    clinical_records(patient, staff_site_a)
    source = next(s for s in audit_trail.patient_trail_sources() if s.record == "lab_result")
    events = source.event_model.objects.filter(**source.filters(patient.pk))
    assert [e.value_as_entered for e in events] == ["50"]
    assert not source.event_model.objects.filter(**source.filters(patient.pk + 1000)).exists()
