"""REST API plumbing shared by every app: errors as JSON, cursor pagination, `updated_since`, access, strict
input serializers and the output serializer of a clinical record.

Their description in the OpenAPI schema is in core/api_schema.py, and the generic views of a clinical record
type in core/api_resources.py: drf-spectacular and DRF's generic views import the pagination class from
here, so this module imports neither.
"""

from base64 import b64decode
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib import parse

from django.core.exceptions import PermissionDenied
from django.core.signing import BadSignature, Signer
from django.db.models import Model
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler

from core import access
from core.exceptions import DomainError, StaleVersion
from core.input_bounds import bound_serializer_fields


def api_exception_handler(exc, context):
    """Domain refusals become 400/409 with field-level messages; never a 500 for user input."""
    if isinstance(exc, StaleVersion):
        return Response(
            {
                "detail": str(exc),
                "changed_by": exc.changed_by,
                "changed_at": exc.changed_at.isoformat(),
                "current_version": exc.current_version,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DomainError):
        body = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.errors.items()}
        return Response(body, status=exc.status_code)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    return exception_handler(exc, context)


class StablePagination(CursorPagination):
    """Cursor pagination: every page costs the same at any table size (no COUNT, no OFFSET).

    Cursors are signed (with the list's path): one this list did not give out is refused with a 400 naming
    the parameter, as is a page size outside 1–max_page_size. DRF itself answers a cursor it cannot decode
    with 404 ("Invalid cursor": it reads as "no such list"), silently replaces a bad page size, and puts the
    position of any well-encoded cursor into the query (a text in an integer column was a 500; in the audit
    trail's in-memory list, an arbitrary page).
    """

    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            message = _("Give a whole number from 1 to %(max)s.") % {"max": self.max_page_size}
            raise exceptions.ValidationError({self.page_size_query_param: [message]})
        return int(raw)

    @staticmethod
    def _signer(path: str) -> Signer:
        return Signer(salt=f"core.api.StablePagination:{path}")

    def encode_cursor(self, cursor):
        url = super().encode_cursor(cursor)
        token = parse.parse_qs(parse.urlsplit(url).query)[self.cursor_query_param][0]
        return replace_query_param(url, self.cursor_query_param, self._signer(self.request.path).sign(token))

    def decode_cursor(self, request):
        signed = request.query_params.get(self.cursor_query_param)
        if signed is None:
            return None
        try:
            token = self._signer(request.path).unsign(signed)
            fields = parse.parse_qs(b64decode(token.encode("ascii")).decode("ascii"), keep_blank_values=True)
            offset = int(fields.get("o", ["0"])[0])
            reverse = bool(int(fields.get("r", ["0"])[0]))
        except (BadSignature, TypeError, ValueError):
            message = _("This cursor was not given out by this list: follow the `next` or `previous` link of a page.")
            raise exceptions.ValidationError({self.cursor_query_param: [message]}) from None
        return Cursor(offset=offset, reverse=reverse, position=fields.get("p", [None])[0])


# Offsets in use on Earth run from -12:00 to +14:00; ISO 8601 allows up to ±23:59, PostgreSQL only ±15:59.
MAX_UTC_OFFSET = timedelta(hours=14)


def utc_iso(moment: datetime) -> str:
    """A date-time as the API writes it: ISO 8601 in UTC with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_value(value):
    """An audited value as JSON: exact decimals as strings, dates ISO, date-times in UTC."""
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def moment_param(raw: str, name: str) -> datetime:
    """A query parameter's ISO 8601 date-time with a zone, or a 400 naming the parameter."""
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # a '+' of an unencoded query string arrives as ' '
    except ValueError:  # well-formed but impossible, e.g. month 13: parse_datetime raises instead of None
        moment = None
    if moment is None or moment.tzinfo is None:
        message = _("Use an ISO 8601 date-time with a time zone, e.g. 2025-03-01T00:00:00Z.")
        raise exceptions.ValidationError({name: [message]})
    offset = moment.utcoffset()
    if abs(offset) > MAX_UTC_OFFSET:
        message = _("The time zone offset must be between -14:00 and +14:00.")
        raise exceptions.ValidationError({name: [message]})
    try:
        moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise exceptions.ValidationError({name: [_("Give a date-time between the years 1 and 9999.")]}) from None
    return moment


def updated_since(request, queryset, field: str = "updated_at"):
    """Apply `?updated_since=` (ISO 8601 with zone) to a queryset; a bad value is a 400, not a 500."""
    raw = request.query_params.get("updated_since")
    if not raw:
        return queryset
    return queryset.filter(**{f"{field}__gt": moment_param(raw, "updated_since")})


def require_any_data_entry(user) -> None:
    """A clinical write's role check, made before its body is read: a read-only role gets 403, never 400."""
    if not access.data_entry_site_ids(user):
        raise PermissionDenied(_("You may not enter clinical data."))


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields (SPEC §7) instead of silently dropping them, and bounds every field its
    declaration left unbounded (core.input_bounds): by the column of `bounds_model` of the same name, if
    any, else by the generic limits."""

    bounds_model: type[Model] | None = None

    def get_fields(self):
        fields = super().get_fields()
        bound_serializer_fields(fields, self.bounds_model)
        return fields

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def record_output(model_class: type[Model], names: list[str]) -> type[serializers.ModelSerializer]:
    """The output serializer of a clinical record: its id, the patient's study_id, `names`, version, updated_at."""

    class Output(serializers.ModelSerializer):
        study_id = serializers.CharField(source="patient.study_id")

        class Meta:
            model = model_class
            fields = ["id", "study_id", *names, "version", "updated_at"]

    # A distinct name per model: the OpenAPI schema names components after their class.
    Output.__name__ = f"{model_class.__name__}Output"
    return Output
