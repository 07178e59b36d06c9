"""Lab draws and results as COPY rows, written the same way by the lab import and the synthetic trial."""

from core.bulk_copy import Table, text
from labs.models import LabDraw, LabResult

DRAW_COLUMNS = ["patient", "timepoint", "drawn_at", "window_warning"]
RESULT_COLUMNS = ["draw", "analyte", "value_as_entered", "unit_as_entered", "censoring", "canonical_value", "flag"]


def draw_table() -> Table:
    return Table(LabDraw, DRAW_COLUMNS, with_id=True)


def result_table() -> Table:
    return Table(LabResult, RESULT_COLUMNS)


def result_line(head: str, draw_pk: int, analyte_pk: int, result) -> str:
    """One result (anything with CheckedResult's attributes) after its record head, in RESULT_COLUMNS' order.

    One f-string per row: `Table.add` formatting each value took a tenth of a 100,000-row import. Only
    the two texts as entered can hold characters COPY must escape.
    """
    entered = f"{text(result.value_as_entered)}\t{text(result.unit_as_entered)}"
    return f"{head}{draw_pk}\t{analyte_pk}\t{entered}\t{result.censoring}\t{result.canonical_value}\t{result.flag}\n"
