"""Four eyes on identity: an account the admin creates can do nothing with identity until a site investigator
approves, and it logs in only after setting its own password from the one-time link."""

import re
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from core.access_grants import access_grant_decide, account_roles_set, account_sites_set
from core.accounts import account_password_link_send
from core.models import AccessGrant, AccountEvent, AccountEventKind, AuditedUser, GrantStatus
from tests.core.test_admin_separation import _account_form
from tests.factories import PASSWORD, make_user, screen

pytestmark = pytest.mark.django_db

SECRET_NAME = "Puppet Target Wang"
NEW_PASSWORD = "a-long-own-password-42"


@pytest.fixture
def sz_patient(site_a, staff_site_a):
    return screen(site_a, staff_site_a, full_name=SECRET_NAME, medical_record_number="MRN-PUPPET-1")


def _admin_creates(client, admin_user, site, *roles: str):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newnurse",
            "email": "newnurse@example.org",
            "is_active": "on",
            "roles": [Group.objects.get(name=r).pk for r in roles],
            "sites": [site.pk],
            "reason": "New research nurse at SZ",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return get_user_model().objects.get(username="newnurse")


def _link_from(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def _set_password(link: str) -> Client:
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("accounts:set_password_done")
    return client


def _login(username: str, password: str) -> Client | None:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client if response.status_code == 302 else None


def test_puppet_account_reads_no_identity_until_a_site_investigator_approves(
    client, admin_user, site_a, sz_patient, investigator_site_a, mailoutbox
):
    nurse = _admin_creates(client, admin_user, site_a, "site_staff")
    # Nothing applied: the role and the membership wait for approval; the admin never saw a password.
    assert not nurse.groups.exists() and not nurse.site_memberships.exists()
    assert not nurse.has_usable_password()
    assert AccessGrant.objects.filter(user=nurse, status=GrantStatus.PENDING).count() == 2
    assert _login("newnurse", "") is None
    # The link arrives by e-mail to the new account only, and sets its own password.
    (message,) = mailoutbox
    assert message.to == ["newnurse@example.org"]
    nurse_client = _set_password(_link_from(message))
    nurse_client = _login("newnurse", NEW_PASSWORD)
    assert nurse_client is not None
    detail = reverse("casebook:patient", kwargs={"study_id": sz_patient.study_id})
    assert nurse_client.get(detail).status_code == 404
    assert SECRET_NAME not in nurse_client.get(reverse("patients:list")).content.decode()
    # The admin cannot approve: the approvals page and the decision do not exist for it.
    assert client.get(reverse("accounts:approvals")).status_code == 404
    grant = AccessGrant.objects.filter(user=nurse).first()
    decision = {"decision": "approve", "reason": "Looks fine"}
    assert client.post(reverse("accounts:approval_decide", args=[grant.pk]), decision).status_code == 404
    assert not nurse.groups.exists()
    # SZ's investigator approves both, in the app, with reasons.
    investigator = Client()
    investigator.force_login(investigator_site_a)
    page = investigator.get(reverse("accounts:approvals")).content.decode()
    assert "newnurse" in page
    for grant in AccessGrant.objects.filter(user=nurse, status=GrantStatus.PENDING).order_by("kind"):
        response = investigator.post(
            reverse("accounts:approval_decide", args=[grant.pk]),
            {"decision": "approve", "reason": "On the SZ delegation log since Monday"},
        )
        assert response.status_code == 302
    assert nurse_client.get(detail).status_code == 200
    assert SECRET_NAME in nurse_client.get(detail).content.decode()
    events = AccessGrant.pgh_event_model.objects.filter(user_id=nurse.pk, pgh_label="update")
    assert {(e.status, e.pgh_context.metadata["username"], e.pgh_context.metadata["reason"]) for e in events} == {
        ("approved", investigator_site_a.username, "On the SZ delegation log since Monday")
    }


def test_the_requester_and_the_account_cannot_approve_their_own_grant(site_a, investigator_site_a, staff_site_a):
    other = make_user("colleague", "investigator", site_a)
    newcomer = make_user("newcomer", "monitor")
    (grant,) = account_sites_set(user=newcomer, sites=[site_a], by=investigator_site_a, reason="Joins SZ").requested
    with pytest.raises(PermissionDenied):
        access_grant_decide(grant=grant, approve=True, by=investigator_site_a, reason="Mine")
    staff_role = Group.objects.get(name="investigator")
    (own,) = account_roles_set(
        user=staff_site_a, groups=[staff_role], by=investigator_site_a, reason="Promote"
    ).requested
    with pytest.raises(PermissionDenied):
        access_grant_decide(grant=own, approve=True, by=staff_site_a, reason="Promote myself")
    access_grant_decide(grant=grant, approve=True, by=other, reason="Confirmed with the PI")
    assert newcomer.site_memberships.filter(site=site_a).exists()


def test_an_investigator_of_another_site_cannot_approve_a_membership(site_a, site_b, investigator_site_a):
    bj_investigator = make_user("investigator_bj", "investigator", site_b)
    newcomer = make_user("newcomer", "monitor")
    (grant,) = account_sites_set(user=newcomer, sites=[site_a], by=bj_investigator, reason="Joins SZ").requested
    other_bj = make_user("investigator_bj2", "investigator", site_b)
    with pytest.raises(PermissionDenied):
        access_grant_decide(grant=grant, approve=True, by=other_bj, reason="Not my site")


def test_unblinded_role_needs_a_statistician(admin_user, statistician, investigator_site_a):
    newcomer = make_user("newcomer", "monitor")
    role = Group.objects.get(name="statistician")
    (grant,) = account_roles_set(user=newcomer, groups=[role], by=admin_user, reason="Second statistician").requested
    assert not newcomer.has_perm("core.view_unblinded_results")
    with pytest.raises(PermissionDenied):
        access_grant_decide(grant=grant, approve=True, by=investigator_site_a, reason="Not mine to give")
    access_grant_decide(grant=grant, approve=True, by=statistician, reason="Backup for the analysis")
    assert get_user_model().objects.get(pk=newcomer.pk).has_perm("core.view_unblinded_results")


def test_operator_decides_the_first_investigator_of_a_site(admin_user, site_b):
    first = make_user("first_pi", "monitor")
    role = Group.objects.get(name="investigator")
    account_roles_set(user=first, groups=[role], by=admin_user, reason="PI of BJ")
    account_sites_set(user=first, sites=[site_b], by=admin_user, reason="PI of BJ")
    for grant in AccessGrant.objects.filter(user=first, status=GrantStatus.PENDING):
        call_command("access_decide", str(grant.pk), "approve", reason="Signed delegation log seen", stdout=StringIO())
    first = get_user_model().objects.get(pk=first.pk)
    assert first.has_perm("core.approve_site_access") and first.site_memberships.filter(site=site_b).exists()


def test_the_link_works_once(admin_user, monitor, mailoutbox):
    account_password_link_send(user=monitor, by=admin_user, base_url="http://testserver", reason="Forgot it")
    link = _link_from(mailoutbox[0])
    _set_password(link)
    assert _login(monitor.username, NEW_PASSWORD) is not None
    again = Client().get(link, follow=True)
    assert 'id="link-invalid"' in again.content.decode()


def test_the_link_expires(admin_user, monitor, mailoutbox, monkeypatch):
    account_password_link_send(user=monitor, by=admin_user, base_url="http://testserver", reason="Forgot it")
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    page = Client().get(_link_from(mailoutbox[0]), follow=True)
    assert 'id="link-invalid"' in page.content.decode()


def test_account_link_prints_a_working_link_and_is_audited(monitor):
    out = StringIO()
    call_command("account_link", monitor.username, stdout=out)
    _set_password(out.getvalue().strip())
    assert _login(monitor.username, NEW_PASSWORD) is not None
    event = AccountEvent.objects.get(user=monitor, kind=AccountEventKind.PASSWORD_LINK_ISSUED)
    assert event.detail == {"via": "server command"}
    audit = AccountEvent.pgh_event_model.objects.get(pgh_obj_id=event.pk)
    assert audit.pgh_context.metadata["username"] == "system" and audit.pgh_context.metadata["reason"]


def test_an_email_change_notifies_the_old_address(client, admin_user, monitor, mailoutbox):
    client.force_login(admin_user)
    old = monitor.email
    url = reverse("admin:auth_user_change", args=[monitor.pk])
    response = client.post(url, _account_form(monitor, email="someone-else@example.org", reason="New address"))
    assert response.status_code == 302
    (notice,) = mailoutbox
    assert notice.to == [old] and "someone-else@example.org" in notice.body
    event = AccountEvent.objects.get(user=monitor, kind=AccountEventKind.EMAIL_CHANGED)
    assert event.detail == {"old": old, "new": "someone-else@example.org"}


def test_a_user_changes_her_own_password_on_the_page(client, staff_site_a):
    client.force_login(staff_site_a)
    assert 'id="password-link"' in client.get(reverse("patients:list")).content.decode()
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.url == reverse("accounts:password_change_done")
    assert _login(staff_site_a.username, NEW_PASSWORD) is not None
    assert _login(staff_site_a.username, PASSWORD) is None
    events = AuditedUser.pgh_event_model.objects.filter(pgh_obj_id=staff_site_a.pk, pgh_label="password_set")
    event = events.select_related("pgh_context").last()
    assert event.pgh_context.metadata["username"] == staff_site_a.username
    assert event.pgh_context.metadata["reason"] == "Changed own password on the password page"
    assert not hasattr(event, "password")


def test_a_password_change_ends_the_users_api_tokens(client, staff_site_a):
    api = Client()
    issued = api.post("/api/v1/auth/token/", {"username": staff_site_a.username, "password": PASSWORD})
    assert issued.status_code == 200
    header = {"HTTP_AUTHORIZATION": f"Token {issued.json()['token']}"}
    assert api.get("/api/v1/sites/", **header).status_code == 200
    client.force_login(staff_site_a)
    client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert api.get("/api/v1/sites/", **header).status_code == 401


def test_an_admin_who_redirects_an_investigators_email_gets_an_account_that_sees_no_identity(
    client, admin_user, investigator_site_a, sz_patient, mailoutbox
):
    """The takeover: change her address to one's own, send a link, set her password, log in as her."""
    client.force_login(admin_user)
    url = reverse("admin:auth_user_change", args=[investigator_site_a.pk])
    form = _account_form(investigator_site_a, email="admin-owned@example.org", reason="Updated address")
    assert client.post(url, form).status_code == 302
    investigator_site_a.refresh_from_db()
    account_password_link_send(
        user=investigator_site_a, by=admin_user, base_url="http://testserver", reason="Asked by phone"
    )
    link = _link_from(next(m for m in mailoutbox if m.to == ["admin-owned@example.org"]))
    puppet = _set_password(link)
    login = puppet.post(reverse("login"), {"username": investigator_site_a.username, "password": NEW_PASSWORD})
    assert login.status_code == 302  # the password the admin set through the link works
    page = puppet.get(reverse("casebook:patient", args=[sz_patient.study_id]))
    assert SECRET_NAME not in page.content.decode()
    assert not investigator_site_a.groups.filter(name="investigator").exists()
    pending = AccessGrant.objects.get(user=investigator_site_a, status=GrantStatus.PENDING)
    assert pending.group.name == "investigator" and "admin" in pending.reason
