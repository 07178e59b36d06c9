"""Default deny: every URL pattern, enumerated from the resolver, turns anonymous users away."""

import re

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# The only pages an anonymous visitor may open (SPEC §1: login page, health endpoint, static files).
# set_language belongs to the login page: its language switcher (English / 中文) posts there before
# anyone is logged in. It only sets the language cookie and redirects; it shows no data.
# The one-time set-password link is opened before its account has a password (core.accounts).
ALLOWED_ANONYMOUS = {
    "login",
    "health",
    "api-token",
    "set_language",
    "accounts:set_password",
    "accounts:set_password_done",
}
# The admin's own login page is where the admin sends anonymous users; it is a login page too.
ADMIN_LOGIN = {"admin:login"}


def _walk(resolvers, prefix="", namespace=""):
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None


def _example_path(pattern: str) -> str:
    """A concrete path for a route pattern: converters and regex groups get a plausible value."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "SZ-0001" if "id" in m.group(1) else "1", pattern)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    path = re.sub(r"\(\?:[^)]*\)\??", "", path)
    return "/" + path.lstrip("/")


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r[0])


def test_the_crawl_covers_the_application():
    names = {name for _, name in ROUTES}
    assert {"patients:list", "casebook:patient", "casebook:history", "login", "health"} <= names
    assert len(ROUTES) > 30  # admin included


@pytest.mark.parametrize(("pattern", "name"), ROUTES, ids=[r[0] or "root" for r in ROUTES])
def test_anonymous_user_is_sent_to_login_or_refused(client, pattern, name):
    if name in ALLOWED_ANONYMOUS or name in ADMIN_LOGIN:
        pytest.skip(f"{name} is public by design")
    path = _example_path(pattern)
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        if response.status_code in (301, 302):
            location = response.headers["Location"]
            if location.endswith("/") and not location.startswith(("/accounts/login", "/admin/login")):
                # A slash-append or redirect view: follow once and judge where it lands.
                response = getattr(client, method)(location)
        if path.startswith("/api/"):
            assert response.status_code in (401, 405), f"{method.upper()} {path} gave {response.status_code}"
            continue
        assert response.status_code in (302, 401, 403, 405), f"{method.upper()} {path} gave {response.status_code}"
        if response.status_code == 302:
            location = response.headers["Location"]
            assert location.startswith((settings.LOGIN_URL, "/accounts/login/", "/admin/login/")), location


def test_public_pages_are_really_public(client):
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/healthz/").json() == {"status": "ok", "database": "ok"}


def test_anonymous_user_may_choose_the_language_on_the_login_page(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_the_language_switch_does_not_redirect_off_the_site(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response.headers["Location"].startswith("https://evil.example")
