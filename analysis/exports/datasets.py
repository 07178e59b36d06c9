"""Analysis data sets for export: their columns (the data dictionary) and their rows, streamed. No HTTP.

Every row is de-identified (PatientIdentity is never read: no name, MRN, date of birth or phone),
limited to the sites the user may read (`core.access.site_filter`), free of voided records, and in
column order with plain values: booleans 0/1, decimals as floats, dates ISO 8601, times ISO 8601 in
UTC ("Z"), missing as None (empty in CSV, null in JSON). In CSV a text cell that a spreadsheet would
run as a formula gets a leading `'` (`csv_rows_of`, core.csv_safety); JSON keeps it as entered. When
results are blinded and the user lacks unblinded access, `arm` is left empty, as on the dashboards.

Data sets:
- `patients`: one analysis-ready row per randomized patient (ITT, allocated arm), built from
  `analysis.selectors.analysis_rows()` (the rows the statistics use: a few queries, memory bounded
  by the number of randomized patients). Lab columns hold the value the statistics use, in canonical
  units: a value below the detection limit is half the limit, one above the measuring range the limit.
- `lab-results`: one row per active result (long format), as entered and in canonical units.
- `adverse-events`: one row per active adverse event.
- `questionnaires`: one row per active questionnaire response, wide over both instruments: each
  score as `<instrument>_<scale>` and each item answer as `<instrument>_item_<key>` (the option
  number printed on the form; SSRS 6 and 7 count sources). Columns of the other instrument are empty.

The long data sets stream from a server-side cursor: `.iterator(chunk_size=CHUNK_SIZE)` makes Django
DECLARE a named PostgreSQL cursor and fetch CHUNK_SIZE rows at a time, so memory stays flat. A
StreamingHttpResponse is consumed after the view has returned, outside any transaction (even with
ATOMIC_REQUESTS), i.e. in autocommit mode; Django then declares the cursor WITH HOLD so it outlives
the implicit commit (PostgreSQL materialises the result on the server, spilling to disk, before the
first row). Inside an atomic block (tests) the cursor lives in that transaction. This relies on
DISABLE_SERVER_SIDE_CURSORS being False, Django's default and ours; behind a transaction-pooling
PgBouncer it must be True, and then each query's whole result is fetched into memory at once.

`lab-results`, the data set that grows with the trial, can also be encoded by PostgreSQL itself
(`copy_statement`: `COPY (...) TO STDOUT` with every value already written as this module writes it;
the API streams that, several times faster, and the tests hold both paths to the same bytes).
Every export is recorded in `ExportLog` (`export_log_start`, `export_log_finish`).
"""

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection
from django.db.models import Case, CharField, F, Func, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from analysis.models import ExportLog
from analysis.selectors import analysis_rows
from core.access import site_filter
from core.audit import current_request_id
from core.csv_safety import ESCAPE, FORMULA_PREFIXES, TEXT_TYPE, csv_rows, text_columns
from core.models import Arm, Site, Timepoint
from core.selectors import arm_results_visible
from labs.models import Analyte, Flag, LabResult
from outcomes.instruments import INSTRUMENT_ITEMS, INSTRUMENT_NAMES, Item
from outcomes.models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventTerm,
    AeOutcome,
    Instrument,
    QuestionnaireResponse,
    Relatedness,
)
from outcomes.scoring import RAND36_SCALES, SSRS_SUBSCALES
from outcomes.services import AE_FIELDS
from patients.models import Education

DATASETS = ("patients", "lab-results", "adverse-events", "questionnaires")
CHUNK_SIZE = 2000
# Scales exported per instrument, in the order of SPEC §7 (`rand36_*` before `ssrs_*`).
SCALES: dict[str, tuple[str, ...]] = {"RAND36": tuple(RAND36_SCALES), "SSRS": tuple(SSRS_SUBSCALES)}
ARM_INDEX = 2  # every data set starts study_id, site, arm

