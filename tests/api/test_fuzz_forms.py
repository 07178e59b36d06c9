"""Hostile-input fuzzing of every HTML form (issue 18): no 5xx, and a refused post saves nothing.

The forms are found, not listed: every page of tests/core/page_world.py's rule table is opened
(GET) by each role it serves, in that module's world (a patient with every form, a screened one, a query,
an allocation list, a statistics job), and every POST form on it is kept with the roles that may post to
its action. Each form is then posted by hypothesis with each field either as the page filled it (so later
checks are reached) or hostile: control characters, long text, huge and non-ASCII numbers, impossible dates,
garbage files. A post that is not a redirect (the forms' success) must leave every clinical table and its
audit events as they were. Each post runs in a rolled-back savepoint; session cookies are restored after it.

FUZZ_EXAMPLES sets the examples per form (default 3); the module reports its cases, 5xx count and time.
"""

import os
from collections import Counter
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, resolve, reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.api.fuzz_report import tally_report
from tests.core.hostile import HOSTILE_TEXT, row_counts
from tests.core.page_world import PAGES, World, build_world, client_for
from tests.module_data import module_data

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
TALLY: Counter = Counter()
# Posts that would end or move the test client's session or language for the following cases, or that
# need what only another flow hands out (a set-password link's token, a checked upload's hash).
NOT_FUZZED = {"logout", "login", "set_language", "accounts:set_password"}
# Pages with a POST rule but no form of their own to fuzz (a GET filter, a plain page, a hidden route).
NO_FORM = {
    "home",
    "about",
    "patients:list",
    "casebook:patient",
    "casebook:history",
    "quality:queries",
    "quality:missing",
    "allocation:overview",
    "allocation:detail",  # the world's list is live: its page offers only the extension (allocation:extend)
    "allocation:go_live",
    "analysis:dashboard",
    "analysis:table_csv",
    "analysis:job",
    "accounts:history",
    "accounts:approvals",
    "accounts:approval_decide",
    "accounts:set_password",
    "labs:import_confirm",
    "tokens:revoke",
    "tokens:locked_accounts",
    "patients:randomization_error",
    *NOT_FUZZED,
}


world = module_data(build_world)


tally = tally_report("Form fuzz", TALLY)


# --- Finding the forms ------------------------------------------------------------------------------------


