"""The API journey's HTTP steps: token clients, enrolment on a set-back clock, and the follow-up entered now.

Used by tests/api/test_api_journey.py (the module docstring there explains the time line). Every write
goes through HTTP and the real validation; each step checks what the API answers as it goes.
"""

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.api.journey_data import (
    LABS_CTRL,
    LABS_EXP,
    RAND36_BEST,
    RAND36_MIXED,
    RAND36_MIXED_SCORES,
    RAND36_SCALES,
    RAND36_WORST,
    SSRS_CTRL_BASELINE,
    SSRS_CTRL_BASELINE_SCORES,
    SSRS_EXP_BASELINE,
    SSRS_EXP_BASELINE_SCORES,
    SSRS_EXP_ET28,
    SSRS_EXP_ET28_SCORES,
)
from tests.factories import PASSWORD


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
