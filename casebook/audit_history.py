"""A patient's audit trail as people read it (issue 20, item 7: it read like a database dump).

The entries of casebook.selectors.patient_audit_history, filtered, with every value written for a reader:
field labels, related records by their names (an allocation slot by its number, an analyte by its code,
a user by full name), choices by their labels, Yes / No, dates ISO and date-times in the site's time zone
with the UTC offset (core.audit_display). The names are read in bulk: one query per kind of related
record on the page (users, slots, time points…), however many entries there are.

The API keeps the stored values (SPEC §11.1); only the page and its CSV read this way.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.text import Truncator
from django.utils.translation import gettext

from core.audit_display import Reading, changed_parts, moment_text, value_text
from core.models import EligibilityCriterion
from core.selectors import AuditEntry, FieldChange
from outcomes.scoring import SCALE_LABELS

User = get_user_model()
SYSTEM = "system"  # core.selectors.audit_entries: the username of a change made outside any request


@dataclass(frozen=True)
class ReadableChange:
    field: str  # the model field's name (a foreign key by its name, never its `_id` column)
    label: str  # in the reader's language
    old: str
    new: str


@dataclass(frozen=True)
class ReadableEntry:
    at: datetime
    when: str  # in the site's time zone with its offset
    user: str  # full name, else username
    username: str
    record: str
    record_label: str
    action: str
    action_label: str
    changes: tuple[ReadableChange, ...]
    reason: str
    request_id: str
    model: str


@dataclass(frozen=True)
class TrailFilter:
    record: str = ""
    field: str = ""
    username: str = ""
    date_from: date | None = None  # in the site's time zone, inclusive
    date_to: date | None = None


@dataclass(frozen=True)
class TrailOptions:
    """What the filters offer: the records, fields and users of her whole trail, as (value, label)."""

    records: list[tuple[str, str]]
    fields: list[tuple[str, str]]
    users: list[tuple[str, str]]


@cache
def _fields(model_label: str) -> dict:
    """A tracked model's fields by the key the trail uses (the column: `slot_id` for the slot)."""
    model = apps.get_model(model_label)
    return {field.attname: field for field in model._meta.concrete_fields}


def _field_name(entry: AuditEntry, change: FieldChange) -> str:
    field = _fields(entry.model).get(change.field)
    return field.name if field is not None else change.field


# Related records by the name people use for them; a kind missing here reads as its str().
NAMES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "core.Site": ((), lambda site: site.code),
    "core.Arm": ((), lambda arm: f"{arm.code} — {gettext(arm.label)}"),
    "core.Timepoint": ((), lambda timepoint: gettext(timepoint.label)),
    "patients.Patient": ((), lambda patient: patient.study_id),
    "patients.AllocationSlot": ((), lambda slot: gettext("No. %(number)s") % {"number": slot.sequence}),
    "patients.ProtocolDeviation": (
        (),
        lambda deviation: f"{deviation.occurred_on:%Y-%m-%d} {Truncator(deviation.description).chars(60)}",
    ),
    "labs.LabDraw": (("timepoint",), lambda draw: gettext(draw.timepoint.label)),
    "labs.Analyte": ((), lambda analyte: analyte.code),
    "outcomes.Instrument": ((), lambda instrument: instrument.code),
    "quality.DataQuery": ((), lambda query: gettext("Query %(number)s") % {"number": query.pk}),
}


def _user_name(user) -> str:
    return user.get_full_name() or user.username


class TrailNames:
    """The names of every related record the entries point at and of every user who made them, read in
    bulk: one query per kind of record (users, slots, time points…), however many entries there are."""

    def __init__(self, entries: list[AuditEntry]):
        wanted: dict[type, set] = defaultdict(set)
        for entry in entries:
            for change in entry.changes:
                field = _fields(entry.model).get(change.field)
                if field is not None and field.is_relation:
                    wanted[field.related_model].update(v for v in (change.old, change.new) if v is not None)
        self.by_model: dict[type, dict] = {}
        users = wanted.pop(User, set())
        self.users_by_name = self._users(users, {entry.username for entry in entries})
        for model, keys in wanted.items():
            related, name = NAMES.get(model._meta.label, ((), str))
            rows = model._base_manager.select_related(*related).filter(pk__in=keys)
            self.by_model[model] = {row.pk: name(row) for row in rows}
        self._criteria = None

    def _users(self, keys: set, usernames: set) -> dict[str, str]:
        rows = User.objects.filter(Q(pk__in=keys) | Q(username__in=usernames)).only(
            "username", "first_name", "last_name"
        )
        self.by_model[User] = {}
        by_name = {}
        for user in rows:
            self.by_model[User][user.pk] = by_name[user.username] = _user_name(user)
        return by_name

    def user(self, username: str) -> str:
        """Who made a change: her full name, else the username ("system" for a change made by no one)."""
        if username == SYSTEM:
            return gettext(SYSTEM)
        return self.users_by_name.get(username, username)

    def related(self, model, key) -> str:
        return self.by_model.get(model, {}).get(key, f"#{key}")

    def criteria(self) -> dict[str, str]:
        if self._criteria is None:
            self._criteria = {
                code: gettext(text) for code, text in EligibilityCriterion.objects.values_list("code", "text")
            }
        return self._criteria


