"""Audited values as people read them: no Python literal, one date-time format. Pure: no Django.

The audit trail keeps values exactly as stored (the API writes them as JSON); the history page and its
CSV show them as a coordinator would say them: Yes / No in the reader's language, dates ISO, date-times
to the minute in the site's time zone with the UTC offset (2026-03-11 14:05 +08:00), decimals as
entered (56.0 stays 56.0, a float 25.0 is 25), JSON objects as "key: value" lists and lists comma
separated. Names of related records, choice labels and field labels are resolved by the caller
(casebook.audit_history); this module only writes values.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

# A longer list is cut with a count of what was left out: a questionnaire has 36 answers, a manifest
# about 15 forms; only a runaway value would reach this.
MAX_ITEMS = 60
NOTHING = "—"  # an empty value inside a list or object ("pain: —": not scored)


@dataclass(frozen=True)
class Reading:
    """How one page reads values: the site's IANA time zone and the reader's words for yes and no."""

    zone: str = "UTC"
    yes: str = "Yes"
    no: str = "No"


def moment_text(moment: datetime, zone: str) -> str:
    """A date-time in `zone`, to the minute, with its UTC offset: 2026-03-11 14:05 +08:00."""
    if moment.tzinfo is None:  # stored date-times are aware; a naive one is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")  # +0800 (or +080543 for a historical local mean time)
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:5]}"


def number_text(value: Decimal | float) -> str:
    """A number without exponent: a Decimal keeps its places (56.0), a float loses a trailing .0 (25)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        value = Decimal(repr(value)).normalize()
    if not value.is_finite():
        return str(value)
    return format(value, "f")


def _items(values: list[str]) -> list[str]:
    if len(values) <= MAX_ITEMS:
        return values
    return [*values[:MAX_ITEMS], f"… (+{len(values) - MAX_ITEMS})"]


def _nested(value, reading: Reading) -> str:
    text = value_text(value, reading)
    if not text:
        return NOTHING
    return f"({text})" if isinstance(value, Mapping | list | tuple) else text


def value_text(value, reading: Reading = Reading()) -> str:
    """One audited value as text; "" for nothing (None, an empty text, list or object)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return reading.yes if value else reading.no
    if isinstance(value, Decimal | float):
        return number_text(value)
    if isinstance(value, datetime):
        return moment_text(value, reading.zone)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "; ".join(_items([f"{key}: {_nested(item, reading)}" for key, item in value.items()]))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_items([_nested(item, reading) for item in value]))
    return str(value)


def changed_parts(old, new) -> tuple:
    """Of two JSON objects, only the keys whose values differ (a corrected answer, not all 36); any
    other pair of values as it is."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return old, new
    keys = [key for key in (*old, *(k for k in new if k not in old)) if old.get(key) != new.get(key)]
    return {k: old[k] for k in keys if k in old}, {k: new[k] for k in keys if k in new}
