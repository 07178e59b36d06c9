"""Account events: append-only rows, each copied into the hash-chained audit trail under its writer's context."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import InternalError

from core.account_events import account_event_record
from core.models import AccountEvent, AccountEventKind, AuditChainLink
from tests.core.test_audit_chain import _links_written

pytestmark = pytest.mark.django_db

EVENTS = AccountEvent.pgh_event_model._meta.db_table


def test_an_event_names_the_account_its_address_and_whom_the_audit_context_names(rf, monitor, admin_user):
    request = rf.post("/accounts/locks/", REMOTE_ADDR="10.1.2.3")
    event = account_event_record(
        kind=AccountEventKind.ACCOUNT_UNLOCKED, user=monitor, by=admin_user, request=request, reason="Verified by phone"
    )
    assert (event.username, event.ip_address) == ("monitor", "10.1.2.3")
    copy = AccountEvent.pgh_event_model.objects.select_related("pgh_context").get(pgh_obj_id=event.pk)
    assert copy.kind == AccountEventKind.ACCOUNT_UNLOCKED
    assert copy.pgh_context.metadata["username"] == admin_user.get_username()
    assert copy.pgh_context.metadata["reason"] == "Verified by phone"


def test_a_failed_login_for_no_account_keeps_the_name_as_typed_within_its_column():
    event = account_event_record(kind=AccountEventKind.LOGIN_FAILED, username="x" * 100_000)
    assert event.user is None
    assert event.username == "x" * 150


@pytest.mark.parametrize(
    "statement", [f"UPDATE core_accountevent SET kind = '{AccountEventKind.LOGIN}'", "DELETE FROM core_accountevent"]
)
def test_account_events_cannot_be_changed_or_deleted_even_in_sql(monitor, statement):
    account_event_record(kind=AccountEventKind.LOGIN_FAILED, user=monitor)
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_an_altered_account_event_is_named_by_verify_audit(monitor):
    event = account_event_record(kind=AccountEventKind.LOGIN_FAILED, user=monitor)
    _links_written()
    copy = AccountEvent.pgh_event_model.objects.get(pgh_obj_id=event.pk)
    link = AuditChainLink.objects.get(table_name=EVENTS, event_id=copy.pgh_id)
    call_command("verify_audit", stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{EVENTS}" DISABLE TRIGGER USER')
        cursor.execute(f"UPDATE {EVENTS} SET kind = %s WHERE pgh_id = %s", [AccountEventKind.LOGIN, copy.pgh_id])
        cursor.execute(f'ALTER TABLE "{EVENTS}" ENABLE TRIGGER USER')
    with pytest.raises(CommandError, match=str(link.seq)):
        call_command("verify_audit", stdout=StringIO())
