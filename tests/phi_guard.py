"""PHI guard for the whole suite: no response, and no log line, ever shows a patient's identity to a user
who may not see it.

Installed by tests/conftest.py for every test. It wraps the Django test client (and so DRF's APIClient):
after each response it asks the database for the identity values (full name, medical record number,
phone — current and former, from the audit events) of every patient whose identity the requesting user
may not see (`core.access.can_view_identity`: only staff of her own site), and fails the test at that
request if one of them appears in the response body (streamed bodies are checked as they are read) or in
a log record written while the request ran. The guard's own queries are removed from the connection's
query log, so `django_assert_num_queries` counts only the view's.

What it does not flag, on purpose: values shorter than MIN_LENGTH, values the request itself sent (a
refused form shows what was typed), a value that also belongs to an identity the user may see (two women
sharing a phone number), and matches inside longer words ("Test Patient 1" in "Test Patient 12"). With
more than MAX_VALUES identity values in the database (benchmark-sized data) only the planted canaries
(CANARY_PREFIX, tests/core/test_phi_guard.py) are looked for, to keep the suite fast.

Log records are seen at the levels the loggers are configured for; `all_loggers_at_debug()` lowers every
logger to DEBUG for a block (tests/core/test_phi_guard.py exercises every page that way).
"""

import codecs
import html
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote_plus

from django.contrib.auth.models import AnonymousUser
from django.test import client as test_client

CANARY_PREFIX = "PHI-CANARY-"
MIN_LENGTH = 5
MAX_VALUES = 3000


class PhiLeak(AssertionError):
    """Identity data reached a user without the right to see it."""


class _RequestRecords(logging.Handler):
    """Keeps the log records written while a test-client request runs."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] | None = None

    def emit(self, record):
        if self.records is not None:
            self.records.append(record)


_records = _RequestRecords()
_original_request = test_client.Client.request
checked = {"responses": 0, "records": 0}


def _record_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a broken format string is the caller's bug, not a reason to miss its arguments
        text = f"{record.msg} {record.args}"
    if record.exc_info and record.exc_info[1] is not None:
        text += f" {record.exc_info[1]!r}"
    return text


def _occurs(value: str, text: str) -> bool:
    """`value` in `text`, not as part of a longer word or number."""
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or after.isalnum()):
            return True
        start = text.find(value, start + 1)
    return False


def _spellings(value: str) -> set[str]:
    """The value as it would appear in HTML, in JSON (escaped or not) and as typed."""
    return {value, html.escape(value), json.dumps(value)[1:-1]}


class Forbidden:
    """The identity values one user may not see: spelling → what it is (for the failure message)."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def first_in(self, text: str) -> str | None:
        if not self.values or not text:
            return None
        for spelling, what in self.values.items():
            if spelling in text and _occurs(spelling, text):
                return what
        return None


def _identity_rows():
    from patients.models import PatientIdentity, PatientIdentityEvent

    # In creation order: which leak a failure names must not depend on where PostgreSQL's heap put an
    # updated row (an identity corrected after a later patient was registered).
    current = PatientIdentity.objects.order_by("pk").values_list(
        "patient__site_id", "patient__study_id", "full_name", "medical_record_number", "phone"
    )
    former = PatientIdentityEvent.objects.order_by("pk").values_list(
        "pgh_obj__patient__site_id", "pgh_obj__patient__study_id", "full_name", "medical_record_number", "phone"
    )
    return [*current[: MAX_VALUES + 1], *former[: MAX_VALUES + 1]]


def forbidden_for(user, sent: str = "") -> Forbidden:
    """Identity values `user` may not see, less any the request itself sent."""
    from core import access

    visible_sites = (
        access.member_site_ids(user) if user.is_authenticated and user.has_perm("core.view_identity") else frozenset()
    )
    rows = _identity_rows()
    canaries_only = len(rows) > MAX_VALUES
    seen, hidden = set(), {}
    for site_id, study_id, *values in rows:
        for field, value in zip(("full name", "MRN", "phone"), values, strict=True):
            value = (value or "").strip()
            if len(value) < MIN_LENGTH or (canaries_only and not value.startswith(CANARY_PREFIX)):
                continue
            if site_id in visible_sites:
                seen.add(value)
            else:
                hidden[value] = f"{field} {value!r} of {study_id}"
    return Forbidden(
        {
            spelling: what
            for value, what in hidden.items()
            if value not in seen and value not in sent
            for spelling in _spellings(value)
        }
    )


