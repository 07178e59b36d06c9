"""Who last set each value the file holds: the patients' audit trail, indexed by record, field and key.

A Snapshot file holds each value as it is now, so its AuditRecord is the change that set it: the latest
audited event of that record whose changes include the field (for a JSON field such as questionnaire
answers or screening criteria, the key inside it). The events are read with core's audit reader
(`core.selectors.audit_entries`) from the trail sources core finds for a patient
(`core.audit_trail.patient_trail_sources`), for a whole batch of patients at once: one query per record
type. Her identity's trail is never read.
"""

from django.db.models import Model, Subquery
from pghistory.models import Context

from core.audit_trail import TrailSource, patient_trail_sources
from core.selectors import AuditEntry, FieldChange, audit_entries

# (model label, primary key, field attname, key within a JSON field or "")
ValueKey = tuple[str, int, str, str]


def _batch_filters(source: TrailSource, patient_ids: list[int]) -> dict:
    """The events of every row of these patients (TrailSource.filters, for many patients)."""
    if not source.path:
        return {"pgh_obj_id__in": patient_ids}
    rows = source.event_model.pgh_tracked_model._base_manager.filter(**{f"{source.path}__in": patient_ids})
    return {"pgh_obj_id__in": Subquery(rows.values("pk"))}


def _changed_keys(change: FieldChange) -> list[str]:
    old, new = change.old, change.new
    if isinstance(old, dict) or isinstance(new, dict):
        old, new = old or {}, new or {}
        return [key for key in {**old, **new} if old.get(key) != new.get(key)]
    return [""]


def value_audit(patient_ids: list[int], models: set[type[Model]]) -> dict[ValueKey, AuditEntry]:
    """The latest audit entry that set each field (or JSON key) of these patients' rows of `models`."""
    index: dict[ValueKey, AuditEntry] = {}
    for source in patient_trail_sources():
        if source.identity or source.event_model.pgh_tracked_model not in models:
            continue
        # Oldest first within each row: a later change of the same field replaces the earlier one.
        for entry in audit_entries(source.event_model, record=source.record, **_batch_filters(source, patient_ids)):
            for change in entry.changes:
                for key in _changed_keys(change):
                    index[entry.model, entry.object_id, change.field, key] = entry
    return index


def audit_usernames() -> set[str]:
    """Every user name the audit trail records (accounts since renamed or removed included)."""
    names = Context.objects.values_list("metadata__username", flat=True).distinct()
    return {name for name in names if isinstance(name, str) and name}
