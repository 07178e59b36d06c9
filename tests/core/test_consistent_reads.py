"""Reads on two connections see one snapshot: a commit landing between them is seen by neither."""

import threading

import pytest
from django.db import connection

from core.consistent_reads import read_consistently
from core.models import Site


def _commit_a_site_elsewhere(code: str) -> None:
    def write():
        try:
            Site.objects.create(code=code, name="Committed while the reads ran")
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join()


@pytest.mark.django_db(transaction=True)
def test_both_reads_see_the_snapshot_taken_before_a_concurrent_commit():
    Site.objects.create(code="S1", name="Before")
    main_done = threading.Event()
    seen = {}

    def main():
        seen["main_thread"] = threading.get_ident()
        before = set(Site.objects.values_list("code", flat=True))
        _commit_a_site_elsewhere("S2")
        after = set(Site.objects.values_list("code", flat=True))  # same snapshot: the commit is not seen
        main_done.set()
        return before, after

    def helper():
        main_done.wait(timeout=30)  # the commit has landed by now
        seen["helper_thread"] = threading.get_ident()
        return set(Site.objects.values_list("code", flat=True))

    (before, after), helped = read_consistently(main, helper)
    assert "S1" in before and before == after == helped and "S2" not in helped
    assert seen["main_thread"] != seen["helper_thread"]  # really two connections, side by side
    assert "S2" in set(Site.objects.values_list("code", flat=True))  # committed, seen once the reads end


@pytest.mark.django_db
def test_inside_a_transaction_the_reads_run_here_and_see_its_uncommitted_rows():
    Site.objects.create(code="S9", name="Not committed yet")
    threads = []

    def read():
        threads.append(threading.get_ident())
        return Site.objects.filter(code="S9").exists()

    assert read_consistently(read, read) == (True, True)
    assert threads == [threading.get_ident()] * 2
