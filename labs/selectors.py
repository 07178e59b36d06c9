"""Reads of lab configuration and results."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from core.models import Timepoint
from labs.display import lab_value, rounded
from labs.models import Analyte, LabResult, ReferenceRange
from labs.ranges import ReferenceRange as Range
from labs.ranges import Window
from labs.validation import AnalyteSpec


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def analyte_specs() -> dict[str, AnalyteSpec]:
    """Every analyte with units, hard limit and ranges as pure specs (two queries)."""
    general: dict[int, Range] = {}
    by_timepoint: dict[int, dict[str, Range]] = defaultdict(dict)
    for rr in ReferenceRange.objects.select_related("timepoint"):
        reference = Range(_decimal(rr.low), _decimal(rr.high))
        if rr.timepoint_id is None:
            general[rr.analyte_id] = reference
        else:
            by_timepoint[rr.analyte_id][rr.timepoint.code] = reference
    return {
        a.code: AnalyteSpec(
            code=a.code,
            canonical_unit=a.canonical_unit,
            accepted_units=dict(a.accepted_units),
            hard_max=_decimal(a.hard_max),
            general_range=general.get(a.pk),
            timepoint_ranges=dict(by_timepoint[a.pk]),
        )
        for a in Analyte.objects.all()
    }


def timepoint_windows() -> dict[str, tuple[Timepoint, Window]]:
    return {tp.code: (tp, Window(tp.day_offset, tp.window_before, tp.window_after)) for tp in Timepoint.objects.all()}


@dataclass(frozen=True)
class TimelineCell:
    result: LabResult | None
    display: str = ""  # the canonical value to the analyte's display decimals (labs.display)


def _cell(analyte: Analyte, result: LabResult | None) -> TimelineCell:
    if result is None:
        return TimelineCell(None)
    return TimelineCell(result, lab_value(result.canonical_value, analyte.display_decimals, result.censoring))


@dataclass(frozen=True)
class TimelineRow:
    analyte: Analyte
    cells: list[TimelineCell]
    chart_points: list[dict]


def patient_lab_timeline(*, patient) -> tuple[list[Timepoint], list[TimelineRow], list]:
    """Per analyte, her active results across time points (two queries), with points for a small chart."""
    timepoints = list(Timepoint.objects.all())
    results = LabResult.objects.filter(
        draw__patient=patient, draw__voided_at__isnull=True, voided_at__isnull=True
    ).select_related("draw", "draw__timepoint")
    by_key = {(r.analyte_id, r.draw.timepoint_id): r for r in results}
    draws = sorted({r.draw for r in by_key.values()}, key=lambda d: d.drawn_at)
    rows = []
    for analyte in Analyte.objects.all():
        cells = [_cell(analyte, by_key.get((analyte.pk, tp.pk))) for tp in timepoints]
        # The chart's tooltips show y: rounded as the table shows it.
        points = [
            {
                "x": tp.code,
                "y": float(rounded(cell.result.canonical_value, analyte.display_decimals)),
                "flag": cell.result.flag,
            }
            for tp, cell in zip(timepoints, cells, strict=True)
            if cell.result
        ]
        rows.append(TimelineRow(analyte, cells, points))
    return timepoints, rows, draws
