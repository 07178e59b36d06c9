"""Lab values as entered → canonical units. Pure: no Django but its translation function.

A value is kept exactly as entered (text and unit) and converted once, here, with the analyte's
factor to its canonical unit (E2 pg/mL × 3.671 = pmol/L; the other analytes 1:1).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache

from django.utils.translation import gettext as _

CANONICAL_PLACES = Decimal("0.0001")
# The default context (half-even rounding, the usual traps) with room for 80 digits, made once: entering
# decimal.localcontext for each of 100,000 imported values cost a third of the file's validation.
_WIDE = Context(prec=80)
# "1,000" could be one thousand or 1.000 with a decimal comma: refuse rather than guess.
_THOUSANDS_LIKE = re.compile(r"^\d{1,3}(,\d{3})+$")


class LabValueError(ValueError):
    """A lab value or unit that cannot be accepted; the message says why in the user's terms."""


@dataclass(frozen=True)
class ParsedValue:
    number: Decimal  # the number as entered (for a censored value, its limit)
    censoring: str  # "" | "<" | ">"


def parse_value(text: str) -> ParsedValue:
    """'12.5' → 12.5; '<0.5' → below 0.5; '>1000' → above 1000. Refuses non-numbers and negatives."""
    cleaned = str(text).strip().replace(",", ".") if text is not None else ""
    if not cleaned:
        raise LabValueError(_("Enter a value."))
    if _THOUSANDS_LIKE.match(str(text).strip().lstrip("<>").strip()):
        raise LabValueError(
            _("'%(value)s' is ambiguous: write it without thousands separators, with a decimal point.")
            % {"value": text}
        )
    censoring = cleaned[0] if cleaned[0] in "<>" else ""
    digits = cleaned[1:].strip() if censoring else cleaned
    try:
        number = Decimal(digits)
    except InvalidOperation:
        raise LabValueError(
            _("'%(value)s' is not a number (use digits, optionally with < or >).") % {"value": text}
        ) from None
    if not number.is_finite():
        raise LabValueError(_("'%(value)s' is not a number.") % {"value": text})
    if number < 0:
        raise LabValueError(_("%(value)s is negative; a concentration cannot be below zero.") % {"value": text})
    if censoring == "<" and number == 0:
        raise LabValueError(_("'%(value)s' is impossible: nothing is below zero.") % {"value": text})
    return ParsedValue(number=number, censoring=censoring)


def to_canonical(number: Decimal, unit: str, accepted_units: Mapping[str, float]) -> Decimal:
    """Convert with the analyte's factor; an unknown unit is refused naming the accepted ones."""
    if unit not in accepted_units:
        raise LabValueError(
            _("Unit '%(unit)s' is not accepted here; use one of: %(units)s.")
            % {"unit": unit, "units": ", ".join(sorted(accepted_units))}
        )
    # Enough precision that absurdly large entries still convert, and then fail the hard limit.
    return _WIDE.multiply(number, _factor(accepted_units[unit])).quantize(CANONICAL_PLACES, context=_WIDE)


@lru_cache(maxsize=256)
def _factor(factor: float) -> Decimal:
    return Decimal(str(factor))
