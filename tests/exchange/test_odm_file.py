"""The ODM 1.3.2 export as a file: valid against the official XSD (odmlib ships it; lxml, no network),
every OID reference resolved, every value in its data type's form, every collected value of a patient
present, audit records and signatures where they belong, streamed, logged, and never an identity value."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from analysis.models import ExportLog
from labs.models import LabResult
from outcomes.instruments import INSTRUMENT_ITEMS
from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from patients.models import Baseline, Consent, DalteparinCourse, EmbryoTransfer, LutealSupport, Screening
from tests.exchange.odm_world import (
    CORRECTION,
    NS,
    body_of,
    build_world,
    fetch,
    identity_values,
    item_values,
    odm_schema,
    parse,
    subject,
)
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)

# The definition each kind of reference points at (a new kind of reference fails the test until added).
REFERENCED = {
    "StudyOID": "Study",
    "MetaDataVersionOID": "MetaDataVersion",
    "StudyEventOID": "StudyEventDef",
    "FormOID": "FormDef",
    "ItemGroupOID": "ItemGroupDef",
    "ItemOID": "ItemDef",
    "CodeListOID": "CodeList",
    "MeasurementUnitOID": "MeasurementUnit",
    "UserOID": "User",
    "LocationOID": "Location",
    "SignatureOID": "SignatureDef",
}
# Columns that are bookkeeping, workflow or derived elsewhere, not values collected on the form.
NOT_COLLECTED = {
    "id",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "voided_at",
    "voided_by",
    "void_reason",
    "patient",
    "deviation",
    "screened_by",
    "obtained_by",
    "failed_criteria",
    "answers",
}
FORMS = {
    Screening: "SCREENING",
    Consent: "CONSENT",
    Baseline: "BASELINE",
    EmbryoTransfer: "TRANSFER",
    LutealSupport: "LUTEAL_SUPPORT",
    DalteparinCourse: "DALTEPARIN",
    PregnancyOutcome: "OUTCOME",
    AdverseEvent: "ADVERSE_EVENTS",
}


@pytest.fixture(scope="module")
def schema():
    return odm_schema()


def _file(world, query: str = "", user: str = "statistician"):
    return parse(body_of(fetch(world["users"][user], query)))


def _local(element) -> str:
    return element.tag.rsplit("}", 1)[-1]


@pytest.mark.parametrize("query", ["", "?audit=1", "?site=BJ"])
def test_the_file_is_an_odm_132_snapshot_valid_against_the_official_schema(world, schema, query):
    root = _file(world, query)
    schema.assertValid(root)
    assert (root.get("FileType"), root.get("ODMVersion")) == ("Snapshot", "1.3.2")
    assert root.get("FileOID") and root.get("CreationDateTime").endswith("Z")
    assert root.find("odm:Study/odm:MetaDataVersion", NS) is not None
    assert root.find("odm:AdminData", NS) is not None


def test_every_oid_reference_resolves_to_a_definition(world):
    root = _file(world, "?audit=1")
    definitions: dict[str, set[str]] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("OID") is not None:
            oids = definitions.setdefault(_local(element), set())
            assert element.get("OID") not in oids, f"duplicate {_local(element)} {element.get('OID')}"
            oids.add(element.get("OID"))
    references = 0
    for element in root.iter():
        for attribute, value in element.attrib.items():
            if not attribute.endswith("OID") or attribute in ("OID", "FileOID"):
                continue
            assert attribute in REFERENCED, f"an unchecked kind of reference: {attribute}"
            assert value in definitions.get(REFERENCED[attribute], set()), f"{_local(element)} {attribute}={value}"
            references += 1
    assert references > 500
    assert {"UserRef", "LocationRef", "SignatureRef", "SiteRef"} <= {
        _local(e) for e in root.iter() if e.get("UserOID") or e.get("LocationOID") or e.get("SignatureOID")
    }


def _conforms(data_type: str, value: str) -> bool:
    if data_type == "integer":
        return str(int(value)) == value
    if data_type == "float":
        return "E" not in value.upper() and Decimal(value).is_finite()
    if data_type == "date":
        return date.fromisoformat(value).isoformat() == value
    if data_type == "datetime":
        return value.endswith("Z") and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    if data_type == "boolean":
        return value in ("0", "1")
    return data_type == "text"


def test_every_value_is_written_as_its_data_type_and_from_its_code_list(world):
    root = _file(world)
    items = {i.get("OID"): i for i in root.iterfind(".//odm:ItemDef", NS)}
    codes = {
        c.get("OID"): {item.get("CodedValue") for item in c.iterfind("odm:CodeListItem", NS)}
        for c in root.iterfind(".//odm:CodeList", NS)
    }
    for data in root.iterfind(".//odm:ItemData", NS):
        definition, value = items[data.get("ItemOID")], data.get("Value")
        assert _conforms(definition.get("DataType"), value), (data.get("ItemOID"), value)
        codelist = definition.find("odm:CodeListRef", NS)
        if codelist is not None:
            assert value in codes[codelist.get("CodeListOID")], (data.get("ItemOID"), value)


def _same(expected, text: str) -> bool:
    if isinstance(expected, bool):
        return text == ("1" if expected else "0")
    if isinstance(expected, (int, float, Decimal)):
        return Decimal(text) == Decimal(str(expected))
    if isinstance(expected, datetime):
        return datetime.fromisoformat(text.replace("Z", "+00:00")) == expected
    if isinstance(expected, date):
        return text == expected.isoformat()
    return text == expected


def _collected(world) -> list[tuple[str, object]]:
    """(item OID, value) of every value collected for the treated woman, read from her records."""
    patient = world["treated"]
    expected = [("I.SCREENING.AGE_AT_ENROLMENT", patient.age_at_enrolment), ("I.SCREENING.STATUS", patient.status)]
    for model, form in FORMS.items():
        for record in model.objects.filter(patient=patient, voided_at__isnull=True):
            for field in model._meta.concrete_fields:
                if field.name not in NOT_COLLECTED and getattr(record, field.name) not in (None, ""):
                    expected.append((f"I.{form}.{field.name.upper()}", getattr(record, field.name)))
    expected += [(f"I.CRITERION.{code}", answer) for code, answer in patient.screening.answers.items()]
    for result in LabResult.objects.filter(draw__patient=patient, voided_at__isnull=True).select_related(
        "analyte", "draw"
    ):
        expected.append(("I.LABS.DRAWN_AT", result.draw.drawn_at))
        for column in ("value_as_entered", "unit_as_entered", "canonical_value", "censoring", "flag"):
            if getattr(result, column) != "":
                expected.append((f"I.LAB.{result.analyte.code}.{column.upper()}", getattr(result, column)))
    for response in QuestionnaireResponse.objects.filter(patient=patient).select_related("instrument"):
        code = response.instrument.code
        expected.append((f"I.{code}.COMPLETED_ON", response.completed_on))
        expected += [(f"I.{code}.ITEM_{key}", value) for key, value in response.answers.items()]
        expected += [
            (f"I.{code}.{scale.upper()}", value) for scale, value in response.scores.items() if value is not None
        ]
    return expected


def test_every_collected_value_of_a_patient_is_in_her_subject_data(world):
    values = item_values(subject(_file(world), world["treated"].study_id))
    missing = [
        (oid, value) for oid, value in _collected(world) if not any(_same(value, v) for v in values.get(oid, ()))
    ]
    assert missing == []
    assert len(_collected(world)) > 100  # screening, baseline, treatment, labs, outcome, AE, questionnaires
    assert {"I.RANDOMIZATION.ARM", "I.ADVERSE_EVENTS.TERM", "I.DALTEPARIN.DAILY_DOSE_IU"} <= set(values)


def test_the_file_holds_one_subject_per_registration_that_is_not_voided(world):
    keys = {s.get("SubjectKey") for s in _file(world).iterfind(".//odm:SubjectData", NS)}
    assert keys == {world[name].study_id for name in ("treated", "screen_failure", "other_site")}
    sites = {
        s.get("SubjectKey"): s.find("odm:SiteRef", NS).get("LocationOID")
        for s in _file(world).iterfind(".//odm:SubjectData", NS)
    }
    assert sites[world["other_site"].study_id] == "LOC.BJ" and sites[world["treated"].study_id] == "LOC.SZ"


def test_audit_records_say_who_changed_each_value_when_in_utc_and_why(world):
    root = _file(world, "?audit=1")
    data = list(root.iterfind(".//odm:ItemData", NS))
    assert data and all(d.find("odm:AuditRecord", NS) is not None for d in data)
    for record in root.iterfind(".//odm:AuditRecord", NS):
        stamp = record.findtext("odm:DateTimeStamp", namespaces=NS)
        assert stamp.endswith("Z") and datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert record.find("odm:UserRef", NS) is not None and record.findtext("odm:SourceID", namespaces=NS)
    treated = subject(root, world["treated"].study_id)
    corrected = treated.find(".//odm:ItemData[@ItemOID='I.LAB.LH.VALUE_AS_ENTERED']", NS)
    assert corrected.get("Value") == "7.2"
    assert corrected.findtext("odm:AuditRecord/odm:ReasonForChange", namespaces=NS) == CORRECTION
    assert corrected.find("odm:AuditRecord/odm:UserRef", NS).get("UserOID") == "USR.staff_a"
    untouched = treated.find(".//odm:ItemData[@ItemOID='I.LAB.E2.VALUE_AS_ENTERED']", NS)
    assert untouched.findtext("odm:AuditRecord/odm:ReasonForChange", namespaces=NS) != CORRECTION
    assert _file(world).find(".//odm:AuditRecord", NS) is None  # only when asked for


def test_a_signed_casebook_carries_its_signature(world):
    root = _file(world)
    signature = subject(root, world["screen_failure"].study_id).find("odm:Signature", NS)
    assert signature.find("odm:UserRef", NS).get("UserOID") == "USR.investigator_a"
    assert signature.find("odm:SignatureRef", NS).get("SignatureOID") == "SIG.approval"
    assert signature.find("odm:LocationRef", NS).get("LocationOID") == "LOC.SZ"
    assert signature.findtext("odm:DateTimeStamp", namespaces=NS).endswith("Z")
    assert subject(root, world["treated"].study_id).find("odm:Signature", NS) is None
    meaning = root.find(".//odm:SignatureDef[@OID='SIG.approval']/odm:Meaning", NS).text
    assert meaning.startswith("Approval")


def test_the_file_is_streamed_in_chunks_and_logged(world):
    response = fetch(world["users"]["statistician"], "?audit=1")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("application/xml")
    assert 'filename="odm.xml"' in response["Content-Disposition"]
    log = ExportLog.objects.get()
    assert (log.dataset, log.format, log.query_string, log.finished_at) == ("odm", "xml", "audit=1", None)
    chunks = list(response.streaming_content)
    assert len(chunks) >= 2 and chunks[0].startswith(b"<?xml")
    log.refresh_from_db()
    assert (log.completed, log.row_count, log.username) == (True, 3, "statistician")


@pytest.mark.parametrize("query", ["", "?audit=1"])
def test_no_identity_value_appears_anywhere_in_the_file(world, query):
    body = body_of(fetch(world["users"]["statistician"], query))
    text = body.decode()
    parsed = " ".join(
        " ".join([element.text or "", *element.attrib.values()])
        for element in parse(body).iter()
        if isinstance(element.tag, str)
    )
    leaked = sorted(
        value for value in identity_values() if value.lower() in text.lower() or value.lower() in parsed.lower()
    )
    assert leaked == []


def test_the_metadata_defines_every_questionnaire_item_with_its_choices_in_english_and_chinese(world):
    root = _file(world)
    items = {i.get("OID"): i for i in root.iterfind(".//odm:ItemDef", NS)}
    for instrument, questions in INSTRUMENT_ITEMS.items():
        for question in questions:
            assert f"I.{instrument}.ITEM_{question.key}" in items
    decodes = root.findall(".//odm:CodeList[@OID='CL.RAND36.13']/odm:CodeListItem/odm:Decode", NS)
    assert decodes
    for decode in decodes:
        texts = {t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text for t in decode}
        assert set(texts) == {"en", "zh-Hans"} and all(texts.values())
    assert any(
        t.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-Hans" and not t.text.isascii()
        for t in root.iterfind(".//odm:Decode/odm:TranslatedText", NS)
    )
    assert items["I.BASELINE.HEIGHT_CM"].find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID") == "MU.cm"
