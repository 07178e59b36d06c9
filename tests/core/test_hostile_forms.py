"""Hostile input to the HTML forms (SPEC §8): never a 500, and a refused post changes no row.

The main forms (screening, baseline, lab draw, pregnancy outcome, adverse event) posted through the test
client with generated values (hypothesis, derandomized and bounded): never a 500, and a refused post
changes no row (audit events included). Then what a form must refuse with a message: a lab value the
parser or its column refuses (in the API too), a control character, an over-long reason, an oversized
post and too many fields.
"""

import importlib
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from tests.core.hostile import (
    HEADER_LINE,
    HOSTILE_TEXT,
    _api_post,
    _days_ago,
    bounded,
    build_subjects,
    in_savepoint,
    needs_db,
    row_counts,
)
from tests.labs.test_validation import SPECS
from tests.module_data import module_data

subjects = module_data(build_subjects)


# --- The main forms, posted with generated values -----------------------------------------------------------


def form_values(valid: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """Each field mostly valid (so the later checks are reached), often something hostile."""
    return st.fixed_dictionaries({name: st.one_of(st.just(value), HOSTILE_TEXT) for name, value in valid.items()})


def _post_and_check(client, url: str, data: dict) -> None:
    before = row_counts()

    def post():
        response = client.post(url, data)
        return response, row_counts()

    outcome = in_savepoint(post)
    if isinstance(outcome, Exception):  # the test client re-raises a view's exception: the user got a 500
        raise outcome
    response, after = outcome
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code == 302:
        assert after != before  # accepted: something was saved (and rolled back)
    else:
        assert after == before, "a refused post changed rows"
    assert row_counts() == before


HUGE = "99999999999"  # past every integer column
LONG_NUMBER = "0." + "0" * 45 + "1"  # a valid number, longer than the column keeping the value as entered
CRITERIA = importlib.import_module("core.migrations.0002_seed_trial_configuration").CRITERIA
SCREENING = {
    "screening_date": "2025-03-01",
    "full_name": "Hostile Input",
    "medical_record_number": "MRN-HOSTILE",
    "date_of_birth": "1992-03-15",
    "phone": "",
    **{f"criterion_{code}": "yes" if kind == "inclusion" else "no" for code, _text, kind, *_ in CRITERIA},
}
BASELINE = {
    "height_cm": "160.0",
    "weight_kg": "56.0",
    "previous_failed_transfers": "2",
    "prior_miscarriages": "1",
    "infertility_type": "primary",
    "infertility_years": "3.5",
    "education": "college_or_higher",
    "amh_ng_ml": "2.10",
}
LAB_DRAW = {
    "timepoint": "ET14",
    "drawn_at": (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    **{f"{code}_value": "5" for code in SPECS},
    **{f"{code}_unit": spec.canonical_unit for code, spec in SPECS.items()},
}
OUTCOME = {
    "beta_hcg_positive": "True",
    "beta_hcg_date": _days_ago(20),
    "beta_hcg_value": "250.5",
    "clinical_pregnancy": "True",
    "ultrasound_date": _days_ago(5),
    "gestational_sacs": "1",
    "fetal_heartbeat": "True",
    "ectopic": "False",
    "miscarriage": "False",
    "miscarriage_date": "",
    "miscarriage_week": "",
    "ongoing_pregnancy": "",
    "live_birth": "",
    "live_birth_date": "",
    "infants": "",
    "confirm_sacs": "",
}
ADVERSE_EVENT = {
    "term": "injection_site_bruising",
    "term_other": "",
    "onset_date": _days_ago(2),
    "resolution_date": "",
    "grade": "1",
    "serious": "",
    "related_to_dalteparin": "possible",
    "action_taken": "none",
    "outcome": "recovering",
}


@needs_db
@bounded(30)
@given(post=form_values(SCREENING))
@example(post={**SCREENING, "full_name": "A" * 201})
@example(post={**SCREENING, "phone": "\x00"})
def test_the_screening_form_never_fails_or_saves_half(subjects, staff_client, post):
    post = {**post, "site": str(subjects["site"].pk)}
    _post_and_check(staff_client, reverse("patients:screen"), post)


@needs_db
@bounded(30)
@given(post=form_values(BASELINE))
@example(post={**BASELINE, "previous_failed_transfers": HUGE})
@example(post={**BASELINE, "amh_ng_ml": "1e309"})
def test_the_baseline_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("patients:baseline", kwargs={"study_id": subjects["consented"].study_id})
    _post_and_check(staff_client, url, post)


@needs_db
@bounded(30)
@given(post=form_values(LAB_DRAW))
@example(post={**LAB_DRAW, "FSH_value": "1e-400"})
@example(post={**LAB_DRAW, "FSH_value": "<" + "9" * 30})
def test_the_lab_draw_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("labs:draw_create", kwargs={"study_id": subjects["treated"].study_id})
    _post_and_check(staff_client, url, post)


@needs_db
def test_a_lab_value_longer_than_its_column_is_refused_everywhere(subjects, staff_client):
    study_id = subjects["treated"].study_id
    _post_and_check(
        staff_client, reverse("labs:draw_create", kwargs={"study_id": study_id}), {**LAB_DRAW, "FSH_value": LONG_NUMBER}
    )
    staff_client.raise_request_exception = False
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    api = {"study_id": study_id, "timepoint": "ET14", "analyte": "FSH", "value": LONG_NUMBER, "unit": "IU/L"}
    response = in_savepoint(
        lambda: staff_client.post(reverse("api-lab-results"), {**api, "drawn_at": drawn_at}, "application/json")
    )
    assert response.status_code == 400
    csv = f"{HEADER_LINE}\n{study_id},ET14,{drawn_at},FSH,{LONG_NUMBER},IU/L\n".encode()
    response = in_savepoint(lambda: staff_client.post(reverse("api-lab-imports"), csv, "text/csv"))
    assert response.status_code == 400


MISCARRIAGE = {**OUTCOME, "miscarriage": "True", "miscarriage_date": _days_ago(2), "miscarriage_week": "8"}
LIVE_BIRTH = {**OUTCOME, "ongoing_pregnancy": "True", "live_birth": "True", "live_birth_date": _days_ago(1)}


@needs_db
@bounded(30)
@given(post=form_values(OUTCOME))
@example(post={**MISCARRIAGE, "miscarriage_week": HUGE})
@example(post={**LIVE_BIRTH, "infants": HUGE})
@example(post={**OUTCOME, "beta_hcg_value": "1e12"})
def test_the_pregnancy_outcome_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("outcomes:pregnancy", kwargs={"study_id": subjects["treated"].study_id})
    _post_and_check(staff_client, url, post)


@needs_db
@bounded(30)
@given(post=form_values(ADVERSE_EVENT))
@example(post={**ADVERSE_EVENT, "term": "other", "term_other": "A" * 201})
def test_the_adverse_event_form_never_fails_or_saves_half(subjects, staff_client, post):
    url = reverse("outcomes:ae_create", kwargs={"study_id": subjects["treated"].study_id})
    _post_and_check(staff_client, url, post)


# --- Refused with a message: each of these was a 500 or a silent acceptance (issue 18) ----------------------


@needs_db
@pytest.mark.parametrize("value", ["1e400", "5e-400", "1_0", "١٢", "０１", "nan", "0.00001"])
def test_a_lab_value_the_parser_refuses_is_a_400_in_the_api_and_a_message_in_the_form(subjects, staff_client, value):
    study_id = subjects["treated"].study_id
    drawn_at = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    body = {"study_id": study_id, "timepoint": "ET14", "analyte": "FSH", "value": value, "unit": "IU/L"}
    response, changed = _api_post(staff_client, reverse("api-lab-results"), {**body, "drawn_at": drawn_at})
    assert response.status_code == 400 and not changed
    assert response.json()["value"][0].startswith("FSH: ")
    _post_and_check(
        staff_client, reverse("labs:draw_create", kwargs={"study_id": study_id}), {**LAB_DRAW, "FSH_value": value}
    )


@needs_db
def test_a_control_character_in_a_form_post_is_a_400_page_and_saves_nothing(subjects, staff_client):
    url = reverse("outcomes:ae_create", kwargs={"study_id": subjects["treated"].study_id})
    before = row_counts()
    response = in_savepoint(lambda: staff_client.post(url, {**ADVERSE_EVENT, "term": "other", "term_other": "a\x00b"}))
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "the form field &#x27;term_other&#x27;" in response.content.decode()
    assert row_counts() == before


@needs_db
def test_a_reason_of_a_form_is_bounded_at_2000_characters_too(subjects, staff_client):
    from outcomes.services import adverse_event_record
    from tests.factories import adverse_event_form

    def attempt(reason):
        event = adverse_event_record(
            patient=subjects["treated"],
            data=adverse_event_form(onset_date=timezone.localdate(), resolution_date=None, outcome="recovering"),
            by=subjects["staff"],
        )
        url = reverse("outcomes:ae_edit", kwargs={"study_id": subjects["treated"].study_id, "pk": event.pk})
        return staff_client.post(url, {**ADVERSE_EVENT, "reason": reason, "version": event.version})

    response = in_savepoint(lambda: attempt("x" * 2001))
    assert response.status_code == 200
    assert "Ensure this value has at most 2000 characters (it has 2001)." in response.content.decode()
    assert in_savepoint(lambda: attempt("x" * 2000)).status_code == 302


@needs_db
def test_an_oversized_form_post_gets_413_with_a_message_and_saves_nothing(subjects, staff_client):
    before = row_counts()
    response = staff_client.post(
        reverse("patients:screen"), {"full_name": "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )
    assert response.status_code == 413 and response["Content-Type"].startswith("text/html")
    assert "Nothing was saved" in response.content.decode()
    assert row_counts() == before


@needs_db
def test_too_many_form_fields_are_a_400_with_a_message_not_a_500(subjects, staff_client):
    fields = {f"f{n}": "1" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = staff_client.post(reverse("patients:screen"), fields)
    assert response.status_code == 400
    assert "more fields than the 1000 accepted" in response.content.decode()
