"""Lock readiness (issue 20): before a database lock the statistician sees what is still open (queries,
unsigned casebooks, unverified and missing forms, stale statistics), and locking over open items needs an
override reason, kept with the lock."""

import pytest
from django.urls import reverse
from django.utils import translation

from analysis.services import statistics_compute, statistics_request
from core.exceptions import ValidationFailed
from core.models import DatabaseLock, Trial, TrialStatus
from core.readiness import item_labels, lock_readiness, open_items
from quality import services
from tests.factories import backdated_transfer, randomized_patient

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {item.key: item.count for item in lock_readiness()}


def _fresh_statistics() -> None:
    statistics_compute(job_id=statistics_request()[0].pk)


def test_an_empty_trial_with_fresh_statistics_has_nothing_open_and_locks_without_an_override(statistician):
    _fresh_statistics()
    assert _counts() == {
        "open_queries": 0,
        "unsigned_casebooks": 0,
        "unverified_forms": 0,
        "missing_forms": 0,
        "stale_statistics": 0,
    }
    lock = services.database_lock(reason="final analysis", by=statistician)
    assert lock.open_items == {} and lock.override_reason == ""


def test_the_checklist_counts_each_kind_of_open_item(
    site_a, staff_site_a, statistician, monitor, django_capture_on_commit_callbacks
):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    _fresh_statistics()
    before = _counts()
    assert before["unsigned_casebooks"] == 1  # randomized, never signed
    assert before["stale_statistics"] == 0 and before["open_queries"] == 0

    services.query_raise(patient=patient, form="baseline", field="weight_kg", message="Scale?", by=monitor)
    assert _counts()["open_queries"] == 1

    unverified = before["unverified_forms"]
    assert unverified >= 1
    services.form_verify(patient=patient, form="screening", by=monitor)
    assert _counts()["unverified_forms"] == unverified - 1

    missing = before["missing_forms"]
    with django_capture_on_commit_callbacks(execute=True):  # the data version moves when the change commits
        backdated_transfer(patient, staff_site_a, days_ago=3)
    after_transfer = _counts()
    assert after_transfer["missing_forms"] == missing - 1
    assert after_transfer["stale_statistics"] == 1  # the statistics predate the transfer


def test_locking_with_open_items_needs_an_override_reason_and_saves_nothing_without_it(
    site_a, staff_site_a, statistician
):
    randomized_patient(site_a, staff_site_a, statistician)
    status_before = Trial.objects.get().status
    for blank in ("", "   "):
        with pytest.raises(ValidationFailed) as refused:
            services.database_lock(reason="final analysis", by=statistician, override_reason=blank)
        assert "override_reason" in refused.value.errors
    assert not DatabaseLock.objects.exists() and Trial.objects.get().status == status_before

    expected = open_items(lock_readiness())
    lock = services.database_lock(
        reason="final analysis", by=statistician, override_reason="  The sponsor accepts the open queries  "
    )
    assert Trial.objects.get().status == TrialStatus.LOCKED
    lock.refresh_from_db()
    assert lock.open_items == expected and lock.open_items["unsigned_casebooks"] == 1
    assert lock.override_reason == "The sponsor accepts the open queries"


def test_the_lock_page_shows_the_checklist_and_refuses_open_items_without_an_override(
    client, site_a, staff_site_a, statistician
):
    randomized_patient(site_a, staff_site_a, statistician)
    client.force_login(statistician)
    url = reverse("quality:database_lock")
    page = client.get(url).content.decode()
    assert 'id="lock-checklist"' in page
    for key, count in _counts().items():
        assert f'data-item="{key}" data-count="{count}"' in page
    assert "Casebooks of randomized women without a valid signature" in page

    refused = client.post(url, {"action": "lock", "reason": "final analysis", "override_reason": ""})
    assert refused.status_code == 400
    assert "say why the database is locked with them" in refused.content.decode()
    assert Trial.objects.get().status != TrialStatus.LOCKED

    done = client.post(
        url, {"action": "lock", "reason": "final analysis", "override_reason": "DSMB asked for the lock today"}
    )
    assert done.status_code == 302 and Trial.objects.get().status == TrialStatus.LOCKED
    history = client.get(url).content.decode()
    assert "DSMB asked for the lock today" in history
    assert str(item_labels()["unsigned_casebooks"]) in history and "unsigned_casebooks" not in history
    assert 'id="lock-checklist"' not in history  # locked: the form unlocks, no checklist


def test_the_lock_page_in_chinese(client, site_a, staff_site_a, statistician):
    randomized_patient(site_a, staff_site_a, statistician)
    client.force_login(statistician)
    with translation.override("en"):  # the request switches this thread to Chinese; later tests read English
        page = client.get(reverse("quality:database_lock"), headers={"accept-language": "zh-hans"}).content.decode()
    for english in (*map(str, item_labels().values()), "Before locking", "Why lock with open items"):
        assert english not in page


def test_a_lock_posted_from_a_page_shown_before_someone_else_locked_does_not_unlock(
    client, site_a, staff_site_a, statistician
):
    services.database_lock(reason="final analysis", by=statistician, override_reason="the sponsor agreed")
    client.force_login(statistician)
    url = reverse("quality:database_lock")
    stale = client.post(url, {"action": "lock", "reason": "final analysis", "override_reason": "again"})
    assert stale.status_code == 400 and "by someone else meanwhile" in stale.content.decode()
    assert Trial.objects.get().status == TrialStatus.LOCKED
    assert client.post(url, {"reason": "no step named"}).status_code == 400
    assert client.post(url, {}).status_code == 400  # an empty post is refused on the form, not a 500
    assert Trial.objects.get().status == TrialStatus.LOCKED
