"""The ODM MetaDataVersion built from the form catalogue, without the database: every form of the casebook
in the event its visit belongs to, every reference inside it defined, every questionnaire item with its
choices, and an OID that names the content (same configuration, same OID; another, another)."""

from collections import defaultdict
from dataclasses import replace

from exchange.odm.metadata import (
    BOOLEAN,
    DATE,
    TEXT,
    Analyte,
    FieldType,
    Instrument,
    StudyConfig,
    build_metadata,
)
from outcomes.instruments import INSTRUMENT_ITEMS
from quality.form_fields import FIXED_FORMS


def _config(**changes) -> StudyConfig:
    types = defaultdict(lambda: defaultdict(lambda: FieldType(TEXT)))
    types["baseline"]["education"] = FieldType(TEXT, (("college_or_higher", "College or higher"),), required=True)
    types["outcome"]["miscarriage"] = FieldType(BOOLEAN)
    types["questionnaire"]["completed_on"] = FieldType(DATE, required=True)
    config = StudyConfig(
        timepoints=(("BASELINE", "Baseline"), ("ET14", "ET + 14 days"), ("ET28", "ET + 28 days")),
        analytes=(Analyte("FSH", "Follicle-stimulating hormone", "IU/L"), Analyte("E2", "Estradiol", "pmol/L")),
        criteria=(("AGE_20_40", "Age 20–40 years"),),
        instruments=(
            Instrument("RAND36", "RAND-36", ("BASELINE", "ET28"), INSTRUMENT_ITEMS["RAND36"], (("pain", "Pain"),)),
            Instrument("SSRS", "SSRS", ("ET28",), INSTRUMENT_ITEMS["SSRS"], (("total", "Total"),)),
        ),
        field_types=types,
    )
    return replace(config, **changes)


def test_every_reference_inside_the_metadata_is_defined_once():
    metadata = build_metadata(_config())
    kinds = {
        "events": metadata.events,
        "forms": metadata.forms,
        "groups": metadata.groups,
        "items": metadata.items,
        "codelists": metadata.codelists,
        "units": metadata.units,
    }
    for kind, definitions in kinds.items():
        oids = [d.oid for d in definitions]
        assert len(oids) == len(set(oids)), kind
    forms, groups = {f.oid for f in metadata.forms}, {g.oid for g in metadata.groups}
    items, codelists, units = (
        {i.oid for i in metadata.items},
        {c.oid for c in metadata.codelists},
        {u.oid for u in metadata.units},
    )
    assert {oid for e in metadata.events for oid in e.forms} == forms
    assert {oid for f in metadata.forms for oid in f.groups} == groups
    assert {oid for g in metadata.groups for oid, _ in g.items} == items
    assert {i.codelist_oid for i in metadata.items} - {""} == codelists
    assert {i.unit_oid for i in metadata.items} - {""} == units


def test_events_follow_the_casebook_visits_and_time_points():
    metadata = build_metadata(_config())
    events = {e.oid: e for e in metadata.events}
    assert list(events) == [
        "SE.ENROLMENT",
        "SE.TREATMENT",
        "SE.TP.BASELINE",
        "SE.TP.ET14",
        "SE.TP.ET28",
        "SE.OUTCOME",
        "SE.UNSCHEDULED",
    ]
    assert events["SE.ENROLMENT"].forms == ("F.SCREENING", "F.CONSENT", "F.BASELINE", "F.RANDOMIZATION")
    assert events["SE.TP.ET14"].forms == ("F.LABS",)
    assert events["SE.TP.ET28"].forms == ("F.LABS", "F.RAND36", "F.SSRS")
    assert events["SE.UNSCHEDULED"].kind == "Common"
    assert {f"F.{key.upper()}" for key in FIXED_FORMS} <= {f.oid for f in metadata.forms}


def test_every_questionnaire_item_is_defined_with_its_choices_or_count_range():
    metadata = build_metadata(_config())
    items = {i.oid: i for i in metadata.items}
    codelists = {c.oid: c for c in metadata.codelists}
    for instrument, questions in INSTRUMENT_ITEMS.items():
        for question in questions:
            item = items[f"I.{instrument}.ITEM_{question.key}"]
            if question.count_range:
                assert item.value_range == question.count_range and not item.codelist_oid
            else:
                choices = codelists[item.codelist_oid].items
                assert choices == tuple((str(o.value), o.label) for o in question.options)
    assert items["I.SSRS.ITEM_6"].question[-1].startswith(" Count the sources")  # the note, translated apart
    assert items["I.RAND36.PAIN"].derivation and items["I.RAND36.PAIN"].data_type == "float"


def test_lab_groups_carry_each_analyte_with_its_canonical_unit():
    metadata = build_metadata(_config())
    items = {i.oid: i for i in metadata.items}
    assert items["I.LAB.E2.CANONICAL_VALUE"].unit_oid == "MU.pmol_L"
    assert items["I.LAB.FSH.VALUE_AS_ENTERED"].unit_oid == ""
    groups = next(f for f in metadata.forms if f.oid == "F.LABS").groups
    assert groups == ("IG.LABS.DRAW", "IG.LAB.FSH", "IG.LAB.E2")


def test_the_metadata_version_oid_names_its_content():
    assert build_metadata(_config()).oid == build_metadata(_config()).oid
    more = _config(analytes=(*_config().analytes, Analyte("LH", "Luteinising hormone", "IU/L")))
    assert build_metadata(more).oid != build_metadata(_config()).oid
