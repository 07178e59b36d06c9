"""One lab result checked end to end, the same for the form, the CSV import and the API. Pure."""

from dataclasses import dataclass, field
from decimal import Decimal

from labs import ranges, units


@dataclass(frozen=True)
class AnalyteSpec:
    code: str
    canonical_unit: str
    accepted_units: dict[str, float]
    hard_max: Decimal
    general_range: ranges.ReferenceRange | None = None
    timepoint_ranges: dict[str, ranges.ReferenceRange] = field(default_factory=dict)

    def reference_for(self, timepoint: str) -> ranges.ReferenceRange | None:
        return self.timepoint_ranges.get(timepoint, self.general_range)


@dataclass(frozen=True)
class CheckedResult:
    analyte: str
    value_as_entered: str
    unit_as_entered: str
    censoring: str
    canonical_value: Decimal
    flag: str


@dataclass(frozen=True)
class ResultProblem:
    column: str  # "value" | "unit"
    message: str


MAX_VALUE_LENGTH = 40


def check_result(spec: AnalyteSpec, timepoint: str, value_text: str, unit: str) -> CheckedResult | ResultProblem:
    """Parse, convert, apply the hard limit and flag against the time point's reference range."""
    if len(str(value_text).strip()) > MAX_VALUE_LENGTH:
        # The value is kept exactly as entered (LabResult.value_as_entered holds 40 characters).
        return ResultProblem("value", f"{spec.code}: write the value in at most {MAX_VALUE_LENGTH} characters.")
    try:
        parsed = units.parse_value(value_text)
    except units.LabValueError as error:
        return ResultProblem("value", f"{spec.code}: {error}")
    try:
        canonical = units.to_canonical(parsed.number, unit, spec.accepted_units)
    except units.LabValueError as error:  # an unknown unit, or a value the column cannot hold
        return ResultProblem(error.column, f"{spec.code}: {error}")
    hard_max = min(spec.hard_max, units.CANONICAL_MAX)  # no configured maximum beyond what the column holds
    too_high = ranges.hard_limit_error(canonical, hard_max, spec.canonical_unit, spec.code)
    if too_high:
        return ResultProblem("value", too_high)
    return CheckedResult(
        analyte=spec.code,
        value_as_entered=str(value_text).strip(),
        unit_as_entered=unit,
        censoring=parsed.censoring,
        canonical_value=canonical,
        flag=ranges.flag(canonical, parsed.censoring, spec.reference_for(timepoint)),
    )