def _sent(request: dict) -> str:
    """What the test client sends: query string and body, decoded as far as cheaply possible."""
    payload = request.get("wsgi.input")
    content = getattr(payload, "_FakePayload__content", None)
    body = content.getvalue() if content is not None else b""
    text = f"{request.get('QUERY_STRING', '')}\n{body.decode('utf-8', 'replace')}"
    return f"{text}\n{unquote_plus(text)}"


def _user_and_forbidden(response, sent: str) -> tuple[object, Forbidden] | None:
    """The requesting user and what they may not see; None when the database cannot be asked."""
    from django.db import DatabaseError, connection

    request = getattr(response, "wsgi_request", None)
    if request is None or connection.needs_rollback:
        return None
    logged = len(connection.queries_log)
    try:
        # A request refused before authentication (e.g. 413 for its size) has no user: anonymous.
        user = getattr(request, "user", None) or AnonymousUser()
        return user, forbidden_for(user, sent)
    except (DatabaseError, RuntimeError):  # a broken transaction, or a test without database access
        return None
    finally:
        while len(connection.queries_log) > logged:  # the guard's own queries are not the view's
            connection.queries_log.pop()


def _describe(request: dict, user) -> str:
    who = user.get_username() if getattr(user, "is_authenticated", False) else "anonymous"
    return f"{request.get('REQUEST_METHOD', '?')} {request.get('PATH_INFO', '?')} as {who}"


def _check_body(response, forbidden: Forbidden, where: str) -> None:
    if getattr(response, "streaming", False):
        response.streaming_content = _scanned(response.streaming_content, forbidden, where)
        return
    text = response.content.decode("utf-8", "replace")
    leak = forbidden.first_in(text)
    if leak:
        raise PhiLeak(f"PHI leak: {leak} in the response to {where} (status {response.status_code})")


def _scanned(chunks, forbidden: Forbidden, where: str) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    tail = ""
    for chunk in chunks:
        text = tail + decoder.decode(chunk if isinstance(chunk, bytes) else str(chunk).encode())
        leak = forbidden.first_in(text)
        if leak:
            raise PhiLeak(f"PHI leak: {leak} in the streamed response to {where}")
        tail = text[-400:]  # a value cut by a chunk boundary is found in the next round
        yield chunk


def _check_records(records: list[logging.LogRecord], forbidden: Forbidden, where: str) -> None:
    checked["records"] += len(records)
    for record in records:
        leak = forbidden.first_in(_record_text(record))
        if leak:
            raise PhiLeak(f"PHI leak: {leak} in a log record of {record.name} ({record.levelname}) during {where}")


def _guarded_request(self, **request):
    records, _records.records = _records.records, []
    try:
        response = _original_request(self, **request)
        written = _records.records
    finally:
        _records.records = records
    found = _user_and_forbidden(response, _sent(request))
    if found is None:
        return response
    user, forbidden = found
    checked["responses"] += 1
    where = _describe(request, user)
    _check_records(written, forbidden, where)
    _check_body(response, forbidden, where)
    return response


@contextmanager
def installed() -> Iterator[None]:
    """Guard every test-client request while the block runs (the whole session, from conftest)."""
    root = logging.getLogger()
    root.addHandler(_records)
    test_client.Client.request = _guarded_request
    try:
        yield
    finally:
        test_client.Client.request = _original_request
        root.removeHandler(_records)


def _every_logger() -> list[logging.Logger]:
    manager = logging.Logger.manager
    return [logging.getLogger(), *(lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger))]


@contextmanager
def all_loggers_at_debug() -> Iterator[None]:
    """Every logger (and the guard's handler) at DEBUG, every record reaching the guard, for one block."""
    loggers = _every_logger()
    saved = [(lg, lg.level, lg.disabled, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.level, lg.disabled = logging.DEBUG, False
        if not lg.propagate and lg is not logging.getLogger():
            lg.addHandler(_records)
    logging.Logger.manager._clear_cache()  # levels were set directly: one cache flush, not one per logger
    try:
        yield
    finally:
        for lg, level, disabled, _propagate in saved:
            lg.level, lg.disabled = level, disabled
            if _records in lg.handlers and lg is not logging.getLogger():
                lg.removeHandler(_records)
        logging.Logger.manager._clear_cache()
