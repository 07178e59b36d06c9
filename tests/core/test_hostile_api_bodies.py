"""Hostile JSON bodies sent to the API (SPEC §8): a 4xx with a message naming what is wrong, nothing saved.

An oversized body (413, nothing read), control characters in strings and keys (tab, newline and carriage
return stay allowed), text longer than its column, numbers past a column or a scale, JSON nested too deep
or too wide, too many questionnaire answers, an over-long reason, and a lab value sent as a JSON number.
Most of these were a 500 (or a silent acceptance) before issue 18: the request guard (core.request_guard)
refuses control characters wherever text arrives; bounds come from core.input_bounds and the lab value
parser. Each post runs in a rolled-back savepoint.
"""

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from tests.core.hostile import (
    _api_post,
    _days_ago,
    build_subjects,
    in_savepoint,
    needs_db,
    row_counts,
)
from tests.module_data import module_data

subjects = module_data(build_subjects)


def _ae_body(subjects, **overrides) -> dict:
    return {
        "study_id": subjects["treated"].study_id,
        "term": "other",
        "term_other": "Headache",
        "onset_date": _days_ago(2),
        "grade": 1,
        "serious": False,
        "related_to_dalteparin": "not",
        "action_taken": "none",
        "outcome": "recovering",
        **overrides,
    }


def _outcome_body(subjects, sacs) -> dict:
    return {
        "study_id": subjects["treated"].study_id,
        "beta_hcg_positive": True,
        "beta_hcg_date": _days_ago(20),
        "beta_hcg_value": "250.5",
        "clinical_pregnancy": True,
        "ultrasound_date": _days_ago(5),
        "gestational_sacs": sacs,
        "confirm_sacs": True,
    }


@needs_db
def test_an_oversized_json_body_gets_413_with_a_message_and_saves_nothing(subjects, staff_client):
    before = row_counts()
    body = b'{"full_name": "' + b"x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = staff_client.post(reverse("api-patients"), body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large: the largest accepted is 2.5 MB. Nothing was saved."}
    assert row_counts() == before


@needs_db
@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"term_other": "Head\x00ache"}, "$.term_other"),
        ({"term_other": "Head\x1bache"}, "$.term_other"),
        ({"term_other": "Head\ud800ache"}, "$.term_other"),  # a lone surrogate cannot be stored either
        ({"na\x00me": "x"}, "$ (a key)"),
    ],
)
def test_a_control_character_in_a_json_body_is_a_400_and_saves_nothing(subjects, staff_client, change, where):
    response, changed = _api_post(staff_client, reverse("api-adverse-events"), _ae_body(subjects, **change))
    assert response.status_code == 400 and not changed
    assert where in response.json()["detail"]


@needs_db
def test_tab_newline_and_carriage_return_stay_allowed_in_text(subjects, staff_client):
    response, changed = _api_post(
        staff_client, reverse("api-adverse-events"), _ae_body(subjects, term_other="Head-\tache,\r\nthen nausea")
    )
    assert response.status_code == 201, response.content
    assert changed


@needs_db
def test_a_term_other_longer_than_its_column_is_a_400_naming_it(subjects, staff_client):
    response, changed = _api_post(staff_client, reverse("api-adverse-events"), _ae_body(subjects, term_other="A" * 201))
    assert response.status_code == 400 and not changed
    assert response.json() == {"term_other": ["Ensure this field has no more than 200 characters."]}
    response, changed = _api_post(staff_client, reverse("api-adverse-events"), _ae_body(subjects, term_other="A" * 200))
    assert response.status_code == 201 and changed


@needs_db
@pytest.mark.parametrize(
    ("sacs", "message"),
    [
        (40000, "Ensure this value is less than or equal to 32767."),  # past the smallint column
        (32767, "32767 gestational sacs is outside 0–9."),
        (10, "10 gestational sacs is outside 0–9."),
    ],
)
def test_gestational_sacs_beyond_nine_are_a_400(subjects, staff_client, sacs, message):
    response, changed = _api_post(staff_client, reverse("api-outcomes"), _outcome_body(subjects, sacs))
    assert response.status_code == 400 and not changed
    assert response.json() == {"gestational_sacs": [message]}


