"""Lab values as entered → canonical units. Pure: no Django but its translation function.

A value is kept exactly as entered (text and unit) and converted once, here, with the analyte's
factor to its canonical unit (E2 pg/mL × 3.671 = pmol/L; the other analytes 1:1).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from functools import lru_cache

from django.utils.translation import gettext as _

CANONICAL_PLACES = Decimal("0.0001")
# LabResult.canonical_value is NUMERIC(14, 4): the largest canonical value it holds (labs.validation caps every
# analyte's hard maximum at it, so an analyte configured beyond it cannot reach the database's overflow).
CANONICAL_MAX = Decimal("9999999999.9999")
# The default context (half-even rounding, the usual traps) with room for 80 digits, made once: entering
# decimal.localcontext for each of 100,000 imported values cost a third of the file's validation.
_WIDE = Context(prec=80)
# "1,000" could be one thousand or 1.000 with a decimal comma: refuse rather than guess.
_THOUSANDS_LIKE = re.compile(r"^\d{1,3}(,\d{3})+$", re.ASCII)
# What a lab value may be: ASCII digits with at most one decimal point (a comma is read as one), after an
# optional < or >. Python's Decimal() would also take "1_0", "١٢" (Arabic-Indic), full-width digits, "1e400",
# "nan" and "inf": none of them is how a laboratory writes a result, and exponents reach numbers no column
# holds. A leading minus is matched so that a negative value gets its own message.
_NUMBER = re.compile(r"^(?P<censoring>[<>]?)\s*(?P<number>-?(?:\d+(?:\.\d*)?|\.\d+))$", re.ASCII)


class LabValueError(ValueError):
    """A lab value or unit that cannot be accepted; the message says why in the user's terms.

    `column` is the field at fault: "value", or "unit" for a unit the analyte does not accept.
    """

    def __init__(self, message: str, column: str = "value"):
        super().__init__(message)
        self.column = column


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
    found = _NUMBER.match(cleaned)
    if found is None:
        raise LabValueError(_("'%(value)s' is not a number (use digits, optionally with < or >).") % {"value": text})
    censoring, number = found["censoring"], Decimal(found["number"])
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
            % {"unit": unit, "units": ", ".join(sorted(accepted_units))},
            column="unit",
        )
    # Enough precision for any value the parser lets through (at most 40 characters, no exponent).
    canonical = _WIDE.multiply(number, _factor(accepted_units[unit])).quantize(CANONICAL_PLACES, context=_WIDE)
    if canonical == 0 and number != 0:
        raise LabValueError(
            _("%(value)s %(unit)s is too small to be stored (at least %(places)s in the canonical unit).")
            % {"value": number, "unit": unit, "places": CANONICAL_PLACES}
        )
    return canonical


@lru_cache(maxsize=256)
def _factor(factor: float) -> Decimal:
    return Decimal(str(factor))