logger = logging.getLogger("ivf_trial.exports")


class UnknownDataset(LookupError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # "string" | "integer" | "number" | "boolean" | "date" | "datetime"
    unit: str = ""
    allowed_values: list | None = None


BOOLEAN = [0, 1]


def _choices(choices) -> list[str]:
    return [value for value, _ in choices.choices]


def _subject_columns() -> list[Column]:
    return [
        Column("study_id", "Study id (<SITE>-<4-digit sequence>)", "string"),
        Column("site", "Site code", "string", "", list(Site.objects.values_list("code", flat=True))),
        Column(
            "arm",
            "Allocated arm (ITT); empty if not randomized or results are blinded for this user",
            "string",
            "",
            list(Arm.objects.order_by("order", "code").values_list("code", flat=True)),
        ),
    ]


# --- patients ---------------------------------------------------------------------------------------

# (column, key in analysis_rows()) of the SPEC §7 contract columns, in contract order.
_PATIENT_CONTRACT: list[tuple[Column, str]] = [
    (Column("randomized_at", "Randomized at (UTC)", "datetime"), "randomized_at"),
    (Column("in_error", "Randomized in error (stays in ITT, leaves per-protocol)", "boolean", "", BOOLEAN), "in_error"),
    (
        Column(
            "per_protocol", "Per-protocol population: allocated treatment, no major deviation", "boolean", "", BOOLEAN
        ),
        "per_protocol",
    ),
    (Column("age", "Age at enrolment", "integer", "years"), "baseline.age"),
    (Column("bmi", "Body-mass index at baseline", "number", "kg/m²"), "baseline.bmi"),
    (
        Column("previous_failed_transfers", "Previous failed embryo transfers", "integer"),
        "baseline.previous_failed_transfers",
    ),
    (Column("prior_miscarriages", "Prior miscarriages", "integer"), "baseline.prior_miscarriages"),
    (Column("education", "Education", "string", "", _choices(Education)), "education"),
    (Column("embryos_transferred", "Embryos transferred", "integer", "", [1, 2, 3]), "embryos_transferred"),
    (Column("biochemical_pregnancy", "Positive β-hCG", "boolean", "", BOOLEAN), "biochemical_pregnancy"),
    (Column("clinical_pregnancy", "Clinical pregnancy (ultrasound)", "boolean", "", BOOLEAN), "clinical_pregnancy"),
    (Column("gestational_sacs", "Gestational sacs (0 when no clinical pregnancy)", "integer"), "gestational_sacs"),
    (Column("miscarriage", "Miscarriage", "boolean", "", BOOLEAN), "miscarriage"),
    (Column("ongoing_pregnancy", "Ongoing pregnancy at 12 weeks", "boolean", "", BOOLEAN), "ongoing_pregnancy"),
    (Column("live_birth", "Live birth", "boolean", "", BOOLEAN), "live_birth"),
    (Column("any_adverse_event", "At least one adverse event", "boolean", "", BOOLEAN), "any_adverse_event"),
    (
        Column("serious_adverse_event", "At least one serious adverse event", "boolean", "", BOOLEAN),
        "serious_adverse_event",
    ),
]


def _instrument_timepoints() -> dict[str, list[str]]:
    """Instrument code → its time points in visit order, for instruments whose scales are known."""
    found = {
        i.code: [tp.code for tp in sorted(i.timepoints.all(), key=lambda tp: tp.order)]
        for i in Instrument.objects.prefetch_related("timepoints")
    }
    return {code: found[code] for code in SCALES if code in found}


def _patient_layout() -> list[tuple[Column, str]]:
    layout = [(column, column.name) for column in _subject_columns()] + _PATIENT_CONTRACT
    timepoints = list(Timepoint.objects.order_by("order").values_list("code", flat=True))
    note = "below the detection limit: half the limit; above the measuring range: the limit"
    for analyte in Analyte.objects.order_by("order", "code"):
        for tp in timepoints:
            label = f"{analyte.name} at {tp} ({note})"
            column = Column(f"lab_{analyte.code}_{tp}", label, "number", analyte.canonical_unit)
            layout.append((column, f"lab.{analyte.code}.{tp}"))
    for instrument, instrument_timepoints in _instrument_timepoints().items():
        for scale in SCALES[instrument]:
            for tp in instrument_timepoints:
                label = f"{INSTRUMENT_NAMES.get(instrument, instrument)}: {scale.replace('_', ' ')} at {tp}"
                column = Column(f"{instrument.lower()}_{scale}_{tp}", label, "number")
                layout.append((column, f"qol.{instrument}.{scale}.{tp}"))
    return layout


def _patient_rows(user) -> Iterator[list]:
    keys = [key for _, key in _patient_layout()]
    visible = set(Site.objects.filter(site_filter(user, "id")).values_list("code", flat=True))
    for row in analysis_rows():
        if row["site"] in visible:
            yield [_cell(row.get(key)) for key in keys]


# --- lab-results, adverse-events, questionnaires ----------------------------------------------------


def _arm_of(patient: str) -> Case:
    """The arm of the patient's active randomization (None when there is none)."""
    randomization = f"{patient}randomization"
    return Case(
        When(**{f"{randomization}__voided_at__isnull": False}, then=Value(None)),
        default=F(f"{randomization}__arm__code"),
        output_field=CharField(),
    )


def _lab_columns() -> list[Column]:
    return [
        *_subject_columns(),
        Column("timepoint", "Time point", "string", "", list(Timepoint.objects.values_list("code", flat=True))),
        Column("analyte", "Analyte", "string", "", list(Analyte.objects.values_list("code", flat=True))),
        Column("drawn_at", "Blood drawn at (UTC)", "datetime"),
        Column("value_as_entered", "Value as entered ('<0.5' for a censored value)", "string"),
        Column("unit_as_entered", "Unit as entered", "string"),
        Column("canonical_value", "Value in the canonical unit (a censored value: its limit)", "number"),
        Column("canonical_unit", "Canonical unit of the analyte", "string"),
        Column(
            "censored",
            "'<' below the detection limit, '>' above the measuring range; empty when measured",
            "string",
            "",
            ["<", ">"],
        ),
        Column("flag", "Against the reference range", "string", "", _choices(Flag)),
    ]


# Each lab-results column and its source, in column order ("arm" is annotated).
_LAB_SOURCES = {
    "study_id": "draw__patient__study_id",
    "site": "draw__patient__site__code",
    "arm": "arm",
    "timepoint": "draw__timepoint__code",
    "analyte": "analyte__code",
    "drawn_at": "draw__drawn_at",
    "value_as_entered": "value_as_entered",
    "unit_as_entered": "unit_as_entered",
    "canonical_value": "canonical_value",
    "canonical_unit": "analyte__canonical_unit",
    "censored": "censoring",
    "flag": "flag",
}


def _lab_results(user):
    return (
        LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True)
        .filter(site_filter(user, "draw__patient__site_id"))
        .order_by(
            "draw__patient__site__code",
            "draw__patient__sequence_number",
            "draw__timepoint__order",
            "analyte__order",
            "pk",
        )
    )


