"""Request plumbing: request ids, the idle timeout, deny-by-default login, body size limits, a clean answer
when the database is gone."""

import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.audit import current_request_id, reset_request_id, set_request_id
from core.views import page_not_found

logger = logging.getLogger(__name__)

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


class RefusalWithoutTraceback(logging.Filter):
    """A refused request (4xx) is the user's input or rights, not a fault of the code: one line, no traceback."""

    def filter(self, record):
        if getattr(record, "status_code", 500) < 500:
            record.exc_info, record.exc_text = None, None
        return True


class SessionIdleTimeoutMiddleware:
    """The idle timeout (SESSION_IDLE_MINUTES) without a database write on every page view.

    A logged-in session's expiry is pushed forward, by saving the session, at most once a minute: it
    ends between SESSION_IDLE_MINUTES − 1 and SESSION_IDLE_MINUTES after its last request. Saving on
    every request (SESSION_SAVE_EVERY_REQUEST) cost each page view an UPDATE and a commit that waits for
    the WAL flush. Runs before the view, so a logout's fresh session is not saved again.
    """

    REFRESH_SECONDS = 60
    KEY = "_idle_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES and AUTH_SESSION_KEY in request.session:
            now = int(time.time())
            if now - request.session.get(self.KEY, 0) >= self.REFRESH_SECONDS:
                request.session[self.KEY] = now  # modified: SessionMiddleware saves it with a new expiry
        return self.get_response(request)


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


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def _plain_error(request, status: int, title: str, message: str, **headers) -> HttpResponse:
    """A small, self-contained error answer: JSON for the API, a minimal page otherwise. No stack trace."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=status)
    else:
        language = get_language() or "en"
        body = f'<!doctype html><html lang="{language}"><meta charset="utf-8"><title>{escape(title)}</title>'
        body += f"<h1>{escape(title)}</h1><p>{escape(message)}</p></html>"
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


class RequestSizeLimitMiddleware:
    """Refuse an oversized body by its announced length before a byte of it is read (413, never a 500).

    Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when it parses form data itself; the API's parsers read
    the body stream directly, and a multipart upload is spooled to disk whatever its size. Uploads (a lab
    CSV of up to labs.forms.MAX_IMPORT_BYTES, an allocation list) may be as large as UPLOAD_MAX_REQUEST_BYTES;
    every other body as large as DATA_UPLOAD_MAX_MEMORY_SIZE.
    """

    UPLOAD_TYPES = ("multipart/form-data", "text/csv")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # what Django itself reads then: an empty body
        limit = self.limit_for(request.META.get("CONTENT_TYPE", ""))
        if length > limit:
            logger.warning("Refused a %s byte %s body to %s (limit %s)", length, request.method, request.path, limit)
            return self.too_large(request, limit)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Parse a posted form here, before the CSRF check would: Django's own limits inside the body (form
        fields over DATA_UPLOAD_MAX_MEMORY_SIZE, more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields) then get an
        answer with a message instead of a bare "Bad Request". JSON and CSV bodies are not read here."""
        if request.method != "POST":
            return None
        try:
            request.POST  # noqa: B018 (parsing is the point)
        except RequestDataTooBig:
            return self.too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        except (TooManyFieldsSent, TooManyFilesSent):
            message = _("The form sent more fields than the %(count)s accepted. Nothing was saved.") % {
                "count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            }
            return _plain_error(request, 400, _("Bad request"), message)
        return None

    @staticmethod
    def limit_for(content_type: str) -> int:
        if content_type.split(";")[0].strip().lower() in RequestSizeLimitMiddleware.UPLOAD_TYPES:
            return settings.UPLOAD_MAX_REQUEST_BYTES
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    @staticmethod
    def too_large(request, limit: int) -> HttpResponse:
        message = _("The request is too large: the largest accepted is %(limit)s MB. Nothing was saved.") % {
            "limit": _megabytes(limit)
        }
        return _plain_error(request, 413, _("Request too large"), message)


class DatabaseUnavailableMiddleware:
    """A view whose database connection failed (server restarted, connection dropped) answers 503.

    Every service writes in one transaction, so nothing is half-saved; saying so (and "reload, try again") is
    more useful than a bare 500. The broken connection is closed at the end of the request by Django
    (close_old_connections), so the next request gets a fresh one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable during %s %s", request.method, request.path, exc_info=exception)
        message = _(
            "The database could not complete this request; no change was saved halfway. "
            "Reload the page to see what was recorded, then try again in a minute."
        )
        return _plain_error(request, 503, _("Service unavailable"), message, **{"Retry-After": "30"})


class DebugNotFoundPageMiddleware:
    """Under DEBUG (`make run`) a 404 is the app's page too, not Django's technical one.

    With DEBUG on, Django answers an Http404 with its yellow debug page and never calls handler404, so
    another site's patient looked like a broken URL; the API's 404 is JSON either way (core.views). Without
    DEBUG this does nothing: handler404 already serves templates/404.html.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request, None)  # no route matched the address
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer Django gives: pages, API answers, exports, admin, errors.

    Patient pages and API answers carry clinical data (and identity): on a shared clinic computer they must
    not stay in the browser's cache for the next user after logout, nor in a proxy's (OWASP ASVS V8.2.1).
    Static files are answered by whitenoise, which comes before this middleware, and keep their caching
    headers. A view's own choice is replaced unless it already forbids storing (never_cache does).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store"
        return response
