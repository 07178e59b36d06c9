"""API: streamed exports of the analysis data sets (CSV or JSON) and their data dictionary.

`GET /api/v1/export/<dataset>.<csv|json>` streams the rows of `analysis.exports` without ever holding
the whole export: CSV lines from csv.writer on a pseudo-buffer, or a JSON array written piece by
piece. Rows are sent in batches of BATCH_ROWS so a large export is not one socket write per row.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from itertools import islice

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis import exports

BATCH_ROWS = 500
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


def _batches(rows: Iterable[list]) -> Iterator[list[list]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        yield batch


def csv_stream(names: list[str], rows: Iterable[list]) -> Iterator[str]:
    """Header line of column names, then the rows; None is written as an empty field."""
    writer = csv.writer(_Echo())
    yield writer.writerow(names)
    for batch in _batches(rows):
        yield "".join(writer.writerow(row) for row in batch)


def json_stream(names: list[str], rows: Iterable[list]) -> Iterator[str]:
    """A JSON array of objects keyed by column name, written piece by piece."""
    yield "["
    separator = ""
    for batch in _batches(rows):
        # One encoder call per batch: the list's brackets are dropped, its commas joined on.
        objects = json.dumps([dict(zip(names, row, strict=True)) for row in batch], ensure_ascii=False)
        yield separator + objects[1:-1]
        separator = ","
    yield "]"


_STREAMS = {"csv": csv_stream, "json": json_stream}


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
        names = [column.name for column in exports.columns(dataset)]
        body = _STREAMS[fmt](names, exports.rows(dataset, user=request.user))
        exports.export_audit(user=request.user, dataset=dataset, fmt=fmt)
        response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{dataset}.{fmt}"'
        response["Cache-Control"] = "no-store"
        response["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on instead of buffering it
        return response


class DataDictionaryApi(APIView):
    """Every exported column of every data set: name, label, type, unit, allowed values."""

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
                }
            }
        )
