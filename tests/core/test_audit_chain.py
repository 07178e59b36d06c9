"""The audit hash chain: every audit row is linked at commit, and `verify_audit` names the first break.

Tampering is done the way only the database owner or a superuser could: with the table's own triggers
switched off for the change (`ALTER TABLE ... DISABLE TRIGGER USER`) and on again to hide it.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from hashlib import sha256
from io import StringIO

import pghistory
import pghistory.models
import psycopg2
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from core.audit_chain import CANONICAL_SETTINGS, TRIGGER, install_chain_triggers
from core.models import AuditChainLink
from patients import services
from patients.models import Baseline
from tests.factories import baseline_input, consented_patient

pytestmark = pytest.mark.django_db

BASELINE_EVENTS = Baseline.pgh_event_model._meta.db_table


def _links_written() -> None:
    """What COMMIT does first: run the deferred chain triggers (the test's transaction never commits)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def _triggers_off(table: str) -> Iterator[None]:
    _sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    yield
    _sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')


@pytest.fixture
def baseline(site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    baseline = services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("58.5")),
        by=staff_site_a,
        reason="Transcription error",
        expected_version=1,
    )
    _links_written()
    return baseline


def _link(baseline, label: str) -> AuditChainLink:
    event = Baseline.pgh_event_model.objects.get(pgh_obj_id=baseline.pk, pgh_label=label)
    return AuditChainLink.objects.get(table_name=BASELINE_EVENTS, event_id=event.pgh_id)


def test_every_audit_table_has_the_chain_trigger():
    """Taken from the app registry: an event model added by any app later is checked too."""
    tables = {pghistory.models.Context._meta.db_table}
    tables |= {m._meta.db_table for m in apps.get_models() if issubclass(m, pghistory.models.Event)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s AND t.tgenabled <> 'D'",
            [TRIGGER],
        )
        chained = {row[0] for row in cursor.fetchall()}
    assert len(tables) > 20
    assert sorted(tables - chained) == []


def test_trigger_functions_print_rows_under_the_settings_verification_uses():
    expected = sorted(f"{name}={value}" for name, value in CANONICAL_SETTINGS.items())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname IN "
            "('ivf_audit_chain_queue', 'ivf_audit_chain_queue_context')"
        )
        configs = dict(cursor.fetchall())
    assert len(configs) == 2
    assert all(sorted(config) == expected for config in configs.values())


def test_changes_are_chained_with_their_contexts_and_verify(baseline):
    created, changed = _link(baseline, "insert"), _link(baseline, "update")
    event = Baseline.pgh_event_model.objects.get(pgh_id=changed.event_id)
    context = AuditChainLink.objects.get(table_name="pghistory_context", context_id=event.pgh_context_id)
    assert created.seq < context.seq < changed.seq
    assert bytes(changed.prev_hash) == bytes(AuditChainLink.objects.filter(seq__lt=changed.seq).last().hash)
    output = _verify()
    assert f"{AuditChainLink.objects.count()} links verified" in output
    assert f"head link {AuditChainLink.objects.last().seq}" in output


def test_links_cannot_be_changed_or_deleted_in_sql(baseline):
    for statement in ["UPDATE core_auditchainlink SET hash = prev_hash", "DELETE FROM core_auditchainlink"]:
        with pytest.raises(IntegrityError, match="cannot be changed or deleted"), transaction.atomic():
            _sql(statement)


def test_audited_writes_outside_read_committed_are_refused_rather_than_fork_the_chain():
    """An older snapshot would not see the latest link; the commit fails instead of chaining from an old one."""
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or None
    )
    try:
        other.set_session(isolation_level="REPEATABLE READ")
        with other.cursor() as cursor:
            cursor.execute(
                "INSERT INTO pghistory_context (id, created_at, updated_at, metadata) "
                "VALUES (gen_random_uuid(), now(), now(), '{}')"
            )
        with pytest.raises(psycopg2.errors.FeatureNotSupported, match="must run at READ COMMITTED"):
            other.commit()
    finally:
        other.close()


def test_an_altered_event_is_named_at_its_link(baseline):
    link = _link(baseline, "update")
    with _triggers_off(BASELINE_EVENTS):
        _sql(f"UPDATE {BASELINE_EVENTS} SET weight_kg = 60 WHERE pgh_id = %s", [link.event_id])
    with pytest.raises(CommandError, match=rf"link {link.seq} \({BASELINE_EVENTS} {link.event_id}\): expected hash"):
        _verify()


def test_an_altered_reason_is_named_at_its_context_link(baseline):
    event = Baseline.pgh_event_model.objects.get(pgh_obj_id=baseline.pk, pgh_label="update")
    link = AuditChainLink.objects.get(table_name="pghistory_context", context_id=event.pgh_context_id)
    with _triggers_off("pghistory_context"):
        _sql(
            "UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{reason}', '\"Routine check\"') "
            "WHERE id = %s",
            [event.pgh_context_id],
        )
    with pytest.raises(CommandError, match=rf"link {link.seq} \(pghistory_context {link.context_id}\): expected"):
        _verify()


