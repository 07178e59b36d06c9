"""The API's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES). A module of its own: DRF reads that
setting when its views module is imported, so the parser's module must not import DRF's views itself."""

import codecs
from decimal import Decimal

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json as drf_json


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with numbers that have a fraction or exponent read as Decimal, as written.

    As floats, a lab value 12.50 arrived as "12.5" (not as entered), 5e-400 as "0.0" (a silent zero) and
    1e400 as "inf". As Decimal the value parser sees what was sent, and every DecimalField gets it exactly.
    Depth and size are the request guard's (core.request_guard); its RecursionError guard is repeated here
    for requests that reach a parser without the middleware (APIRequestFactory in tests).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return drf_json.load(codecs.getreader(encoding)(stream), parse_float=Decimal)
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
