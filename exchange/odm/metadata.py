"""The study's ODM MetaDataVersion as plain values, built from the casebook's form catalogue. Pure: no Django.

The forms and their fields are those of `quality.form_fields` (the catalogue the casebook review and the
data queries use), grouped into study events as the casebook groups them into visits (`visit_of`):
enrolment, treatment, one event per time point (its labs and questionnaires), the pregnancy outcome, and
the unscheduled records (adverse events, deviations) as a "Common" event. What the catalogue does not
know is passed in as configuration (`StudyConfig`): each field's data type and closed list of values
(read from the models), the time points, analytes and questionnaires of this trial.

Texts are English msgids; the writer translates each into every language of the file. OIDs are built
by the naming functions below, which the clinical data uses too, so a value always names a definition.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from core.markers import gettext_noop
from exchange.odm.oids import (
    LAB_FORM,
    answer_oid,
    codelist_oid,
    criterion_oid,
    event_oid,
    form_oid,
    group_oid,
    item_oid,
    lab_group_oid,
    lab_item_oid,
    questionnaire_form_oid,
    questionnaire_group_oid,
    score_oid,
    timepoint_event_oid,
    unit_oid,
    visit_event_oid,
)
from outcomes.instruments import SOURCES_NOTE, Item
from quality.form_fields import (
    AGE_AT_ENROLMENT,
    COMPLETED_ON,
    DRAWN_AT,
    ELIGIBLE,
    ENROLMENT,
    FIXED_FORMS,
    OUTCOME,
    SCREENING_DATE,
    TREATMENT,
    UNSCHEDULED,
    VISIT_LABELS,
    FormField,
)

TEXT, INTEGER, FLOAT, DATE, DATETIME, BOOLEAN = "text", "integer", "float", "date", "datetime", "boolean"
REPEATING_FORMS = frozenset({"luteal_support", "dalteparin", "adverse_events", "deviations"})
# The patient's place in the trial (screening → … → completed, withdrawn): kept with her screening form,
# whose signed content it is part of (quality.selectors).
STATUS = FormField("status", gettext_noop("Trial status"))
LAB_DRAW = "labs:draw"
# Each lab result's values, as the lab-results export names them.
LAB_COLUMNS: tuple[FormField, ...] = (
    FormField("value_as_entered", gettext_noop("Value as entered")),
    FormField("unit_as_entered", gettext_noop("Unit as entered")),
    FormField("canonical_value", gettext_noop("Value in the canonical unit")),
    FormField("censoring", gettext_noop("Beyond a limit of the assay")),
    FormField("flag", gettext_noop("Against the reference range")),
)
SCORES_DERIVATION = gettext_noop("Derived from the item answers by the published scoring of the instrument")


@dataclass(frozen=True)
class FieldType:
    data_type: str
    choices: tuple[tuple[str, str], ...] = ()  # (coded value, English label) of a closed list
    required: bool = False
    derivation: str = ""  # how a derived value is computed; empty for a collected value


@dataclass(frozen=True)
class Analyte:
    code: str
    name: str
    unit: str  # canonical


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    timepoints: tuple[str, ...]
    items: tuple[Item, ...]
    scales: tuple[tuple[str, str], ...]  # (key, English label) of each derived score


@dataclass(frozen=True)
class StudyConfig:
    timepoints: tuple[tuple[str, str], ...]  # (code, label) in visit order
    analytes: tuple[Analyte, ...]
    criteria: tuple[tuple[str, str], ...]  # (code, text)
    instruments: tuple[Instrument, ...]
    field_types: Mapping[str, Mapping[str, FieldType]]  # form key ("labs" for a draw's results) → field → type


# --- What the MetaDataVersion holds -------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    oid: str
    symbol: str


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    data_type: str
    items: tuple[tuple[str, str], ...]  # (coded value, label)


@dataclass(frozen=True)
class ItemDef:
    oid: str
    name: str
    data_type: str
    question: tuple[str, ...]  # msgids, translated one by one and joined
    description: str = ""
    unit_oid: str = ""
    codelist_oid: str = ""
    value_range: tuple[int, int] | None = None
    derivation: str = ""


@dataclass(frozen=True)
class GroupDef:
    oid: str
    name: str
    repeating: bool
    items: tuple[tuple[str, bool], ...]  # (item OID, mandatory)


@dataclass(frozen=True)
class FormDef:
    oid: str
    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class EventDef:
    oid: str
    name: str
    kind: str  # ODM EventType: Scheduled | Common
    forms: tuple[str, ...]


@dataclass(frozen=True)
class MetaData:
    oid: str
    events: tuple[EventDef, ...]
    forms: tuple[FormDef, ...]
    groups: tuple[GroupDef, ...]
    items: tuple[ItemDef, ...]
    codelists: tuple[CodeList, ...]
    units: tuple[Unit, ...]


# --- Building it ----------------------------------------------------------------------------------------


@dataclass
class _Builder:
    items: dict[str, ItemDef] = field(default_factory=dict)
    groups: list[GroupDef] = field(default_factory=list)
    forms: list[FormDef] = field(default_factory=list)
    codelists: dict[tuple, CodeList] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)

    def unit(self, symbol: str) -> str:
        if not symbol:
            return ""
        return self.units.setdefault(symbol, Unit(unit_oid(symbol), symbol)).oid

    def codelist(self, name: str, data_type: str, choices: tuple[tuple[str, str], ...]) -> str:
        if not choices:
            return ""
        key = (data_type, choices)
        if key not in self.codelists:
            taken = {c.oid for c in self.codelists.values()}
            oid = codelist_oid(name)
            oid = oid if oid not in taken else f"{oid}.{len(taken)}"
            self.codelists[key] = CodeList(oid, name, data_type, choices)
        return self.codelists[key].oid

    def item(self, item: ItemDef) -> str:
        self.items[item.oid] = item
        return item.oid

    def typed_item(self, oid: str, name: str, form_field: FormField, kind: FieldType, codelist_name: str) -> str:
        return self.item(
            ItemDef(
                oid=oid,
                name=name,
                data_type=kind.data_type,
                question=(form_field.label,),
                unit_oid=self.unit(form_field.unit),
                codelist_oid=self.codelist(codelist_name, TEXT, kind.choices),
                derivation=kind.derivation,
            )
        )


def fixed_fields(form_key: str) -> tuple[FormField, ...]:
    """The fields of a fixed form (the screening form: its own and her registration's; criteria apart)."""
    if form_key == "screening":
        return (SCREENING_DATE, AGE_AT_ENROLMENT, ELIGIBLE, STATUS)
    return FIXED_FORMS[form_key]


def _fixed_form(b: _Builder, form_key: str, config: StudyConfig) -> None:
    types = config.field_types[form_key]
    refs = []
    for form_field in fixed_fields(form_key):
        kind = types[form_field.name]
        oid = b.typed_item(item_oid(form_key, form_field.name), form_field.name, form_field, kind, form_field.name)
        refs.append((oid, kind.required))
    if form_key == "screening":
        for code, text in config.criteria:
            refs.append((b.item(ItemDef(criterion_oid(code), code, BOOLEAN, (text,))), True))
    name = FORM_NAMES[form_key]
    b.groups.append(GroupDef(group_oid(form_key), name, form_key in REPEATING_FORMS, tuple(refs)))
    b.forms.append(FormDef(form_oid(form_key), name, (group_oid(form_key),)))


FORM_NAMES = {
    "screening": gettext_noop("Screening"),
    "consent": gettext_noop("Consent"),
    "baseline": gettext_noop("Baseline"),
    "randomization": gettext_noop("Randomization"),
    "transfer": gettext_noop("Embryo transfer"),
    "luteal_support": gettext_noop("Luteal support"),
    "dalteparin": gettext_noop("Dalteparin"),
    "outcome": gettext_noop("Pregnancy outcome"),
    "adverse_events": gettext_noop("Adverse events"),
    "deviations": gettext_noop("Protocol deviations"),
    LAB_FORM: gettext_noop("Laboratory results"),
    LAB_DRAW: gettext_noop("Blood draw"),
}


def _labs_form(b: _Builder, config: StudyConfig) -> None:
    types = config.field_types[LAB_FORM]
    drawn_at = b.typed_item(item_oid(LAB_FORM, DRAWN_AT.name), DRAWN_AT.name, DRAWN_AT, types[DRAWN_AT.name], "")
    b.groups.append(GroupDef(group_oid(LAB_FORM, "DRAW"), FORM_NAMES[LAB_DRAW], False, ((drawn_at, True),)))
    groups = [group_oid(LAB_FORM, "DRAW")]
    for analyte in config.analytes:
        refs = []
        for column in LAB_COLUMNS:
            unit = analyte.unit if column.name == "canonical_value" else ""
            labelled = FormField(column.name, column.label, unit)
            oid, name = lab_item_oid(analyte.code, column.name), f"{analyte.code}_{column.name}"
            b.typed_item(oid, name, labelled, types[column.name], column.name)
            refs.append((oid, types[column.name].required))
        b.groups.append(GroupDef(lab_group_oid(analyte.code), analyte.name, False, tuple(refs)))
        groups.append(lab_group_oid(analyte.code))
    b.forms.append(FormDef(form_oid(LAB_FORM), FORM_NAMES[LAB_FORM], tuple(groups)))


def _question(item: Item) -> tuple[str, ...]:
    # SSRS 6 and 7 end with a note on what to count, translated apart (outcomes.forms).
    if item.text.endswith(SOURCES_NOTE):
        return (item.text.removesuffix(SOURCES_NOTE), SOURCES_NOTE)
    return (item.text,)


def _answer_item(b: _Builder, instrument: Instrument, item: Item) -> str:
    first_key = next(i.key for i in instrument.items if i.options == item.options)
    choices = tuple((str(option.value), option.label) for option in item.options)
    return b.item(
        ItemDef(
            oid=answer_oid(instrument.code, item.key),
            name=f"{instrument.code.lower()}_item_{item.key}",
            data_type=INTEGER,
            question=_question(item),
            description=item.heading,
            codelist_oid=b.codelist(f"{instrument.code}.{first_key}", INTEGER, choices),
            value_range=item.count_range,
        )
    )


def _questionnaire_form(b: _Builder, instrument: Instrument, config: StudyConfig) -> None:
    completed = config.field_types["questionnaire"][COMPLETED_ON.name]
    refs = [
        (
            b.typed_item(item_oid(instrument.code, COMPLETED_ON.name), COMPLETED_ON.name, COMPLETED_ON, completed, ""),
            True,
        )
    ]
    refs += [(_answer_item(b, instrument, item), False) for item in instrument.items]
    b.groups.append(GroupDef(questionnaire_group_oid(instrument.code), instrument.name, False, tuple(refs)))
    scores = tuple(
        (
            b.item(
                ItemDef(
                    score_oid(instrument.code, scale),
                    f"{instrument.code.lower()}_{scale}",
                    FLOAT,
                    (label,),
                    derivation=SCORES_DERIVATION,
                )
            ),
            False,
        )
        for scale, label in instrument.scales
    )
    name = gettext_noop("Scores")
    b.groups.append(GroupDef(questionnaire_group_oid(instrument.code, scores=True), name, False, scores))
    groups = (questionnaire_group_oid(instrument.code), questionnaire_group_oid(instrument.code, scores=True))
    b.forms.append(FormDef(questionnaire_form_oid(instrument.code), instrument.name, groups))


def _events(config: StudyConfig) -> tuple[EventDef, ...]:
    by_event: dict[str, list[str]] = {}
    for form_key in ("screening", *FIXED_FORMS):
        by_event.setdefault(event_oid(form_key), []).append(form_oid(form_key))

    def visit(key: str, kind: str = "Scheduled") -> EventDef:
        return EventDef(visit_event_oid(key), VISIT_LABELS[key], kind, tuple(by_event[visit_event_oid(key)]))

    events = [visit(ENROLMENT), visit(TREATMENT)]
    for code, label in config.timepoints:
        forms = [form_oid(LAB_FORM)] + [
            questionnaire_form_oid(i.code) for i in config.instruments if code in i.timepoints
        ]
        events.append(EventDef(timepoint_event_oid(code), label, "Scheduled", tuple(forms)))
    return (*events, visit(OUTCOME), visit(UNSCHEDULED, "Common"))


def build_metadata(config: StudyConfig) -> MetaData:
    """Every event, form, item group, item, code list and unit of the study; its OID names this content."""
    b = _Builder()
    for form_key in ("screening", *FIXED_FORMS):
        _fixed_form(b, form_key, config)
    _labs_form(b, config)
    for instrument in config.instruments:
        _questionnaire_form(b, instrument, config)
    content = MetaData(
        oid="",
        events=_events(config),
        forms=tuple(b.forms),
        groups=tuple(b.groups),
        items=tuple(b.items.values()),
        codelists=tuple(b.codelists.values()),
        units=tuple(b.units.values()),
    )
    digest = hashlib.sha256(json.dumps(asdict(content), sort_keys=True).encode()).hexdigest()
    return MetaData(**{**content.__dict__, "oid": f"MDV.{digest[:12]}"})