def test_a_deleted_event_is_named_at_its_link(baseline):
    link = _link(baseline, "insert")
    with _triggers_off(BASELINE_EVENTS):
        _sql(f"DELETE FROM {BASELINE_EVENTS} WHERE pgh_id = %s", [link.event_id])
    with pytest.raises(CommandError, match=rf"link {link.seq} \({BASELINE_EVENTS} {link.event_id}\): .* missing"):
        _verify()


def test_a_deleted_link_is_named_at_the_link_after_it(baseline):
    deleted = _link(baseline, "insert")
    after = AuditChainLink.objects.filter(seq__gt=deleted.seq).first()
    with _triggers_off("core_auditchainlink"):
        _sql("DELETE FROM core_auditchainlink WHERE seq = %s", [deleted.seq])
    with pytest.raises(CommandError, match=rf"link {after.seq} .*previous hash .* a link was deleted"):
        _verify()


def test_an_altered_link_is_named(baseline):
    link = _link(baseline, "update")
    with _triggers_off("core_auditchainlink"):
        _sql("UPDATE core_auditchainlink SET hash = %s WHERE seq = %s", [sha256(b"forged").digest(), link.seq])
    with pytest.raises(CommandError, match=rf"link {link.seq} .*stored {sha256(b'forged').hexdigest()}"):
        _verify()


def test_an_event_written_past_the_triggers_is_named(baseline):
    columns = ", ".join(f'"{f.column}"' for f in Baseline.pgh_event_model._meta.concrete_fields if f.column != "pgh_id")
    with _triggers_off(BASELINE_EVENTS):
        _sql(
            f"INSERT INTO {BASELINE_EVENTS} ({columns}) SELECT {columns} FROM {BASELINE_EVENTS} "
            "WHERE pgh_obj_id = %s AND pgh_label = 'update'",
            [baseline.pk],
        )
    forged = Baseline.pgh_event_model.objects.order_by("pgh_id").last()
    with pytest.raises(CommandError, match=rf"audit row {BASELINE_EVENTS} {forged.pgh_id} has no link"):
        _verify()


def test_the_writers_session_settings_do_not_change_the_hash(baseline):
    """Timestamps and decimals print the same whatever time zone or date style the writer's session uses."""
    odd = {"TimeZone": "America/New_York", "DateStyle": "SQL, DMY", "extra_float_digits": "0"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in odd))
        usual = dict(zip(odd, cursor.fetchone(), strict=True))
    _set(odd)
    # One UPDATE statement and no reads: the ORM cannot parse dates printed in the SQL style.
    with pghistory.context(reason="Scale recalibrated"):
        Baseline.objects.filter(pk=baseline.pk).update(weight_kg=Decimal("61.25"))
    _links_written()
    _set(usual)
    assert "links verified" in _verify()


def _set(settings: dict[str, str]) -> None:
    for name, value in settings.items():
        _sql("SELECT set_config(%s, %s, true)", [name, value])


def test_a_column_added_to_an_audit_table_leaves_older_links_valid(baseline, staff_site_a):
    _sql(f"ALTER TABLE {BASELINE_EVENTS} ADD COLUMN site_note text NOT NULL DEFAULT 'added later'")
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("59")),
        by=staff_site_a,
        reason="Remeasured",
        expected_version=2,
    )
    _links_written()
    assert "links verified" in _verify()


def test_rows_written_before_a_table_was_chained_join_the_chain_when_it_is(baseline, staff_site_a):
    """What happens to a new app's event table: its migration's rows are linked after `migrate`."""
    _sql(f"DROP TRIGGER {TRIGGER} ON {BASELINE_EVENTS}")
    services.baseline_void(baseline=baseline, by=staff_site_a, reason="Wrong patient")
    _links_written()
    with pytest.raises(CommandError, match=f"{BASELINE_EVENTS} has no chain trigger"):
        _verify()
    assert install_chain_triggers() == [BASELINE_EVENTS]
    _links_written()
    assert "links verified" in _verify()
    assert AuditChainLink.objects.filter(table_name=BASELINE_EVENTS).count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_linear_chain(site_a, staff_site_a):
    baselines = [
        services.baseline_record(
            patient=consented_patient(site_a, staff_site_a), data=baseline_input(), by=staff_site_a
        )
        for _ in range(20)
    ]
    start = threading.Barrier(len(baselines))
    errors: list[BaseException] = []

    def correct(baseline):
        try:
            start.wait()
            services.baseline_update(
                baseline=baseline,
                data=baseline_input(weight_kg=Decimal("57")),
                by=staff_site_a,
                reason="Recalibrated scale",
                expected_version=1,
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=correct, args=(b,)) for b in baselines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    events = Baseline.pgh_event_model.objects.count()
    assert AuditChainLink.objects.filter(table_name=BASELINE_EVENTS).count() == events == 40
    assert "links verified" in _verify()
