"""GET /api/v1/audit/accounts/?since= : the accounts' audit trail (administrator, statistician)."""

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView

from core.account_selectors import account_audit_events
from core.api_views import AuditPagination


def _since(raw: str | None) -> datetime | None:
    """`?since=`: ISO 8601 with a zone; anything else is a 400 naming the expected form."""
    if not raw:
        return None
    try:
        moment = parse_datetime(raw.replace(" ", "+"))
    except ValueError:  # well-formed but impossible, e.g. month 13
        moment = None
    if moment is None or moment.tzinfo is None:
        message = "Use an ISO 8601 date-time with a time zone, e.g. 2025-03-01T00:00:00Z."
        raise exceptions.ValidationError({"since": [message]})
    return moment


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


class AccountAuditEventSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField(help_text='"<model>:<event id>", unique across the trail')
    at = serializers.SerializerMethodField(help_text="UTC")
    account = serializers.CharField(help_text="The account concerned (user name)")
    user = serializers.CharField(source="actor", help_text="Who did it (user name, or system)")
    kind = serializers.CharField(
        help_text="account_created, account_changed, password_set, role_added, role_removed, membership_added, "
        "membership_removed, access_requested, access_approved, access_rejected, login, login_failed, "
        "token_issued, token_revoked, ..."
    )
    changes = serializers.SerializerMethodField(help_text="field → [old, new]")
    reason = serializers.CharField()
    request_id = serializers.CharField()

    def get_id(self, entry) -> str:
        return f"{entry.model}:{entry.event_id}"

    def get_at(self, entry) -> str:
        return _plain(entry.at)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, entry):
        return {name: [_plain(old), _plain(new)] for name, (old, new) in entry.changes.items()}


class AccountAuditListApi(ListAPIView):
    """Account events, oldest first: users, roles, memberships, grants, passwords, logins, tokens."""

    serializer_class = AccountAuditEventSerializer
    pagination_class = AuditPagination

    @extend_schema(
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME, description="Only events after this moment")]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return account_audit_events(user=self.request.user, since=_since(self.request.query_params.get("since")))
