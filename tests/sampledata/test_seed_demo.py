"""The demo trial: accounts per role, the 80 women of paper.md at SZ, screen failures, idempotent.

seed_demo runs once for the module (it enters the whole trial, which is slow), inside a transaction that is
rolled back when the module ends; each test runs in a savepoint of it.
"""

import logging
from datetime import timedelta
from io import StringIO
from statistics import mean

import kombu.pools
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max, Min
from django.test import RequestFactory, override_settings
from django.utils import timezone
from pghistory.models import Context

from analysis.dashboard_data import enrollment
from analysis.models import DataVersion, JobStatus, StatisticsJob
from analysis.tasks import statistics_compute_task
from labs.models import LabDraw
from outcomes.models import PregnancyOutcome, QuestionnaireResponse
from patients import randomization
from patients.models import AllocationList, Baseline, Patient, Randomization, Screening
from quality.models import DataQuery, QueryStatus
from quality.services import casebook_sign, query_answer, query_close
from sampledata.demo import DEMO_USERS, STARTED_BEFORE_FIRST_SEED
from sampledata.demo_profiles import PAPER_BASELINE, demo_profiles
from tests.factories import ensure_trial_configuration, randomized_patient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        ensure_trial_configuration()
        call_command("seed_demo", password="demo-pass-for-tests")
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_once, db):
    return None


def test_every_role_has_a_demo_account_that_logs_in(seeded):
    request = RequestFactory().post("/accounts/login/")
    for username in ("staff", "investigator", "monitor", "statistician", "admin", "staff_bj"):
        assert authenticate(request, username=username, password="demo-pass-for-tests") is not None, username


def test_demo_has_eighty_randomized_women_with_baseline_and_screen_failures(seeded):
    sz = Patient.objects.filter(site__code="SZ")
    assert sz.filter(status="randomized").count() == 80
    assert sz.filter(status="ineligible").count() == 6
    assert Baseline.objects.filter(voided_at__isnull=True).count() == 80
    assert not Patient.objects.filter(site__code="BJ").exists()
    ids = list(sz.order_by("sequence_number").values_list("study_id", flat=True))
    assert ids == [f"SZ-{n:04d}" for n in range(1, 87)]


def test_demo_baseline_reproduces_the_papers_education_counts_and_mean_bmi(seeded):
    counts = {}
    for education in Baseline.objects.values_list("education", flat=True):
        counts[education] = counts.get(education, 0) + 1
    expected = {
        level: PAPER_BASELINE["EXP"]["education"][level] + PAPER_BASELINE["CTRL"]["education"][level]
        for level in PAPER_BASELINE["EXP"]["education"]
    }
    assert counts == expected
    paper_bmi = (PAPER_BASELINE["EXP"]["bmi"][0] + PAPER_BASELINE["CTRL"]["bmi"][0]) / 2
    assert mean(float(b) for b in Baseline.objects.values_list("bmi", flat=True)) == pytest.approx(paper_bmi, abs=0.01)
    # Ages derive from the generated dates of birth; 31.55 (EXP) and 32.75 (CTRL, nearest to 32.74).
    ages = Patient.objects.filter(status="randomized").values_list("age_at_enrolment", flat=True)
    assert mean(ages) == pytest.approx((31.55 + 32.75) / 2, abs=1e-9)


def test_seed_demo_twice_changes_nothing_the_second_time(seeded):
    before = (Patient.objects.count(), Context.objects.count(), Patient.pgh_event_model.objects.count())
    call_command("seed_demo", password="demo-pass-for-tests")
    assert (Patient.objects.count(), Context.objects.count(), Patient.pgh_event_model.objects.count()) == before


def test_demo_women_are_allocated_forty_per_arm_as_in_the_paper(seeded):
    arms = list(Randomization.objects.order_by("patient__sequence_number").values_list("arm__code", flat=True))
    assert arms == [p.arm for p in demo_profiles()]
    assert arms.count("EXP") == arms.count("CTRL") == 40


def test_every_site_and_stratum_has_a_live_list_of_200_slots(seeded):
    lists = AllocationList.objects.annotate(n=Count("slots"))
    assert sorted((al.site.code, al.age_group, al.status, al.n) for al in lists) == [
        ("BJ", "<35", "live", 200),
        ("BJ", ">=35", "live", 200),
        ("SZ", "<35", "live", 200),
        ("SZ", ">=35", "live", 200),
    ]


def test_demo_lists_record_fixed_seeds_and_regenerate_to_their_hash(seeded):
    """BJ's lists are generated from seeds fixed for the demo (and say so); SZ's are imported, with no seed."""
    lists = {(al.site.code, al.age_group): al for al in AllocationList.objects.select_related("site")}
    statistician = get_user_model().objects.get(username="statistician")
    for age_group in ("<35", ">=35"):
        generated, imported = lists["BJ", age_group], lists["SZ", age_group]
        assert (generated.generator, generated.seed_source, len(generated.seed_hex)) == ("hmac-sha256-v2", "fixed", 64)
        assert randomization.allocation_list_verify(allocation_list=generated, by=statistician) is True
        assert (imported.source, imported.generator, imported.seed_hex, imported.seed) == ("imported", "", "", None)


