"""Foreign keys checked once per statement (core.foreign_keys): the same refusals as declared keys."""

import io
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from psycopg2.errors import ForeignKeyViolation

from core.audit import audited
from core.bulk_copy import bind_audit_context
from core.foreign_keys import checked_keys, referring_columns, unchecked_foreign_keys
from labs.models import Analyte, LabDraw, LabResult
from patients.models import Baseline
from quality.models import QueryMessage
from tests.factories import make_user, randomized_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def draw(site_a, staff_site_a, statistician):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    with audited(by=staff_site_a):
        return LabDraw.objects.create(
            patient=patient,
            timepoint_id=_timepoint_id(),
            drawn_at=timezone.now() - timedelta(hours=1),
            created_by=staff_site_a,
            updated_by=staff_site_a,
        )


def _timepoint_id() -> int:
    from core.models import Timepoint

    return Timepoint.objects.get(code="BASELINE").pk


def _insert_result(draw, *, user_id: int, analyte_id: int | None = None, draw_id: int | None = None) -> None:
    analyte_id = analyte_id or Analyte.objects.get(code="FSH").pk
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO labs_labresult (version, created_at, created_by_id, updated_at, updated_by_id, void_reason,"
            " draw_id, analyte_id, value_as_entered, unit_as_entered, censoring, canonical_value, flag)"
            " VALUES (1, now(), %s, now(), %s, '', %s, %s, '7', 'IU/L', '', 7, 'normal')",
            [user_id, user_id, draw_id or draw.pk, analyte_id],
        )


def test_no_foreign_key_is_left_without_a_constraint_or_a_statement_check():
    assert unchecked_foreign_keys() == []


def test_the_bulk_written_tables_check_their_keys_per_statement():
    assert checked_keys(LabResult) == {
        ("auth_user", "id"): ["created_by_id", "updated_by_id", "voided_by_id"],
        ("labs_labdraw", "id"): ["draw_id"],
        ("labs_analyte", "id"): ["analyte_id"],
    }
    assert checked_keys(QueryMessage) == {("quality_dataquery", "id"): ["query_id"], ("auth_user", "id"): ["author_id"]}
    # Every clinical record's authors, e.g. a baseline's.
    assert ("auth_user", "id") in checked_keys(Baseline)
    assert ("patients_baseline", "created_by_id") in referring_columns()[("auth_user", "id")]


def test_a_row_naming_a_user_that_does_not_exist_is_refused(draw, staff_site_a):
    with pytest.raises(IntegrityError, match=r"auth_user\.id = 987654"), audited(by=staff_site_a):
        _insert_result(draw, user_id=987654)
    assert LabResult.objects.count() == 0


def test_a_row_naming_a_draw_or_analyte_that_does_not_exist_is_refused(draw, staff_site_a):
    with pytest.raises(IntegrityError, match=r"labs_labdraw\.id = 987654"), audited(by=staff_site_a):
        _insert_result(draw, user_id=staff_site_a.pk, draw_id=987654)
    with pytest.raises(IntegrityError, match=r"labs_analyte\.id = 987654"), audited(by=staff_site_a):
        _insert_result(draw, user_id=staff_site_a.pk, analyte_id=987654)


def test_copy_with_one_bad_key_among_many_writes_nothing(draw, staff_site_a):
    analytes = list(Analyte.objects.values_list("pk", flat=True))
    user = staff_site_a.pk
    lines = [
        f"1\t2026-01-01 08:00+00\t{user}\t2026-01-01 08:00+00\t{user}\t\t{draw.pk}\t{analyte}\t7\tIU/L\t\t7\tnormal\n"
        for analyte in analytes
    ]
    lines[3] = lines[3].replace(f"\t{draw.pk}\t", "\t987654\t", 1)
    columns = "version, created_at, created_by_id, updated_at, updated_by_id, void_reason, draw_id, analyte_id, "
    columns += "value_as_entered, unit_as_entered, censoring, canonical_value, flag"
    # COPY bypasses Django's error wrapping: psycopg2's own class for SQLSTATE 23503, as a declared key raises.
    with pytest.raises(ForeignKeyViolation, match="987654"), audited(by=staff_site_a), connection.cursor() as cursor:
        bind_audit_context(cursor)
        cursor.copy_expert(f"COPY labs_labresult ({columns}) FROM STDIN", io.StringIO("".join(lines)))
    assert LabResult.objects.count() == 0


def test_an_update_to_a_key_that_does_not_exist_is_refused(draw, staff_site_a):
    with audited(by=staff_site_a):
        _insert_result(draw, user_id=staff_site_a.pk)
    with pytest.raises(IntegrityError, match="labs_analyte"), audited(by=staff_site_a, reason="Wrong analyte"):
        LabResult.objects.update(analyte_id=987654)
    assert LabResult.objects.get().analyte.code == "FSH"


def test_deleting_a_user_still_named_by_a_record_is_refused_even_in_raw_sql(draw, staff_site_a):
    with (
        pytest.raises(IntegrityError, match=r"still referred to by labs_labdraw\.created_by_id"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [staff_site_a.pk])
    assert type(staff_site_a).objects.filter(pk=staff_site_a.pk).exists()


def test_deleting_a_user_no_record_names_is_allowed(draw):
    unused = make_user("never_entered_anything", "site_staff")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_sitemembership WHERE user_id = %s", [unused.pk])
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [unused.pk])
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [unused.pk])
    assert not type(unused).objects.filter(pk=unused.pk).exists()


def test_event_tables_index_what_the_audit_trail_reads_them_by_and_no_other_key():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'labs_labresultevent'")
        indexed = " ".join(row[0] for row in cursor.fetchall())
    for column in ("pgh_obj_id", "pgh_context_id", "draw_id"):
        assert f"({column})" in indexed
    for column in ("created_by_id", "updated_by_id", "voided_by_id", "analyte_id"):
        assert f"({column})" not in indexed


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_delete_of_the_referred_to_row_waits_and_is_then_refused(site_a, staff_site_a, statistician):
    """The writer locks the users it names FOR KEY SHARE, as a declared key does: a delete of one waits for
    the writer's commit and then finds the new row referring to it."""
    writer = make_user("writer", "site_staff", site_a)
    patient = randomized_patient(site_a, staff_site_a, statistician)
    outcome = {}

    def delete_writer():
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SET lock_timeout = '20s'")
                cursor.execute("DELETE FROM core_sitemembership WHERE user_id = %s", [writer.pk])
                cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [writer.pk])
                cursor.execute("DELETE FROM auth_user WHERE id = %s", [writer.pk])
            outcome["deleted"] = True
        except IntegrityError as error:
            outcome["refused"] = str(error)
        finally:
            other.close()

    with audited(by=writer):
        LabDraw.objects.create(
            patient=patient,
            timepoint_id=_timepoint_id(),
            drawn_at=timezone.now() - timedelta(hours=1),
            created_by=writer,
            updated_by=writer,
        )
        deleter = threading.Thread(target=delete_writer)
        deleter.start()
        deleter.join(timeout=1.5)
        assert deleter.is_alive(), "the delete should wait for the writer's lock"
    deleter.join(timeout=20)
    assert "still referred to by labs_labdraw" in outcome.get("refused", "")
    assert LabDraw.objects.filter(created_by=writer).exists()