class FormParser(HTMLParser):
    """POST forms of a page: action and fields (name → kind, value as filled in, choices)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            post = (a.get("method") or "get").lower() == "post"
            self._form = {"action": a.get("action") or "", "fields": {}} if post else None
            return
        if self._form is None or not a.get("name"):
            return
        fields, name = self._form["fields"], a["name"]
        if tag == "input":
            self._input(fields, name, a)
        elif tag == "select":
            self._select = name
            fields.setdefault(name, {"kind": "select", "value": None, "choices": []})
        elif tag == "option" and self._select:
            field = fields[self._select]
            field["choices"].append(a.get("value", ""))
            if "selected" in a or field["value"] is None:
                field["value"] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            fields.setdefault(name, {"kind": "textarea", "value": "", "choices": []})

    @staticmethod
    def _input(fields: dict, name: str, a: dict) -> None:
        kind = (a.get("type") or "text").lower()
        field = fields.setdefault(name, {"kind": kind, "value": None, "choices": []})
        if kind in ("radio", "checkbox"):
            field["choices"].append(a.get("value") or "on")
            if "checked" in a:
                field["value"] = a.get("value") or "on"
        elif kind not in ("submit", "button"):
            field["value"] = a.get("value") or ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea]["value"] += data

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _url_name(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name


def discover(world: World) -> dict[tuple[str, str], dict]:
    """(role, action URL) → fields, for every POST form a role may post that a page shows it."""
    found = {}
    for name, page in sorted(PAGES.items()):
        if not page.get or name in NOT_FUZZED:
            continue
        url = reverse(name, kwargs=page.kwargs(world))
        for role in sorted(page.get):
            response = client_for(world, role).get(url)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            parser = FormParser()
            parser.feed(response.content.decode())
            for form in parser.forms:
                action = form["action"] or url
                target = _url_name(action)
                if target and target not in NOT_FUZZED and role in (PAGES[target].post or ()):
                    fields = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
                    found.setdefault((role, action), {"name": target, "fields": fields})
    return found


@pytest.fixture(scope="module")
def forms(world):
    return discover(world)


def test_every_page_with_a_post_rule_has_its_forms_found(forms):
    """A new form is fuzzed without anyone listing it; a page that posts but shows none is named here."""
    found = {form["name"] for form in forms.values()}
    posting = {name for name, page in PAGES.items() if page.post}
    assert posting - found <= NO_FORM, sorted(posting - found - NO_FORM)
    assert {"patients:screen", "labs:draw_create", "outcomes:ae_create", "quality:query"} <= found


# --- Posting them ---------------------------------------------------------------------------------------

CONTROL_TEXT = st.builds(
    lambda before, character, after: before + character + after,
    st.text(max_size=5),
    st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x1f", "\t", "\r\n"]),
    st.text(max_size=5),
)
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    CONTROL_TEXT,
    st.integers(min_value=1500, max_value=6000).map(lambda n: "x" * n),
    st.sampled_from(["9" * 30, "-9" * 15, "1e400", "٣٢", "²", "2147483648", "32768", "-32769"]),
)
CSV_HEADER = b"study_id,timepoint,drawn_at,analyte,value,unit\n"
HOSTILE_FILE = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda text: CSV_HEADER + text.encode("utf-8", "surrogatepass")),
    st.just(CSV_HEADER + b"SZ-0001\x00,BASELINE,2025-03-14T08:30:00+08:00,FSH,1e400,IU/L\n"),
)


def _field_strategy(field: dict):
    if field["kind"] == "file":
        return HOSTILE_FILE.map(lambda content: SimpleUploadedFile("fuzz.csv", content, "text/csv"))
    filled = st.just(field["value"]) if field["value"] is not None else st.none()
    choices = [st.sampled_from(field["choices"])] if field["choices"] else []
    return st.one_of(filled, *choices, st.none(), HOSTILE)


def _post_data(fields: dict):
    strategies = {name: _field_strategy(field) for name, field in fields.items()}
    return st.fixed_dictionaries(strategies).map(lambda data: {k: v for k, v in data.items() if v is not None})


def _post(client, action: str, data: dict, failures: dict, name: str) -> None:
    cookies = SimpleCookie(client.cookies.output(header="", sep="\n"))
    before = row_counts()
    with transaction.atomic():
        try:
            response = client.post(action, data)
        except Exception as error:  # the test client re-raises a view's exception: a 500 for the user
            TALLY["cases"] += 1
            TALLY["5xx"] += 1
            failures.setdefault((name, type(error).__name__), f"{name}: {error!r} for {data!r}"[:800])
            transaction.set_rollback(True)
            return
        after = row_counts()
        transaction.set_rollback(True)
    client.cookies = cookies
    TALLY["cases"] += 1
    if response.status_code >= 500:
        TALLY["5xx"] += 1
        failures.setdefault((name, response.status_code), f"{name}: {response.status_code} for {data!r}"[:800])
    elif response.status_code != 302 and after != before:
        failures.setdefault((name, "saved"), f"{name}: {response.status_code} but saved, for {data!r}"[:800])


ROLES = sorted({role for page in PAGES.values() for role in (page.get or ())})


@pytest.mark.parametrize("role", ROLES)
def test_every_form_a_role_may_post_refuses_hostile_input_without_a_5xx_or_a_save(world, forms, role):
    client, failures = client_for(world, role), {}
    for (who, action), form in sorted(forms.items()):
        if who == role:
            _fuzz(client, action, form, failures)
    assert not failures, "\n".join(failures.values())


def _fuzz(client, action: str, form: dict, failures: dict) -> None:
    @given(data=_post_data(form["fields"]))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def post(data):
        _post(client, action, data, failures, form["name"])

    post()
