"""Automatic checks: the queries the data themselves raise, opened and closed inside each clinical write."""

from django.db import connection
from django.db.models import F
from django.utils import timezone

from core.audit import audited
from core.bulk_copy import NULL, bind_audit_context, reserve_ids, text
from core.bulk_copy import Table as CopyTable
from labs.models import Flag, LabDraw, LabResult
from labs.selectors import timepoint_windows
from outcomes.models import PregnancyOutcome
from patients.models import EmbryoTransfer
from quality import checks
from quality.models import (
    DataQuery,
    MessageKind,
    QueryMessage,
    QueryOrigin,
    QueryStatus,
)
from quality.services.queries import SYSTEM

AUTO_CLOSE_MESSAGE = "Closed automatically: the data were corrected and the check passes."


def _findings(patient_ids: list[int]) -> list[checks.Finding]:
    # Only values flagged against their range can be findings (checks.lab_range_findings): reading the
    # normal ones too tripled the time of the checks after a lab import.
    results = [
        checks.LabResultFact(patient_id, tp, analyte, flag, f"{censoring}{value.normalize():f}", unit)
        for patient_id, tp, analyte, flag, censoring, value, unit in LabResult.objects.filter(
            draw__patient_id__any=patient_ids, voided_at__isnull=True, draw__voided_at__isnull=True
        )
        .exclude(flag=Flag.NORMAL)
        .values_list(
            "draw__patient_id",
            "draw__timepoint__code",
            "analyte__code",
            "flag",
            "censoring",
            "canonical_value",
            "analyte__canonical_unit",
        )
    ]
    transfers = dict(
        EmbryoTransfer.objects.filter(patient_id__any=patient_ids, voided_at__isnull=True).values_list(
            "patient_id", "transfer_date"
        )
    )
    embryos = dict(
        EmbryoTransfer.objects.filter(patient_id__any=patient_ids, voided_at__isnull=True).values_list(
            "patient_id", "embryos_transferred"
        )
    )
    windows = timepoint_windows()
    tz = timezone.get_current_timezone()  # once: localdate() per draw looked it up each time
    draws = [
        checks.LabDrawFact(patient_id, tp, drawn_at.astimezone(tz).date(), transfers.get(patient_id), windows[tp][1])
        for patient_id, tp, drawn_at in LabDraw.objects.filter(
            patient_id__any=patient_ids, voided_at__isnull=True
        ).values_list("patient_id", "timepoint__code", "drawn_at")
    ]
    outcomes = [
        checks.OutcomeFact(
            o.patient_id,
            o.beta_hcg_positive,
            o.beta_hcg_value,
            o.gestational_sacs,
            embryos.get(o.patient_id),
            o.sacs_exceed_embryos_confirmed,
            o.fetal_heartbeat,
            o.ongoing_pregnancy,
        )
        for o in PregnancyOutcome.objects.filter(patient_id__any=patient_ids, voided_at__isnull=True)
    ]
    return checks.lab_range_findings(results) + checks.lab_window_findings(draws) + checks.outcome_findings(outcomes)


def automatic_checks_sync(patient_ids) -> dict[str, int]:
    """Open one query per new finding, close the queries whose finding is gone; call after clinical
    writes inside their transaction, so the data and its queries commit together.

    A finding a monitor already closed with the same evidence (value confirmed against source) is not
    raised again; a different value is a new finding.
    """
    patient_ids = sorted(set(patient_ids))
    if not patient_ids:
        return {"opened": 0, "closed": 0}
    findings = {(f.patient_id, f.check_code): f for f in _findings(patient_ids)}
    automatic = DataQuery.objects.filter(patient_id__any=patient_ids, origin=QueryOrigin.AUTOMATIC)
    unresolved = {(q.patient_id, q.check_code): q for q in automatic.exclude(status=QueryStatus.CLOSED)}
    accepted = set(
        automatic.filter(status=QueryStatus.CLOSED, closed_by__isnull=False).values_list(
            "patient_id", "check_code", "evidence"
        )
    )
    gone = [q for key, q in unresolved.items() if key not in findings or findings[key].evidence != q.evidence]
    still_open = set(unresolved) - {(q.patient_id, q.check_code) for q in gone}
    new = [
        finding
        for key, finding in findings.items()
        if key not in still_open and (finding.patient_id, finding.check_code, finding.evidence) not in accepted
    ]
    with audited(by=None, reason="Automatic data check"):
        now = timezone.now()
        DataQuery.objects.filter(pk__in=[q.pk for q in gone]).update(
            status=QueryStatus.CLOSED, version=F("version") + 1, closed_at=now, closed_by=None, updated_at=now
        )
        raised = _raise_automatic_queries(new, closed=[q.pk for q in gone], now=now)
    return {"opened": raised, "closed": len(gone)}


QUERY_COLUMNS = [
    "patient",
    "form",
    "field",
    "status",
    "origin",
    "check_code",
    "evidence",
    "raised_by",
    "opened_at",
    "updated_at",
    "closed_at",
    "closed_by",
    "version",
]
MESSAGE_COLUMNS = ["query", "kind", "author", "author_name", "text", "at"]


def _raise_automatic_queries(findings: list[checks.Finding], *, closed: list[int], now) -> int:
    """Open a query per finding with its first message, and post the closing message on each closed
    query, by COPY under the caller's audit context; returns how many were opened.

    A lab import can raise tens of thousands at once (every value outside its range): COPY writes them
    several times faster than `bulk_create`, whose cost was building a model and a parameter per field.
    The tables' triggers (audit events, hash chain, constraints) see them as they see an INSERT.
    """
    if not findings and not closed:
        return 0
    with connection.cursor() as cursor:
        bind_audit_context(cursor)
        queries = CopyTable(DataQuery, QUERY_COLUMNS, clinical=False, with_id=True)
        messages = CopyTable(QueryMessage, MESSAGE_COLUMNS, clinical=False)
        # One f-string per row (Table.add formats each value: a tenth of a lab import's checks); the texts
        # come from the checks and may quote a value as entered, so they are escaped.
        opened = f"{QueryStatus.OPEN.value}\t{QueryOrigin.AUTOMATIC.value}"
        tail = f"{NULL}\t{now}\t{now}\t{NULL}\t{NULL}\t1\n"  # raised_by … version
        raised = f"\t{MessageKind.RAISED.value}\t{NULL}\t{SYSTEM}\t"
        for pk, f in zip(reserve_ids(cursor, DataQuery, len(findings)), findings, strict=True):
            where = f"{text(f.form)}\t{text(f.field)}\t{opened}\t{text(f.check_code)}\t{text(f.evidence)}"
            queries.add_line(f"{pk}\t{f.patient_id}\t{where}\t{tail}")
            messages.add_line(f"{pk}{raised}{text(f.message)}\t{now}\n")
        for pk in closed:
            messages.add((pk, MessageKind.AUTO_CLOSED, None, SYSTEM, AUTO_CLOSE_MESSAGE, now))
        queries.flush(cursor)  # before the messages: they refer to the queries
        messages.flush(cursor)
    return len(findings)


# --- Source-data verification ---------------------------------------------------------------------
