"""Web security: CSP and security headers, no inline script, CSRF on every form, session rotation at login,
password policy, lockout logging without the password, and secrets only from the environment.

`manage.py check --deploy --fail-level WARNING` with the production environment, and production refusing to
start without DJANGO_SECRET_KEY, are tested in tests/core/test_settings.py.
"""

import ast
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.core.page_world import APP_PAGES, PAGES, ROLES, STAFF_A, build_world, client_for
from tests.factories import PASSWORD
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
# Templates that still carry inline styles (a <style> block or style="" attributes): the reason the CSP
# allows 'unsafe-inline' for styles. The list may only shrink; move their rules into static/css/app.css.
INLINE_STYLE_TEMPLATES = {
    "sampledata/about.html",
    "analysis/dashboard.html",
    "analysis/_dashboard_figures.html",  # the dashboard's own figures, split out to be cached per snapshot
    "quality/database_lock.html",
}


world = module_data(build_world)


# --- Headers ------------------------------------------------------------------------------------------


def _directives(header: str) -> dict[str, list[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {words[0]: words[1:] for words in parts}


def test_pages_send_a_strict_content_security_policy_and_security_headers(world):
    for response in (Client().get(reverse("login")), client_for(world, STAFF_A).get(reverse("patients:list"))):
        policy = _directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
        assert set(policy["img-src"]) == {"'self'", "data:"}
        assert "'unsafe-eval'" not in response["Content-Security-Policy"]
        # What a fully strict policy would block is reported (browser console) without breaking the page.
        assert _directives(response["Content-Security-Policy-Report-Only"])["style-src"] == ["'self'"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"


# --- What the pages contain ---------------------------------------------------------------------------


class _PageScan(HTMLParser):
    """Post forms without a CSRF token, inline scripts and event handlers, javascript: links, inline styles."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []  # post forms: {"line", "token"}
        self.problems: list[str] = []
        self.inline_style = False
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "get").lower() == "post":
            self.forms.append({"line": self.getpos()[0], "token": False})
        if tag == "input" and values.get("name") == "csrfmiddlewaretoken" and self.forms:
            self.forms[-1]["token"] = True
        if tag == "script":
            self._script = {"src": values.get("src"), "type": values.get("type") or "", "text": ""}
        if tag == "style" or "style" in values:
            self.inline_style = True
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline event handler {name}= on <{tag}> (line {self.getpos()[0]})")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}> (line {self.getpos()[0]})")

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script, self._script = self._script, None
            data_block = script["type"] == "application/json"  # json_script: data, never executed
            if not script["src"] and not data_block and script["text"].strip():
                self.problems.append(f"inline <script> code: {script['text'].strip()[:60]!r}")


def _scan(html: str) -> _PageScan:
    scan = _PageScan()
    scan.feed(html)
    return scan


def _rendered_pages(world, role):
    client = client_for(world, role)
    for name in APP_PAGES:
        url = reverse(name, kwargs=PAGES[name].kwargs(world))
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            yield url, response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_every_rendered_post_form_has_a_csrf_token_and_no_page_runs_inline_script(world, role):
    problems, forms = [], 0
    for url, html in _rendered_pages(world, role):
        scan = _scan(html)
        forms += len(scan.forms)
        problems += [
            f"{url}: post form at line {f['line']} has no csrfmiddlewaretoken" for f in scan.forms if not f["token"]
        ]
        problems += [f"{url}: {problem}" for problem in scan.problems]
    assert not problems, "\n".join(problems)
    assert forms >= 5  # every page has the language switcher and the logout form


def test_every_post_form_in_the_templates_has_a_csrf_token():
    """Forms a page renders only in some state are checked in the source as well."""
    missing = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        source = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>", source):
            if not re.search(r"""method\s*=\s*["']?post""", match.group(0), re.IGNORECASE):
                continue
            form_end = source.find("</form>", match.end())
            if "{% csrf_token %}" not in source[match.end() : form_end if form_end != -1 else None]:
                line = source.count("\n", 0, match.start()) + 1
                missing.append(f"{template.relative_to(TEMPLATES)}:{line}")
    assert not missing, f"post forms without {{% csrf_token %}}: {missing}"


def test_no_template_holds_inline_script_and_inline_styles_do_not_spread():
    scripts, styles = [], set()
    for template in sorted(TEMPLATES.rglob("*.html")):
        scan = _scan(template.read_text(encoding="utf-8"))
        name = str(template.relative_to(TEMPLATES))
        scripts += [f"{name}: {problem}" for problem in scan.problems if "script" in problem or "handler" in problem]
        if scan.inline_style:
            styles.add(name)
    assert not scripts, "\n".join(scripts)
    new = styles - INLINE_STYLE_TEMPLATES
    assert not new, f"new inline styles (move them to static/css/app.css): {sorted(new)}"


def test_the_api_docs_page_runs_no_inline_script(world):
    html = client_for(world, STAFF_A).get(reverse("api-docs")).content.decode()
    assert not _scan(html).problems


def test_every_page_refuses_a_post_without_a_csrf_token(world):
    """No view is exempt: the whole site, login and language switch included, needs the token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[STAFF_A])
    accepted = []
    for name in APP_PAGES:
        url = reverse(name, kwargs=PAGES[name].kwargs(world))
        if client.post(url, {}).status_code != 403:
            accepted.append(url)
    assert not accepted, f"POST without a CSRF token accepted by {accepted}"
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("login"), {"username": "staff_a", "password": PASSWORD}).status_code == 403


def test_the_api_needs_the_csrf_token_with_a_session_but_not_with_a_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[STAFF_A])
    assert client.post(reverse("api-statistics-recompute")).status_code == 403
    assert client.post(reverse("api-token"), {"username": "staff_a", "password": PASSWORD}).status_code == 200


# --- Sessions, passwords, lockout ---------------------------------------------------------------------


def test_logging_in_gives_a_new_session_key(client, staff_site_a):
    """A session fixed before login (e.g. planted by an attacker) is not the one that gets signed in."""
    before = SessionStore()
    before["planted"] = True
    before.create()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key
    response = client.post(reverse("login"), {"username": staff_site_a.username, "password": PASSWORD})
    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before.session_key
    assert not SessionStore().exists(before.session_key)
    assert client.get(reverse("patients:list")).status_code == 200


def test_logging_out_ends_the_session_key(client, staff_site_a):
    client.post(reverse("login"), {"username": staff_site_a.username, "password": PASSWORD})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))
    assert not SessionStore().exists(key)


@pytest.mark.parametrize(
    "password",
    [
        "Xk9#mQ2!vLp",  # 11 characters: one short
        "password1234",  # common
        "739184650273",  # numbers only
        "staff_a@example.org",  # the user's own e-mail address
    ],
)
def test_the_password_policy_refuses_weak_passwords(staff_site_a, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=staff_site_a)


def test_the_password_policy_accepts_twelve_unrelated_characters(staff_site_a):
    validate_password("Xk9#mQ2!vLpz", user=staff_site_a)
    lengths = [v["OPTIONS"]["min_length"] for v in settings.AUTH_PASSWORD_VALIDATORS if "OPTIONS" in v]
    assert lengths == [12]


def test_a_lockout_is_logged_without_the_password(client, staff_site_a, caplog):
    caplog.set_level(logging.DEBUG)
    secret_attempt = "Not-The-Password-7q"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": staff_site_a.username, "password": secret_attempt})
    locked = client.post(reverse("login"), {"username": staff_site_a.username, "password": PASSWORD})
    assert locked.status_code == 429
    lockouts = [r for r in caplog.records if "Locking out" in r.getMessage()]
    assert lockouts and lockouts[0].levelno >= logging.WARNING
    assert staff_site_a.username in lockouts[0].getMessage()  # whose account: the operator must know
    written = "\n".join(r.getMessage() for r in caplog.records)
    assert secret_attempt not in written and PASSWORD not in written
    from axes.models import AccessAttempt

    stored = "".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert stored and secret_attempt not in stored and PASSWORD not in stored


# --- Secrets ------------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|PRIVATE", re.IGNORECASE)
DEVELOPMENT_KEY_MARKER = "insecure-development-key"


def _string_assignments(tree: ast.AST):
    """(target name, string literal) for every assignment of a literal string, also inside dict literals."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                    yield target.id, node.value.value
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                    yield str(key.value), value.value


def test_settings_hold_no_literal_secret():
    """Secrets come from the environment; the one literal key is the development fallback, refused in production."""
    source = (ROOT / "ivf_trial" / "settings.py").read_text(encoding="utf-8")
    literals = [
        (name, value)
        for name, value in _string_assignments(ast.parse(source))
        if SECRET_NAME.search(name) and isinstance(value, str) and value
    ]
    assert all(DEVELOPMENT_KEY_MARKER in value for _, value in literals), literals
    assert not re.search(r"postgres(ql)?://[^@/\s]*:[^@/\s]+@", source), "a database password in settings.py"
    assert not re.search(r"redis://:[^@/\s]+@", source), "a Redis password in settings.py"
    # The development key is only ever used in development mode (production refuses to start without a
    # real DJANGO_SECRET_KEY: tests/core/test_settings.py).
    assert "if DEVELOPMENT:\n    SECRET_KEY = SECRET_KEY or " in source
    assert "elif _key_problem := secret_key_problem(SECRET_KEY):\n    raise ImproperlyConfigured" in source
