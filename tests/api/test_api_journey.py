"""Acceptance test of REST API v1: two women's whole trial journey through HTTP with token auth only,
then every export, the data dictionary and the statistics checked value by value.

Site staff (token) register, consent, record the baseline, randomize, then record the transfer, every
analyte at every time point (censored values `<`/`>` and non-canonical units included), the pregnancy
outcome, RAND-36 and SSRS with every item answered, and adverse events. A statistician (token) then
downloads each data set as CSV and JSON and recomputes the statistics. One woman is allocated EXP and
one CTRL (an imported allocation list fixes the order), so each is alone in her arm and every figure
per arm equals her own entered value exactly.

Time line. Randomization stamps "now" and the API refuses a transfer before randomization and any
outcome date after today, so a journey with a clinical pregnancy, an ongoing pregnancy and a live birth
cannot be entered today. Instead the enrolment calls (register … randomize) run with Django's clock
(`django.utils.timezone.now`) set back to five days before a transfer 280 days ago; every later call
runs at the real time and enters the follow-up retrospectively, as a site would. Every write still
goes through HTTP and the real validation: nothing is back-dated in the database.

Setup outside the API: the persona users (tests/conftest.py) and the stratum's live allocation list,
which the statistician manages in the browser (/allocation/) — SPEC §7 has no allocation endpoint.
"""

import csv
import io
import json
import time as clock
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD, all_met_answers

pytestmark = pytest.mark.django_db

DATASETS = ("patients", "lab-results", "adverse-events", "questionnaires")
TRANSFER_DAYS_AGO = 280  # 40 weeks: room for an ongoing pregnancy at 12 weeks and a live birth at 38
ENROLMENT_DAYS_BEFORE_TRANSFER = 5

RAND36_SCALES = (
    "physical_functioning",
    "role_physical",
    "role_emotional",
    "energy_fatigue",
    "emotional_wellbeing",
    "social_functioning",
    "pain",
    "general_health",
)
SSRS_SUBSCALES = ("objective", "subjective", "utilization", "total")

# (analyte, time point) → (value as sent, unit, canonical value as the API returns it, flag, censoring).
# Reference ranges (labs seed): FSH 1.5–12.4, LH 1–15, E2 70–1800 pmol/L, CA125 0–35, IL6 0–7,
# β-hCG 0–5 at BASELINE only; E2 pg/mL × 3.671 = pmol/L, the other alternative units × 1.
LABS_EXP = {
    ("BHCG", "BASELINE"): ("<2", "IU/L", "2.0000", "normal", "<"),
    ("BHCG", "ET14"): ("850", "mIU/mL", "850.0000", "normal", ""),
    ("BHCG", "ET28"): (">10000", "IU/L", "10000.0000", "normal", ">"),
    ("FSH", "BASELINE"): ("6.2", "IU/L", "6.2000", "normal", ""),
    ("FSH", "ET14"): ("4.8", "mIU/mL", "4.8000", "normal", ""),
    ("FSH", "ET28"): ("1.2", "IU/L", "1.2000", "low", ""),
    ("LH", "BASELINE"): (7.5, "IU/L", "7.5000", "normal", ""),  # a JSON number
    ("LH", "ET14"): ("16.5", "IU/L", "16.5000", "high", ""),
    ("LH", "ET28"): ("3.1", "mIU/mL", "3.1000", "normal", ""),
    ("E2", "BASELINE"): ("250", "pg/mL", "917.7500", "normal", ""),
    ("E2", "ET14"): ("3500", "pmol/L", "3500.0000", "high", ""),
    ("E2", "ET28"): ("45.5", "pg/mL", "167.0305", "normal", ""),
    ("CA125", "BASELINE"): ("18.3", "U/mL", "18.3000", "normal", ""),
    ("CA125", "ET14"): ("40", "kU/L", "40.0000", "high", ""),
    ("CA125", "ET28"): ("22", "U/mL", "22.0000", "normal", ""),
    ("IL6", "BASELINE"): ("<1.5", "pg/mL", "1.5000", "normal", "<"),
    ("IL6", "ET14"): ("3.2", "ng/L", "3.2000", "normal", ""),
    ("IL6", "ET28"): ("9.8", "pg/mL", "9.8000", "high", ""),
}
LABS_CTRL = {
    ("BHCG", "BASELINE"): ("1.2", "IU/L", "1.2000", "normal", ""),
    ("BHCG", "ET14"): ("420.5", "IU/L", "420.5000", "normal", ""),
    ("BHCG", "ET28"): ("15000", "mIU/mL", "15000.0000", "normal", ""),
    ("FSH", "BASELINE"): ("5.5", "IU/L", "5.5000", "normal", ""),
    ("FSH", "ET14"): ("3.9", "IU/L", "3.9000", "normal", ""),
    ("FSH", "ET28"): ("2.0", "IU/L", "2.0000", "normal", ""),
    ("LH", "BASELINE"): (6, "IU/L", "6.0000", "normal", ""),  # a JSON integer
    ("LH", "ET14"): ("4.4", "IU/L", "4.4000", "normal", ""),
    ("LH", "ET28"): ("2.5", "IU/L", "2.5000", "normal", ""),
    ("E2", "BASELINE"): ("300", "pmol/L", "300.0000", "normal", ""),
    ("E2", "ET14"): ("800", "pg/mL", "2936.8000", "high", ""),
    ("E2", "ET28"): ("1200", "pmol/L", "1200.0000", "normal", ""),
    ("CA125", "BASELINE"): ("12", "U/mL", "12.0000", "normal", ""),
    ("CA125", "ET14"): ("25.5", "kU/L", "25.5000", "normal", ""),
    # CA125 at ET28 deliberately not drawn: an empty cell and a "missing" in the statistics.
    ("IL6", "BASELINE"): ("2.1", "pg/mL", "2.1000", "normal", ""),
    ("IL6", "ET14"): ("<1", "pg/mL", "1.0000", "normal", "<"),
    ("IL6", "ET28"): ("4", "pg/mL", "4.0000", "normal", ""),
}

