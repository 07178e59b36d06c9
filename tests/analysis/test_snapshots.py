"""Statistics snapshots: SPEC §5 shape, idempotent jobs, staleness, debounce, CONSORT that reconciles."""

from datetime import timedelta

import jsonschema
import pytest
from django.conf import settings
from django.utils import timezone

from analysis import services
from analysis.models import JobStatus, StatisticsJob, StatisticsSnapshot
from labs.models import LabResult
from labs.services import lab_draw_record, lab_result_correct
from patients import services as patient_services
from tests.factories import backdated_transfer, randomized_patient, screen

pytestmark = pytest.mark.django_db

CI = {"type": "array", "items": {"type": ["number", "null"]}, "minItems": 2, "maxItems": 2}
ESTIMATE = {
    "type": "object",
    "required": ["estimate", "ci95"],
    "additionalProperties": False,
    "properties": {"estimate": {"type": ["number", "null"]}, "ci95": CI},
}
PROPORTION = {
    "type": "object",
    "required": ["events", "n", "proportion", "ci95"],
    "additionalProperties": False,
    "properties": {
        "events": {"type": "integer"},
        "n": {"type": "integer"},
        "proportion": {"type": ["number", "null"]},
        "ci95": CI,
    },
}
DESCRIPTION_KEYS = ["n", "missing", "mean", "sd", "median", "q1", "q3", "min", "max"]
DESCRIPTION = {
    "type": "object",
    "required": DESCRIPTION_KEYS,
    "additionalProperties": False,
    "properties": {
        **{k: {"type": ["number", "null"]} for k in DESCRIPTION_KEYS},
        "n": {"type": "integer"},
        "missing": {"type": "integer"},
        "censored": {"type": "integer"},  # lab variables report their censored values (SPEC §5)
    },
}
ARM_CODES = {"type": "object", "propertyNames": {"enum": ["CTRL", "EXP"]}, "minProperties": 2, "maxProperties": 2}
SCHEMA = {
    "type": "object",
    "required": ["population", "computed_at", "data_as_of", "stale", "arms", "binary", "continuous"],
    "additionalProperties": False,
    "properties": {
        "population": {"enum": ["itt", "per_protocol"]},
        "computed_at": {"type": "string", "pattern": r"Z$"},
        "data_as_of": {"type": "string", "pattern": r"Z$"},
        "stale": {"type": "boolean"},
        "arms": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "label", "n"],
                "additionalProperties": False,
                "properties": {
                    "code": {"enum": ["CTRL", "EXP"]},
                    "label": {"type": "string"},
                    "n": {"type": "integer"},
                },
            },
        },
        "binary": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "key",
                    "label",
                    "by_arm",
                    "risk_difference",
                    "risk_ratio",
                    "odds_ratio",
                    "test",
                    "p_value",
                ],
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "by_arm": {**ARM_CODES, "additionalProperties": PROPORTION},
                    "risk_difference": ESTIMATE,
                    "risk_ratio": ESTIMATE,
                    "odds_ratio": ESTIMATE,
                    "test": {"enum": ["chi2", "fisher"]},
                    "p_value": {"type": ["number", "null"]},
                },
            },
        },
        "continuous": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "label", "by_arm", "mean_difference", "test", "p_value", "mann_whitney_p"],
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "by_arm": {**ARM_CODES, "additionalProperties": DESCRIPTION},
                    "mean_difference": ESTIMATE,
                    "test": {"const": "welch_t"},
                    "p_value": {"type": ["number", "null"]},
                    "mann_whitney_p": {"type": ["number", "null"]},
                },
            },
        },
    },
}


@pytest.fixture
def trial(site_a, staff_site_a, statistician):
    patients = [randomized_patient(site_a, staff_site_a, statistician) for _ in range(6)]
    for patient in patients[:3]:
        backdated_transfer(patient, staff_site_a, embryos=2)
        lab_draw_record(
            patient=patient,
            timepoint="ET28",
            drawn_at=timezone.now() - timedelta(hours=1),
            entries=[("CA125", "20", "U/mL"), ("IL6", "<1", "pg/mL")],
            by=staff_site_a,
        )
    screen(site_a, staff_site_a, eligible=False)
    screen(site_a, staff_site_a)
    return patients


def _compute():
    job, _ = services.statistics_request()
    return services.statistics_compute(job_id=job.pk)


def test_statistics_json_has_exactly_the_spec_keys(trial):
    snapshot = _compute()
    for population in ("itt", "per_protocol"):
        document = services.statistics_document(snapshot, population=population, by_arm=True)
        jsonschema.validate(document, SCHEMA)
    keys = {e["key"] for e in services.statistics_document(snapshot, population="itt", by_arm=True)["continuous"]}
    assert {"baseline.age", "baseline.bmi", "lab.CA125.ET28", "qol.RAND36.pain.ET28", "qol.SSRS.total.BASELINE"} <= keys


def test_blinded_view_pools_and_drops_comparisons(trial):
    document = services.statistics_document(_compute(), population="itt", by_arm=False)
    assert all("by_arm" not in e and "pooled" in e and "p_value" not in e for e in document["binary"])
    assert all("mean_difference" not in e for e in document["continuous"])


