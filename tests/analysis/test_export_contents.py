"""What each analysis data set holds, in CSV and JSON: row counts, the header contract, the values and
their types, censored lab values as entered."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from labs.models import LabDraw, LabResult
from outcomes.models import AdverseEvent, QuestionnaireResponse
from patients.models import Baseline, Randomization
from tests.analysis.export_helpers import FORMATS, _table

pytestmark = pytest.mark.django_db


PATIENT_CONTRACT = [
    "study_id",
    "site",
    "arm",
    "randomized_at",
    "in_error",
    "per_protocol",
    "age",
    "bmi",
    "previous_failed_transfers",
    "prior_miscarriages",
    "education",
    "embryos_transferred",
    "biochemical_pregnancy",
    "clinical_pregnancy",
    "gestational_sacs",
    "miscarriage",
    "ongoing_pregnancy",
    "live_birth",
    "any_adverse_event",
    "serious_adverse_event",
]
ANALYTES = ["BHCG", "FSH", "LH", "E2", "CA125", "IL6"]
TIMEPOINTS = ["BASELINE", "ET14", "ET28"]
RAND36 = [
    "physical_functioning",
    "role_physical",
    "role_emotional",
    "energy_fatigue",
    "emotional_wellbeing",
    "social_functioning",
    "pain",
    "general_health",
]
SSRS = ["objective", "subjective", "utilization", "total"]
LAB_RESULTS_HEADER = [
    "study_id",
    "site",
    "arm",
    "timepoint",
    "analyte",
    "drawn_at",
    "value_as_entered",
    "unit_as_entered",
    "canonical_value",
    "canonical_unit",
    "censored",
    "flag",
]


def _utc(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _by(rows: list[dict], **match) -> dict:
    (found,) = [row for row in rows if all(row[k] == v for k, v in match.items())]
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_row_counts_equal_the_active_records_in_the_database(trial, statistician, fmt):
    expected = {
        "patients": Randomization.objects.filter(voided_at__isnull=True).count(),
        "lab-results": LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True).count(),
        "adverse-events": AdverseEvent.objects.filter(voided_at__isnull=True).count(),
        "questionnaires": QuestionnaireResponse.objects.filter(voided_at__isnull=True).count(),
    }
    assert expected == {"patients": 3, "lab-results": 5, "adverse-events": 2, "questionnaires": 3}
    for dataset, count in expected.items():
        _, rows = _table(statistician, dataset, fmt)
        assert len(rows) == count, dataset
    _, patients = _table(statistician, "patients", fmt)
    assert {row["study_id"] for row in patients} == {trial.a1.study_id, trial.a2.study_id, trial.b1.study_id}


@pytest.mark.parametrize("fmt", FORMATS)
def test_patients_header_is_the_contract_then_labs_then_questionnaire_scales(trial, statistician, fmt):
    labs = [f"lab_{analyte}_{tp}" for analyte in ANALYTES for tp in TIMEPOINTS]
    rand36 = [f"rand36_{scale}_{tp}" for scale in RAND36 for tp in ("BASELINE", "ET28")]
    ssrs = [f"ssrs_{scale}_{tp}" for scale in SSRS for tp in ("BASELINE", "ET28")]
    header, _ = _table(statistician, "patients", fmt)
    assert header == PATIENT_CONTRACT + labs + rand36 + ssrs
    lab_header, _ = _table(statistician, "lab-results", fmt)
    assert lab_header == LAB_RESULTS_HEADER


def test_patients_csv_values(trial, statistician):
    _, rows = _table(statistician, "patients", "csv")
    a1, a2 = _by(rows, study_id=trial.a1.study_id), _by(rows, study_id=trial.a2.study_id)
    randomization = Randomization.objects.get(patient=trial.a1)
    assert (a1["site"], a1["arm"]) == ("SZ", randomization.arm.code)
    assert a1["randomized_at"] == _utc(randomization.randomized_at)
    assert (a1["in_error"], a1["age"]) == ("0", "34")
    assert a1["per_protocol"] in {"0", "1"}
    assert a1["bmi"] == str(float(Baseline.objects.get(patient=trial.a1).bmi))
    assert (a1["education"], a1["embryos_transferred"], a1["gestational_sacs"]) == ("college_or_higher", "2", "1")
    assert (a1["biochemical_pregnancy"], a1["clinical_pregnancy"], a1["miscarriage"]) == ("1", "1", "0")
    assert (a1["ongoing_pregnancy"], a1["live_birth"]) == ("", "")  # not known yet
    assert (a1["any_adverse_event"], a1["serious_adverse_event"]) == ("1", "0")
    assert a1["lab_E2_BASELINE"] == "183.55"  # 50 pg/mL × 3.671 → pmol/L
    assert a1["lab_FSH_BASELINE"] == "0.25"  # "<0.5" enters the analysis as half the limit
    assert (a1["lab_LH_BASELINE"], a1["lab_E2_ET28"]) == ("5.0", "")
    assert (a1["rand36_physical_functioning_BASELINE"], a1["rand36_pain_BASELINE"]) == ("100.0", "90.0")
    assert (a1["rand36_role_emotional_BASELINE"], a1["rand36_pain_ET28"]) == ("", "")
    assert (a1["ssrs_objective_BASELINE"], a1["ssrs_total_BASELINE"]) == ("8.0", "32.0")
    # a2: no transfer or outcome (missing is empty), and her voided records count for nothing.
    assert (a2["embryos_transferred"], a2["clinical_pregnancy"], a2["gestational_sacs"]) == ("", "", "")
    assert (a2["any_adverse_event"], a2["lab_FSH_BASELINE"], a2["lab_LH_BASELINE"]) == ("0", "6.0", "")
    assert (a2["lab_BHCG_ET14"], a2["ssrs_total_BASELINE"]) == ("", "")


def test_patients_json_values_are_typed_with_booleans_as_0_1_and_missing_as_null(trial, statistician):
    _, rows = _table(statistician, "patients", "json")
    a1, a2 = _by(rows, study_id=trial.a1.study_id), _by(rows, study_id=trial.a2.study_id)
    for key in ("in_error", "clinical_pregnancy", "miscarriage", "any_adverse_event"):
        assert type(a1[key]) is int, key  # 0/1, never true/false
    assert (a1["clinical_pregnancy"], a1["in_error"], a1["age"], a1["lab_E2_BASELINE"]) == (1, 0, 34, 183.55)
    assert a1["randomized_at"].endswith("Z")
    assert (a1["live_birth"], a2["clinical_pregnancy"], a2["embryos_transferred"]) == (None, None, None)
    assert (a2["any_adverse_event"], a2["lab_LH_BASELINE"]) == (0, None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_lab_results_keep_what_was_entered_and_mark_censored_values(trial, statistician, fmt):
    _, rows = _table(statistician, "lab-results", fmt)
    study_id = trial.a1.study_id
    fsh, e2 = _by(rows, study_id=study_id, analyte="FSH"), _by(rows, study_id=study_id, analyte="E2")
    missing = "" if fmt == "csv" else None
    number = str if fmt == "csv" else (lambda value: value)
    assert (fsh["value_as_entered"], fsh["unit_as_entered"]) == ("<0.5", "mIU/mL")
    assert (fsh["canonical_value"], fsh["canonical_unit"], fsh["censored"], fsh["flag"]) == (
        number(0.5),
        "IU/L",
        "<",
        "low",
    )
    assert (e2["value_as_entered"], e2["unit_as_entered"], e2["canonical_value"]) == ("50", "pg/mL", number(183.55))
    assert (e2["canonical_unit"], e2["censored"], e2["timepoint"], e2["site"]) == ("pmol/L", missing, "BASELINE", "SZ")
    assert e2["arm"] == trial.a1.randomization.arm.code
    assert e2["drawn_at"] == _utc(LabDraw.objects.get(patient=trial.a1).drawn_at)
    assert {(row["study_id"], row["analyte"]) for row in rows if row["study_id"] == trial.a2.study_id} == {
        (trial.a2.study_id, "FSH")  # the voided LH result and the voided ET14 draw are left out
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_adverse_events_and_questionnaires_rows(trial, statistician, fmt):
    to = str if fmt == "csv" else (lambda value: value)
    missing = "" if fmt == "csv" else None
    _, events = _table(statistician, "adverse-events", fmt)
    bleeding = _by(events, study_id=trial.b1.study_id)
    assert (bleeding["term"], bleeding["grade"], bleeding["serious"], bleeding["term_other"]) == (
        "bleeding",
        to(2),
        to(0),
        missing,
    )
    assert bleeding["onset_date"] == (timezone.localdate() - timedelta(days=1)).isoformat()
    header, responses = _table(statistician, "questionnaires", fmt)
    assert header[:6] == ["study_id", "site", "arm", "instrument", "timepoint", "completed_on"]
    rand36 = _by(responses, study_id=trial.a1.study_id, instrument="RAND36")
    assert (rand36["rand36_physical_functioning"], rand36["rand36_item_3"], rand36["rand36_item_1"]) == (
        to(100.0),
        to(3),
        missing,
    )
    assert (rand36["ssrs_total"], rand36["ssrs_item_5a"]) == (missing, missing)  # the other instrument's columns
    ssrs = _by(responses, study_id=trial.b1.study_id)
    assert (ssrs["timepoint"], ssrs["ssrs_total"], ssrs["ssrs_item_5a"], ssrs["ssrs_item_6"]) == (
        "ET28",
        to(32.0),
        to(4),
        to(2),
    )
