"""Every patient's collected values as ODM ClinicalData, read a batch of patients at a time.

The patients are those the user may read (`patients.selectors.patient_list`: her site scoping, voided
patients left out), optionally one site's. Per batch of BATCH_PATIENTS each form's active records are
read in one query (the lab results, adverse events and questionnaires through the analysis exports'
own querysets, so the file holds exactly the rows those exports hold), the casebook signatures through
`quality.selectors.casebooks` (a signature counts only while the content it signed is unchanged), and,
when asked for, the audit trail (exchange.odm.audit). Memory holds one batch, whatever the trial's size.

Values are written in ODM's lexical forms: dates and UTC times ISO 8601, decimals without exponent,
booleans 1/0; an empty value is left out. A user for whom results are blinded gets no arm and no
dalteparin course (which only the experimental arm receives), as the other exports give no arm.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice

from analysis.exports.builders import adverse_events, lab_results, questionnaire_responses
from core.selectors import AuditEntry
from exchange.odm import metadata as md
from exchange.odm import oids
from exchange.odm.admin_data import location_oid, signature_oid, user_oid
from exchange.odm.audit import value_audit
from exchange.odm.configuration import FORM_MODELS, REGISTRATION_FIELDS
from labs.models import LabDraw, LabResult
from outcomes.models import QuestionnaireResponse
from patients.models import Patient
from patients.selectors import patient_list
from quality.selectors import casebooks

BATCH_PATIENTS = 250
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
BLINDED_FORMS = frozenset({"dalteparin"})  # its presence alone tells the arm
FOREIGN_KEYS = {"arm": "arm__code"}  # a form field stored as a foreign key, read as the code users know
ORDER = {
    "luteal_support": ("start_date",),
    "dalteparin": ("start_date",),
    "adverse_events": ("onset_date",),
    "deviations": ("occurred_on",),
}
AUDITED = {Patient, LabDraw, LabResult, QuestionnaireResponse, *FORM_MODELS.values()}


@dataclass(frozen=True)
class Audit:
    user_oid: str
    location_oid: str
    at: datetime
    reason: str
    source_id: str


@dataclass(frozen=True)
class Value:
    item_oid: str
    value: str
    audit: Audit | None = None


@dataclass(frozen=True)
class Group:
    oid: str
    repeat_key: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Form:
    event_oid: str
    oid: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Signature:
    user_oid: str
    location_oid: str
    signature_oid: str
    at: datetime


@dataclass(frozen=True)
class Subject:
    key: str
    location_oid: str
    forms: tuple[Form, ...]  # in the order of the study's events, then of each event's forms
    signature: Signature | None


def lexical(value) -> str | None:
    """A value in the lexical form of its ODM data type; None when there is nothing to write."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return xml_text(str(value))


def xml_text(text: str) -> str:
    """XML 1.0 cannot carry most control characters: a pasted one is written as U+FFFD, not break the file."""
    return NOT_XML.sub("\ufffd", text)


def _source_id(entry: AuditEntry) -> str:
    source = f"{entry.model}#{entry.event_id}"
    # Outside a request (a management command) the request id is "-".
    return f"{source} request {entry.request_id}" if entry.request_id.strip("-") else source


