"""Writes for data quality and sign-off: queries and their workflow, automatic checks, source-data
verification, e-signatures and locks. Every write is audited (who, when, what, why)."""

import logging

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import access
from core.audit import audited, require_reason
from core.bulk_copy import NULL, bind_audit_context, reserve_ids, text
from core.bulk_copy import Table as CopyTable
from core.exceptions import InvalidTransition, SignatureRefused, StaleVersion, ValidationFailed
from core.lockout import MESSAGES, Lock, Reauthentication, reauthenticate
from core.models import DatabaseLock, Trial, TrialStatus
from labs.models import Flag, LabDraw, LabResult
from labs.selectors import timepoint_windows
from outcomes.models import PregnancyOutcome
from patients.models import CasebookLock, EmbryoTransfer, Patient
from quality import catalogue, checks, selectors
from quality.models import (
    CasebookSignature,
    DataQuery,
    MessageKind,
    QueryMessage,
    QueryOrigin,
    QueryStatus,
    SignatureMeaning,
    SourceVerification,
)

logger = logging.getLogger(__name__)

SYSTEM = "system"
MAX_FIELD_LENGTH = 60
MAX_MESSAGE_LENGTH = 4000
AUTO_CLOSE_MESSAGE = "Closed automatically: the data were corrected and the check passes."


def _text(text: str, *, too_long: str, missing: str = "") -> str:
    """The message as entered; `missing` refuses an empty one (when given), `too_long` one over the limit."""
    text = (text or "").strip()
    if missing and not text:
        raise ValidationFailed({"message": [missing]})
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationFailed({"message": [too_long % {"limit": MAX_MESSAGE_LENGTH}]})
    return text


def _not_a_form(form: str, patient: Patient) -> dict[str, list[str]]:
    return {
        "form": [
            _("'%(form)s' is not a form of %(study_id)s's casebook.") % {"form": form, "study_id": patient.study_id}
        ]
    }


def _say(query: DataQuery, kind: str, by, text: str) -> QueryMessage:
    return QueryMessage.objects.create(
        query=query, kind=kind, author=by, author_name=by.get_username() if by else SYSTEM, text=text
    )


