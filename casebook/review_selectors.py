"""The casebook review's reads: every form of one casebook with its values as people read them, its state
and its open queries, grouped by visit, so a monitor verifies against the source on one page.

One query per table whatever the number of forms (a casebook grows by lab draws and questionnaires, not
by queries): the values come from the clinical apps below, the form list and states from
quality.selectors.casebook_get, the fields from the catalogue quality.form_fields.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit_display import moment_text
from core.models import Arm, Timepoint
from labs.models import LabDraw, LabResult
from outcomes.instruments import INSTRUMENT_ITEMS
from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from patients.models import (
    Baseline,
    Consent,
    DalteparinCourse,
    EmbryoTransfer,
    LutealSupport,
    Patient,
    ProtocolDeviation,
    Randomization,
    Screening,
)
from quality import catalogue, form_fields
from quality.catalogue import FormStatus
from quality.form_field_selectors import field_config, field_label
from quality.form_fields import FieldConfig, FormField
from quality.models import DataQuery, QueryStatus, SourceVerification
from quality.selectors import Casebook

EMPTY = "—"


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    value: str
    open_queries: int = 0
    flag: str = ""  # a lab value against its range: low or high ("" when normal or not a lab value)


@dataclass(frozen=True)
class RecordRows:
    title: str  # "" for a form of one record; "Entry 2" for a form of several (luteal support, events…)
    rows: list[FieldRow]


@dataclass(frozen=True)
class FormReview:
    status: FormStatus
    records: list[RecordRows]
    verification: SourceVerification | None  # the verification that holds for the content as it is now
    open_queries: int

    @property
    def verifiable(self) -> bool:
        """Complete (signed or locked since, too), not verified as it is now, no query left open: what
        quality.services.forms_verify verifies."""
        started = self.status.state not in catalogue.NOT_DONE
        return started and self.verification is None and not self.open_queries


@dataclass(frozen=True)
class VisitReview:
    key: str
    label: str
    forms: list[FormReview] = field(default_factory=list)

    @property
    def verifiable(self) -> bool:
        return any(f.verifiable for f in self.forms)


@dataclass(frozen=True)
class CasebookReview:
    visits: list[VisitReview]
    field_choices: list[tuple[str, list[tuple[str, str]]]]  # (form label, [(field name, label)]) per form

    @property
    def verifiable(self) -> bool:
        return any(v.verifiable for v in self.visits)


def shown(value, unit: str = "") -> str:
    """A stored value as people read it: Yes/No, ISO dates, date-times to the minute with their UTC offset,
    decimals as stored."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        text = _("Yes") if value else _("No")
    elif isinstance(value, datetime):  # in the zone casebook_review activates: the site's, as the history
        text = moment_text(value, timezone.get_current_timezone_name())
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, Decimal):
        text = f"{value:f}"
    elif isinstance(value, Arm):
        text = f"{value.code} — {_(value.label)}"
    else:
        text = str(value)
    return f"{text} {_(unit)}" if unit else text


def _model_value(record, name: str, unit: str) -> str:
    value = getattr(record, name)
    display = getattr(record, f"get_{name}_display", None)
    if display is not None and value not in (None, ""):
        return str(display())  # a choice by its label
    return shown(value, unit)


class _Records:
    """Her active records of every form, read once per table."""

    def __init__(self, patient: Patient):
        self.patient = patient
        active = {"patient": patient, "voided_at__isnull": True}
        self.by_form: dict[str, list] = {
            "screening": list(Screening.objects.filter(patient=patient)),
            "consent": list(Consent.objects.filter(**active).order_by("-pk")[:1]),
            "baseline": list(Baseline.objects.filter(**active).order_by("-pk")[:1]),
            "randomization": list(Randomization.objects.filter(patient=patient).select_related("arm")),
            "transfer": list(EmbryoTransfer.objects.filter(**active).order_by("-pk")[:1]),
            "luteal_support": list(LutealSupport.objects.filter(**active).order_by("start_date", "pk")),
            "dalteparin": list(DalteparinCourse.objects.filter(**active).order_by("start_date", "pk")),
            "outcome": list(PregnancyOutcome.objects.filter(**active).order_by("-pk")[:1]),
            "adverse_events": list(AdverseEvent.objects.filter(**active).order_by("onset_date", "pk")),
            "deviations": list(ProtocolDeviation.objects.filter(**active).order_by("occurred_on", "pk")),
        }
        self.draws = {d.timepoint.code: d for d in LabDraw.objects.filter(**active).select_related("timepoint")}
        self.results: dict[int, dict[str, LabResult]] = defaultdict(dict)
        for result in LabResult.objects.filter(
            draw__patient=patient, draw__voided_at__isnull=True, voided_at__isnull=True
        ).select_related("analyte"):
            self.results[result.draw_id][result.analyte.code] = result
        self.questionnaires = {
            f"questionnaire:{q.instrument.code}:{q.timepoint.code}": q
            for q in QuestionnaireResponse.objects.filter(**active).select_related("instrument", "timepoint")
        }


