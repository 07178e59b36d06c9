"""The cyclic garbage collector paused around bulk work (core.garbage), and restored whatever happens."""

import gc

import pytest

from core.garbage import cycle_collection_paused


@pytest.fixture(autouse=True)
def collector_enabled_after():
    yield
    was = gc.isenabled()
    gc.enable()  # never leave the rest of the suite without a collector, even when an assertion failed
    assert was, "a test left the garbage collector disabled"


def test_the_collector_is_off_inside_and_on_again_after():
    with cycle_collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_turns_the_collector_back_on():
    with pytest.raises(RuntimeError), cycle_collection_paused():
        raise RuntimeError("the bulk work failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off_and_nesting_restores_the_outer_state():
    gc.disable()
    with cycle_collection_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
    with cycle_collection_paused():
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()  # the inner block does not end the outer pause
    assert gc.isenabled()


@pytest.mark.django_db
def test_the_lab_import_runs_with_the_collector_paused(monkeypatch, site_a, staff_site_a, statistician):
    from labs import importing
    from tests.factories import randomized_patient

    patient = randomized_patient(site_a, staff_site_a, statistician)
    seen = []
    parse = importing.parse_lab_csv

    def watched_parse(*args, **kwargs):
        seen.append(gc.isenabled())
        return parse(*args, **kwargs)

    monkeypatch.setattr(importing, "parse_lab_csv", watched_parse)
    row = f"{patient.study_id},BASELINE,2025-03-01T08:00:00+08:00,FSH,6.1,IU/L"
    content = f"study_id,timepoint,drawn_at,analyte,value,unit\n{row}\n"
    report = importing.lab_results_import(content=content.encode(), filename="one.csv", by=staff_site_a, dry_run=True)
    assert seen == [False] and not report.problems
    assert gc.isenabled()
