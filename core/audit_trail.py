"""Which audit events belong to a patient: every tracked model with a foreign-key path to her.

Found from the app registry (each model pghistory tracks, and the forward foreign keys from it down to
`patients.Patient`) rather than listed by hand, so a form added later is in her trail without anyone
having to remember it. Core sits below every app (SPEC §10): it names the patient model by its label
and imports no app above it.

Events are selected by their object (`pgh_obj_id`, indexed in every event table) among the rows whose
path leads to her. Her records are never deleted (clinical rows are voided, sign-off rows refuse
DELETE, queries are closed), so the current rows reach every event they ever had.
"""

import re
from collections import deque
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db.models import Model, Subquery
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_noop, override

from core.audit_labels import FIELD_LABELS, MODEL_FIELD_LABELS

PATIENT_MODEL = "patients.Patient"
MAX_PATH_LENGTH = 4  # foreign keys from a record to her; today's longest is 2 (query message → query → patient)

# Shown only to those who may see her identity (core.access.can_view_identity); keyed by record name.
IDENTITY_RECORDS = frozenset({"patient_identity"})

# Records with a path to her that her trail leaves out on purpose, with the reason. None today: every
# change to her data is shown (identity only to those who may see it, above).
NOT_IN_TRAIL: dict[str, str] = {}

# Page labels of the record types (English msgids; the page and the API translate them). The stable
# names are derived from the class names; a record type missing here is labelled by its verbose name.
RECORD_LABELS = {
    "patient": gettext_noop("Registration"),
    "patient_identity": gettext_noop("Identity"),
    "screening": gettext_noop("Screening"),
    "consent": gettext_noop("Consent"),
    "baseline": gettext_noop("Baseline"),
    "randomization": gettext_noop("Randomization"),
    "embryo_transfer": gettext_noop("Embryo transfer"),
    "luteal_support": gettext_noop("Luteal support"),
    "dalteparin_course": gettext_noop("Dalteparin"),
    "protocol_deviation": gettext_noop("Protocol deviation"),
    "lab_draw": gettext_noop("Lab draw"),
    "lab_result": gettext_noop("Lab result"),
    "pregnancy_outcome": gettext_noop("Pregnancy outcome"),
    "adverse_event": gettext_noop("Adverse event"),
    "questionnaire_response": gettext_noop("Questionnaire"),
    "data_query": gettext_noop("Data query"),
    "query_message": gettext_noop("Query message"),
    "source_verification": gettext_noop("Source-data verification"),
    "casebook_signature": gettext_noop("E-signature"),
    "casebook_lock": gettext_noop("Casebook lock"),
}


@dataclass(frozen=True)
class TrailSource:
    """One tracked model of a patient's trail: its event table and how its rows lead to her."""

    event_model: type[Model]
    path: str  # lookup from the tracked row to her primary key, e.g. "draw__patient"; "" for the patient
    record: str  # stable record-type name, e.g. "pregnancy_outcome"
    label: str  # English msgid of the page label

    @property
    def identity(self) -> bool:
        return self.record in IDENTITY_RECORDS

    def filters(self, patient_pk: int) -> dict:
        """Event filters for her: the events of every row whose path leads to her (one subquery)."""
        if not self.path:
            return {"pgh_obj_id": patient_pk}
        tracked = self.event_model.pgh_tracked_model
        rows = tracked._base_manager.filter(**{self.path: patient_pk}).values("pk")
        return {"pgh_obj_id__in": Subquery(rows)}


def record_name(model: type[Model]) -> str:
    """The record type's stable name: the class name in snake case (PregnancyOutcome → pregnancy_outcome).

    Not the app label, so moving a model to another app keeps the name API clients filter by.
    """
    return re.sub(r"(?<!^)(?=[A-Z])", "_", model.__name__).lower()


def tracked_models() -> list[type[Model]]:
    """Every model whose changes pghistory records (its event model is the audit table)."""
    return [model for model in apps.get_models() if getattr(model, "pgh_event_model", None) is not None]


def _forward_keys(model: type[Model]):
    for field in model._meta.concrete_fields:
        if field.is_relation and (field.many_to_one or field.one_to_one):
            yield field.name, field.related_model


def patient_path(model: type[Model], target: type[Model]) -> str | None:
    """The shortest chain of forward foreign keys from `model` to `target` as an ORM lookup ("" for the
    target itself), or None when her rows are not reachable from it."""
    if model is target:
        return ""
    queue, seen = deque([(model, "", 0)]), {model}
    while queue:
        current, prefix, hops = queue.popleft()
        if hops == MAX_PATH_LENGTH:
            continue
        for name, related in _forward_keys(current):
            lookup = f"{prefix}__{name}" if prefix else name
            if related is target:
                return lookup
            if related not in seen:
                seen.add(related)
                queue.append((related, lookup, hops + 1))
    return None


@cache
def patient_trail_sources() -> tuple[TrailSource, ...]:
    """Every tracked model that belongs to a patient (computed once: the app registry is fixed)."""
    patient = apps.get_model(PATIENT_MODEL)
    sources = []
    for model in tracked_models():
        path = patient_path(model, patient)
        record = record_name(model)
        if path is None or record in NOT_IN_TRAIL:
            continue
        label = RECORD_LABELS.get(record) or capfirst(_msgid(model._meta.verbose_name))
        sources.append(TrailSource(model.pgh_event_model, path, record, label))
    return tuple(sources)


def _msgid(text) -> str:
    """The English text of a label, whether declared for translation (lazy) or Django's default."""
    if isinstance(text, Promise):
        with override("en"):
            return str(text)
    return str(text)


@cache
def field_label(model: type[Model], name: str) -> str:
    """English msgid of a field's label: a declared verbose name, else core.audit_labels, else the
    field name as words. The page and the API translate it to the reader's language."""
    field = model._meta.get_field(name)
    if isinstance(field.verbose_name, Promise):
        return _msgid(field.verbose_name)
    specific = MODEL_FIELD_LABELS.get((model._meta.label, field.name))
    return specific or FIELD_LABELS.get(field.name) or capfirst(_msgid(field.verbose_name))