def _screening_values(record: Screening, patient: Patient, fields: tuple[FormField, ...]) -> list[str]:
    values = []
    for f in fields:
        if f.name == "age_at_enrolment":
            values.append(shown(patient.age_at_enrolment, f.unit))
        elif f.name in ("screening_date", "eligible"):
            values.append(shown(getattr(record, f.name)))
        else:  # a criterion: met (inclusion) or present (exclusion)
            values.append(shown(record.answers.get(f.name)))
    return values


def _lab_values(draw: LabDraw, results: dict[str, LabResult], fields: tuple[FormField, ...]) -> list[tuple]:
    values = []
    for f in fields:
        if f.name == "drawn_at":
            values.append((shown(draw.drawn_at), ""))
            continue
        result = results.get(f.name)
        if result is None:
            values.append((EMPTY, ""))
        else:  # as entered, in the unit entered: what the laboratory report shows
            values.append((f"{result.value_as_entered} {result.unit_as_entered}", result.flag))
    return values


def _questionnaire_values(response: QuestionnaireResponse, fields: tuple[FormField, ...]) -> list[str]:
    items = {form_fields.item_field_name(i.key): i for i in INSTRUMENT_ITEMS.get(response.instrument.code, ())}
    values = []
    for f in fields:
        if f.name == "completed_on":
            values.append(shown(response.completed_on))
            continue
        item = items.get(f.name)
        answer = response.answers.get(item.key) if item else None
        option = next((o for o in item.options if o.value == answer), None) if item else None
        values.append(f"{answer} — {_(option.label)}" if option else shown(answer))
    return values


def _records(key: str, source: _Records, fields: tuple[FormField, ...]) -> list[tuple[list[str], list[str]]]:
    """(values, flags) per record of the form, in field order."""
    if key == "screening":
        return [(_screening_values(r, source.patient, fields), []) for r in source.by_form["screening"]]
    if key in source.by_form:
        return [([_model_value(r, f.name, f.unit) for f in fields], []) for r in source.by_form[key]]
    if key.startswith("labs:"):
        draw = source.draws.get(key.removeprefix("labs:"))
        if draw is None:
            return []
        pairs = _lab_values(draw, source.results[draw.pk], fields)
        return [([v for v, _flag in pairs], [flag for _v, flag in pairs])]
    response = source.questionnaires.get(key)
    return [(_questionnaire_values(response, fields), [])] if response else []


def _form_review(
    status: FormStatus, book: Casebook, source: _Records, config: FieldConfig, open_by_field: Counter
) -> FormReview:
    fields = form_fields.form_fields(status.key, config)
    records = _records(status.key, source, fields)
    several = status.key in ("luteal_support", "dalteparin", "adverse_events", "deviations")
    rows = [
        RecordRows(
            _("Entry %(number)d") % {"number": n} if several else "",
            [
                FieldRow(
                    f.name,
                    field_label(f, unit=False),
                    value,
                    open_by_field[(status.key, f.name)],
                    flags[i] if flags and flags[i] != "normal" else "",
                )
                for i, (f, value) in enumerate(zip(fields, values, strict=True))
            ],
        )
        for n, (values, flags) in enumerate(records, start=1)
    ]
    verification = book.verifications.get(status.key)
    if verification is not None and verification.content_hash != status.content_hash:
        verification = None
    open_queries = sum(count for (form, _name), count in open_by_field.items() if form == status.key)
    return FormReview(status, rows, verification, open_queries)


def _visit_label(key: str, timepoints: dict[str, str]) -> str:
    if key.startswith(form_fields.TIMEPOINT_VISIT):
        code = key.removeprefix(form_fields.TIMEPOINT_VISIT)
        return _(timepoints.get(code, code))
    return _(form_fields.VISIT_LABELS.get(key, key))


def casebook_review(*, book: Casebook) -> CasebookReview:
    """Her casebook's forms with their values, states and open queries, grouped by visit; times in her
    site's zone, as on her audit history."""
    with timezone.override(ZoneInfo(book.patient.site.time_zone)):
        return _casebook_review(book)


def _casebook_review(book: Casebook) -> CasebookReview:
    patient = book.patient
    config = field_config()
    source = _Records(patient)
    open_by_field = Counter(
        DataQuery.objects.filter(patient=patient).exclude(status=QueryStatus.CLOSED).values_list("form", "field")
    )
    timepoints = dict(Timepoint.objects.values_list("code", "label"))
    visits: dict[str, VisitReview] = {}
    for status in book.forms:
        key = form_fields.visit_of(status.key)
        visit = visits.setdefault(key, VisitReview(key, _visit_label(key, timepoints)))
        visit.forms.append(_form_review(status, book, source, config, open_by_field))
    choices = [
        (status.label, [(f.name, field_label(f)) for f in form_fields.form_fields(status.key, config)])
        for status in book.forms
    ]
    return CasebookReview(list(visits.values()), choices)
