"""Request id: one per request, on the response, in every log line and in every audit event."""

import logging
import re
import uuid

from core.audit import current_request_id, reset_request_id, set_request_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        # A proxy's id is kept so logs join up across systems; anything odd is replaced, not trusted.
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id()
        return True


class LoginRequiredExceptApiMiddleware:
    """Pages redirect anonymous users to the login page; the API answers 401 itself (DRF)."""

    def __init__(self, get_response):
        from django.contrib.auth.middleware import LoginRequiredMiddleware

        self.get_response = get_response
        self.pages = LoginRequiredMiddleware(get_response)

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/"):
            return None
        return self.pages.process_view(request, view_func, view_args, view_kwargs)
