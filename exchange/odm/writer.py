"""The ODM 1.3.2 Snapshot document as a stream of UTF-8 chunks, written with lxml's incremental writer.

`etree.xmlfile` writes the root element's start tag, then each part as soon as it is made: the Study
(global variables, units, the MetaDataVersion), the AdminData, then one SubjectData at a time inside the
ClinicalData element; its end tags close the document. Memory holds one subject's element tree, never
the document. The chunks are taken from the writer's sink whenever about FLUSH_BYTES have gathered.

The parts are built as elements without a namespace: inside the root, which declares ODM's namespace as
the default one, their serialized tags are in that namespace, without a declaration repeated on every
subject. Texts in two languages (xml:lang "en" and "zh-Hans") are each msgid translated by Django's
catalogue; configuration text without a translation is the same in both.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.utils.translation import gettext, override
from lxml import etree
from lxml.etree import SubElement

from exchange.odm import clinical
from exchange.odm.admin_data import LEGAL_REASON, AdminData
from exchange.odm.metadata import CodeList, ItemDef, MetaData, Unit

NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGES = (("en", "en"), ("zh-Hans", "zh-hans"))  # (xml:lang, Django's language code)
FLUSH_BYTES = 64 * 1024
SOURCE_SYSTEM = "IVF Trial Data Manager"


@dataclass(frozen=True)
class Study:
    oid: str
    name: str
    description: str
    protocol_name: str


@dataclass(frozen=True)
class FileHeader:
    file_oid: str
    created: datetime
    granularity: str  # All | SingleSite


def odm_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _add(parent, tag: str, text: str | None = None, **attributes):
    kept = {key: clinical.xml_text(str(value)) for key, value in attributes.items() if value not in (None, "")}
    element = etree.SubElement(parent, tag, kept)
    if text is not None:
        element.text = clinical.xml_text(text)
    return element


@cache
def _translations(parts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found = []
    for xml_lang, language in LANGUAGES:
        with override(language):
            found.append((xml_lang, "".join(gettext(part) if part else "" for part in parts)))
    return tuple(found)


def _translated(parent, tag: str, *parts: str):
    element = _add(parent, tag)
    for xml_lang, text in _translations(parts):
        _add(element, "TranslatedText", text, **{XML_LANG: xml_lang})
    return element


# --- Study: global variables, units, MetaDataVersion ----------------------------------------------------


def _unit(parent, unit: Unit) -> None:
    _translated(_add(parent, "MeasurementUnit", OID=unit.oid, Name=unit.symbol), "Symbol", unit.symbol)


def _item(parent, item: ItemDef) -> None:
    origin = "Derived" if item.derivation else None
    element = _add(
        parent, "ItemDef", OID=item.oid, Name=item.name, DataType=item.data_type, Origin=origin, Comment=item.derivation
    )
    if item.description:
        _translated(element, "Description", item.description)
    _translated(element, "Question", *item.question)
    if item.unit_oid:
        _add(element, "MeasurementUnitRef", MeasurementUnitOID=item.unit_oid)
    if item.value_range is not None:
        for comparator, limit in zip(("GE", "LE"), item.value_range, strict=True):
            _add(_add(element, "RangeCheck", Comparator=comparator, SoftHard="Hard"), "CheckValue", str(limit))
    if item.codelist_oid:
        _add(element, "CodeListRef", CodeListOID=item.codelist_oid)


def _codelist(parent, codelist: CodeList) -> None:
    element = _add(parent, "CodeList", OID=codelist.oid, Name=codelist.name, DataType=codelist.data_type)
    for order, (value, label) in enumerate(codelist.items, start=1):
        _translated(_add(element, "CodeListItem", CodedValue=value, OrderNumber=order), "Decode", label)


def _refs(parent, tag: str, attribute: str, refs: Iterable[tuple[str, bool]]) -> None:
    for order, (oid, mandatory) in enumerate(refs, start=1):
        _add(parent, tag, **{attribute: oid}, OrderNumber=order, Mandatory="Yes" if mandatory else "No")


def _metadata_version(parent, metadata: MetaData, study: Study) -> None:
    element = _add(parent, "MetaDataVersion", OID=metadata.oid, Name=f"{study.name} ({metadata.oid})")
    _refs(_add(element, "Protocol"), "StudyEventRef", "StudyEventOID", ((e.oid, False) for e in metadata.events))
    for event in metadata.events:
        definition = _add(element, "StudyEventDef", OID=event.oid, Name=event.name, Repeating="No", Type=event.kind)
        _refs(definition, "FormRef", "FormOID", ((oid, False) for oid in event.forms))
    for form in metadata.forms:
        definition = _add(element, "FormDef", OID=form.oid, Name=form.name, Repeating="No")
        _refs(definition, "ItemGroupRef", "ItemGroupOID", ((oid, False) for oid in form.groups))
    for group in metadata.groups:
        repeating = "Yes" if group.repeating else "No"
        _refs(
            _add(element, "ItemGroupDef", OID=group.oid, Name=group.name, Repeating=repeating),
            "ItemRef",
            "ItemOID",
            group.items,
        )
    for item in metadata.items:
        _item(element, item)
    for codelist in metadata.codelists:
        _codelist(element, codelist)


def study_element(study: Study, metadata: MetaData):
    element = etree.Element("Study", OID=study.oid)
    variables = _add(element, "GlobalVariables")
    _add(variables, "StudyName", study.name)
    _add(variables, "StudyDescription", study.description)
    _add(variables, "ProtocolName", study.protocol_name)
    if metadata.units:
        definitions = _add(element, "BasicDefinitions")
        for unit in metadata.units:
            _unit(definitions, unit)
    _metadata_version(element, metadata, study)
    return element


# --- AdminData --------------------------------------------------------------------------------------


def admin_element(admin: AdminData, *, study_oid: str, metadata_oid: str):
    element = etree.Element("AdminData", StudyOID=study_oid)
    for user in admin.users:
        account = _add(element, "User", OID=user.oid, UserType=user.user_type)
        _add(account, "LoginName", user.login)
        _add(account, "DisplayName", user.display)
        if user.first_name or user.last_name:
            _add(account, "FullName", f"{user.first_name} {user.last_name}".strip())
            for tag, text in (("FirstName", user.first_name), ("LastName", user.last_name)):
                if text:
                    _add(account, tag, text)
        for location in user.locations:
            _add(account, "LocationRef", LocationOID=location)
    for location in admin.locations:
        site = _add(element, "Location", OID=location.oid, Name=location.name, LocationType="Site")
        effective = location.effective.isoformat()
        _add(site, "MetaDataVersionRef", StudyOID=study_oid, MetaDataVersionOID=metadata_oid, EffectiveDate=effective)
    for signature in admin.signatures:
        definition = _add(element, "SignatureDef", OID=signature.oid, Methodology="Electronic")
        _add(definition, "Meaning", signature.meaning)
        _add(definition, "LegalReason", LEGAL_REASON)
    return element


# --- ClinicalData -----------------------------------------------------------------------------------


def _audit(parent, audit: clinical.Audit) -> None:
    # Written for every value of an audited file: plain SubElement calls, no attribute filtering.
    record = SubElement(parent, "AuditRecord")
    SubElement(record, "UserRef", UserOID=audit.user_oid)
    SubElement(record, "LocationRef", LocationOID=audit.location_oid)
    SubElement(record, "DateTimeStamp").text = odm_datetime(audit.at)
    if audit.reason:
        SubElement(record, "ReasonForChange").text = clinical.xml_text(audit.reason)
    SubElement(record, "SourceID").text = audit.source_id


def _signature(parent, signature: clinical.Signature) -> None:
    element = _add(parent, "Signature")
    _add(element, "UserRef", UserOID=signature.user_oid)
    _add(element, "LocationRef", LocationOID=signature.location_oid)
    _add(element, "SignatureRef", SignatureOID=signature.signature_oid)
    _add(element, "DateTimeStamp", odm_datetime(signature.at))


def _events(forms: tuple[clinical.Form, ...]) -> Iterator[tuple[str, list[clinical.Form]]]:
    current: tuple[str, list] | None = None
    for form in forms:
        if current is None or current[0] != form.event_oid:
            if current is not None:
                yield current
            current = (form.event_oid, [])
        current[1].append(form)
    if current is not None:
        yield current


def subject_element(subject: clinical.Subject):
    element = etree.Element("SubjectData", SubjectKey=subject.key)
    if subject.signature is not None:
        _signature(element, subject.signature)
    _add(element, "SiteRef", LocationOID=subject.location_oid)
    for event_oid, forms in _events(subject.forms):
        event = _add(element, "StudyEventData", StudyEventOID=event_oid)
        for form in forms:
            form_data = _add(event, "FormData", FormOID=form.oid)
            for group in form.groups:
                group_data = _add(
                    form_data, "ItemGroupData", ItemGroupOID=group.oid, ItemGroupRepeatKey=group.repeat_key
                )
                for value in group.values:
                    item = SubElement(group_data, "ItemData", ItemOID=value.item_oid, Value=value.value)
                    if value.audit is not None:
                        _audit(item, value.audit)
    return element


# --- The document -----------------------------------------------------------------------------------


class _Sink:
    """What the writer has written since the last chunk was taken."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)

    def take(self) -> bytes:
        chunk, self.parts, self.size = b"".join(self.parts), [], 0
        return chunk


def odm_chunks(
    header: FileHeader, study: Study, metadata: MetaData, admin: AdminData, subjects: Iterable[clinical.Subject]
) -> Iterator[bytes]:
    """The whole file, chunk by chunk; `subjects` is consumed as the chunks are."""
    sink = _Sink()
    root = {
        "FileType": "Snapshot",
        "Granularity": header.granularity,
        "FileOID": header.file_oid,
        "CreationDateTime": odm_datetime(header.created),
        "AsOfDateTime": odm_datetime(header.created),
        "ODMVersion": "1.3.2",
        "Originator": SOURCE_SYSTEM,
        "SourceSystem": SOURCE_SYSTEM,
    }
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{NAMESPACE}}}ODM", root, nsmap={None: NAMESPACE}):
            xf.write(study_element(study, metadata))
            xf.write(admin_element(admin, study_oid=study.oid, metadata_oid=metadata.oid))
            xf.flush()
            yield sink.take()
            with xf.element("ClinicalData", StudyOID=study.oid, MetaDataVersionOID=metadata.oid):
                for subject in subjects:
                    xf.write(subject_element(subject))
                    xf.flush()
                    if sink.size >= FLUSH_BYTES:
                        yield sink.take()
    yield sink.take()
