"""`lab_results_import`: validate the whole file, plan every change, then write all or nothing.

Idempotent: a row equal to what is stored is "unchanged"; a file that changes nothing writes nothing
(not even an import record). A different value for a stored result is an update and needs a reason.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.audit import audited, clinical_data_changed
from core.bulk_copy import bind_audit_context, record_head, reserve_ids
from core.garbage import cycle_collection_paused
from core.locks import ensure_database_unlocked
from core.services import record_update
from labs import copy_rows, ranges, selectors
from labs.copy_rows import result_line
from labs.import_csv import MAX_LISTED_ROWS, ImportRow, Problems, RowProblem, parse_lab_csv
from labs.models import Analyte, LabDraw, LabImport, LabResult
from labs.services import result_changes
from patients.locks import locked_patient_ids
from patients.models import EmbryoTransfer, Patient


@dataclass
class PlannedChange:
    row: int
    study_id: str
    timepoint: str
    analyte: str
    action: str  # "create" | "update" | "unchanged"
    old: str = ""
    new: str = ""


@dataclass
class ImportReport:
    file_sha256: str
    rows_total: int = 0
    problems: list = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    changes: list[PlannedChange] = field(default_factory=list)
    skipped_invalid: int = 0
    imported: bool = False
    import_id: int | None = None
    # `problems` lists those of the first labs.import_csv.MAX_LISTED_ROWS bad rows; this counts them all.
    bad_rows_total: int = 0

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems})


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class ImportPatient:
    """What an import needs of a patient: a file names thousands, and whole models cost ~0.1 ms each."""

    pk: int
    randomized: bool
    transfer_date: date | None


def _patients_by_study_id(study_ids: set[str], by) -> dict[str, ImportPatient]:
    """Only patients whose data the user may enter; any other id is reported as unknown (not revealed)."""
    visible = list(
        Patient.objects.filter(
            study_id__any=study_ids, site_id__in=access.data_entry_site_ids(by), voided_at__isnull=True
        ).values_list("study_id", "pk", "randomization__id")
    )
    # Windows count from each patient's transfer: fetch them all at once, not once per draw.
    transfers = dict(
        EmbryoTransfer.objects.filter(patient_id__any=[pk for _, pk, _ in visible], voided_at__isnull=True).values_list(
            "patient_id", "transfer_date"
        )
    )
    return {
        study_id: ImportPatient(pk, randomization is not None, transfers.get(pk))
        for study_id, pk, randomization in visible
    }


@dataclass(frozen=True)
class StoredResult:
    """Just what planning compares; the full row is loaded only when it is actually updated."""

    pk: int
    value_as_entered: str
    unit_as_entered: str


class StoredDraw(NamedTuple):
    pk: int
    drawn_at: datetime


def _stored(patients: dict[str, ImportPatient]):
    """The patients' active draws and results, as just the values planning compares (not models)."""
    draws = {
        (patient_id, timepoint): StoredDraw(pk, drawn_at)
        for pk, patient_id, timepoint, drawn_at in LabDraw.objects.filter(
            patient_id__any=[p.pk for p in patients.values()], voided_at__isnull=True
        ).values_list("pk", "patient_id", "timepoint__code", "drawn_at")
    }
    rows = LabResult.objects.filter(draw_id__any=[d.pk for d in draws.values()], voided_at__isnull=True).values_list(
        "pk", "draw_id", "analyte__code", "value_as_entered", "unit_as_entered"
    )
    results = {(draw_id, code): StoredResult(pk, value, unit) for pk, draw_id, code, value, unit in rows}
    return draws, results


def _patient_problems(rows: list[ImportRow], patients: dict[str, ImportPatient]) -> list[RowProblem]:
    problems = []
    locked = locked_patient_ids(p.pk for p in patients.values())
    for row in rows:
        patient = patients.get(row.study_id)
        if patient is None:
            message = _("Unknown study id '%(study_id)s' at your sites.") % {"study_id": row.study_id}
        elif patient.pk in locked:
            message = _("%(study_id)s's casebook is locked.") % {"study_id": row.study_id}
        elif not patient.randomized:
            message = _("%(study_id)s is not randomized.") % {"study_id": row.study_id}
        else:
            continue
        problems.append(RowProblem(row.row, "study_id", message))
    return problems


