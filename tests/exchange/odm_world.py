"""The records the ODM export tests read (built once per module), the file fetched and parsed, and the
identities no file may contain.

Site SZ: `treated` (randomized, transfer, luteal support, a dalteparin course, labs with a censored and
a corrected value, pregnancy outcome, an adverse event, both questionnaires), `screen_failure` (her
casebook signed by the site's investigator) and a voided registration. Site BJ: `other_site`
(randomized, one lab result). Every woman has a distinctive identity, Chinese names among them.
"""

from datetime import date, timedelta

from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from odmlib import schema_manager
from rest_framework.test import APIClient

from labs.services import lab_draw_record, lab_result_correct
from outcomes.services import adverse_event_record, outcome_record, questionnaire_record
from patients.services import patient_void
from patients.treatment import dalteparin_course_record, luteal_support_record
from tests import factories as f

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
URL = "/api/v1/export/odm.xml"
RAND36 = {str(k): 3 for k in range(3, 13)} | {"21": 2, "22": 1, "1": 2}
SSRS = {"1": 2, "2": 3, "3": 2, "4": 3, "5a": 4, "5b": 3, "5c": 1, "5d": 2, "5e": 1}
SSRS |= {"6": 2, "7": 0, "8": 2, "9": 3, "10": 1}
CORRECTION = "Transcription error: the report says 7.2"

IDENTITIES = {
    "treated": {
        "full_name": "欧阳秀英",
        "medical_record_number": "MRN-ODM-480173",
        "date_of_birth": date(1991, 4, 23),
        "phone": "+86 755 8642 0135",
    },
    "screen_failure": {
        "full_name": "Philippa Wolstenholme-Arkwright",
        "medical_record_number": "MRN-ODM-902214",
        "date_of_birth": date(1989, 11, 2),
        "phone": "+86 138 0013 7788",
    },
    "voided": {
        "full_name": "司马静怡",
        "medical_record_number": "MRN-ODM-377651",
        "date_of_birth": date(1994, 1, 30),
        "phone": "+86 755 2211 9087",
    },
    "other_site": {
        "full_name": "Ermengarde Vavasour",
        "medical_record_number": "MRN-ODM-665032",
        "date_of_birth": date(1993, 7, 8),
        "phone": "+86 10 6543 2101",
    },
}


def _treat(patient, staff, statistician) -> dict:
    transfer = f.backdated_transfer(patient, staff, embryos=2)
    start = transfer.transfer_date
    luteal_support_record(
        patient=patient,
        drug="Progesterone gel",
        route="vaginal",
        daily_dose="90 mg",
        start_date=start,
        stop_date=None,
        by=staff,
    )
    dalteparin_course_record(
        patient=patient,
        daily_dose_iu=5000,
        start_date=start,
        stop_date=start + timedelta(days=20),
        missed_doses=1,
        deviation_reason="Given by the ward before the allocation was checked",
        by=staff,
    )
    outcome_record(patient=patient, data=f.pregnancy_data(transfer), by=staff)
    event = adverse_event_record(patient=patient, data=f.adverse_event_form(term="bleeding", grade=2), by=staff)
    drawn_at = (timezone.now() - timedelta(days=30)).replace(microsecond=0)
    draw = lab_draw_record(
        patient=patient,
        timepoint="BASELINE",
        drawn_at=drawn_at,
        entries=[("E2", "50", "pg/mL"), ("FSH", "<0.5", "mIU/mL"), ("LH", "5", "IU/L")],
        by=staff,
    )
    lh = draw.results.get(analyte__code="LH")
    lab_result_correct(result=lh, value="7.2", unit="IU/L", by=staff, reason=CORRECTION, expected_version=lh.version)
    today = timezone.localdate()
    for instrument, answers in (("RAND36", RAND36), ("SSRS", SSRS)):
        questionnaire_record(
            patient=patient, instrument=instrument, timepoint="BASELINE", completed_on=today, answers=answers, by=staff
        )
    return {"transfer": transfer, "event": event, "draw": draw}


