"""The request guard: control characters, and JSON nested or sized beyond reason, are refused at the door.

No field of this application holds a control character other than TAB, LF and CR, and PostgreSQL cannot
store NUL in text at all (psycopg raises ValueError, a 500). Checking every way text arrives (path, query
string, header, form field, JSON string) once here replaces a check in every view, form and serializer;
each refusal is a 400 naming where the character was. Lone surrogates (a JSON `"\\ud800"`) are refused too:
they cannot be encoded as UTF-8, so the database driver fails on them the same way.

What this does not read: a raw text/csv body and uploaded files' contents. A lab file is checked by its own
parser, row by row with line and column (labs.import_csv), and reading an upload here would read it twice.
"""

import json
import re
from collections.abc import Iterator

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext as _

from core.middleware import _plain_error

# C0 controls except TAB (09), LF (0A) and CR (0D); and UTF-16 surrogates, which only occur alone.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# HTTP field values may hold TAB but no other control (RFC 9110 §5.5).
FORBIDDEN_IN_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
MAX_JSON_DEPTH = 32  # the deepest body the API takes is 2 (questionnaire answers inside the request)
MAX_JSON_MEMBERS = 1000  # members of one JSON object or array; as many fields as a form may send
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def forbidden_character(text: str) -> str | None:
    """The first forbidden character of `text` as U+XXXX, or None."""
    found = FORBIDDEN.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _code(character: str) -> str:
    return f"U+{ord(character):04X}"


def json_problem(text: str) -> str | None:
    """Why a JSON body is refused (control character, depth, size), or None; malformed JSON is left to the
    parser, which says so in its own words."""
    try:
        document = json.loads(text)
    except RecursionError:  # the decoder's own guard, far deeper than MAX_JSON_DEPTH
        return _deeper_than()
    except ValueError:
        return None
    return _walk(document)


def _deeper_than() -> str:
    return _("The JSON body is nested more than %(depth)s levels deep. Nothing was saved.") % {"depth": MAX_JSON_DEPTH}


def _walk(document) -> str | None:
    """Iteratively (a recursive walk is what a deep body attacks): every key and string, every container."""
    stack = [(document, "$", 1)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            character = forbidden_character(value)
            if character:
                return _in_json(character, where)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            return _deeper_than()
        if len(value) > MAX_JSON_MEMBERS:
            return _("The JSON body has %(count)s members at %(where)s; at most %(limit)s are accepted.") % {
                "count": len(value),
                "where": where,
                "limit": MAX_JSON_MEMBERS,
            }
        for key, member in _members(value, where):
            if key is not None and forbidden_character(key):
                return _in_json(forbidden_character(key), f"{where} (a key)")
            stack.append((member, f"{where}.{key}" if key is not None else where + "[]", depth + 1))
    return None


def _members(container, where: str) -> Iterator[tuple[str | None, object]]:
    if isinstance(container, dict):
        yield from container.items()
    else:
        for member in container:
            yield None, member


def _in_json(character: str, where: str) -> str:
    return _(
        "The JSON body contains the control character %(character)s at %(where)s; remove it. Nothing was saved."
    ) % {"character": character, "where": where}


def _in(character: str, where: str) -> str:
    return _("The request contains the control character %(character)s in %(where)s; remove it. Nothing was saved.") % {
        "character": character,
        "where": where,
    }


def address_problem(request) -> str | None:
    """A control character in the path, a query parameter (percent-decoded) or a header."""
    character = forbidden_character(request.path)
    if character:
        return _in(character, _("the address"))
    for name, values in request.GET.lists():
        for text in (name, *values):
            character = forbidden_character(text)
            if character:
                return _in(character, _("the query parameter '%(name)s'") % {"name": FORBIDDEN.sub("?", name)})
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            found = FORBIDDEN_IN_HEADER.search(value)
            if found:
                header = key.removeprefix("HTTP_").replace("_", "-").title()
                return _in(_code(found.group()), _("the header %(name)s") % {"name": header})
    return None


def form_problem(fields: QueryDict) -> str | None:
    """A control character in a form field's name or value; uploaded files are their parsers' business."""
    for name, values in fields.lists():
        for text in (name, *values):
            character = forbidden_character(text)
            if character:
                return _in(character, _("the form field '%(name)s'") % {"name": FORBIDDEN.sub("?", name)})
    return None


def _media_type(request) -> str:
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def body_problem(request) -> str | None:
    """The posted form's or JSON body's problem, or None. Bodies are at most DATA_UPLOAD_MAX_MEMORY_SIZE
    here (core.middleware.RequestSizeLimitMiddleware refused larger ones), so reading one costs little."""
    media_type = _media_type(request)
    if media_type in FORM_TYPES:
        # Django parses only a POST's form (multipart files stay unread, on disk, for their parser).
        if request.method == "POST":
            return form_problem(request.POST)
        return form_problem(QueryDict(request.body, encoding=request.encoding)) if media_type == FORM_TYPES[0] else None
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            text = request.body.decode(request.encoding or settings.DEFAULT_CHARSET)
        except (UnicodeDecodeError, LookupError):
            return None  # the JSON parser refuses it with its own message
        return json_problem(text)
    return None


class RequestGuardMiddleware:
    """Refuse (400 with a message; JSON for the API, a page otherwise) what `address_problem` and
    `body_problem` find. The address is checked before anything else reads it; a body only when a view
    would receive it, after the size limit's own check of it (it precedes this in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = address_problem(request)
        if problem:
            return _plain_error(request, 400, _("Bad request"), problem)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        problem = body_problem(request)
        if problem:
            return _plain_error(request, 400, _("Bad request"), problem)
        return None
