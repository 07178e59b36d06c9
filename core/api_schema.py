"""The OpenAPI schema's account of the API's errors: every operation documents, besides its success, the
error answers core.api's exception handler and DRF give for operations of its kind (ApiSchema, the
REST_FRAMEWORK DEFAULT_SCHEMA_CLASS); a view adds what only it knows with `error_responses(...)`."""

import uritemplate
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    description="Only rows changed after this moment (ISO 8601 with a time zone, e.g. 2025-03-01T00:00:00Z)",
)


# --- Error bodies, as core.api.api_exception_handler and DRF write them ---------------------------


class ErrorDetailSerializer(serializers.Serializer):
    """One message for the whole request."""

    detail = serializers.CharField()


FIELD_ERRORS_DESCRIPTION = (
    "Field name → messages; `non_field_errors` for the body as a whole; `detail` for a body that could not be "
    "parsed. A mapping field (criteria, answers) nests its messages one level deeper, by key."
)


class FieldErrorsSerializer(serializers.Serializer):
    """Messages by field (SPEC §7: errors are JSON with field-level messages); its schema is FieldErrorsSchema."""


class StaleVersionErrorSerializer(serializers.Serializer):
    """The record changed since the version the request was based on (SPEC §8: nothing is lost)."""

    detail = serializers.CharField()
    changed_by = serializers.CharField(help_text="Who made the change the request did not know about")
    changed_at = serializers.DateTimeField()
    current_version = serializers.IntegerField()


class ConflictSerializer(serializers.Serializer):
    """A stale version (who changed the record and when), or a change the record's state refuses."""


_MESSAGES = {"type": "array", "items": {"type": "string"}}


class FieldErrorsSchema(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": FIELD_ERRORS_DESCRIPTION,
            "properties": {"detail": {"type": "string"}, "non_field_errors": _MESSAGES},
            "additionalProperties": {
                "anyOf": [_MESSAGES, {"type": "object", "additionalProperties": _MESSAGES}],
            },
        }


class ConflictSchema(OpenApiSerializerExtension):
    target_class = ConflictSerializer

    def map_serializer(self, auto_schema, direction):
        stale = auto_schema.resolve_serializer(StaleVersionErrorSerializer, direction)
        refused = auto_schema.resolve_serializer(FieldErrorsSerializer, direction)
        return {"description": ConflictSerializer.__doc__, "oneOf": [stale.ref, refused.ref]}


ERRORS = {
    400: (FieldErrorsSerializer, "The input was refused; nothing was saved"),
    401: (ErrorDetailSerializer, "Not signed in: no, or an invalid, token or session"),
    403: (ErrorDetailSerializer, "Your role or your sites do not allow this"),
    404: (
        ErrorDetailSerializer,
        "No such record at your sites (another site's record answers 404 too)",
    ),
    409: (ConflictSerializer, "A stale `version`, or the record's state refuses the change"),
    413: (FieldErrorsSerializer, "The body, or the file in it, is larger than the limit; nothing was saved"),
    415: (ErrorDetailSerializer, "The body's content type is not one this operation accepts"),
    423: (FieldErrorsSerializer, "The patient's casebook or the trial database is locked"),
    429: (ErrorDetailSerializer, "Too many attempts; wait and try again"),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers, for `extend_schema(responses={...})` of what only a view knows."""
    return {code: OpenApiResponse(ERRORS[code][0], description=ERRORS[code][1]) for code in codes}


class ApiSchema(AutoSchema):
    """Each operation documents, besides its success and what its view declares, the errors DRF and the
    exception handler answer for every operation of its kind."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in error_responses(*self._common_error_codes()).items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        return dict(sorted(responses.items()))

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"]["minimum"] = 0  # Django's <int:...> matches digits only
        return parameters

    def _common_error_codes(self) -> list[int]:
        codes = []
        writes = self.method in ("POST", "PUT", "PATCH")
        if writes and self.get_request_serializer() is not None:
            # Refused or unparsable body; too large (core.middleware.RequestSizeLimitMiddleware); wrong content type.
            codes += [400, 413, 415]
        else:
            # A control character in the address or a header (core.request_guard), or a query parameter
            # refused: a malformed `updated_since`, a cursor the list did not give out, a page size past 1000.
            codes.append(400)
        if any(not isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes.append(401)
            if writes or any(type(p).__module__ != "rest_framework.permissions" for p in self.view.get_permissions()):
                codes.append(403)  # the role check of every write (and CSRF for session clients)
        if uritemplate.variables(self.path) or (self._is_list_view() and self._get_paginator()):
            codes.append(404)  # the path (or a list's parameter, e.g. ?patient=) names no record you may read
        if any(getattr(throttle, "rate", None) for throttle in self.view.get_throttles()):
            codes.append(429)  # only a throttle with a configured rate ever refuses
        return codes