def trail_options(entries: list[AuditEntry], names: TrailNames) -> TrailOptions:
    """The filter choices, from the entries themselves (so a filter never offers what is not there)."""
    records = {entry.record: gettext(entry.record_label) for entry in entries}
    fields = {}
    for entry in entries:
        for change in entry.changes:
            fields.setdefault(_field_name(entry, change), gettext(change.label))
    usernames = {entry.username for entry in entries}
    return TrailOptions(
        records=sorted(records.items(), key=lambda item: item[1]),
        fields=sorted(fields.items(), key=lambda item: item[1]),
        users=sorted(((u, _user_choice(u, names)) for u in usernames), key=lambda item: item[1].lower()),
    )


def _user_choice(username: str, names: TrailNames) -> str:
    name = names.user(username)
    return name if name == username else f"{name} ({username})"


def trail_filter(entries: list[AuditEntry], chosen: TrailFilter, zone: str) -> list[AuditEntry]:
    """The entries the filter keeps; a field filter keeps only that field's changes of each entry."""
    kept = []
    for entry in entries:
        if chosen.record and entry.record != chosen.record:
            continue
        if chosen.username and entry.username != chosen.username:
            continue
        day = date.fromisoformat(moment_text(entry.at, zone)[:10])
        if (chosen.date_from and day < chosen.date_from) or (chosen.date_to and day > chosen.date_to):
            continue
        if chosen.field:
            changes = tuple(c for c in entry.changes if _field_name(entry, c) == chosen.field)
            if not changes:
                continue
            entry = replace(entry, changes=changes)
        kept.append(entry)
    return kept


def _named(value, field, names: TrailNames):
    """A stored value with its related record named, its choice labelled, its codes spelt out."""
    if value is None or value == "":
        return value
    if field.is_relation:
        return names.related(field.related_model, value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    owner = field.model._meta.label
    if owner == "patients.Screening" and field.name == "answers" and isinstance(value, dict):
        return {names.criteria().get(code, code): answer for code, answer in value.items()}
    if owner == "patients.Screening" and field.name == "failed_criteria" and isinstance(value, list):
        return [names.criteria().get(code, code) for code in value]
    if field.name == "scores" and isinstance(value, dict):
        return {gettext(SCALE_LABELS.get(scale, scale)): score for scale, score in value.items()}
    return value


def _readable_change(entry: AuditEntry, change: FieldChange, names: TrailNames, reading: Reading) -> ReadableChange:
    field = _fields(entry.model).get(change.field)
    old, new = change.old, change.new
    if field is not None:
        old, new = _named(old, field, names), _named(new, field, names)
    old, new = changed_parts(old, new)
    return ReadableChange(
        field=field.name if field is not None else change.field,
        label=gettext(change.label),
        old=value_text(old, reading),
        new=value_text(new, reading),
    )


def readable_trail(entries: list[AuditEntry], *, zone: str, names: TrailNames) -> list[ReadableEntry]:
    """The entries as the page and its CSV show them, in the active language and the site's time zone."""
    reading = Reading(zone=zone, yes=gettext("Yes"), no=gettext("No"))
    return [
        ReadableEntry(
            at=entry.at,
            when=moment_text(entry.at, zone),
            user=names.user(entry.username),
            username=entry.username,
            record=entry.record,
            record_label=gettext(entry.record_label),
            action=entry.action,
            action_label=gettext(entry.action),
            changes=tuple(_readable_change(entry, change, names, reading) for change in entry.changes),
            reason=entry.reason,
            request_id=entry.request_id,
            model=entry.model,
        )
        for entry in entries
    ]