# RAND-36 answers as printed on the form (1-based). Recoding by hand (RAND scoring instructions):
# PF (0+50+8×100)/10 = 85; RP (0+3×100)/4 = 75; RE 200/3; EF (80+60+80+60)/4 = 70;
# EWB (80+80+80+60+60)/5 = 72; SF (75+75)/2 = 75; pain (80+75)/2 = 77.5; GH 5×75/5 = 75.
RAND36_MIXED = {
    **{"1": 2, "2": 3, "3": 1, "4": 2},
    **{str(k): 3 for k in range(5, 13)},
    **{"13": 1, "14": 2, "15": 2, "16": 2, "17": 1, "18": 2, "19": 2, "20": 2, "21": 2, "22": 2},
    **{"23": 2, "24": 5, "25": 5, "26": 2, "27": 3, "28": 4, "29": 5, "30": 3, "31": 4},
    **{"32": 4, "33": 4, "34": 2, "35": 4, "36": 2},
}
RAND36_MIXED_SCORES = {
    "physical_functioning": 85.0,
    "role_physical": 75.0,
    "role_emotional": 200 / 3,
    "energy_fatigue": 70.0,
    "emotional_wellbeing": 72.0,
    "social_functioning": 75.0,
    "pain": 77.5,
    "general_health": 75.0,
}
# The best answer to every item (every scale 100) and the worst (every scale 0): recoding directions.
RAND36_BEST = {
    **{"1": 1, "2": 1},
    **{str(k): 3 for k in range(3, 13)},
    **{str(k): 2 for k in range(13, 20)},
    **{"20": 1, "21": 1, "22": 1, "23": 1, "24": 6, "25": 6, "26": 1, "27": 1, "28": 6, "29": 6, "30": 1},
    **{"31": 6, "32": 5, "33": 5, "34": 1, "35": 5, "36": 1},
}
RAND36_WORST = {
    **{"1": 5, "2": 5},
    **{str(k): 1 for k in range(3, 20)},
    **{"20": 5, "21": 6, "22": 5, "23": 6, "24": 1, "25": 1, "26": 6, "27": 6, "28": 1, "29": 1, "30": 6},
    **{"31": 1, "32": 1, "33": 1, "34": 5, "35": 1, "36": 5},
}
# SSRS (SPEC §7 keys; "6" and "7" count sources, 0 = none). Objective 2+6+7, subjective 1+3+4+5a–e,
# utilization 8+9+10, total all: 4+3+2 = 9, 3+2+3+12 = 20, 2+3+1 = 6, 35.
SSRS_EXP_BASELINE = {"1": "3", "2": "4", "3": "2", "4": "3", "5a": "4", "5b": "3", "5c": "1", "5d": "2", "5e": "2"}
SSRS_EXP_BASELINE |= {"6": "3", "7": "2", "8": "2", "9": "3", "10": "1"}
SSRS_EXP_BASELINE_SCORES = {"objective": 9.0, "subjective": 20.0, "utilization": 6.0, "total": 35.0}
SSRS_EXP_ET28 = {"1": 4, "2": 4, "3": 3, "4": 3, "5a": 4, "5b": 4, "5c": 2, "5d": 3, "5e": 2}
SSRS_EXP_ET28 |= {"6": 5, "7": 4, "8": 3, "9": 4, "10": 2}
SSRS_EXP_ET28_SCORES = {"objective": 13.0, "subjective": 25.0, "utilization": 9.0, "total": 47.0}
SSRS_CTRL_BASELINE = {key: 1 for key in ("1", "2", "3", "4", "5a", "5b", "5c", "5d", "5e", "8", "9", "10")}
SSRS_CTRL_BASELINE |= {"6": 0, "7": 0}
SSRS_CTRL_BASELINE_SCORES = {"objective": 1.0, "subjective": 8.0, "utilization": 3.0, "total": 12.0}


