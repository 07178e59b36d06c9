"""API: streamed exports of the analysis data sets (CSV or JSON) and their data dictionary.

`GET /api/v1/export/<dataset>.<csv|json>` streams the rows of `analysis.exports` without ever holding
the whole export: CSV lines from csv.writer on a pseudo-buffer (text cells that a spreadsheet would run
as a formula written with a leading `'`, core.csv_safety), or a JSON array written piece by piece.
Rows are sent in batches of BATCH_ROWS so a large export is not one socket write per row.

A data set that PostgreSQL can encode itself (`exports.copy_statement`, lab-results) is streamed from
`COPY ... TO STDOUT` instead: psycopg2's copy_expert runs in a helper thread on the request's own
database connection and hands batches of encoded rows over a small bounded queue, so the database
is never read faster than the client takes the bytes. The bytes are the ones the Python path writes.

Every export is recorded (`ExportLog`) before its first row and finished when its stream ends.
"""

import csv
import io
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import connection
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import exports
from core.csv_safety import ESCAPE, FORMULA_PREFIXES, TEXT_TYPE

BATCH_ROWS = 500
QUEUED_BATCHES = 8  # how far the COPY thread may run ahead of the client, in batches
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


class CanExport(BasePermission):
    message = "Exports are for statisticians (permission core.export_data)."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("core.export_data"))


class UrlFormatNegotiation(BaseContentNegotiation):
    """The export's format is in its URL: an `Accept: text/csv` header must not be refused with 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer produces strings to stream."""

    def write(self, value: str) -> str:
        return value


class Progress:
    """Rows handed to the response so far (the export log's row count)."""

    rows = 0


