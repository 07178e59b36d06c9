"""The Django admin in the page walk: only the admin persona gets in, and inside only to what its role allows.

One rule derived from the role declarations (core.roles): only the `admin` persona (is_staff) gets past
the admin's login, and inside it only to the models its role may view, add or change (no delete
anywhere); every other role is sent to the admin login. Checking each admin URL keeps a model registered
later, or a permission added to the admin role, from widening that silently.

The admin URLs come from the project's URL walk in tests/core/page_world.py (ADMIN_PAGES), checked in
the same world as the app's pages; every request runs in its own rolled-back savepoint.
"""

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.urls import reverse

from tests.core.page_world import ADMIN, ADMIN_PAGES, ROLES, World, build_world, client_for, request_in_savepoint
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)


# --- Expectations ---------------------------------------------------------------------------------------


def _admin_model_permission(name: str) -> tuple[str, str] | None:
    """admin:<app>_<model>_<view> → ("<app>.<model>", view), for the URL names of registered models."""
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return f"{model._meta.app_label}.{model._meta.model_name}", name.removeprefix(prefix)
    return None


def admin_expected(name: str) -> frozenset[int]:
    """What the admin persona gets on one admin page, from the permissions of its role (core.roles)."""
    from core.roles import ADMIN as ADMIN_ROLE
    from core.roles import ROLE_PERMISSIONS

    found = _admin_model_permission(name)
    if found is None:
        return ADMIN_OTHER_PAGES[name]
    model, view = found
    app, model_name = model.split(".")
    held = {a for a in ("view", "add", "change", "delete") if f"{app}.{a}_{model_name}" in ROLE_PERMISSIONS[ADMIN_ROLE]}
    needs = {"add": {"add"}, "delete": {"delete"}, "password_change": {"change"}}.get(view, {"view", "change"})
    if view == "history" and not django_apps.get_model(model).objects.exists():
        return frozenset({302})  # a missing object is redirected to the index before permissions are asked
    if not held & needs:
        return frozenset({403})
    return frozenset({200})


ADMIN_OTHER_PAGES = {
    "admin:index": frozenset({200}),
    "admin:login": frozenset({302}),  # already signed in as staff: on to the index
    "admin:logout": frozenset({405}),  # POST only
    "admin:password_change": frozenset({200}),
    "admin:password_change_done": frozenset({200}),
    "admin:jsi18n": frozenset({200}),
    "admin:autocomplete": frozenset({403}),  # without a model to complete
    "admin:view_on_site": frozenset({404}),  # no model here has a public page
    "admin:app_list": frozenset({200}),  # app "core"; apps without a permitted model answer 404
}


def _admin_url(world: World, name: str) -> str:
    if name == "admin:app_list":
        return reverse(name, kwargs={"app_label": "core"})
    if name == "admin:view_on_site":
        return "/admin/r/1/1/"
    found = _admin_model_permission(name)
    if found and found[1] in ("change", "delete", "history", "password_change"):
        model = django_apps.get_model(found[0])
        pk = model.objects.order_by("pk").values_list("pk", flat=True).first() or 999_999  # none: a missing one
        kwargs = {"id": pk} if found[1] == "password_change" else {"object_id": pk}
        return reverse(name, kwargs=kwargs)
    return reverse(name)


# --- Tests ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_the_admin_persona_gets_into_the_admin(world, role):
    client = client_for(world, role)
    failures = []
    for name in ADMIN_PAGES:
        url = _admin_url(world, name)
        status = request_in_savepoint(client, "get", url).status_code
        if role == ADMIN:
            want = admin_expected(name)
        elif name == "admin:login":
            want = frozenset({200})  # the admin's login form, saying this account may not enter
        else:
            want = frozenset({302})  # to the admin's login, before anything else (even a wrong method)
        if status not in want:
            failures.append(f"GET {url} ({name}) as {role}: expected {sorted(want)}, got {status}")
    assert not failures, "\n".join(failures)


def test_admin_apps_without_a_permitted_model_do_not_exist_for_the_admin_persona(world):
    client = client_for(world, ADMIN)
    assert client.get("/admin/core/").status_code == 200
    for app in ("knox", "axes", "analysis"):
        assert client.get(f"/admin/{app}/").status_code == 404, app
