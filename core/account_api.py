"""GET /api/v1/audit/accounts/?since= : the accounts' audit trail (administrator, statistician)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from core.account_selectors import account_audit_events
from core.api import json_value, moment_param, utc_iso
from core.api_schema import error_responses
from core.api_views import AuditPagination


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
        return utc_iso(entry.at)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, entry):
        return {name: [json_value(old), json_value(new)] for name, (old, new) in entry.changes.items()}


class AccountAuditListApi(ListAPIView):
    """Account events, oldest first: users, roles, memberships, grants, passwords, logins, tokens."""

    serializer_class = AccountAuditEventSerializer
    pagination_class = AuditPagination

    @extend_schema(
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME, description="Only events after this moment")],
        # Only the administrator and the statistician read the account trail (core.account_selectors).
        responses={200: AccountAuditEventSerializer(many=True), **error_responses(403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        raw = self.request.query_params.get("since")
        return account_audit_events(user=self.request.user, since=moment_param(raw, "since") if raw else None)