def lab_results_queryset(user):
    """The active lab results `user` may read, in export order, as tuples of the export's raw columns."""
    return _lab_results(user).annotate(arm=_arm_of("draw__patient__")).values_list(*_LAB_SOURCES.values())


def _lab_rows(user) -> Iterator[list]:
    for row in lab_results_queryset(user).iterator(chunk_size=CHUNK_SIZE):
        yield [_cell(value) for value in row]


def _ae_columns() -> list[Column]:
    return [
        *_subject_columns(),
        Column("event_id", "Adverse event id (as in /api/v1/adverse-events/{id}/)", "integer"),
        Column("term", "Term (controlled list)", "string", "", _choices(AdverseEventTerm)),
        Column("term_other", "Description when the term is 'other'", "string"),
        Column("onset_date", "Onset date", "date"),
        Column("resolution_date", "Resolution date", "date"),
        Column("grade", "Severity grade (CTCAE)", "integer", "", [1, 2, 3, 4, 5]),
        Column("serious", "Serious adverse event (SAE)", "boolean", "", BOOLEAN),
        Column("related_to_dalteparin", "Relatedness to dalteparin", "string", "", _choices(Relatedness)),
        Column("action_taken", "Action taken with dalteparin", "string", "", _choices(ActionTaken)),
        Column("outcome", "Outcome of the event", "string", "", _choices(AeOutcome)),
    ]