class _Batch:
    """One batch of patients: each form's active records, signatures and (when asked) the audit trail."""

    def __init__(self, patients: list[Patient], *, user, blinded: bool, audit: bool, metadata: md.MetaData):
        self.patients, ids = patients, [p.pk for p in patients]
        self.order = {item.oid: position for position, item in enumerate(metadata.items)}
        self.fixed = {key: self._fixed(key, ids, user) for key in FORM_MODELS if not (blinded and key in BLINDED_FORMS)}
        self.blinded = blinded
        self.labs = self._labs(ids, user)
        self.questionnaires = defaultdict(list)
        for row in (
            questionnaire_responses(user)
            .filter(patient_id__in=ids)
            .order_by("timepoint__order", "instrument__code")
            .values_list("patient_id", "pk", "instrument__code", "timepoint__code", "completed_on", "answers", "scores")
        ):
            self.questionnaires[row[0]].append(row)
        self.books = casebooks(patients)
        self.audit = value_audit(ids, AUDITED) if audit else {}

    @staticmethod
    def _fixed(form_key: str, ids: list[int], user) -> dict[int, list[dict]]:
        model = FORM_MODELS[form_key]
        names = [f.name for f in md.fixed_fields(form_key) if f.name not in REGISTRATION_FIELDS]
        if form_key == "screening":
            names.append("answers")
        records = adverse_events(user) if form_key == "adverse_events" else model.objects.filter(voided_at__isnull=True)
        rows = defaultdict(list)
        lookups = [FOREIGN_KEYS.get(name, name) for name in names]
        for row in (
            records.filter(patient_id__in=ids)
            .order_by(*ORDER.get(form_key, ()), "pk")
            .values("pk", "patient_id", *lookups)
        ):
            rows[row["patient_id"]].append({name: row[FOREIGN_KEYS.get(name, name)] for name in names} | row)
        return rows

    @staticmethod
    def _labs(ids: list[int], user) -> dict[int, dict[str, list[tuple]]]:
        by_patient: dict[int, dict[str, list[tuple]]] = defaultdict(lambda: defaultdict(list))
        for patient_id, timepoint, *row in (
            lab_results(user)
            .filter(draw__patient_id__in=ids)
            .values_list(
                "draw__patient_id",
                "draw__timepoint__code",
                "draw_id",
                "draw__drawn_at",
                "pk",
                "analyte__code",
                *(column.name for column in md.LAB_COLUMNS),
            )
        ):
            by_patient[patient_id][timepoint].append(tuple(row))
        return by_patient

    # --- values -----------------------------------------------------------------------------------

    def value(self, patient: Patient, oid: str, raw, source: tuple[str, int, str, str]) -> Value | None:
        text = lexical(raw)
        if text is None or oid not in self.order:
            return None
        entry = self.audit.get(source)
        audit = None
        if entry is not None:
            location = location_oid(patient.site.code)
            audit = Audit(user_oid(entry.username), location, entry.at, entry.reason, _source_id(entry))
        return Value(oid, text, audit)

    def values(self, patient: Patient, entries: Iterable[tuple[str, object, tuple]]) -> tuple[Value, ...]:
        found = (self.value(patient, oid, raw, source) for oid, raw, source in entries)
        return tuple(sorted((value for value in found if value is not None), key=lambda v: self.order[v.item_oid]))

    # --- forms ------------------------------------------------------------------------------------

    def fixed_forms(self, patient: Patient) -> Iterator[Form]:
        for form_key, rows in self.fixed.items():
            model = FORM_MODELS[form_key]
            repeating = form_key in md.REPEATING_FORMS
            groups = tuple(
                Group(
                    oids.group_oid(form_key),
                    str(row["pk"]) if repeating else "",
                    self._row_values(patient, form_key, model, row),
                )
                for row in rows.get(patient.pk, ())
            )
            groups = tuple(group for group in groups if group.values)
            if groups:
                yield Form(oids.event_oid(form_key), oids.form_oid(form_key), groups)

    def _row_values(self, patient: Patient, form_key: str, model, row: dict) -> tuple[Value, ...]:
        label = model._meta.label
        entries = []
        for form_field in md.fixed_fields(form_key):
            name = form_field.name
            if self.blinded and name == "arm":
                continue
            if name in REGISTRATION_FIELDS:
                source = (Patient._meta.label, patient.pk, name, "")
                entries.append((oids.item_oid(form_key, name), getattr(patient, name), source))
                continue
            source = (label, row["pk"], model._meta.get_field(name).attname, "")
            entries.append((oids.item_oid(form_key, name), row[name], source))
        for code, answer in (row.get("answers") or {}).items() if form_key == "screening" else ():
            entries.append((oids.criterion_oid(code), answer, (label, row["pk"], "answers", code)))
        return self.values(patient, entries)

    def lab_forms(self, patient: Patient) -> Iterator[Form]:
        result_label, draw_label = LabResult._meta.label, LabDraw._meta.label
        for timepoint, results in self.labs.get(patient.pk, {}).items():
            draw_id, drawn_at = results[0][0], results[0][1]
            drawn_oid = oids.item_oid(oids.LAB_FORM, "drawn_at")
            groups = [
                Group(
                    oids.group_oid(oids.LAB_FORM, "DRAW"),
                    "",
                    self.values(patient, [(drawn_oid, drawn_at, (draw_label, draw_id, "drawn_at", ""))]),
                )
            ]
            for _draw, _at, pk, analyte, *columns in results:
                entries = [
                    (oids.lab_item_oid(analyte, column.name), raw, (result_label, pk, column.name, ""))
                    for column, raw in zip(md.LAB_COLUMNS, columns, strict=True)
                ]
                groups.append(Group(oids.lab_group_oid(analyte), "", self.values(patient, entries)))
            yield Form(oids.timepoint_event_oid(timepoint), oids.form_oid(oids.LAB_FORM), tuple(groups))

    def questionnaire_forms(self, patient: Patient) -> Iterator[Form]:
        label = QuestionnaireResponse._meta.label
        for _patient, pk, instrument, timepoint, completed_on, answers, scores in self.questionnaires.get(
            patient.pk, ()
        ):
            entries = [(oids.item_oid(instrument, "completed_on"), completed_on, (label, pk, "completed_on", ""))]
            entries += [
                (oids.answer_oid(instrument, key), value, (label, pk, "answers", key)) for key, value in answers.items()
            ]
            derived = [
                (oids.score_oid(instrument, key), value, (label, pk, "scores", key)) for key, value in scores.items()
            ]
            groups = (
                Group(oids.questionnaire_group_oid(instrument), "", self.values(patient, entries)),
                Group(oids.questionnaire_group_oid(instrument, scores=True), "", self.values(patient, derived)),
            )
            groups = tuple(group for group in groups if group.values)
            yield Form(oids.timepoint_event_oid(timepoint), oids.questionnaire_form_oid(instrument), groups)

    def signature(self, patient: Patient) -> Signature | None:
        book = self.books.get(patient.pk)
        if book is None or book.signature is None or not book.signature_valid:
            return None
        signed = book.signature
        location = location_oid(patient.site.code)
        return Signature(
            user_oid(signed.signer.get_username()), location, signature_oid(signed.meaning), signed.signed_at
        )


