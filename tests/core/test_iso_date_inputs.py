"""Every form's date and date-time inputs hold ISO values in English and in Chinese (issue: in Chinese,
Django's localized 2023/03/11 left <input type="date"> empty in the browser, so no correction could be
saved). The test client would accept 2023/03/11 on the way back; only the value's shape shows the fault."""

import re

import pytest
from django.urls import reverse

from tests.core.page_world import PAGES, STAFF_A, build_world, client_for, request_in_savepoint
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)

DATE_INPUT = re.compile(r'<input\b[^>]*\btype="(date|datetime-local)"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')
ISO = {"date": re.compile(r"\d{4}-\d{2}-\d{2}"), "datetime-local": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")}
# The main patient has every form, so these correction forms show stored dates (the rest start empty; her
# pregnancy outcome is a negative β-hCG without dates: tests/browser/test_chinese_corrections.py corrects one
# with dates).
CORRECTIONS_WITH_DATES = {
    "patients:identity",
    "patients:consent",
    "patients:transfer",
    "outcomes:ae_edit",
    "outcomes:questionnaire",
}
FORM_PAGES = sorted(name for name, page in PAGES.items() if page.get and STAFF_A in page.get and page.ok_get == 200)


def date_inputs(html: str) -> list[tuple[str, str]]:
    """(input type, value) of every date and date-time input of a page; an input without value gives ""."""
    found = []
    for match in DATE_INPUT.finditer(html):
        value = VALUE.search(match.group(0))
        found.append((match.group(1), value.group(1) if value else ""))
    return found


def test_the_reader_finds_localized_values():
    html = '<input type="date" name="d" value="2023/03/11"><input name="x" type="datetime-local">'
    assert date_inputs(html) == [("date", "2023/03/11"), ("datetime-local", "")]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_form_renders_its_dates_as_iso(world, language):
    client = client_for(world, STAFF_A)
    client.cookies["django_language"] = language
    valued, not_iso = set(), []
    for name in FORM_PAGES:
        response = request_in_savepoint(client, "get", reverse(name, kwargs=PAGES[name].kwargs(world)))
        assert response.status_code == 200, name
        for kind, value in date_inputs(response.content.decode()):
            if value:
                valued.add(name)
                if not ISO[kind].fullmatch(value):
                    not_iso.append(f"{name}: {kind} {value!r}")
    assert not_iso == []
    assert valued >= CORRECTIONS_WITH_DATES  # the pages that must show stored dates did show them