def _contiguous(months: list[str]) -> bool:
    numbers = [int(m[:4]) * 12 + int(m[5:]) for m in months]
    return numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_demo_women_are_registered_on_their_screening_days_spread_over_two_years_before_today(seeded):
    today = timezone.localdate()
    rows = list(Patient.objects.filter(site__code="SZ").values_list("created_at", "screening__screening_date"))
    assert len(rows) == 86 and all(timezone.localdate(registered) == screened for registered, screened in rows)
    assert not any(timezone.localdate(registered) == today for registered, _ in rows)
    first, last = min(day for _, day in rows), max(day for _, day in rows)
    # Relative to the day of the first seed: enrolment began two years before and lasted some fourteen months.
    assert first - timedelta(days=5) == today - STARTED_BEFORE_FIRST_SEED
    assert 13 <= (last.year - first.year) * 12 + last.month - first.month <= 15


def test_every_demo_record_is_dated_in_the_past(seeded):
    today = timezone.localdate()
    latest = [
        Screening.objects.aggregate(day=Max("screening_date"))["day"],
        timezone.localdate(Randomization.objects.aggregate(at=Max("randomized_at"))["at"]),
        timezone.localdate(LabDraw.objects.aggregate(at=Max("drawn_at"))["at"]),
        QuestionnaireResponse.objects.aggregate(day=Max("completed_on"))["day"],
        *PregnancyOutcome.objects.aggregate(
            Max("beta_hcg_date"), Max("ultrasound_date"), Max("miscarriage_date"), Max("live_birth_date")
        ).values(),
        timezone.localdate(AllocationList.objects.aggregate(at=Min("went_live_at"))["at"]),
    ]
    assert all(day is not None and day < today for day in latest), latest


def test_the_enrolment_chart_has_every_month_also_after_a_woman_randomized_today(seeded):
    months = [row["month"] for row in enrollment()["series"]]
    assert len(months) >= 13 and _contiguous(months)
    staff, statistician = (get_user_model().objects.get(username=u) for u in ("staff", "statistician"))
    randomized_patient(Patient.objects.get(study_id="SZ-0001").site, staff, statistician)
    series = enrollment()["series"]
    months = [row["month"] for row in series]
    assert _contiguous(months) and months[-1] == timezone.localdate().strftime("%Y-%m")
    assert series[-1]["cumulative"] == 81 and series[-2]["cumulative"] == 80  # the months between carry 80


def test_demo_accounts_carry_full_names_and_a_signature_prints_one(seeded):
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[row[0] for row in DEMO_USERS])}
    assert len(users) == len(DEMO_USERS)
    for username, user in users.items():
        assert user.first_name and user.last_name and user.get_full_name() != username, username
    staff, monitor, investigator = users["staff"], users["monitor"], users["investigator"]
    patient = Patient.objects.get(study_id="SZ-0001")
    for query in DataQuery.objects.filter(patient=patient).exclude(status=QueryStatus.CLOSED):
        query = query_answer(query=query, message="Checked against the source document.", by=staff)
        query_close(query=query, message="Resolved.", by=monitor)
    signature = casebook_sign(
        patient=patient,
        username="investigator",
        password="demo-pass-for-tests",
        meaning="approval",
        by=investigator,
        request=RequestFactory().post("/"),
    )
    assert signature.printed_name == "Jing Chen" == investigator.get_full_name()


def test_a_second_run_moves_no_data_version_and_needs_no_broker(seeded, caplog, django_capture_on_commit_callbacks):
    def state():
        return (
            list(DataVersion.objects.values_list("version", flat=True)),
            Patient.objects.count(),
            Context.objects.count(),
            sorted(get_user_model().objects.values_list("username", "first_name", "last_name", "password")),
        )

    # The first run's job was never sent: its send waits for the commit of this module's rolled-back transaction.
    StatisticsJob.objects.all().delete()
    before = state()
    app = statistics_compute_task.app  # kombu warns of a missing broker host once per pool: make them anew
    app._pool = app.amqp._producer_pool = None
    kombu.pools.reset()
    out, err = StringIO(), StringIO()
    # Commit callbacks run as at a real commit: the data-change hook of every audited write, and the statistics job.
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", password="demo-pass-for-tests", stdout=out, stderr=err)
    assert state() == before
    # One job, for the snapshot the first run left uncomputed, done in this process.
    assert list(StatisticsJob.objects.values_list("status", flat=True)) == [JobStatus.DONE]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    printed = out.getvalue() + err.getvalue()
    assert "broker" not in printed.lower() and "hostname" not in printed.lower() and not err.getvalue()
    assert "  investigator (Jing Chen)" in out.getvalue()