def _ordered(forms: Iterable[Form], metadata: md.MetaData) -> tuple[Form, ...]:
    position = {(e.oid, f): (i, j) for i, e in enumerate(metadata.events) for j, f in enumerate(e.forms)}
    known = [form for form in forms if (form.event_oid, form.oid) in position]
    return tuple(sorted(known, key=lambda form: position[form.event_oid, form.oid]))


def _batches(patients, size: int) -> Iterator[list[Patient]]:
    iterator = patients.iterator(chunk_size=size)
    while batch := list(islice(iterator, size)):
        yield batch


def subjects(*, user, metadata: md.MetaData, site=None, blinded: bool, audit: bool) -> Iterator[Subject]:
    """One subject per patient the user may read (of `site` when given), in study-id order, lazily."""
    patients = patient_list(user=user)
    if site is not None:
        patients = patients.filter(site=site)
    for batch in _batches(patients, BATCH_PATIENTS):
        reader = _Batch(batch, user=user, blinded=blinded, audit=audit, metadata=metadata)
        for patient in batch:
            forms = [*reader.fixed_forms(patient), *reader.lab_forms(patient), *reader.questionnaire_forms(patient)]
            yield Subject(
                patient.study_id, location_oid(patient.site.code), _ordered(forms, metadata), reader.signature(patient)
            )
