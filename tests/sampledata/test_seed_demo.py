"""The demo trial: accounts per role, the 80 women of paper.md at SZ, screen failures, idempotent.

seed_demo runs once for the module (it enters the whole trial, which is slow), inside a transaction that is
rolled back when the module ends; each test runs in a savepoint of it.
"""

from statistics import mean

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import RequestFactory, override_settings
from pghistory.models import Context

from patients import randomization
from patients.models import AllocationList, Baseline, Patient, Randomization
from sampledata.demo_profiles import PAPER_BASELINE, demo_profiles
from tests.factories import ensure_trial_configuration

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
