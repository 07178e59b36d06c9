"""Writes of lab data: one draw from the form, one result (the API), corrections, and the checked uploads
the import page keeps between its preview and its confirmation (the import itself: labs.importing)."""

import contextlib
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited, clinical_data_changed
from core.exceptions import InvalidTransition, ValidationFailed
from core.services import record_correct
from labs import ranges, selectors
from labs.models import Analyte, LabDraw, LabResult
from labs.validation import CheckedResult, ResultProblem, check_result
from patients.locks import require_patient_data_entry


def transfer_date_of(patient):
    transfer = patient.transfers.filter(voided_at__isnull=True).first()
    return transfer.transfer_date if transfer else None


def _require_randomized(patient) -> None:
    if not hasattr(patient, "randomization"):
        raise InvalidTransition(
            _("%(patient)s is not randomized: lab draws are recorded after randomization.") % {"patient": patient}
        )


def lab_draw_record(*, patient, timepoint: str, drawn_at: datetime, entries: list[tuple[str, str, str]], by):
    """One draw with its results, each (analyte, value as entered, unit); a bad value saves nothing.

    The draw is accepted outside its time-point window, with the reason kept on it as a warning.
    """
    require_patient_data_entry(by, patient)
    _require_randomized(patient)
    windows = selectors.timepoint_windows()
    if timepoint not in windows:
        raise ValidationFailed({"timepoint": [_("Unknown time point '%(timepoint)s'.") % {"timepoint": timepoint}]})
    checked = _checked_entries(entries, timepoint)
    if drawn_at > timezone.now():
        raise ValidationFailed({"drawn_at": [_("The draw cannot be in the future.")]})
    if LabDraw.objects.filter(patient=patient, timepoint=windows[timepoint][0], voided_at__isnull=True).exists():
        raise InvalidTransition(
            _("%(patient)s already has a %(timepoint)s draw; correct its results instead.")
            % {"patient": patient, "timepoint": timepoint}
        )
    tp, window = windows[timepoint]
    warning = ranges.window_warning(timezone.localdate(drawn_at), transfer_date_of(patient), window, timepoint)
    analytes = {a.code: a for a in Analyte.objects.all()}
    with audited(by=by):
        draw = LabDraw.objects.create(
            patient=patient, timepoint=tp, drawn_at=drawn_at, window_warning=warning, created_by=by, updated_by=by
        )
        LabResult.objects.bulk_create(new_result(draw, analytes[c.analyte], c, by) for c in checked)
        clinical_data_changed([patient.pk])
    return draw


def new_result(draw, analyte, checked: CheckedResult, by) -> LabResult:
    return LabResult(
        draw=draw,
        analyte=analyte,
        value_as_entered=checked.value_as_entered,
        unit_as_entered=checked.unit_as_entered,
        censoring=checked.censoring,
        canonical_value=checked.canonical_value,
        flag=checked.flag,
        created_by=by,
        updated_by=by,
    )


def _checked_entries(entries, timepoint: str) -> list[CheckedResult]:
    specs = selectors.analyte_specs()
    errors: dict[str, list[str]] = {}
    checked, seen = [], set()
    for code, value, unit in entries:
        if code not in specs:
            errors.setdefault("__all__", []).append(_("Unknown analyte '%(analyte)s'.") % {"analyte": code})
        elif code in seen:
            errors.setdefault(f"{code}_value", []).append(
                _("%(analyte)s is entered twice in one draw.") % {"analyte": code}
            )
        else:
            seen.add(code)
            outcome = check_result(specs[code], timepoint, value, unit)
            if isinstance(outcome, ResultProblem):
                errors.setdefault(f"{code}_{outcome.column}", []).append(outcome.message)
            else:
                checked.append(outcome)
    if not errors and not checked:
        errors["__all__"] = [_("Enter at least one result.")]
    if errors:
        raise ValidationFailed(errors)
    return checked


def lab_result_correct(*, result: LabResult, value: str, unit: str, by, reason: str, expected_version):
    """Correct one result (new value or unit), re-deriving canonical value and flag; needs a reason."""
    require_patient_data_entry(by, result.draw.patient)
    spec = selectors.analyte_specs()[result.analyte.code]
    outcome = check_result(spec, result.draw.timepoint.code, value, unit)
    if isinstance(outcome, ResultProblem):
        raise ValidationFailed({outcome.column: [outcome.message]})
    return record_correct(
        result,
        changes=result_changes(outcome),
        by=by,
        reason=reason,
        expected_version=expected_version,
        patient_id=result.draw.patient_id,
    )


