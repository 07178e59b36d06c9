"""REST API plumbing shared by every app: errors as JSON, cursor pagination, `updated_since`, access.

Their description in the OpenAPI schema is in core/api_schema.py (drf-spectacular imports DRF's generic
views, which import the pagination class from here).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core import access
from core.exceptions import DomainError, StaleVersion


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
    """Cursor pagination: every page costs the same at any table size (no COUNT, no OFFSET)."""

    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def updated_since(request, queryset, field: str = "updated_at"):
    """Apply `?updated_since=` (ISO 8601 with zone) to a queryset; a bad value is a 400, not a 500."""
    raw = request.query_params.get("updated_since")
    if not raw:
        return queryset
    try:
        moment = parse_datetime(raw.replace(" ", "+"))
    except ValueError:  # well-formed but impossible, e.g. month 13: parse_datetime raises instead of None
        moment = None
    if moment is None or moment.tzinfo is None:
        raise exceptions.ValidationError(
            {"updated_since": ["Use an ISO 8601 date-time with a time zone, e.g. 2025-03-01T00:00:00Z."]}
        )
    return queryset.filter(**{f"{field}__gt": moment})


def require_any_data_entry(user) -> None:
    """A clinical write's role check, made before its body is read: a read-only role gets 403, never 400."""
    if not access.data_entry_site_ids(user):
        raise PermissionDenied(_("You may not enter clinical data."))
