"""Hard limits, reference ranges and visit windows. Pure: no Django but its translation function.

Window warnings are stored with the draw and in data queries, so they stay English (a record reads the
same for everyone); refusals are messages to the user and are translated.

Hard limits reject a value (impossible); reference ranges only flag it (possible, but worth a query).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

NORMAL, LOW, HIGH = "normal", "low", "high"


@dataclass(frozen=True)
class ReferenceRange:
    low: Decimal | None
    high: Decimal | None


def hard_limit_error(canonical: Decimal, hard_max: Decimal, unit: str, code: str) -> str | None:
    if canonical > hard_max:
        return _("%(value)s %(unit)s is above the physiological maximum for %(code)s (%(max)s %(unit)s).") % {
            "value": f"{canonical.normalize():f}",
            "unit": unit,
            "code": code,
            "max": f"{hard_max.normalize():f}",
        }
    return None


def flag(canonical: Decimal, censoring: str, reference: ReferenceRange | None) -> str:
    """low / high / normal against the reference range; a censored value is judged by its limit:
    '<L' is low only when L itself is at or below the lower limit, '>L' high when L is at or above the upper."""
    if reference is None:
        return NORMAL
    low, high = reference.low, reference.high
    if censoring == "<":
        return LOW if low is not None and canonical <= low else NORMAL
    if censoring == ">":
        return HIGH if high is not None and canonical >= high else NORMAL
    if low is not None and canonical < low:
        return LOW
    if high is not None and canonical > high:
        return HIGH
    return NORMAL


@dataclass(frozen=True)
class Window:
    day_offset: int
    before: int
    after: int


def window_warning(drawn_on: date, transfer_date: date | None, window: Window, timepoint: str) -> str:
    """Empty when the draw is inside its window around the embryo transfer; otherwise why not."""
    if transfer_date is None:
        return f"No embryo transfer recorded: the {timepoint} window could not be checked."
    day = (drawn_on - transfer_date).days
    if window.day_offset - window.before <= day <= window.day_offset + window.after:
        return ""
    return (
        f"Drawn on ET{day:+d}, outside the {timepoint} window "
        f"(ET{window.day_offset - window.before:+d} to ET{window.day_offset + window.after:+d})."
    )