def _blinded_exporter():
    """An exporter who reads every site but lacks unblinded access (a blinded statistician)."""
    user = f.UserFactory(username="blinded_statistician")
    user.save()
    for codename in ("export_data", "view_all_sites"):
        user.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename=codename))
    return type(user).objects.get(pk=user.pk)


def build_world() -> dict:
    from quality.services import casebook_sign

    sz, bj = f.site("SZ"), f.site("BJ", "Second site (Beijing)")
    staff, staff_bj = f.make_user("staff_a", "site_staff", sz), f.make_user("staff_b", "site_staff", bj)
    investigator = f.make_user("investigator_a", "investigator", sz)
    statistician = f.make_user("statistician", "statistician")
    treated = f.randomized_patient(sz, staff, statistician, **IDENTITIES["treated"])
    records = _treat(treated, staff, statistician)
    screen_failure = f.screen(sz, staff, eligible=False, **IDENTITIES["screen_failure"])
    casebook_sign(
        patient=screen_failure,
        username=investigator.get_username(),
        password=f.PASSWORD,
        meaning="approval",
        by=investigator,
        request=RequestFactory().post("/quality/casebook/"),
    )
    voided = f.screen(sz, staff, **IDENTITIES["voided"])
    patient_void(patient=voided, by=staff, reason="Duplicate registration")
    other_site = f.randomized_patient(bj, staff_bj, statistician, **IDENTITIES["other_site"])
    lab_draw_record(
        patient=other_site,
        timepoint="BASELINE",
        drawn_at=timezone.now() - timedelta(hours=3),
        entries=[("CA125", "20", "kU/L")],
        by=staff_bj,
    )
    return {
        "users": {
            "staff": staff,
            "staff_bj": staff_bj,
            "investigator": investigator,
            "monitor": f.make_user("monitor", "monitor"),
            "statistician": statistician,
            "admin": f.make_user("admin", "admin", is_staff=True),
            "blinded": _blinded_exporter(),
        },
        "treated": treated,
        "screen_failure": screen_failure,
        "voided": voided,
        "other_site": other_site,
        **records,
    }


# --- The file -----------------------------------------------------------------------------------------


def fetch(user, query: str = ""):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    assert reverse("api-export-odm") == URL
    return client.get(URL + query)


def body_of(response) -> bytes:
    assert response.status_code == 200, response.content if not response.streaming else response.status_code
    return b"".join(response.streaming_content)


def parse(body: bytes):
    return etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True))


def odm_schema() -> etree.XMLSchema:
    path = schema_manager.get_schema_path("odm", "1.3.2")
    return etree.XMLSchema(etree.parse(path, etree.XMLParser(no_network=True)))


def subject(root, study_id: str):
    found = root.findall(f".//odm:SubjectData[@SubjectKey='{study_id}']", NS)
    assert len(found) == 1, study_id
    return found[0]


def item_values(element) -> dict[str, list[str]]:
    """Item OID → every value it has under `element` (repeating groups give several)."""
    values: dict[str, list[str]] = {}
    for item in element.iterfind(".//odm:ItemData", NS):
        values.setdefault(item.get("ItemOID"), []).append(item.get("Value"))
    return values


def identity_values() -> set[str]:
    """Every identity value of every patient, and the forms a name, phone or birth date could take."""
    found = set()
    for identity in IDENTITIES.values():
        name, phone, dob = identity["full_name"], identity["phone"], identity["date_of_birth"]
        found |= {name, identity["medical_record_number"], phone, phone.replace(" ", ""), *name.split()}
        found |= {part for part in name.replace("-", " ").split() if len(part) > 3}
        if not name.isascii():
            found |= {name[:2], name[2:]}  # family and given names (two characters each here)
        found |= {dob.isoformat(), dob.strftime("%Y%m%d"), dob.strftime("%d/%m/%Y"), dob.strftime("%m/%d/%Y")}
    return found
