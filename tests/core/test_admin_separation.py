"""Separation of duties in the admin: the administrator manages accounts but never reaches identity.

Played as the attacker: the admin persona tries to give itself a role, a site membership or the superuser
flag through every admin page that could write one, then looks for an SZ patient's identity.
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AccessGrant, SiteMembership, Timepoint, Trial
from tests.factories import screen

pytestmark = pytest.mark.django_db

SECRET = {"full_name": "Secret Xu Lan", "medical_record_number": "MRN-SECRET-77", "phone": "+86 755 7777 1234"}


@pytest.fixture
def sz_patient(site_a, staff_site_a):
    return screen(site_a, staff_site_a, **SECRET)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _group(name: str) -> Group:
    return Group.objects.get(name=name)


def _account_form(user, **overrides) -> dict:
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "roles": [g.pk for g in user.groups.all()],
        "sites": list(user.site_memberships.values_list("site_id", flat=True)),
        "reason": "Routine update",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def _assert_no_identity_reachable(client, patient) -> None:
    for name in ("casebook:patient", "casebook:history", "patients:identity", "patients:consent"):
        assert client.get(reverse(name, kwargs={"study_id": patient.study_id})).status_code == 404, name
    assert client.get(f"/api/v1/patients/{patient.study_id}/").status_code == 404
    pages = [reverse("patients:list"), reverse("quality:queries"), reverse("admin:index")]
    pages += [reverse("admin:auth_user_changelist"), reverse("admin:core_site_change", args=[patient.site_id])]
    for url in pages:
        body = client.get(url).content.decode()
        for value in SECRET.values():
            assert value not in body, (url, value)


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_admin_cannot_grant_itself_a_role_membership_or_superuser_on_its_change_form(
    admin_client, admin_user, site_a, sz_patient
):
    url = reverse("admin:auth_user_change", args=[admin_user.pk])
    attempts = [
        {"roles": [_group("admin").pk, _group("site_staff").pk]},
        {"roles": [_group("admin").pk, _group("monitor").pk]},
        {"sites": [site_a.pk]},
        {"is_superuser": "on"},
        {"is_superuser": "on", "user_permissions": [1, 2, 3]},
    ]
    for attempt in attempts:
        admin_client.post(url, _account_form(admin_user, **attempt))
        fresh = _fresh(admin_user)
        assert [g.name for g in fresh.groups.all()] == ["admin"], attempt
        assert not fresh.site_memberships.exists() and not fresh.is_superuser, attempt
        assert not fresh.user_permissions.exists(), attempt
    assert not AccessGrant.objects.filter(user=admin_user).exists()
    _assert_no_identity_reachable(admin_client, sz_patient)


def test_admin_refusal_comes_from_the_service_with_a_message(admin_client, admin_user, site_a):
    url = reverse("admin:auth_user_change", args=[admin_user.pk])
    response = admin_client.post(url, _account_form(admin_user, sites=[site_a.pk]), follow=True)
    assert "Nobody may change their own roles" in response.content.decode()


def test_admin_cannot_reach_identity_through_the_add_form_site_inline_or_other_admin_pages(
    admin_client, admin_user, site_a, sz_patient
):
    # The add form only creates other accounts; a new account with the admin's own user name is refused.
    admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "admin", "email": "a@example.org", "roles": [_group("site_staff").pk], "reason": "x"},
    )
    # The site's membership inline is read-only: a posted extra row is ignored (the site itself saves).
    saved = admin_client.post(
        reverse("admin:core_site_change", args=[site_a.pk]),
        {
            "code": site_a.code,
            "name": site_a.name,
            "time_zone": "Asia/Shanghai",
            "reason": "Adding myself",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": str(admin_user.pk),
            "memberships-0-site": str(site_a.pk),
            "_save": "Save",
        },
    )
    assert saved.status_code == 302  # a valid change, so the ignored row is ignored, not refused with the form
    # No page writes memberships, grants or group permissions directly.
    for url in ("/admin/core/sitemembership/add/", "/admin/core/accessgrant/add/"):
        assert admin_client.post(url, {"user": admin_user.pk, "site": site_a.pk}).status_code == 404
    group_change = reverse("admin:auth_group_change", args=[_group("site_staff").pk])
    assert admin_client.post(group_change, {"name": "site_staff", "permissions": []}).status_code == 403
    assert admin_client.get(f"/admin/auth/user/{admin_user.pk}/password/").status_code in (302, 404)
    fresh = _fresh(admin_user)
    assert [g.name for g in fresh.groups.all()] == ["admin"]
    assert not SiteMembership.objects.filter(user=admin_user).exists() and not fresh.is_superuser
    assert get_user_model().objects.filter(username="admin").count() == 1
    _assert_no_identity_reachable(admin_client, sz_patient)


def test_admin_cannot_make_another_account_superuser_or_set_its_password(admin_client, monitor):
    url = reverse("admin:auth_user_change", args=[monitor.pk])
    admin_client.post(url, _account_form(monitor, is_superuser="on", password="pw-chosen-by-admin-1"))
    fresh = _fresh(monitor)
    assert not fresh.is_superuser
    assert fresh.password == monitor.password
    body = admin_client.get(url).content.decode()
    assert 'name="is_superuser"' not in body and 'name="password' not in body and "user_permissions" not in body


def test_admin_may_not_change_a_superuser(admin_client):
    boss = get_user_model().objects.create_superuser("root", "root@example.org", "x-very-long-password-1")
    url = reverse("admin:auth_user_change", args=[boss.pk])
    response = admin_client.post(url, _account_form(boss, email="mine@example.org", is_staff="on"))
    assert response.status_code == 403
    assert _fresh(boss).email == "root@example.org"


def test_no_token_model_is_administered():
    labels = {model._meta.label_lower for model in admin.site._registry}
    assert not labels & {"authtoken.token", "authtoken.tokenproxy", "knox.authtoken"}


def test_locks_signatures_and_allocation_lists_change_only_through_their_services(admin_client):
    """No admin page for them: a lock is lifted by the unlock service with a reason, a list by its own pages."""
    service_owned = {
        "quality.databaselock",
        "quality.casebooklock",
        "quality.casebooksignature",
        "quality.sourceverification",
        "patients.allocationlist",
        "patients.allocationslot",
        "patients.randomization",
    }
    assert not {model._meta.label_lower for model in admin.site._registry} & service_owned
    for label in service_owned:
        app_label, model_name = label.split(".")
        assert admin_client.get(f"/admin/{app_label}/{model_name}/").status_code == 404, label


def test_trial_status_and_blinding_are_read_only_in_the_admin(admin_client):
    trial = Trial.objects.get()
    before = (trial.status, trial.results_blinded)
    url = reverse("admin:core_trial_change", args=[trial.pk])
    response = admin_client.post(
        url,
        {
            "name": trial.name,
            "registration_id": trial.registration_id,
            "target_sample_size": trial.target_sample_size,
            "allocation_ratio": trial.allocation_ratio,
            "status": "closed" if trial.status != "closed" else "recruiting",
            "results_blinded": "" if trial.results_blinded else "on",
            "reason": "Registry number corrected",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    trial.refresh_from_db()
    assert (trial.status, trial.results_blinded) == before
    assert 'name="status"' not in admin_client.get(url).content.decode()


def test_configuration_edits_need_and_record_the_admins_own_reason(admin_client, admin_user):
    point = Timepoint.objects.order_by("order").first()
    url = reverse("admin:core_timepoint_change", args=[point.pk])
    data = {
        "code": point.code,
        "label": "Renamed visit",
        "day_offset": point.day_offset,
        "window_before": point.window_before,
        "window_after": point.window_after,
        "order": point.order,
        "_save": "Save",
    }
    assert admin_client.post(url, data).status_code == 200  # re-shown: the reason is required
    point.refresh_from_db()
    assert point.label != "Renamed visit"
    assert admin_client.post(url, {**data, "reason": "Label as printed on the CRF v2"}).status_code == 302
    event = Timepoint.pgh_event_model.objects.filter(pgh_obj_id=point.pk).select_related("pgh_context").last()
    assert event.label == "Renamed visit"
    assert event.pgh_context.metadata["reason"] == "Label as printed on the CRF v2"
    assert event.pgh_context.metadata["username"] == admin_user.username
