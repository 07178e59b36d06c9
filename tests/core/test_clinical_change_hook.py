"""The clinical-change hook: clinical services name the patients a write changed (core.audit), and the hook
the settings name (quality's automatic checks) runs for them inside the write's transaction."""

import pytest
from django.db import transaction
from django.test import override_settings

from core.audit import audited, clinical_data_changed

CALLS: list[tuple[set[int], bool]] = []
HOOK = "tests.core.test_clinical_change_hook.record_call"


def record_call(patient_ids) -> None:
    CALLS.append((set(patient_ids), transaction.get_connection().in_atomic_block))


@pytest.fixture
def recorded_hook():
    CALLS.clear()
    with override_settings(CLINICAL_CHANGE_HOOK=HOOK):
        yield


@pytest.mark.django_db
def test_hook_runs_once_at_the_end_of_the_outermost_write_for_every_patient_named(recorded_hook):
    with audited(by=None, reason="test"):
        clinical_data_changed([1, 2])
        with audited(by=None, reason="a service called by a service"):
            clinical_data_changed({2, 3})
        assert CALLS == []  # not yet: the write is not finished
    assert [({1, 2, 3}, True)] == CALLS  # inside the transaction, so it commits with the data


@pytest.mark.django_db
def test_hook_does_not_run_for_a_write_that_fails(recorded_hook):
    with pytest.raises(RuntimeError), audited(by=None, reason="test"):
        clinical_data_changed([1])
        raise RuntimeError("refused")
    assert CALLS == []


@pytest.mark.django_db
def test_a_write_that_names_no_patient_runs_no_hook(recorded_hook):
    with audited(by=None, reason="test"):
        pass
    assert CALLS == []


@pytest.mark.django_db
def test_outside_an_audited_write_the_hook_runs_at_once(recorded_hook):
    clinical_data_changed([7])
    assert [({7}, True)] == CALLS


def test_settings_name_quality_automatic_checks_as_the_hook():
    from django.conf import settings
    from django.utils.module_loading import import_string

    from quality.services import automatic_checks_sync

    assert import_string(settings.CLINICAL_CHANGE_HOOK) is automatic_checks_sync