def _batches(rows: Iterable[list], progress: Progress) -> Iterator[list[list]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        progress.rows += len(batch)
        yield batch


def csv_stream(names: list[str], rows: Iterable[list], progress: Progress | None = None) -> Iterator[str]:
    """Header line of column names, then the rows; None is written as an empty field."""
    writer = csv.writer(_Echo())
    yield writer.writerow(names)
    for batch in _batches(rows, progress or Progress()):
        yield "".join(writer.writerow(row) for row in batch)


def json_stream(names: list[str], rows: Iterable[list], progress: Progress | None = None) -> Iterator[str]:
    """A JSON array of objects keyed by column name, written piece by piece (as json.dumps of the list)."""
    yield "["
    separator = ""
    for batch in _batches(rows, progress or Progress()):
        # One encoder call per batch: the list's brackets are dropped, its ", " joined on.
        objects = json.dumps([dict(zip(names, row, strict=True)) for row in batch], ensure_ascii=False)
        yield separator + objects[1:-1]
        separator = ", "
    yield "]"


# --- streamed from COPY ------------------------------------------------------------------------------

_END = object()


class _CopySink:
    """The file copy_expert writes to (once per row): whole batches go on the queue, or nowhere once abandoned."""

    def __init__(self, batches: queue.Queue):
        self.batches, self.rows, self.abandoned = batches, [], False

    def write(self, row: bytes) -> None:
        if self.abandoned:
            return
        self.rows.append(row)
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.rows and not self.abandoned:
            self.batches.put((b"".join(self.rows), len(self.rows)))
        self.rows = []


def _copy_out(raw_connection, statement: str, sink: _CopySink) -> None:
    try:
        with raw_connection.cursor() as cursor:
            cursor.copy_expert(statement, sink)
        sink.flush()
        sink.batches.put(_END)
    except BaseException as error:  # handed to the reading thread, which raises it
        sink.batches.put(error)


def copy_batches(statement: str) -> Iterator[tuple[bytes, int]]:
    """(bytes, rows) batches of a `COPY ... TO STDOUT` on this thread's connection, read as they are consumed.

    Closed early (the client went away), the COPY still runs to its end with its output dropped, so the
    connection is left idle and usable rather than in the middle of a COPY.
    """
    connection.ensure_connection()
    batches: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
    sink = _CopySink(batches)
    worker = threading.Thread(target=_copy_out, args=(connection.connection, statement, sink), daemon=True)
    worker.start()
    try:
        while (item := batches.get()) is not _END:
            if isinstance(item, BaseException):
                with connection.wrap_database_errors:  # psycopg2's error as Django's, as for any query
                    raise item
            yield item
    finally:
        sink.abandoned = True
        while worker.is_alive():
            _drain(batches)
            worker.join(0.01)


def _drain(batches: queue.Queue) -> None:
    while True:
        try:
            batches.get_nowait()
        except queue.Empty:
            return


def csv_copy_stream(names: list[str], statement: str, progress: Progress) -> Iterator[bytes]:
    """As csv_stream, from PostgreSQL's CSV: the same fields and quoting; its LF line ends become CRLF."""
    yield csv.writer(_Echo()).writerow(names).encode()
    for chunk, rows in copy_batches(statement):
        progress.rows += rows
        # Without a quote no field is quoted, so every LF ends a line; otherwise re-encode in Python.
        yield chunk.replace(b"\n", b"\r\n") if b'"' not in chunk else _python_csv(chunk)


def _python_csv(chunk: bytes) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(csv.reader(io.StringIO(chunk.decode(), newline="")))
    return out.getvalue().encode()


def json_copy_stream(names: list[str], statement: str, progress: Progress) -> Iterator[bytes]:
    """As json_stream, from one JSON object per line (COPY's text format doubles every backslash)."""
    yield b"["
    separator = b""
    for chunk, rows in copy_batches(statement):
        progress.rows += rows
        # JSON text holds no raw newline (to_json escapes it), so each LF ends one object.
        yield separator + chunk.replace(b"\\\\", b"\\")[:-1].replace(b"\n", b", ")
        separator = b", "
    yield b"]"


_STREAMS = {"csv": csv_stream, "json": json_stream}
_COPY_STREAMS = {"csv": csv_copy_stream, "json": json_copy_stream}


def _recorded(body: Iterator, log, progress: Progress) -> Iterator:
    """The body, then the export log finished: completed only if the stream reached its end."""
    completed = False
    try:
        yield from body
        completed = True
    finally:
        exports.export_log_finish(log, rows=progress.rows, completed=completed)


def export_body(dataset: str, fmt: str, *, user, progress: Progress) -> Iterator:
    """The streamed document: from COPY where PostgreSQL encodes the data set, else from Python rows."""
    columns = exports.columns(dataset)
    names = [column.name for column in columns]
    statement = exports.copy_statement(dataset, fmt, user=user, columns=columns)
    if statement is not None:
        return _COPY_STREAMS[fmt](names, statement, progress)
    if fmt == "csv":  # text cells that a spreadsheet would run as formulas get a leading ' (JSON: as entered)
        return csv_stream(names, exports.csv_rows_of(dataset, user=user, columns=columns), progress)
    return json_stream(names, exports.rows(dataset, user=user), progress)


class ExportApi(APIView):
    """One data set, streamed as CSV or JSON; statisticians only; every export is audited."""

    permission_classes = [IsAuthenticated, CanExport]
    content_negotiation_class = UrlFormatNegotiation

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.ANY},
        description="Datasets: " + ", ".join(exports.DATASETS) + ". Columns: see /api/v1/data-dictionary/.",
    )
    def get(self, request, dataset: str, fmt: str):
        if dataset not in exports.DATASETS or fmt not in _STREAMS:
            raise NotFound(
                f"No export '{dataset}.{fmt}': datasets are {', '.join(exports.DATASETS)}; formats csv and json."
            )
        progress = Progress()
        body = export_body(dataset, fmt, user=request.user, progress=progress)
        log = exports.export_log_start(
            user=request.user, dataset=dataset, fmt=fmt, query_string=request.META.get("QUERY_STRING", "")
        )
        response = StreamingHttpResponse(_recorded(body, log, progress), content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{dataset}.{fmt}"'
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on instead of buffering it
        return response


CSV_FORMULA_ESCAPE = {
    "column_type": TEXT_TYPE,
    "prefixes": list(FORMULA_PREFIXES),
    "escape": ESCAPE,
    "note": (
        f"In CSV exports a cell of a text column (type '{TEXT_TYPE}') that starts with =, +, -, @, a tab or a "
        f"carriage return is written with a leading {ESCAPE} so that a spreadsheet shows it as text instead of "
        f"running it as a formula (OWASP CSV injection). To recover the value as entered, drop a leading {ESCAPE} "
        "that is followed by one of these prefixes. Numeric columns and the JSON exports keep values as entered."
    ),
}


class DataDictionaryApi(APIView):
    """Every exported column of every data set: name, label, type, unit, allowed values; how CSV escapes formulas."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(
            {
                "datasets": {
                    dataset: [
                        {
                            "name": c.name,
                            "label": c.label,
                            "type": c.type,
                            "unit": c.unit,
                            "allowed_values": c.allowed_values,
                        }
                        for c in exports.columns(dataset)
                    ]
                    for dataset in exports.DATASETS
                },
                "csv_formula_escape": CSV_FORMULA_ESCAPE,
            }
        )
