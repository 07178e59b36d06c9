"""Roles are declared once in code and synced to groups idempotently."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from core.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def _group_permissions():
    return {
        g.name: {f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.select_related("content_type")}
        for g in Group.objects.all()
    }


def test_setup_roles_creates_the_five_roles_with_exactly_their_permissions():
    call_command("setup_roles")
    assert _group_permissions() == ROLE_PERMISSIONS
    assert set(ROLE_PERMISSIONS) == {"site_staff", "investigator", "monitor", "statistician", "admin"}


def test_setup_roles_repairs_drift_and_is_idempotent():
    call_command("setup_roles")
    Group.objects.get(name="monitor").permissions.clear()
    call_command("setup_roles")
    call_command("setup_roles")
    assert _group_permissions() == ROLE_PERMISSIONS


def test_only_site_roles_see_identity_and_only_statistician_sees_allocation():
    with_phi = {role for role, perms in ROLE_PERMISSIONS.items() if "core.view_identity" in perms}
    assert with_phi == {"site_staff", "investigator"}
    assert {r for r, p in ROLE_PERMISSIONS.items() if "core.view_allocation" in p} == {"statistician"}
    assert not any("core.enter_clinical_data" in ROLE_PERMISSIONS[r] for r in ("monitor", "statistician", "admin"))