@needs_db
def test_nine_gestational_sacs_with_confirmation_are_accepted(subjects, staff_client):
    response, changed = _api_post(staff_client, reverse("api-outcomes"), _outcome_body(subjects, 9))
    assert response.status_code == 201 and changed


@needs_db
@pytest.mark.parametrize("depth", [33, 5000, 100_000])
def test_json_nested_deeper_than_32_levels_is_a_400(subjects, staff_client, depth):
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response, changed = _api_post(staff_client, reverse("api-patients"), body)
        assert response.status_code == 400 and not changed
        assert response.json() == {"detail": "The JSON body is nested more than 32 levels deep. Nothing was saved."}


@needs_db
def test_a_json_container_of_more_than_1000_members_is_a_400(subjects, staff_client):
    answers = {str(n): 1 for n in range(1001)}
    body = {"study_id": subjects["treated"].study_id, "instrument": "SSRS", "timepoint": "ET28", "answers": answers}
    response, changed = _api_post(staff_client, reverse("api-questionnaires"), body)
    assert response.status_code == 400 and not changed
    assert "1001 members at $.answers" in response.json()["detail"]


@needs_db
def test_questionnaire_answers_beyond_100_entries_are_a_400(subjects, staff_client):
    body = {"study_id": subjects["treated"].study_id, "instrument": "SSRS", "timepoint": "ET28"}
    response, changed = _api_post(
        staff_client, reverse("api-questionnaires"), {**body, "answers": {str(n): 1 for n in range(101)}}
    )
    assert response.status_code == 400 and not changed
    assert response.json() == {"answers": ["Send at most 100 entries (101 sent)."]}


@needs_db
def test_an_answer_of_thousands_of_digits_is_a_400_not_a_crash(subjects, staff_client):
    body = {"study_id": subjects["treated"].study_id, "instrument": "SSRS", "timepoint": "ET28"}
    response, changed = _api_post(staff_client, reverse("api-questionnaires"), {**body, "answers": {"1": "9" * 5000}})
    assert response.status_code == 400 and not changed
    assert "give the option number" in response.json()["answers"]["1"][0]


@needs_db
def test_a_reason_without_a_column_of_its_own_is_bounded_at_2000_characters(subjects, staff_client):
    def attempt(reason):
        body = json.dumps(_ae_body(subjects))
        created = staff_client.post(reverse("api-adverse-events"), body, content_type="application/json").json()
        url = reverse("api-adverse-events-detail", kwargs={"pk": created["id"]})
        change = {"grade": 2, "reason": reason, "version": created["version"]}
        return staff_client.patch(url, json.dumps(change), content_type="application/json")

    response = in_savepoint(lambda: attempt("x" * 2001))
    assert response.status_code == 400
    assert response.json() == {"reason": ["Ensure this field has no more than 2000 characters."]}
    assert in_savepoint(lambda: attempt("x" * 2000)).status_code == 200


@needs_db
@pytest.mark.parametrize("number", ["5e-400", "1e400", "1E3"])
def test_a_lab_value_sent_as_a_json_number_reaches_the_parser_as_a_decimal_not_a_float(subjects, staff_client, number):
    """Read as a float, 5e-400 was a silent 0.0 and 1E3 a valid 1000.0: as a Decimal each keeps its exponent,
    which the value parser refuses."""
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    study_id = subjects["treated"].study_id
    body = f'{{"study_id": "{study_id}", "timepoint": "ET14", "analyte": "FSH", "value": {number}, '
    body += f'"unit": "IU/L", "drawn_at": "{drawn_at}"}}'
    response, changed = _api_post(staff_client, reverse("api-lab-results"), body)
    assert response.status_code == 400 and not changed
    assert response.json()["value"][0].endswith("is not a number (use digits, optionally with < or >).")


@needs_db
def test_a_json_number_keeps_its_trailing_zero_as_entered(subjects, staff_client):
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    study_id = subjects["treated"].study_id
    body = f'{{"study_id": "{study_id}", "timepoint": "ET14", "analyte": "FSH", "value": 12.50, '
    body += f'"unit": "IU/L", "drawn_at": "{drawn_at}"}}'
    response, changed = _api_post(staff_client, reverse("api-lab-results"), body)
    assert response.status_code == 201 and changed
    assert response.json()["value"] == "12.50"
