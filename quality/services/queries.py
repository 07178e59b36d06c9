"""Data queries and their workflow: raise, answer, close, reopen (monitors ask, site staff answer)."""

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.audit import audited
from core.exceptions import InvalidTransition, StaleVersion, ValidationFailed
from patients.models import Patient
from quality import form_fields, selectors
from quality.form_field_selectors import field_config
from quality.models import (
    DataQuery,
    MessageKind,
    QueryMessage,
    QueryOrigin,
    QueryStatus,
)

SYSTEM = "system"
MAX_FIELD_LENGTH = 60
MAX_MESSAGE_LENGTH = 4000


def _text(text: str, *, too_long: str, missing: str = "") -> str:
    """The message as entered; `missing` refuses an empty one (when given), `too_long` one over the limit."""
    text = (text or "").strip()
    if missing and not text:
        raise ValidationFailed({"message": [missing]})
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationFailed({"message": [too_long % {"limit": MAX_MESSAGE_LENGTH}]})
    return text


def not_a_form_errors(form: str, patient: Patient) -> dict[str, list[str]]:
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


def _known_forms(patient: Patient) -> dict[str, str]:
    """Form key → label of the forms of her casebook (expected, or holding records)."""
    book = selectors.casebook_get(patient)
    return {key: key for key in book.manifest} | {f.key: f.label for f in book.forms}


def not_a_field_errors(form_label: str, field: str) -> dict[str, list[str]]:
    return {
        "field": [
            _("“%(field)s” is not a field of the %(form)s form: choose one of its fields.")
            % {"field": field, "form": form_label}
        ]
    }


def _where_errors(patient: Patient, form: str, field: str) -> dict[str, list[str]]:
    """The form must be one of her casebook's, and the field one of that form's (quality.form_fields)."""
    forms = _known_forms(patient)
    if form not in forms:
        return not_a_form_errors(form, patient)
    if not field:
        return {"field": [_("Choose the field the query is about.")]}
    if len(field) > MAX_FIELD_LENGTH or form_fields.field_of(form, field, field_config()) is None:
        return not_a_field_errors(forms[form], field[:MAX_FIELD_LENGTH])
    return {}


# --- Query workflow: open → answered → closed (and back to open when an answer does not settle it) ---


def query_raise(*, patient: Patient, form: str, field: str, message: str, by) -> DataQuery:
    """A monitor asks about one field of one form; the field must be one of that form's."""
    if not by.has_perm("core.raise_query"):
        raise PermissionDenied(_("Only monitors raise queries."))
    if not access.can_read_site(by, patient.site_id):
        raise PermissionDenied(_("You may not read this site's data."))
    form, field = (form or "").strip(), (field or "").strip()
    errors = _where_errors(patient, form, field)
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