def result_changes(checked: CheckedResult) -> dict:
    return {
        "value_as_entered": checked.value_as_entered,
        "unit_as_entered": checked.unit_as_entered,
        "censoring": checked.censoring,
        "canonical_value": checked.canonical_value,
        "flag": checked.flag,
    }


def lab_result_add(*, patient, timepoint: str, drawn_at: datetime, analyte: str, value: str, unit: str, by):
    """One result (the API's unit of entry): joins the time point's draw, or starts it."""
    require_patient_data_entry(by, patient)
    _require_randomized(patient)
    windows = selectors.timepoint_windows()
    if timepoint not in windows:
        raise ValidationFailed(
            {
                "timepoint": [
                    _("Unknown time point '%(timepoint)s'; use %(known)s.")
                    % {"timepoint": timepoint, "known": ", ".join(windows)}
                ]
            }
        )
    try:
        [checked] = _checked_entries([(analyte, value, unit)], timepoint)
    except ValidationFailed as error:
        # One result: report against the payload's own field names ("value", "unit"), not "E2_value".
        raise ValidationFailed({key.removeprefix(f"{analyte}_"): msgs for key, msgs in error.errors.items()}) from None
    if drawn_at > timezone.now():
        raise ValidationFailed({"drawn_at": [_("The draw cannot be in the future.")]})
    tp, window = windows[timepoint]
    draw = LabDraw.objects.filter(patient=patient, timepoint=tp, voided_at__isnull=True).first()
    if draw is not None and draw.drawn_at != drawn_at:
        raise ValidationFailed(
            {
                "drawn_at": [
                    _("The %(timepoint)s draw of %(patient)s was drawn at %(at)s; use that time.")
                    % {"timepoint": timepoint, "patient": patient, "at": draw.drawn_at.isoformat()}
                ]
            }
        )
    if draw is not None and draw.results.filter(analyte__code=analyte, voided_at__isnull=True).exists():
        raise InvalidTransition(
            _("%(patient)s already has %(analyte)s at %(timepoint)s; correct it (PATCH) instead.")
            % {"patient": patient, "analyte": analyte, "timepoint": timepoint}
        )
    with audited(by=by):
        if draw is None:
            warning = ranges.window_warning(timezone.localdate(drawn_at), transfer_date_of(patient), window, timepoint)
            draw = LabDraw.objects.create(
                patient=patient, timepoint=tp, drawn_at=drawn_at, window_warning=warning, created_by=by, updated_by=by
            )
        result = new_result(draw, Analyte.objects.get(code=analyte), checked, by)
        result.save()
        clinical_data_changed([patient.pk])
    return result


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# How long a checked upload is kept for its confirmation (labs.tasks purges older ones).
CHECKED_UPLOAD_LIFETIME = timedelta(hours=24)


def _checked_upload_path(user, sha256: str) -> Path | None:
    if not _SHA256.match(sha256):
        return None  # never build a path from anything but a hash
    return Path(settings.LAB_UPLOAD_DIR) / str(user.pk) / f"{sha256}.csv"


def checked_upload_keep(*, user, sha256: str, content: bytes) -> None:
    """Keep a file between its check (dry run) and the confirmed import, per user, named by its hash."""
    path = _checked_upload_path(user, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def checked_uploads_purge(*, older_than: timedelta = CHECKED_UPLOAD_LIFETIME) -> int:
    """Delete kept files last written more than `older_than` ago; returns how many. A checked file waits
    for its confirmation a few minutes; one left longer was abandoned (or could never be imported)."""
    cutoff = time.time() - older_than.total_seconds()
    deleted = 0
    for path in Path(settings.LAB_UPLOAD_DIR).glob("*/*.csv"):
        with contextlib.suppress(FileNotFoundError):  # taken (or purged by another run) meanwhile
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
    return deleted


def checked_upload_take(*, user, sha256: str) -> bytes | None:
    """The kept file of this user with this hash (removed as it is taken), or None."""
    path = _checked_upload_path(user, sha256)
    if path is None or not path.exists():
        return None
    content = path.read_bytes()
    path.unlink(missing_ok=True)
    return content
