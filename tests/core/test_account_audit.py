"""The accounts' audit trail: roles, memberships (deletes too), passwords and logins, on the page and in the
API, in the hash chain that `verify_audit` checks; the administrator's access review."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.access_grants import account_roles_set, account_sites_set
from core.account_events import account_event_record
from core.accounts import account_update
from core.models import AccountEvent, AccountEventKind, AuditChainLink, AuditedUser, SiteMembership
from tests.factories import make_user

pytestmark = pytest.mark.django_db

USER_EVENTS = AuditedUser.pgh_event_model._meta.db_table


@pytest.fixture
def history(admin_user, site_a):
    """A monitor given a role, a membership removed, her e-mail changed, her password set, a login."""
    nurse = make_user("nurse_trail", "site_staff", site_a)
    account_roles_set(
        user=nurse, groups=[*nurse.groups.all(), Group.objects.get(name="monitor")], by=admin_user, reason="Cover"
    )
    account_sites_set(user=nurse, sites=[], by=admin_user, reason="Left the SZ team")
    nurse.set_password("another-long-password-9")
    nurse.save()
    account_event_record(kind=AccountEventKind.LOGIN, user=nurse, reason="login")
    return nurse


def _kinds(entries, account: str) -> set[str]:
    return {entry["kind"] for entry in entries if entry["account"] == account}


def test_role_membership_password_and_login_events_are_in_the_api(client, statistician, history):
    client.force_login(statistician)
    response = client.get("/api/v1/audit/accounts/")
    assert response.status_code == 200
    entries = response.json()["results"]
    assert {"role_added", "membership_added", "membership_removed", "password_set", "login"} <= _kinds(
        entries, history.username
    )
    removed = next(e for e in entries if e["kind"] == "membership_removed" and e["account"] == history.username)
    assert removed["changes"] == {"site": ["SZ", None]}
    assert removed["user"] == "admin" and removed["reason"] == "Left the SZ team"
    role = next(e for e in entries if e["kind"] == "role_added" and e["changes"]["role"] == [None, "monitor"])
    assert role["reason"] == "Cover"
    password = next(e for e in entries if e["kind"] == "password_set" and e["account"] == history.username)
    assert "password" not in password["changes"]


def test_account_trail_api_filters_since_and_refuses_a_bad_value_and_other_roles(client, statistician, history):
    client.force_login(statistician)
    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert client.get("/api/v1/audit/accounts/", {"since": later}).json()["results"] == []
    assert client.get("/api/v1/audit/accounts/", {"since": "yesterday"}).status_code == 400
    assert client.get("/api/v1/audit/accounts/", {"since": "2025-03-01T00:00:00"}).status_code == 400
    for role in ("staff_x", "monitor_x"):
        other = make_user(role, "site_staff" if role == "staff_x" else "monitor")
        client.force_login(other)
        assert client.get("/api/v1/audit/accounts/").status_code == 403


def test_account_trail_page_shows_the_events_to_the_admin(client, admin_user, history):
    client.force_login(admin_user)
    page = client.get(reverse("accounts:history")).content.decode()
    for kind in ("role_added", "membership_removed", "password_set", "login"):
        assert f'data-kind="{kind}" data-account="{history.username}"' in page, kind
    assert "Left the SZ team" in page


def test_account_trail_page_names_what_happened_in_the_users_language(client, admin_user, history):
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("accounts:history")).content.decode()
    for label in ("已添加角色", "已移除中心成员资格", "密码已设置", "已登录"):
        assert label in page, label
    assert ">role_added<" not in page and ">password_set<" not in page  # codes stay in data attributes only


def test_account_trail_page_is_refused_to_clinical_roles(client, staff_site_a):
    client.force_login(staff_site_a)
    assert client.get(reverse("accounts:history")).status_code == 403


def _links_written() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_verify_audit_detects_an_altered_user_change_event(admin_user, monitor):
    account_update(user=monitor, data={"email": "new-address@example.org"}, by=admin_user, reason="New address")
    _links_written()
    call_command("verify_audit", stdout=StringIO())
    event = AuditedUser.pgh_event_model.objects.filter(pgh_obj_id=monitor.pk, pgh_label="update").last()
    link = AuditChainLink.objects.get(table_name=USER_EVENTS, event_id=event.pgh_id)
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{USER_EVENTS}" DISABLE TRIGGER USER')
        cursor.execute(f'UPDATE "{USER_EVENTS}" SET email = %s WHERE pgh_id = %s', ["x@evil.example", event.pgh_id])
        cursor.execute(f'ALTER TABLE "{USER_EVENTS}" ENABLE TRIGGER USER')
    with pytest.raises(CommandError, match=rf"link {link.seq} \({USER_EVENTS} {event.pgh_id}\)"):
        call_command("verify_audit", stdout=StringIO())


def test_membership_deletes_and_role_changes_are_chained(admin_user, site_a):
    nurse = make_user("nurse_chain", "site_staff", site_a)
    account_sites_set(user=nurse, sites=[], by=admin_user, reason="Left")
    account_roles_set(user=nurse, groups=[], by=admin_user, reason="Left")
    _links_written()
    tables = set(AuditChainLink.objects.values_list("table_name", flat=True))
    assert {SiteMembership.pgh_event_model._meta.db_table, "core_usergroupevent"} <= tables


def test_access_review_lists_accounts_flags_unused_and_records_the_review(client, admin_user, monitor, staff_site_a):
    type(monitor).objects.filter(pk=monitor.pk).update(last_login=timezone.now() - timedelta(days=91))
    type(staff_site_a).objects.filter(pk=staff_site_a.pk).update(last_login=timezone.now() - timedelta(days=3))
    client.force_login(admin_user)
    page = client.get(reverse("accounts:access_review")).content.decode()
    assert f'data-account="{monitor.username}" class="table-warning" data-unused="1"' in page
    assert f'data-account="{staff_site_a.username}">' in page
    response = client.post(reverse("accounts:access_review"), {"remarks": "Quarterly review; monitor to be asked"})
    assert response.status_code == 302
    review = AccountEvent.objects.get(kind=AccountEventKind.ACCESS_REVIEWED)
    assert review.user == admin_user and review.detail["unused_90_days"] == [monitor.username]
    assert "Quarterly review" in client.get(reverse("accounts:access_review")).content.decode()


def test_access_review_is_the_admins(client, statistician):
    client.force_login(statistician)
    assert client.get(reverse("accounts:access_review")).status_code == 403