def _locked_query(query: DataQuery, expected_version: int | None) -> DataQuery:
    """The query's row, locked; refused if it changed since the version the user acted on."""
    current = DataQuery.objects.select_for_update().get(pk=query.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(
            changed_by=current.latest_message.author_name,
            changed_at=timezone.localtime(current.updated_at),
            current_version=current.version,
        )
    return current


def _known_forms(patient: Patient) -> set[str]:
    book = selectors.casebook_get(patient)
    return {f.key for f in book.forms} | set(book.manifest)


# --- Query workflow: open → answered → closed (and back to open when an answer does not settle it) ---


def query_raise(*, patient: Patient, form: str, field: str, message: str, by) -> DataQuery:
    """A monitor asks about one field of one form."""
    if not by.has_perm("core.raise_query"):
        raise PermissionDenied(_("Only monitors raise queries."))
    if not access.can_read_site(by, patient.site_id):
        raise PermissionDenied(_("You may not read this site's data."))
    errors = {}
    form, field = (form or "").strip(), (field or "").strip()
    if form not in _known_forms(patient):
        errors.update(_not_a_form(form, patient))
    if not field or len(field) > MAX_FIELD_LENGTH:
        errors["field"] = [
            _("Name the field the query is about (at most %(limit)d characters).") % {"limit": MAX_FIELD_LENGTH}
        ]
    if errors:
        raise ValidationFailed(errors)
    message = _text(
        message,
        missing=_("Write a question."),
        too_long=_("Keep the question under %(limit)d characters."),
    )
    with audited(by=by, reason="Query raised"):
        query = DataQuery.objects.create(
            patient=patient, form=form, field=field, origin=QueryOrigin.MANUAL, raised_by=by
        )
        _say(query, MessageKind.RAISED, by, message)
    return query


def query_answer(*, query: DataQuery, message: str, by, expected_version: int | None = None) -> DataQuery:
    """Site staff answer (and correct the data through its own form if needed)."""
    if not access.can_enter_data(by, query.patient.site_id):
        raise PermissionDenied(_("Only staff of the patient's site answer queries."))
    message = _text(
        message,
        missing=_("Write an answer."),
        too_long=_("Keep the answer under %(limit)d characters."),
    )
    with audited(by=by, reason="Query answered"):
        current = _locked_query(query, expected_version)
        if current.status != QueryStatus.OPEN:
            raise InvalidTransition(
                _("This query is %(status)s; only an open query can be answered.")
                % {"status": current.get_status_display().lower()}
            )
        _transition(current, QueryStatus.ANSWERED)
        _say(current, MessageKind.ANSWERED, by, message)
    return current


def _may_close(by) -> bool:
    # Only the raiser's role closes: monitors close theirs, and the system's (after checking the answer).
    return by.has_perm("core.raise_query")


def query_close(*, query: DataQuery, message: str, by, expected_version: int | None = None) -> DataQuery:
    if not _may_close(by):
        raise PermissionDenied(_("Only a monitor (the role that raises queries) can close a query."))
    # The thread is part of the record: its automatic texts stay English whatever the page language.
    message = _text(message, too_long=_("Keep the message under %(limit)d characters.")) or "Closed."
    with audited(by=by, reason="Query closed"):
        current = _locked_query(query, expected_version)
        if current.status == QueryStatus.CLOSED:
            raise InvalidTransition(_("This query is already closed."))
        _transition(current, QueryStatus.CLOSED, closed_by=by)
        _say(current, MessageKind.CLOSED, by, message)
    return current


def query_reopen(*, query: DataQuery, message: str, by, expected_version: int | None = None) -> DataQuery:
    """The answer did not settle it: back to the site with a follow-up question."""
    if not _may_close(by):
        raise PermissionDenied(_("Only a monitor can reopen a query."))
    message = _text(
        message,
        missing=_("Write a follow-up question."),
        too_long=_("Keep the follow-up question under %(limit)d characters."),
    )
    with audited(by=by, reason="Query reopened"):
        current = _locked_query(query, expected_version)
        if current.status == QueryStatus.OPEN:
            raise InvalidTransition(_("This query is already open."))
        if current.origin == QueryOrigin.AUTOMATIC and current.status == QueryStatus.CLOSED:
            raise InvalidTransition(_("A closed automatic query is raised again by its check, not reopened."))
        _transition(current, QueryStatus.OPEN)
        _say(current, MessageKind.REOPENED, by, message)
    return current


def _transition(query: DataQuery, status: str, *, closed_by=None) -> None:
    query.status = status
    query.version += 1
    query.closed_at = timezone.now() if status == QueryStatus.CLOSED else None
    query.closed_by = closed_by
    query.save(update_fields=["status", "version", "closed_at", "closed_by", "updated_at"])


# --- Automatic checks ----------------------------------------------------------------------------


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


def form_verify(*, patient: Patient, form: str, by) -> SourceVerification:
    """A monitor marks a complete form verified against source; any later change un-verifies it."""
    if not by.has_perm("core.verify_source_data"):
        raise PermissionDenied(_("Only monitors mark forms source-data-verified."))
    if not access.can_read_site(by, patient.site_id):
        raise PermissionDenied(_("You may not read this site's data."))
    with audited(by=by, reason="Source data verified"):
        book = selectors.casebook_get(patient)
        status = next((f for f in book.forms if f.key == form), None)
        if status is None:
            raise ValidationFailed(_not_a_form(form, patient))
        if status.state in (catalogue.NOT_STARTED, catalogue.IN_PROGRESS):
            raise InvalidTransition(
                _("%(form)s is %(state)s: only a complete form can be verified.")
                % {"form": status.label, "state": _(status.state)}
            )
        existing = book.verifications.get(form)
        if existing is not None and existing.content_hash == status.content_hash:
            return existing
        return SourceVerification.objects.create(
            patient=patient, form=form, content_hash=status.content_hash, verified_by=by
        )


# --- Electronic signature (21 CFR Part 11) ---------------------------------------------------------


def signature_blockers(book: selectors.Casebook, open_queries: int) -> list[str]:
    """Why this casebook cannot be signed now (empty: it can)."""
    blockers = [_("%(form)s is %(state)s.") % {"form": f.label, "state": _(f.state)} for f in book.incomplete_forms]
    if open_queries:
        blockers.append(
            ngettext("%(count)d data query is not closed.", "%(count)d data queries are not closed.", open_queries)
            % {"count": open_queries}
        )
    if book.locked:
        blockers.append(_("The casebook is locked."))
    return blockers


def _signer_reauthenticate(*, patient: Patient, username: str, password: str, by, request) -> None:
    """Both identification components re-entered (11.200(a)), through the login's lockout and audit."""
    outcome = reauthenticate(user=by, username=username or "", password=password or "", request=request)
    if outcome in (Reauthentication.LOCKED_AT_ADDRESS, Reauthentication.LOCKED_ACCOUNT):
        why = MESSAGES[Lock(outcome.value)]
        raise SignatureRefused({"password": [_("The casebook was not signed. %(why)s") % {"why": why}]})
    if outcome == Reauthentication.REFUSED:
        # Logged without the password; each failure is also a SIGNATURE_FAILED account event.
        logger.warning("e-signature refused: wrong credentials for user %s on %s", by.get_username(), patient.study_id)
        raise SignatureRefused({"password": [_("User name or password is not correct: the casebook was not signed.")]})


def casebook_sign(*, patient: Patient, username: str, password: str, meaning: str, by, request) -> CasebookSignature:
    """Sign with both identification components re-entered (11.200(a)); bound to the content hash (11.70).

    Not atomic as a whole: a refused password's account event commits before anything can roll back.
    """
    if not by.has_perm("core.sign_casebook") or patient.site_id not in access.member_site_ids(by):
        raise PermissionDenied(_("Only an investigator of the patient's site signs her casebook."))
    if meaning not in SignatureMeaning.values:
        raise ValidationFailed({"meaning": [_("Choose what your signature means.")]})
    _signer_reauthenticate(patient=patient, username=username, password=password, by=by, request=request)
    with audited(by=by, reason=f"Casebook signed ({meaning})"):
        Patient.objects.select_for_update().get(pk=patient.pk)  # no change slips in while we hash
        book = selectors.casebook_get(patient)
        blockers = signature_blockers(book, selectors.open_query_counts([patient.pk])[patient.pk])
        if blockers:
            raise SignatureRefused(
                {"__all__": [_("This casebook cannot be signed yet: %(blockers)s") % {"blockers": " ".join(blockers)}]}
            )
        return CasebookSignature.objects.create(
            patient=patient,
            signer=by,
            printed_name=by.get_full_name() or by.get_username(),
            meaning=meaning,
            content_hash=book.content_hash,
            manifest=book.manifest,
        )


# --- Locks ---------------------------------------------------------------------------------------


def _require_locker(by) -> None:
    if not by.has_perm("core.lock_database"):
        raise PermissionDenied(_("Only the statistician locks and unlocks data."))


def casebook_lock(*, patient: Patient, reason: str, by) -> CasebookLock:
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        Patient.objects.select_for_update().get(pk=patient.pk)
        if CasebookLock.objects.filter(patient=patient, unlocked_at__isnull=True).exists():
            raise InvalidTransition(_("%(study_id)s's casebook is already locked.") % {"study_id": patient.study_id})
        return CasebookLock.objects.create(patient=patient, locked_by=by, reason=reason)


def casebook_unlock(*, patient: Patient, reason: str, by) -> CasebookLock:
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        lock = CasebookLock.objects.select_for_update().filter(patient=patient, unlocked_at__isnull=True).first()
        if lock is None:
            raise InvalidTransition(_("%(study_id)s's casebook is not locked.") % {"study_id": patient.study_id})
        lock.unlocked_by, lock.unlocked_at, lock.unlock_reason = by, timezone.now(), reason
        lock.save(update_fields=["unlocked_by", "unlocked_at", "unlock_reason"])
        return lock


def _trial_for_update() -> Trial:
    return Trial.objects.select_for_update().order_by("pk").first()


def database_lock(*, reason: str, by) -> DatabaseLock:
    """Freeze the whole trial (database lock before the final analysis)."""
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        trial = _trial_for_update()
        if trial.status == TrialStatus.LOCKED:
            raise InvalidTransition(_("The trial database is already locked."))
        lock = DatabaseLock.objects.create(locked_by=by, reason=reason, status_before=trial.status)
        trial.status = TrialStatus.LOCKED
        trial.save(update_fields=["status"])
        return lock


def database_unlock(*, reason: str, by) -> DatabaseLock:
    _require_locker(by)
    reason = require_reason(reason)
    with audited(by=by, reason=reason):
        trial = _trial_for_update()
        lock = DatabaseLock.objects.select_for_update().filter(unlocked_at__isnull=True).first()
        if trial.status != TrialStatus.LOCKED or lock is None:
            raise InvalidTransition(_("The trial database is not locked."))
        lock.unlocked_by, lock.unlocked_at, lock.unlock_reason = by, timezone.now(), reason
        lock.save(update_fields=["unlocked_by", "unlocked_at", "unlock_reason"])
        trial.status = lock.status_before
        trial.save(update_fields=["status"])
        return lock