def _plan(rows, patients, draws, results, reason: str) -> tuple[list[PlannedChange], list[RowProblem]]:
    changes, problems = [], []
    for row in rows:
        result = row.result
        draw = draws.get((patients[row.study_id].pk, row.timepoint))
        new = f"{result.value_as_entered} {result.unit_as_entered}"
        change = PlannedChange(row.row, row.study_id, row.timepoint, result.analyte, "create", "", new)
        if draw is not None:  # a new draw (the common case of an import) holds only creates
            _compare_with_stored(change, row, draw, results.get((draw.pk, result.analyte)))
            if change.action == "update" and not reason.strip():
                problems.append(_reason_needed(change))
        changes.append(change)
    return changes, problems


def _compare_with_stored(change: PlannedChange, row, draw: StoredDraw, stored: StoredResult | None) -> None:
    if draw.drawn_at != row.drawn_at:
        drawn = f"{timezone.localtime(draw.drawn_at):%Y-%m-%d %H:%M}"
        change.action, change.old = "update", _("drawn at %(at)s") % {"at": drawn}
    if stored is not None:
        old = f"{stored.value_as_entered} {stored.unit_as_entered}"
        same = old == change.new and change.action != "update"
        change.action, change.old = ("unchanged", old) if same else ("update", old)


def _reason_needed(change: PlannedChange) -> RowProblem:
    message = _("%(study_id)s %(timepoint)s %(analyte)s is stored as %(old)s; give a reason to change it to %(new)s.")
    values = {
        "study_id": change.study_id,
        "timepoint": change.timepoint,
        "analyte": change.analyte,
        "old": change.old,
        "new": change.new,
    }
    return RowProblem(change.row, "value", message % values)


def _window_warnings(rows, patients) -> list[tuple[int, str]]:
    windows = selectors.timepoint_windows()
    tz = timezone.get_current_timezone()  # once: each localdate() looks it up again (~30 µs)
    warnings, seen = [], set()
    for row in rows:
        key = (row.study_id, row.timepoint)
        if key in seen:
            continue
        seen.add(key)
        window = windows[row.timepoint][1]
        transfer = patients[row.study_id].transfer_date
        message = ranges.window_warning(row.drawn_at.astimezone(tz).date(), transfer, window, row.timepoint)
        if message:
            warnings.append((row.row, f"{row.study_id}: {message}"))
    return warnings


def lab_results_import(
    *, content: bytes, filename: str, by, dry_run: bool = False, skip_invalid: bool = False, reason: str = ""
) -> ImportReport:
    """Check every row, then (unless dry-run, or any row is bad without skip_invalid) apply the plan."""
    with cycle_collection_paused():  # objects per row, none in a cycle: see core.garbage
        return _import(content, filename, by, dry_run=dry_run, skip_invalid=skip_invalid, reason=reason)


def _import(content: bytes, filename: str, by, *, dry_run: bool, skip_invalid: bool, reason: str) -> ImportReport:
    ensure_database_unlocked()
    report = ImportReport(file_sha256=sha256_of(content))
    specs = selectors.analyte_specs()
    windows = selectors.timepoint_windows()
    rows, problems = parse_lab_csv(
        content, specs=specs, timepoints=set(windows), default_tz=timezone.get_default_timezone()
    )
    patients = _patients_by_study_id({r.study_id for r in rows}, by)
    problems += _patient_problems(rows, patients)
    now = timezone.now()
    future = _("The draw cannot be in the future.")
    problems += [RowProblem(r.row, "drawn_at", future) for r in rows if r.drawn_at > now]
    bad = {p.row for p in problems}
    rows = [r for r in rows if r.row not in bad]
    draws, results = _stored(patients)
    report.changes, plan_problems = _plan(rows, patients, draws, results, reason)
    problems += plan_problems
    report.rows_total = len(rows) + len(bad - {0}) + problems.unlisted_rows
    _list_problems(report, problems)
    report.warnings = _window_warnings([r for r in rows if r.row not in {p.row for p in plan_problems}], patients)
    if (report.problems and not skip_invalid) or dry_run or any(p.row == 0 for p in report.problems):
        return report
    report.skipped_invalid = report.bad_rows_total
    bad = {p.row for p in problems}
    report.changes = [c for c in report.changes if c.row not in bad]
    if not any(c.action != "unchanged" for c in report.changes):
        return report
    _apply(report, [r for r in rows if r.row not in bad], patients, draws, results, by, reason, filename)
    return report


