"""Reads on several connections see one snapshot: a commit landing between them is seen by none."""

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


def _codes() -> set[str]:
    return set(Site.objects.values_list("code", flat=True))


@pytest.mark.django_db(transaction=True)
def test_every_read_sees_the_snapshot_taken_before_a_concurrent_commit():
    Site.objects.create(code="S1", name="Before")
    committed = threading.Event()
    threads = set()

    def first():
        threads.add(threading.get_ident())
        before = _codes()
        _commit_a_site_elsewhere("S2")
        committed.set()
        return before, _codes()  # same snapshot: the commit is not seen

    def later():
        committed.wait(timeout=30)  # the commit has landed by now
        threads.add(threading.get_ident())
        return _codes()

    results = read_consistently({"first": first, "second": later, "third": later})
    before, after = results["first"]
    assert "S1" in before and before == after == results["second"] == results["third"]
    assert "S2" not in results["third"]
    assert len(threads) == 2 and threading.get_ident() not in threads  # side by side, on helper connections
    assert "S2" in _codes()  # committed, and seen once the reads are over


@pytest.mark.django_db(transaction=True)
def test_a_failing_read_raises_here():
    def broken():
        raise RuntimeError("the read failed")

    with pytest.raises(RuntimeError, match="the read failed"):
        read_consistently({"ok": _codes, "broken": broken})


@pytest.mark.django_db
def test_inside_a_transaction_the_reads_run_here_and_see_its_uncommitted_rows():
    Site.objects.create(code="S9", name="Not committed yet")
    threads = []

    def read():
        threads.append(threading.get_ident())
        return Site.objects.filter(code="S9").exists()

    assert read_consistently({"a": read, "b": read}) == {"a": True, "b": True}
    assert threads == [threading.get_ident()] * 2
