"""Writes shared by every clinical record: audited creation and update (with optimistic locking), voiding."""

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited, clinical_data_changed, require_reason
from core.exceptions import InvalidTransition, StaleVersion
from core.models import ClinicalRecord


def _locked_copy(record: ClinicalRecord) -> ClinicalRecord:
    return type(record).objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=record.pk)


def record_update(
    record: ClinicalRecord,
    *,
    changes: Mapping[str, Any],
    by,
    reason: str,
    expected_version: int | None,
) -> ClinicalRecord:
    """Apply `changes` if the record is still at `expected_version`; bump the version; audited with reason.

    Fields whose value does not change are ignored; a save that changes nothing writes nothing.
    """
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        current = _locked_copy(record)
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(
                changed_by=current.updated_by.get_username(),
                changed_at=timezone.localtime(current.updated_at),
                current_version=current.version,
            )
        changed = [field for field, value in changes.items() if getattr(current, field) != value]
        if not changed:
            return current
        for field in changed:
            setattr(current, field, changes[field])
        current.version += 1
        current.updated_by = by
        current.save(update_fields=[*changed, "version", "updated_by", "updated_at"])
        return current


def record_create(model: type[ClinicalRecord], *, patient, values: Mapping[str, Any], by) -> ClinicalRecord:
    """A new clinical record of this patient, audited; the clinical-change hook (quality's automatic checks)
    runs for her within the same write, so the record and its automatic queries commit together."""
    with audited(by=by):
        record = model.objects.create(patient=patient, created_by=by, updated_by=by, **values)
        clinical_data_changed([patient.pk])
    return record


def record_correct(
    record: ClinicalRecord,
    *,
    changes: Mapping[str, Any],
    by,
    reason: str,
    expected_version: int | None,
    patient_id: int | None = None,
) -> ClinicalRecord:
    """`record_update` of a patient's clinical record, then the clinical-change hook for her, in one write.

    `patient_id` is needed only by a record that reaches its patient through another (a lab result)."""
    with audited(by=by, reason=require_reason(reason)):
        updated = record_update(record, changes=changes, by=by, reason=reason, expected_version=expected_version)
        clinical_data_changed([patient_id or record.patient_id])
    return updated


def record_touch(record: ClinicalRecord, *, by, reason: str) -> ClinicalRecord:
    """Bump the version of a record whose dependent data changed (a patient's identity lives in its
    own table), so a client holding the old version gets a 409 instead of overwriting the change."""
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        current = _locked_copy(record)
        current.version += 1
        current.updated_by = by
        current.save(update_fields=["version", "updated_by", "updated_at"])
        return current


def record_void(record: ClinicalRecord, *, by, reason: str) -> ClinicalRecord:
    """Mark a record entered in error; it stays in the database and the audit trail."""
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        current = _locked_copy(record)
        if current.voided_at is not None:
            raise InvalidTransition(_("This record is already voided."))
        current.voided_at = timezone.now()
        current.voided_by = by
        current.void_reason = reason
        current.version += 1
        current.updated_by = by
        current.save(update_fields=["voided_at", "voided_by", "void_reason", "version", "updated_by", "updated_at"])
        return current