def _ae_rows(user) -> Iterator[list]:
    events = (
        AdverseEvent.objects.filter(voided_at__isnull=True)
        .filter(site_filter(user, "patient__site_id"))
        .annotate(arm=_arm_of("patient__"))
        .order_by("patient__site__code", "patient__sequence_number", "onset_date", "pk")
        .values_list("patient__study_id", "patient__site__code", "arm", "pk", *AE_FIELDS)
    )
    for row in events.iterator(chunk_size=CHUNK_SIZE):
        yield [_cell(value) for value in row]


def _allowed_answers(item: Item) -> list[int]:
    if item.count_range is not None:
        return list(range(item.count_range[0], item.count_range[1] + 1))
    return [option.value for option in item.options]


def _questionnaire_layout() -> list[tuple[Column, str, str, str]]:
    """(column, instrument, "scores" | "answers", key) of each score and item column."""
    instruments = list(_instrument_timepoints())
    layout = []
    for instrument in instruments:
        for scale in SCALES[instrument]:
            label = f"{INSTRUMENT_NAMES.get(instrument, instrument)}: {scale.replace('_', ' ')} score"
            layout.append((Column(f"{instrument.lower()}_{scale}", label, "number"), instrument, "scores", scale))
    for instrument in instruments:
        for item in INSTRUMENT_ITEMS.get(instrument, ()):
            name, label = f"{instrument.lower()}_item_{item.key}", f"{instrument} item {item.key}: {item.text}"
            column = Column(name, label, "integer", "", _allowed_answers(item))
            layout.append((column, instrument, "answers", item.key))
    return layout


def _questionnaire_columns() -> list[Column]:
    instruments = list(_instrument_timepoints())
    timepoints = sorted({tp for tps in _instrument_timepoints().values() for tp in tps})
    return [
        *_subject_columns(),
        Column("instrument", "Questionnaire", "string", "", instruments),
        Column("timepoint", "Time point", "string", "", timepoints),
        Column("completed_on", "Completed on", "date"),
        *(column for column, *_ in _questionnaire_layout()),
    ]


def _questionnaire_rows(user) -> Iterator[list]:
    layout = [(instrument, part, key) for _, instrument, part, key in _questionnaire_layout()]
    responses = (
        QuestionnaireResponse.objects.filter(voided_at__isnull=True)
        .filter(site_filter(user, "patient__site_id"))
        .annotate(arm=_arm_of("patient__"))
        .order_by("patient__site__code", "patient__sequence_number", "instrument__code", "timepoint__order")
        .values_list(
            "patient__study_id",
            "patient__site__code",
            "arm",
            "instrument__code",
            "timepoint__code",
            "completed_on",
            "scores",
            "answers",
        )
    )
    for *head, scores, answers in responses.iterator(chunk_size=CHUNK_SIZE):
        parts = {"scores": scores, "answers": answers}
        instrument = head[3]
        tail = [parts[part].get(key) if code == instrument else None for code, part, key in layout]
        yield [_cell(value) for value in head] + tail


# --- shared -----------------------------------------------------------------------------------------


