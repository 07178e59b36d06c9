"""API: log in for a token (POST /api/v1/auth/token/) and revoke it (DELETE), SPEC §11.1."""

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.account_events import MAX_USERNAME_LENGTH
from core.api_schema import ErrorDetailSerializer, error_responses
from core.lockout import MESSAGES, Lock, client_ip
from core.tokens import TokenAuthentication, token_issue, token_revoke, utc_iso

# Long enough for any passphrase; short enough that nothing hashes a megabyte typed as a password.
MAX_PASSWORD_LENGTH = 1024


class TokenCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=MAX_USERNAME_LENGTH)
    password = serializers.CharField(
        max_length=MAX_PASSWORD_LENGTH, style={"input_type": "password"}, trim_whitespace=False
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <key>`; shown only in this answer")
    expires_at = serializers.DateTimeField(help_text="When the token stops working (UTC)")


class TokenRateThrottle(ScopedRateThrottle):
    """API_TOKEN_THROTTLE_RATE per client; a client is known by its trusted address (core.lockout.client_ip),
    never by an X-Forwarded-For it writes itself (DRF's own get_ident would trust that header)."""

    def get_rate(self):
        return settings.API_TOKEN_THROTTLE_RATE

    def get_ident(self, request):
        return client_ip(request) or "unknown"


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "core.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token-based authentication with required prefix `Token`",
        }


class TokenApi(APIView):
    """POST user name and password → a new token and its expiry; DELETE revokes the token sent with it.

    Failed passwords count towards the same lockout as the login page's (core/lockout.py).
    """

    throttle_classes = [TokenRateThrottle]
    throttle_scope = "token"
    serializer_class = TokenCredentialsSerializer

    def get_authenticators(self):
        # Logging in needs no credentials: a stale token sent along must not turn it into a 401. (No request
        # yet while drf-spectacular builds its mock request: then the token, which DELETE documents.)
        return [] if getattr(self.request, "method", None) == "POST" else [TokenAuthentication()]

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_throttles(self):
        # The rate guards password guessing; revoking needs a valid token (256 bits), which no rate protects
        # better, and a client revoking its tokens at logout must never be told to wait.
        return super().get_throttles() if getattr(self.request, "method", None) == "POST" else []

    @extend_schema(
        request=TokenCredentialsSerializer,
        responses={
            200: TokenSerializer,
            403: OpenApiResponse(ErrorDetailSerializer, description="The account is locked until an admin unlocks it"),
            **error_responses(429),
        },
    )
    def post(self, request):
        serializer = TokenCredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        lock = getattr(request, "lockout", None)
        if lock:
            return Response({"detail": str(MESSAGES[lock])}, status=403 if lock == Lock.ACCOUNT else 429)
        if user is None:
            return Response({"non_field_errors": [_("Unable to log in with these credentials.")]}, status=400)
        # A success ends the failure run at this address (axes), as a login on the page does.
        AxesProxyHandler.reset_attempts(ip_address=client_ip(request), username=user.get_username())
        update_last_login(None, user)
        token, key = token_issue(user=user, request=request)
        return Response({"token": key, "expires_at": utc_iso(token.expiry)})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        token_revoke(token=request.auth, by=request.user, reason="Revoked by its holder", request=request)
        return Response(status=204)
