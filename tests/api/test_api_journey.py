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

The values entered and expected are in tests/api/journey_data.py, the HTTP steps in
tests/api/journey_steps.py, the checks of the exports and statistics in tests/api/journey_checks.py.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.api.journey_checks import (
    _check_adverse_events_export,
    _check_binary,
    _check_continuous,
    _check_lab_results_export,
    _check_patients_export,
    _check_questionnaires_export,
    _download_exports,
    _recompute,
)
from tests.api.journey_data import (
    BASELINE_CTRL,
    BASELINE_EXP,
    ENROLMENT_DAYS_BEFORE_TRANSFER,
    LABS_CTRL,
    LABS_EXP,
    TRANSFER_DAYS_AGO,
    _identities,
)
from tests.api.journey_steps import _all, _clock_at, _enrol, _follow_up, _local, _moment, _token_client
from tests.factories import all_met_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def allocation(site_a, statistician):
    """SZ <35 list as the statistician imports it: the first woman gets EXP, the second CTRL."""
    from patients.randomization import allocation_list_go_live, allocation_list_import

    content = b"sequence,arm\n1,EXP\n2,CTRL\n3,EXP\n4,CTRL\n"
    draft = allocation_list_import(site=site_a, age_group="<35", content=content, filename="sz.csv", by=statistician)
    return allocation_list_go_live(allocation_list=draft, by=statistician)


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
