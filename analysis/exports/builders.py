"""The rows of each export data set, in column order, every value as exported (`cell`).

The long data sets stream from a server-side cursor: `.iterator(chunk_size=CHUNK_SIZE)` makes Django
DECLARE a named PostgreSQL cursor and fetch CHUNK_SIZE rows at a time, so memory stays flat. A
StreamingHttpResponse is consumed after the view has returned, outside any transaction (even with
ATOMIC_REQUESTS), i.e. in autocommit mode; Django then declares the cursor WITH HOLD so it outlives
the implicit commit (PostgreSQL materialises the result on the server, spilling to disk, before the
first row). Inside an atomic block (tests) the cursor lives in that transaction. This relies on
DISABLE_SERVER_SIDE_CURSORS being False, Django's default and ours; behind a transaction-pooling
PgBouncer it must be True, and then each query's whole result is fetched into memory at once.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Case, CharField, F, Value, When

from analysis.exports.dictionary import LAB_SOURCES, patient_layout, questionnaire_layout
from analysis.selectors import analysis_rows
from core.access import site_filter
from core.models import Site
from labs.models import LabResult
from outcomes.models import AdverseEvent, QuestionnaireResponse
from outcomes.services import AE_FIELDS
from patients.models import Randomization

CHUNK_SIZE = 2000


def cell(value):
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


def arm_of(patient: str) -> Case:
    """The arm of the patient's active randomization (None when there is none)."""
    randomization = f"{patient}randomization"
    return Case(
        When(**{f"{randomization}__voided_at__isnull": False}, then=Value(None)),
        default=F(f"{randomization}__arm__code"),
        output_field=CharField(),
    )


def patient_rows(user) -> Iterator[list]:
    keys = [key for _, key in patient_layout()]
    visible = set(Site.objects.filter(site_filter(user, "id")).values_list("code", flat=True))
    for row in analysis_rows():
        if row["site"] in visible:
            yield [cell(row.get(key)) for key in keys]


def randomized_patients(user):
    """The active randomizations of the patients `user` may read: one `patients` row each (analysis_rows)."""
    return Randomization.objects.filter(voided_at__isnull=True).filter(site_filter(user, "patient__site_id"))


def lab_results(user):
    """The active lab results `user` may read, in export order."""
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
    return lab_results(user).annotate(arm=arm_of("draw__patient__")).values_list(*LAB_SOURCES.values())


def lab_rows(user) -> Iterator[list]:
    for row in lab_results_queryset(user).iterator(chunk_size=CHUNK_SIZE):
        yield [cell(value) for value in row]


def adverse_events(user):
    """The active adverse events `user` may read."""
    return AdverseEvent.objects.filter(voided_at__isnull=True).filter(site_filter(user, "patient__site_id"))


def questionnaire_responses(user):
    """The active questionnaire responses `user` may read."""
    return QuestionnaireResponse.objects.filter(voided_at__isnull=True).filter(site_filter(user, "patient__site_id"))


def ae_rows(user) -> Iterator[list]:
    events = (
        adverse_events(user)
        .annotate(arm=arm_of("patient__"))
        .order_by("patient__site__code", "patient__sequence_number", "onset_date", "pk")
        .values_list("patient__study_id", "patient__site__code", "arm", "pk", *AE_FIELDS)
    )
    for row in events.iterator(chunk_size=CHUNK_SIZE):
        yield [cell(value) for value in row]


def questionnaire_rows(user) -> Iterator[list]:
    layout = [(instrument, part, key) for _, instrument, part, key in questionnaire_layout()]
    responses = (
        questionnaire_responses(user)
        .annotate(arm=arm_of("patient__"))
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
        yield [cell(value) for value in head] + tail