def _cell(value):
    """One value as exported: 0/1, float, ISO 8601 (UTC for times), None for missing or blank."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if value == "":
        return None
    return value


_COLUMNS: dict[str, Callable[[], list[Column]]] = {
    "patients": lambda: [column for column, _ in _patient_layout()],
    "lab-results": _lab_columns,
    "adverse-events": _ae_columns,
    "questionnaires": _questionnaire_columns,
}
_ROWS: dict[str, Callable[[object], Iterator[list]]] = {
    "patients": _patient_rows,
    "lab-results": _lab_rows,
    "adverse-events": _ae_rows,
    "questionnaires": _questionnaire_rows,
}


def _require_known(dataset: str) -> None:
    if dataset not in DATASETS:
        raise UnknownDataset(f"Unknown dataset '{dataset}'; expected one of {', '.join(DATASETS)}.")


def columns(dataset: str) -> list[Column]:
    """The columns of a data set, in export order (trial configuration read from the database)."""
    _require_known(dataset)
    return _COLUMNS[dataset]()


def rows(dataset: str, *, user) -> Iterator[list]:
    """The rows of a data set that `user` may read, in column order, produced lazily (constant memory)."""
    _require_known(dataset)
    produced = _ROWS[dataset](user)
    if arm_results_visible(user):
        return produced
    return ([*row[:ARM_INDEX], None, *row[ARM_INDEX + 1 :]] for row in produced)


def csv_rows_of(dataset: str, *, user, columns: list[Column]) -> Iterator[list]:
    """`rows()` for a CSV file: text cells that a spreadsheet would run as a formula get a leading `'`.

    Which cells are text is decided by `columns` (the data dictionary's types), so numbers pass untouched.
    """
    return csv_rows(rows(dataset, user=user), text_columns(column.type for column in columns))


# --- encoded by PostgreSQL -----------------------------------------------------------------------------
#
# A large data set is encoded by PostgreSQL itself: `COPY (<the rows query>) TO STDOUT` with every
# value already in its exported form, so Python only passes bytes on. Each expression below writes a
# value exactly as `_cell` and the csv/json modules would (the tests compare the two paths byte for byte).


class _IsoUtc(Func):
    """A timestamp as ISO 8601 in UTC with "Z", microseconds only when not zero (as datetime.isoformat)."""

    template = (
        "replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
    )
    output_field = TextField()


class _FloatText(Func):
    """A decimal as Python's repr(float(value)): shortest round-trip digits, ".0" on whole numbers.

    Exact for numeric(14, 4): PostgreSQL and Python both print the shortest round-trip form and agree
    on when to use an exponent for magnitudes between 1e-4 and 1e15. (A CASE costs the database a
    fraction of what a regular expression on the text would.)
    """

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        value, params = compiler.compile(self.source_expressions[0])
        sql = f"CASE WHEN {value} = trunc({value}) THEN trunc({value})::text || '.0' ELSE ({value})::float8::text END"
        return sql, [*params, *params, *params, *params]


class _CsvText(Func):
    """Text as core.csv_safety.csv_text writes it to CSV: a `'` before a formula's first character.

    ascii() is the code of the first character (0 for "", NULL for NULL): integer comparisons, no
    one-character string built. Every prefix is below "A", so a value starting with a letter (codes,
    units, flags) is settled by one comparison before the list (measured: the list alone cost ~30 ns
    per value, with the test first ~2 ns).
    """

    output_field = TextField()
    codes = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
    above = max(ord(prefix) for prefix in FORMULA_PREFIXES)
    escape = "'" + ESCAPE.replace("'", "''") + "'"

    def as_sql(self, compiler, connection, **extra_context):
        value, params = compiler.compile(self.source_expressions[0])
        test = f"ascii({value}) <= {self.above} AND ascii({value}) IN ({self.codes})"
        sql = f"CASE WHEN {test} THEN {self.escape} || {value} ELSE {value} END"
        return sql, [*params, *params, *params, *params]


class _Joined(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = TextField()


def _blank_as_null(field: str) -> NullIf:
    return NullIf(F(field), Value(""))  # "" is written as missing, as `_cell` does


def _lab_encoded(user, text: frozenset[str] = frozenset()) -> list[tuple[str, Func]]:
    """(column, SQL expression of its exported text) of every lab-results column, in column order.

    The columns named in `text` are defused for CSV (`_CsvText`).
    """
    arm = _arm_of("draw__patient__") if arm_results_visible(user) else Cast(Value(None), CharField())
    encoded = {
        "arm": arm,
        "drawn_at": _IsoUtc(F("draw__drawn_at")),
        "canonical_value": _FloatText(F("canonical_value")),
    }
    expressions = [
        (name, encoded[name] if name in encoded else _blank_as_null(source)) for name, source in _LAB_SOURCES.items()
    ]
    return [(name, _CsvText(expression) if name in text else expression) for name, expression in expressions]


def _json_object(columns: list[tuple[str, Func]], numbers: set[str]) -> _Joined:
    """One row as the text of json.dumps(dict(row), ensure_ascii=False): keys in column order."""
    parts: list = []
    for index, (name, expression) in enumerate(columns):
        parts.append(Value(("{" if index == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "))
        value = expression if name in numbers else Cast(Func(expression, function="to_json"), TextField())
        parts.append(Coalesce(value, Value("null", output_field=TextField())))
    return _Joined(*parts, Value("}", output_field=TextField()))


def copy_statement(dataset: str, fmt: str, *, user, columns: list[Column] | None = None) -> str | None:
    """`COPY ... TO STDOUT` whose rows are the data set's rows already encoded, or None (encoded in Python).

    CSV: PostgreSQL's CSV format, lines ending LF (Python's csv module ends them CRLF), text cells
    defused as `csv_rows_of()` does (the text columns are those of `columns`, the data set's columns,
    read here when not given). JSON: text format, one object per line, every backslash doubled by COPY,
    values as entered. Same rows, order, scoping and blinding as `rows()`; only lab-results, the one
    data set whose size grows with the trial.
    """
    _require_known(dataset)
    if dataset != "lab-results":
        return None
    if fmt == "csv":
        text = frozenset(column.name for column in columns or _lab_columns() if column.type == TEXT_TYPE)
        expressions = (expression for _, expression in _lab_encoded(user, text))
        queryset, options = _lab_results(user).values_list(*expressions), "FORMAT csv"
    else:
        queryset = _lab_results(user).values_list(_json_object(_lab_encoded(user), {"canonical_value"}))
        options = "FORMAT text"
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # the user reads no site: the Python path yields the empty export
        return None
    return f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT WITH ({options})"


# --- audit ---------------------------------------------------------------------------------------------


def export_log_start(*, user, dataset: str, fmt: str, query_string: str = "") -> ExportLog:
    """Record who starts exporting which data set in which format, in which request, before any row is sent."""
    request_id = current_request_id()
    log = ExportLog.objects.create(
        user=user,
        username=user.get_username(),
        dataset=dataset,
        format=fmt,
        query_string=query_string,
        request_id=request_id[:64],
        started_at=timezone.now(),
    )
    logger.info(
        "export dataset=%s format=%s user=%s user_id=%s request_id=%s export_log=%s",
        dataset,
        fmt,
        user.get_username(),
        user.pk,
        request_id,
        log.pk,
        extra={"export_dataset": dataset, "export_format": fmt, "export_user_id": user.pk},
    )
    return log


def export_log_finish(log: ExportLog, *, rows: int, completed: bool) -> None:
    """Record how an export ended: rows sent, and whether that was all of them (once; later calls change nothing)."""
    try:
        ExportLog.objects.filter(pk=log.pk, finished_at__isnull=True).update(
            finished_at=timezone.now(), row_count=rows, completed=completed
        )
    except DatabaseError:  # the export failed on the database; its log stays unfinished, which says so
        logger.warning("export log %s could not be finished", log.pk, exc_info=True)