# --- helpers ----------------------------------------------------------------------------------------


def _token_client(username: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def _post(api: APIClient, url: str, body: dict | None = None, expected: int = 201) -> dict:
    response = api.post(url, body, format="json")
    assert response.status_code == expected, (url, body, response.content)
    return response.json()


def _all(api: APIClient, url: str) -> list[dict]:
    """Every item of a cursor-paginated list."""
    items, page = [], api.get(url).json()
    items += page["results"]
    while page["next"]:
        page = api.get(page["next"]).json()
        items += page["results"]
    return items


@contextmanager
def _clock_at(moment: datetime):
    """Django's clock runs from `moment` (timezone.now and localdate read it) while the block runs."""
    real_now = timezone.now
    started = real_now()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment + (real_now() - started))
        yield


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _bmi(height_cm: str, weight_kg: str) -> Decimal:
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _export(api: APIClient, dataset: str, fmt: str) -> str:
    response = api.get(f"/api/v1/export/{dataset}.{fmt}")
    assert response.status_code == 200 and response.streaming, (dataset, fmt, response.status_code)
    return b"".join(response.streaming_content).decode()


def _conforms(value, column: dict) -> bool:
    """A JSON export value is of its dictionary type and among its allowed values (None = missing)."""
    if value is None:
        return True
    kind = column["type"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = value in (0, 1) and not isinstance(value, bool)
    elif kind == "date":
        ok = isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    elif kind == "datetime":
        ok = isinstance(value, str) and value.endswith("Z") and _moment(value).tzinfo is not None
    else:
        ok = isinstance(value, str)
    return ok and (not column["allowed_values"] or value in column["allowed_values"])


def _patient_lab_cell(entry: tuple) -> float:
    """The `patients` export's lab value: half the limit below detection, the limit above range (SPEC §5)."""
    _, _, canonical, _, censoring = entry
    return float(canonical) / 2 if censoring == "<" else float(canonical)


# --- the journey ------------------------------------------------------------------------------------


@pytest.fixture
def allocation(site_a, statistician):
    """SZ <35 list as the statistician imports it: the first woman gets EXP, the second CTRL."""
    from patients.randomization import allocation_list_go_live, allocation_list_import

    content = b"sequence,arm\n1,EXP\n2,CTRL\n3,EXP\n4,CTRL\n"
    draft = allocation_list_import(site=site_a, age_group="<35", content=content, filename="sz.csv", by=statistician)
    return allocation_list_go_live(allocation_list=draft, by=statistician)


def _enrol(staff, *, who: dict, baseline: dict, criteria: dict, today: date) -> dict:
    """Register → (consent → baseline → randomize when eligible), as of `today` on Django's clock."""
    screening_date = today - timedelta(days=1)
    body = {**who, "site": "SZ", "screening_date": screening_date.isoformat(), "criteria": criteria}
    created = staff.post("/api/v1/patients/", body, format="json")
    assert created.status_code == 201, created.content
    for secret in (who["full_name"], who["medical_record_number"], who["phone"], who["date_of_birth"]):
        assert secret not in created.content.decode()
    patient = created.json()
    study_id = patient["study_id"]
    age = _age_on(date.fromisoformat(who["date_of_birth"]), screening_date)
    assert patient["age_at_enrolment"] == age and patient["arm"] is None
    if patient["status"] == "ineligible":
        return {"study_id": study_id, "status": "ineligible"}
    assert patient["status"] == "eligible" and patient["eligible"] is True and patient["failed_criteria"] == []
    consent = {"form_version": "v2.1", "signed_on": screening_date.isoformat()}
    assert _post(staff, f"/api/v1/patients/{study_id}/consent/", consent)["status"] == "consented"
    recorded = _post(staff, f"/api/v1/patients/{study_id}/baseline/", baseline)
    bmi = _bmi(baseline["height_cm"], baseline["weight_kg"])
    assert recorded["bmi"] == str(bmi)
    randomized = _post(staff, f"/api/v1/patients/{study_id}/randomize/")
    assert randomized["study_id"] == study_id and randomized["arm"] in ("CTRL", "EXP")
    assert timezone.localdate(_moment(randomized["randomized_at"])) == today
    detail = staff.get(f"/api/v1/patients/{study_id}/").json()
    assert (detail["status"], detail["arm"]) == ("randomized", randomized["arm"])
    return {
        "study_id": study_id,
        "status": "randomized",
        "arm": randomized["arm"],
        "randomized_at": randomized["randomized_at"],
        "age": age,
        "bmi": float(bmi),
        "baseline": baseline,
        "consent_on": screening_date,
    }


def _post_labs(staff, woman: dict, labs: dict, transfer_date: date, timepoints: dict) -> None:
    woman["labs"], woman["drawn_at"] = labs, {}
    for (analyte, tp), (value, unit, canonical, flag, censoring) in labs.items():
        drawn_at = _local(transfer_date + timedelta(days=timepoints[tp]["day_offset"]), 8, 15)
        woman["drawn_at"][tp] = drawn_at
        body = {"study_id": woman["study_id"], "timepoint": tp, "analyte": analyte, "value": value, "unit": unit}
        result = _post(staff, "/api/v1/lab-results/", body | {"drawn_at": drawn_at.isoformat()})
        assert (result["value"], result["unit"]) == (str(value), unit)
        assert (result["canonical_value"], result["flag"], result["censoring"]) == (canonical, flag, censoring)
        assert result["window_warning"] == "", result  # drawn on its time point's day after the transfer
        assert result["canonical_unit"] == woman["canonical_units"][analyte]


def _post_questionnaire(staff, woman: dict, instrument: str, tp: str, answers: dict, completed_on: date) -> dict:
    body = {"study_id": woman["study_id"], "instrument": instrument, "timepoint": tp, "answers": answers}
    created = _post(staff, "/api/v1/questionnaires/", body | {"completed_on": completed_on.isoformat()})
    assert created["answers"] == {key: int(value) for key, value in answers.items()}
    woman.setdefault("questionnaires", {})[(instrument, tp)] = {
        "answers": created["answers"],
        "scores": created["scores"],
        "completed_on": completed_on.isoformat(),
    }
    return created["scores"]


BASELINE_EXP = {
    "height_cm": "162.0",
    "weight_kg": "58.5",
    "previous_failed_transfers": 3,
    "prior_miscarriages": 1,
    "infertility_type": "primary",
    "infertility_years": "4.5",
    "education": "college_or_higher",
    "amh_ng_ml": "1.85",
}
BASELINE_CTRL = {
    "height_cm": "158.5",
    "weight_kg": "63.2",
    "previous_failed_transfers": 2,
    "prior_miscarriages": 0,
    "infertility_type": "secondary",
    "infertility_years": "2.0",
    "education": "high_school_or_vocational",
}
# Derived columns of the `patients` export, by arm (one woman per arm).
DERIVED = {
    "EXP": {
        "per_protocol": 0,  # EXP without a dalteparin course: SPEC §7 has no endpoint to record one
        "biochemical_pregnancy": 1,
        "clinical_pregnancy": 1,
        "gestational_sacs": 2,
        "miscarriage": 0,
        "ongoing_pregnancy": 1,
        "live_birth": 1,
        "any_adverse_event": 1,
        "serious_adverse_event": 0,
    },
    "CTRL": {
        "per_protocol": 1,
        "biochemical_pregnancy": 1,
        "clinical_pregnancy": 1,
        "gestational_sacs": 1,
        "miscarriage": 1,
        "ongoing_pregnancy": 0,
        "live_birth": 0,
        "any_adverse_event": 1,
        "serious_adverse_event": 1,
    },
}
EXPECTED_EVENTS = {  # binary statistic → ((EXP events, n), (CTRL events, n))
    "clinical_pregnancy": ((1, 1), (1, 1)),
    "implantation": ((2, 2), (1, 2)),  # sacs / embryos transferred
    "miscarriage": ((0, 1), (1, 1)),  # per clinical pregnancy
    "biochemical_pregnancy": ((1, 1), (1, 1)),
    "ongoing_pregnancy": ((1, 1), (0, 1)),
    "live_birth": ((1, 1), (0, 1)),
    "any_adverse_event": ((1, 1), (1, 1)),
    "serious_adverse_event": ((0, 1), (1, 1)),
}
INSTRUMENT_SCALES = (("RAND36", RAND36_SCALES), ("SSRS", SSRS_SUBSCALES))


def _identities(enrolled_on: date) -> list[dict]:
    """Two women of the <35 stratum who will be randomized, and one who will be excluded."""
    return [
        {
            "full_name": "Lin Meihua Journey",
            "medical_record_number": "JRN-MRN-58213",
            "phone": "+86 138 0013 5821",
            "date_of_birth": date(enrolled_on.year - 30, 2, 14).isoformat(),
        },
        {
            "full_name": "Zhao Xiaoyan Journey",
            "medical_record_number": "JRN-MRN-77046",
            "phone": "+86 139 0027 7046",
            "date_of_birth": date(enrolled_on.year - 33, 9, 3).isoformat(),
        },
        {
            "full_name": "Qian Ruolan Journey",
            "medical_record_number": "JRN-MRN-90417",
            "phone": "+86 137 0041 9041",
            "date_of_birth": date(enrolled_on.year - 27, 6, 21).isoformat(),
        },
    ]


def _follow_up(staff, exp: dict, ctrl: dict, transfer_date: date, timepoints: dict) -> None:
    """Transfer, labs, pregnancy outcome, questionnaires and an adverse event for each woman."""
    for woman, cycle_type, stage in ((exp, "fresh", "blastocyst"), (ctrl, "frozen", "cleavage")):
        transfer = {"study_id": woman["study_id"], "transfer_date": transfer_date.isoformat()}
        transfer |= {"cycle_type": cycle_type, "embryo_stage": stage, "embryos_transferred": 2}
        created = _post(staff, "/api/v1/transfers/", transfer)
        assert {k: created[k] for k in transfer} == transfer
        woman["embryos_transferred"] = 2
    _post_labs(staff, exp, LABS_EXP, transfer_date, timepoints)
    _post_labs(staff, ctrl, LABS_CTRL, transfer_date, timepoints)

    def days(n: int) -> str:
        return (transfer_date + timedelta(days=n)).isoformat()

    pregnant = {"beta_hcg_positive": True, "beta_hcg_date": days(14), "clinical_pregnancy": True}
    pregnant |= {"ultrasound_date": days(28), "fetal_heartbeat": True, "ectopic": False}
    outcome_exp = pregnant | {"study_id": exp["study_id"], "beta_hcg_value": "850.00", "gestational_sacs": 2}
    outcome_exp |= {"miscarriage": False, "ongoing_pregnancy": True, "live_birth": True}
    outcome_exp |= {"live_birth_date": days(266), "infants": 2}
    outcome_ctrl = pregnant | {"study_id": ctrl["study_id"], "beta_hcg_value": "420.50", "gestational_sacs": 1}
    outcome_ctrl |= {"miscarriage": True, "miscarriage_date": days(56), "miscarriage_week": 10}
    outcome_ctrl |= {"ongoing_pregnancy": False, "live_birth": False}
    for body in (outcome_exp, outcome_ctrl):
        created = _post(staff, "/api/v1/outcomes/", body)
        assert {k: created[k] for k in body} == body

    before, after = transfer_date - timedelta(days=1), transfer_date + timedelta(days=28)
    assert _post_questionnaire(staff, exp, "RAND36", "BASELINE", RAND36_MIXED, before) == pytest.approx(
        RAND36_MIXED_SCORES
    )
    assert _post_questionnaire(staff, exp, "RAND36", "ET28", RAND36_BEST, after) == dict.fromkeys(RAND36_SCALES, 100.0)
    assert _post_questionnaire(staff, exp, "SSRS", "BASELINE", SSRS_EXP_BASELINE, before) == SSRS_EXP_BASELINE_SCORES
    assert _post_questionnaire(staff, exp, "SSRS", "ET28", SSRS_EXP_ET28, after) == SSRS_EXP_ET28_SCORES
    worst = _post_questionnaire(staff, ctrl, "RAND36", "BASELINE", RAND36_WORST, before)
    assert worst == dict.fromkeys(RAND36_SCALES, 0.0)
    ssrs = _post_questionnaire(staff, ctrl, "SSRS", "BASELINE", SSRS_CTRL_BASELINE, before)
    assert ssrs == SSRS_CTRL_BASELINE_SCORES

    ae_exp = {"study_id": exp["study_id"], "term": "injection_site_bruising", "term_other": ""}
    ae_exp |= {"onset_date": days(3), "resolution_date": days(10), "grade": 1, "serious": False}
    ae_exp |= {"related_to_dalteparin": "probable", "action_taken": "none", "outcome": "recovered"}
    ae_ctrl = {"study_id": ctrl["study_id"], "term": "other", "term_other": "Subchorionic haematoma"}
    ae_ctrl |= {"onset_date": days(40), "resolution_date": None, "grade": 3, "serious": True}
    ae_ctrl |= {"related_to_dalteparin": "not", "action_taken": "none", "outcome": "recovering"}
    for woman, body in ((exp, ae_exp), (ctrl, ae_ctrl)):
        created = _post(staff, "/api/v1/adverse-events/", body)
        assert {k: created[k] for k in body} == body
        woman["ae"] = {**body, "event_id": created["id"]}


def _download_exports(stats_api) -> tuple[dict, dict, str]:
    """(data dictionary, JSON rows per data set, all raw text); CSV and JSON must hold the same rows."""
    dictionary = stats_api.get("/api/v1/data-dictionary/").json()["datasets"]
    assert set(dictionary) == set(DATASETS)
    exported, raw = {}, [json.dumps(dictionary, ensure_ascii=False)]
    for dataset in DATASETS:
        columns = {c["name"]: c for c in dictionary[dataset]}
        text_json, text_csv = _export(stats_api, dataset, "json"), _export(stats_api, dataset, "csv")
        raw += [text_json, text_csv]
        rows = json.loads(text_json)
        reader = csv.reader(io.StringIO(text_csv))
        header = next(reader)
        assert header == [c["name"] for c in dictionary[dataset]], dataset
        as_csv = [["" if row[name] is None else str(row[name]) for name in header] for row in rows]
        assert list(reader) == as_csv, f"{dataset}: CSV and JSON hold the same rows"
        for row in rows:
            assert list(row) == header
            bad = {name: value for name, value in row.items() if not _conforms(value, columns[name])}
            assert not bad, f"{dataset}: values outside their dictionary type or allowed values: {bad}"
        exported[dataset] = rows
    return dictionary, exported, "".join(raw)


def _check_patients_export(dictionary: dict, rows: list[dict], women: tuple, configured: set, analytes: dict):
    columns = {c["name"]: c for c in dictionary["patients"]}
    by_id = {row["study_id"]: row for row in rows}
    assert set(by_id) == {w["study_id"] for w in women}, "randomized women only (not the ineligible one)"
    for woman in women:
        row = by_id[woman["study_id"]]
        expected = {
            "study_id": woman["study_id"],
            "site": "SZ",
            "arm": woman["arm"],
            "in_error": 0,
            "age": woman["age"],
            "bmi": woman["bmi"],
            "previous_failed_transfers": woman["baseline"]["previous_failed_transfers"],
            "prior_miscarriages": woman["baseline"]["prior_miscarriages"],
            "education": woman["baseline"]["education"],
            "embryos_transferred": woman["embryos_transferred"],
            **DERIVED[woman["arm"]],
        }
        for analyte, tp in configured:
            entry = woman["labs"].get((analyte, tp))
            expected[f"lab_{analyte}_{tp}"] = _patient_lab_cell(entry) if entry else None
            assert columns[f"lab_{analyte}_{tp}"]["unit"] == analytes[analyte]["canonical_unit"]
        for instrument, scales in INSTRUMENT_SCALES:
            for tp in ("BASELINE", "ET28"):
                answered = woman["questionnaires"].get((instrument, tp))
                for scale in scales:
                    expected[f"{instrument.lower()}_{scale}_{tp}"] = answered["scores"][scale] if answered else None
        assert not sorted(set(expected) - set(columns)), "every expected column is in the data dictionary"
        assert {name: row[name] for name in expected} == expected, woman["study_id"]
        assert _moment(row["randomized_at"]) == _moment(woman["randomized_at"])


def _check_lab_results_export(rows: list[dict], women: tuple, analytes: dict) -> None:
    assert len(rows) == sum(len(w["labs"]) for w in women)
    for woman in women:
        found = {(r["analyte"], r["timepoint"]): r for r in rows if r["study_id"] == woman["study_id"]}
        assert set(found) == set(woman["labs"])
        for (analyte, tp), (value, unit, canonical, flag, censoring) in woman["labs"].items():
            row = found[(analyte, tp)]
            expected = {"site": "SZ", "arm": woman["arm"], "value_as_entered": str(value), "unit_as_entered": unit}
            expected |= {"canonical_value": float(canonical), "canonical_unit": analytes[analyte]["canonical_unit"]}
            expected |= {"censored": censoring or None, "flag": flag}
            assert {name: row[name] for name in expected} == expected, (woman["study_id"], analyte, tp)
            assert _moment(row["drawn_at"]) == woman["drawn_at"][tp]


def _check_adverse_events_export(rows: list[dict], women: tuple) -> None:
    by_id = {row["study_id"]: row for row in rows}
    assert len(rows) == len(women) and set(by_id) == {w["study_id"] for w in women}
    for woman in women:
        expected = {**woman["ae"], "site": "SZ", "arm": woman["arm"], "serious": int(woman["ae"]["serious"])}
        expected["term_other"] = expected["term_other"] or None
        assert {name: by_id[woman["study_id"]][name] for name in expected} == expected


def _check_questionnaires_export(dictionary: dict, rows: list[dict], women: tuple) -> None:
    columns = {c["name"] for c in dictionary["questionnaires"]}
    by_key = {(r["study_id"], r["instrument"], r["timepoint"]): r for r in rows}
    assert len(rows) == sum(len(w["questionnaires"]) for w in women)
    for woman in women:
        for (instrument, tp), response in woman["questionnaires"].items():
            row = by_key[(woman["study_id"], instrument, tp)]
            prefix = instrument.lower()
            expected = {"site": "SZ", "arm": woman["arm"], "completed_on": response["completed_on"]}
            expected |= {f"{prefix}_{scale}": score for scale, score in response["scores"].items()}
            expected |= {f"{prefix}_item_{key}": answer for key, answer in response["answers"].items()}
            assert set(expected) <= columns, sorted(set(expected) - columns)
            assert {name: row[name] for name in expected} == expected, (woman["study_id"], instrument, tp)
            other = "ssrs_" if instrument == "RAND36" else "rand36_"
            assert all(row[name] is None for name in row if name.startswith(other)), "other instrument empty"


def _recompute(stats_api, capture) -> dict:
    """POST recompute (the job is sent on commit; Celery is eager without a broker), then poll the job."""
    with capture(execute=True):
        accepted = stats_api.post("/api/v1/statistics/recompute/")
    assert accepted.status_code == 202, accepted.content
    job = accepted.json()
    for _ in range(50):
        job = stats_api.get(f"/api/v1/statistics/jobs/{job['id']}/").json()
        if job["status"] in ("done", "failed"):
            break
        clock.sleep(0.1)
    assert (job["status"], job["progress"]) == ("done", 100), job
    assert job["snapshot"] is not None
    return job


def _check_binary(document: dict) -> None:
    binary = {entry["key"]: entry for entry in document["binary"]}
    for key, ((e_exp, n_exp), (e_ctrl, n_ctrl)) in EXPECTED_EVENTS.items():
        by_arm = binary[key]["by_arm"]
        assert (by_arm["EXP"]["events"], by_arm["EXP"]["n"]) == (e_exp, n_exp), key
        assert (by_arm["CTRL"]["events"], by_arm["CTRL"]["n"]) == (e_ctrl, n_ctrl), key
        assert by_arm["EXP"]["proportion"] == pytest.approx(e_exp / n_exp), key
        assert binary[key]["test"] == "fisher", key  # expected counts below 5
    # EXP 1/1 vs CTRL 0/1: RD 1; a zero cell adds 0.5 everywhere: RR (1.5/2)/(0.5/2) = 3, OR 1.5²/0.5² = 9.
    live_birth = binary["live_birth"]
    assert live_birth["risk_difference"]["estimate"] == pytest.approx(1.0)
    assert live_birth["risk_ratio"]["estimate"] == pytest.approx(3.0)
    assert live_birth["odds_ratio"]["estimate"] == pytest.approx(9.0)
    assert live_birth["p_value"] == pytest.approx(1.0)


def _alone_in_arm(continuous: dict, key: str, arm: str, value, censored: int | None = None) -> None:
    """She is alone in her arm: n 1 and every location statistic her value (or n 0 and missing 1)."""
    figures = continuous[key]["by_arm"][arm]
    if value is None:
        assert (figures["n"], figures["missing"], figures["mean"]) == (0, 1, None), (key, arm, figures)
    else:
        assert (figures["n"], figures["missing"], figures["sd"]) == (1, 0, None), (key, arm, figures)
        located = {name: figures[name] for name in ("mean", "median", "min", "max", "q1", "q3")}
        assert located == pytest.approx(dict.fromkeys(located, value)), (key, arm, figures)
    if censored is not None:
        assert figures["censored"] == censored, (key, arm, figures)


def _check_continuous(document: dict, woman: dict, configured: set) -> None:
    continuous, arm = {entry["key"]: entry for entry in document["continuous"]}, woman["arm"]
    _alone_in_arm(continuous, "baseline.age", arm, woman["age"])
    _alone_in_arm(continuous, "baseline.bmi", arm, woman["bmi"])
    for name in ("previous_failed_transfers", "prior_miscarriages"):
        _alone_in_arm(continuous, f"baseline.{name}", arm, woman["baseline"][name])
    for analyte, tp in configured:
        entry = woman["labs"].get((analyte, tp))
        value, censored = (_patient_lab_cell(entry), int(bool(entry[4]))) if entry else (None, 0)
        _alone_in_arm(continuous, f"lab.{analyte}.{tp}", arm, value, censored)
    for instrument, scales in INSTRUMENT_SCALES:
        before = woman["questionnaires"][(instrument, "BASELINE")]["scores"]
        after = woman["questionnaires"].get((instrument, "ET28"), {}).get("scores")
        for scale in scales:
            _alone_in_arm(continuous, f"qol.{instrument}.{scale}.BASELINE", arm, before[scale])
            _alone_in_arm(continuous, f"qol.{instrument}.{scale}.ET28", arm, after[scale] if after else None)
            change = after[scale] - before[scale] if after else None
            _alone_in_arm(continuous, f"qol.{instrument}.{scale}.ET28-BASELINE", arm, change)
    assert continuous["baseline.bmi"]["mean_difference"]["estimate"] is None  # one woman per arm: no Welch


def test_api_journey_reaches_every_export_and_the_statistics(
    site_a, staff_site_a, statistician, allocation, django_capture_on_commit_callbacks
):
    staff = _token_client(staff_site_a.username)
    today = timezone.localdate()
    transfer_date = today - timedelta(days=TRANSFER_DAYS_AGO)
    enrolled_on = transfer_date - timedelta(days=ENROLMENT_DAYS_BEFORE_TRANSFER)

    analytes = {a["code"]: a for a in _all(staff, "/api/v1/analytes/")}
    timepoints = {t["code"]: t for t in _all(staff, "/api/v1/timepoints/")}
    configured = {(analyte, tp) for analyte in analytes for tp in timepoints}
    assert set(LABS_EXP) == configured, "every configured analyte × time point is entered for the EXP woman"
    assert set(LABS_CTRL) == configured - {("CA125", "ET28")}
    assert [a["code"] for a in _all(staff, "/api/v1/arms/")] == ["CTRL", "EXP"]

    # 1. Enrolment, with Django's clock five days before the transfer (see the module docstring).
    identities = _identities(enrolled_on)
    with _clock_at(_local(enrolled_on, 10)):
        exp = _enrol(staff, who=identities[0], baseline=BASELINE_EXP, criteria=all_met_answers(), today=enrolled_on)
        ctrl = _enrol(staff, who=identities[1], baseline=BASELINE_CTRL, criteria=all_met_answers(), today=enrolled_on)
        excluded = _enrol(
            staff, who=identities[2], baseline={}, criteria=all_met_answers(BLEEDING_DISORDER=True), today=enrolled_on
        )
    assert (exp["arm"], ctrl["arm"]) == ("EXP", "CTRL"), "the imported list's first two slots"
    assert excluded["status"] == "ineligible"
    women = (exp, ctrl)
    for woman in women:
        woman["canonical_units"] = {code: a["canonical_unit"] for code, a in analytes.items()}

    # 2. Follow-up, entered now (retrospectively): transfer, labs, outcome, questionnaires, adverse events.
    _follow_up(staff, exp, ctrl, transfer_date, timepoints)

    # 3. The statistician: data dictionary and every export, CSV and JSON, value by value; no identity.
    stats_api = _token_client(statistician.username)
    dictionary, exported, everything = _download_exports(stats_api)
    secrets = [value for who in identities for value in who.values()]
    assert not [s for s in secrets if s in everything], "identity values in exports or dictionary"
    _check_patients_export(dictionary, exported["patients"], women, configured, analytes)
    _check_lab_results_export(exported["lab-results"], women, analytes)
    _check_adverse_events_export(exported["adverse-events"], women)
    _check_questionnaires_export(dictionary, exported["questionnaires"], women)

    # 4. Statistics: recompute, poll the job, then read both populations.
    _recompute(stats_api, django_capture_on_commit_callbacks)
    itt = stats_api.get("/api/v1/statistics/", {"population": "itt"}).json()
    assert not [s for s in secrets if s in json.dumps(itt, ensure_ascii=False)]
    assert itt["population"] == "itt" and _moment(itt["computed_at"]) <= datetime.now(UTC)
    assert {arm["code"]: arm["n"] for arm in itt["arms"]} == {"EXP": 1, "CTRL": 1}
    _check_binary(itt)
    for woman in women:
        _check_continuous(itt, woman, configured)
    # Per-protocol: the CTRL woman received her allocated treatment; the EXP woman has no dalteparin course.
    per_protocol = stats_api.get("/api/v1/statistics/", {"population": "per_protocol"}).json()
    assert {arm["code"]: arm["n"] for arm in per_protocol["arms"]} == {"EXP": 0, "CTRL": 1}
    pp_continuous = {entry["key"]: entry for entry in per_protocol["continuous"]}
    assert pp_continuous["baseline.bmi"]["by_arm"]["CTRL"]["mean"] == pytest.approx(ctrl["bmi"])