def _list_problems(report: ImportReport, problems: Problems) -> None:
    """The problems of the first MAX_LISTED_ROWS bad rows, by line; every bad row counted."""
    ordered = sorted(problems, key=lambda p: (p.row, p.column))
    listed = sorted({p.row for p in ordered})[:MAX_LISTED_ROWS]
    last = listed[-1] if listed else 0
    report.problems = [p for p in ordered if p.row <= last]
    report.bad_rows_total = len({p.row for p in problems}) + problems.unlisted_rows


def _apply(report, rows, patients, draws, results, by, reason, filename) -> None:
    actions = {c.row: c.action for c in report.changes}
    with audited(by=by, reason=reason or f"Lab import {filename}"):
        moved: set[int] = set()  # draws whose drawn_at this import has already changed
        for row in rows:
            if actions[row.row] == "update":
                draw = draws[(patients[row.study_id].pk, row.timepoint)]
                _update(draw, results.get((draw.pk, row.result.analyte)), row, by, reason, moved)
        _copy_new_rows([r for r in rows if actions[r.row] == "create"], patients, draws, by)
        log = LabImport.objects.create(
            file_sha256=report.file_sha256,
            filename=filename[:255],
            imported_by=by,
            reason=reason,
            rows_total=report.rows_total,
            created=report.count("create"),
            updated=report.count("update"),
            unchanged=report.count("unchanged"),
            skipped_invalid=report.skipped_invalid,
        )
        clinical_data_changed({patients[row.study_id].pk for row in rows})
    report.imported, report.import_id = True, log.pk


def _copy_new_rows(rows: list[ImportRow], patients, draws, by) -> None:
    """New draws and results by COPY: ~10× the rows per second of `bulk_create`, whose cost is Django
    building a model and an SQL parameter per field. The database's triggers (audit events, hash chain,
    constraints) see the rows exactly as they see an INSERT, under the import's audit context."""
    if not rows:
        return
    windows = selectors.timepoint_windows()
    analytes = dict(Analyte.objects.values_list("code", "pk"))
    head = record_head(timezone.now(), by.pk)
    tz = timezone.get_current_timezone()
    new_draws = {}
    for row in rows:
        patient = patients[row.study_id]
        if (patient.pk, row.timepoint) not in draws:
            new_draws.setdefault((patient.pk, row.timepoint), row)
    with connection.cursor() as cursor:
        bind_audit_context(cursor)
        draw_ids = dict(zip(new_draws, reserve_ids(cursor, LabDraw, len(new_draws)), strict=True))
        draw_table = copy_rows.draw_table()
        for (patient_id, timepoint), row in new_draws.items():
            tp, window = windows[timepoint]
            drawn_on, transfer = row.drawn_at.astimezone(tz).date(), patients[row.study_id].transfer_date
            warning = ranges.window_warning(drawn_on, transfer, window, tp.code)
            draw_table.add((patient_id, tp.pk, row.drawn_at, warning), head=head, pk=draw_ids[patient_id, timepoint])
        draw_table.flush(cursor)
        draw_pk = {key: draw.pk for key, draw in draws.items()} | draw_ids
        lines = (
            result_line(
                head, draw_pk[patients[row.study_id].pk, row.timepoint], analytes[row.result.analyte], row.result
            )
            for row in rows
        )
        copy_rows.result_table().stream(cursor, lines)


def _update(draw: StoredDraw, stored, row, by, reason, moved: set[int]) -> None:
    if draw.drawn_at != row.drawn_at and draw.pk not in moved:
        moved.add(draw.pk)
        record = LabDraw.objects.get(pk=draw.pk)
        record_update(record, changes={"drawn_at": row.drawn_at}, by=by, reason=reason, expected_version=None)
    if stored is not None:
        result = LabResult.objects.get(pk=stored.pk)
        record_update(result, changes=result_changes(row.result), by=by, reason=reason, expected_version=None)