def test_censored_lab_values_enter_as_half_their_limit_and_are_counted(trial):
    document = services.statistics_document(_compute(), population="itt", by_arm=True)
    [il6] = [e for e in document["continuous"] if e["key"] == "lab.IL6.ET28"]
    assert sum(arm["censored"] for arm in il6["by_arm"].values()) == 3
    assert {arm["max"] for arm in il6["by_arm"].values() if arm["n"]} == {0.5}


def test_running_twice_on_unchanged_data_stores_one_snapshot(trial):
    first = _compute()
    second = _compute()
    assert first.pk == second.pk and StatisticsSnapshot.objects.count() == 1
    assert StatisticsJob.objects.filter(status=JobStatus.DONE).count() == 2


def test_a_changed_lab_value_makes_the_snapshot_stale_and_the_next_run_reflects_it(
    trial, staff_site_a, django_capture_on_commit_callbacks
):
    before = _compute()
    assert not services.snapshot_is_stale(before)
    result = LabResult.objects.filter(analyte__code="CA125").first()
    with django_capture_on_commit_callbacks(execute=True):  # the staleness mark follows the commit
        lab_result_correct(result=result, value="80", unit="U/mL", by=staff_site_a, reason="Re-run", expected_version=1)
    assert services.snapshot_is_stale(before)
    after = _compute()
    assert after.pk != before.pk and not services.snapshot_is_stale(after)
    [ca125] = [e for e in after.payload["itt"]["continuous"] if e["key"] == "lab.CA125.ET28"]
    assert ca125["pooled"]["max"] == 80.0


def test_requests_are_debounced_into_one_queued_job(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # keep the job queued: nothing consumes it here
    from django.db import transaction

    with transaction.atomic():
        first, queued = services.statistics_request()
        second, again = services.statistics_request()
    assert queued and not again and first.pk == second.pk
    assert StatisticsJob.objects.filter(status=JobStatus.QUEUED).count() == 1


def test_a_job_that_keeps_killing_its_worker_is_given_up(db):
    job = StatisticsJob.objects.create(status=JobStatus.RUNNING, deliveries=settings.STATISTICS_MAX_DELIVERIES)
    assert services.statistics_compute(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "Gave up" in job.message
    assert not StatisticsSnapshot.objects.exists()


def test_consort_counts_every_screened_patient_exactly_once(trial, site_a, staff_site_a):
    patient_services.patient_withdraw(
        patient=trial[5], withdrawn_on=timezone.localdate(), reason="Moved away", by=staff_site_a
    )
    counts = _compute().payload["dashboard"]["consort"]["counts"]
    excluded = counts["excluded_ineligible"] + counts["excluded_not_consented"] + counts["excluded_not_randomized"]
    assert counts["assessed"] == excluded + counts["randomized"] == 8
    assert (counts["excluded_ineligible"], counts["excluded_not_consented"], counts["randomized"]) == (1, 1, 6)
    assert counts["allocated_CTRL"] + counts["allocated_EXP"] == counts["randomized"]
    for arm in ("CTRL", "EXP"):
        assert counts[f"received_{arm}"] + counts[f"not_received_{arm}"] == counts[f"allocated_{arm}"]
    assert counts["discontinued_CTRL"] + counts["discontinued_EXP"] == 1


def test_data_change_hook_schedules_a_recomputation_only_when_enabled(
    trial, staff_site_a, settings, django_capture_on_commit_callbacks
):
    settings.STATISTICS_RECOMPUTE_ON_CHANGE = False
    with services.statistics_batch(), django_capture_on_commit_callbacks(execute=True):
        screen(trial[0].site, staff_site_a)
    assert not StatisticsJob.objects.exists()
    settings.STATISTICS_RECOMPUTE_ON_CHANGE = True
    with django_capture_on_commit_callbacks(execute=True):
        screen(trial[0].site, staff_site_a)
    assert not StatisticsJob.objects.exists()  # no broker, no request or batch: the change only marks them stale
    with services.statistics_batch(), django_capture_on_commit_callbacks(execute=True):
        screen(trial[0].site, staff_site_a)
        screen(trial[0].site, staff_site_a)
    assert StatisticsJob.objects.count() == 1  # one for the batch (test_recompute_without_broker.py runs it)


def test_a_version_bump_without_a_change_in_the_rows_refreshes_the_existing_snapshot(trial):
    first = _compute()
    services.data_changed()  # e.g. an audited change outside the analysed data
    assert services.snapshot_is_stale(first)
    again = _compute()
    assert again.pk == first.pk and not services.snapshot_is_stale(again)


def test_each_consort_box_links_to_exactly_the_patients_it_counts(client, trial, monitor):
    from django.urls import reverse

    counts = _compute().payload["dashboard"]["consort"]["counts"]
    client.force_login(monitor)
    for box, n in counts.items():
        page = client.get(reverse("patients:list"), {"consort": box}).content.decode()
        assert page.count("<tr data-study-id=") == n, box
