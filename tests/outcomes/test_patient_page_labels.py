"""The patient page names things as people read them (issue 20): time points by their label, questionnaire
scales by their name ("Role limitations due to physical health: 25", not `role_physical: 25.0`), and every
"Correct" link says what it corrects — in English and in Chinese."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from core.models import Timepoint
from outcomes.scoring import RAND36_SCALES, SCALE_LABELS, SSRS_SUBSCALES
from tests.factories import clinical_records, randomized_patient, with_transfer

pytestmark = pytest.mark.django_db
LANGUAGES = ["en", "zh-hans"]


class _Text(HTMLParser):
    """The text a reader sees (no tags, attributes, scripts or JSON data)."""

    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style") and self._hidden > 0

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def card(html: str, card_id: str) -> str:
    """One card of the patient page (from its id to the next card)."""
    start = html.index(f'id="{card_id}"')
    following = re.compile(r'<div class="card[ "]').search(html, start)
    return html[start : following.start() if following else None]


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    patient = with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)
    clinical_records(patient, staff_site_a)  # E2 and RAND-36 at baseline, an outcome, an adverse event
    return patient


def _page(client, user, patient, language: str) -> str:
    client.force_login(user)
    client.cookies["django_language"] = language
    response = client.get(reverse("casebook:patient", args=[patient.study_id]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_time_points_show_their_labels_not_their_codes(client, staff_site_a, patient, language):
    html = _page(client, staff_site_a, patient, language)
    labs, questionnaires = visible_text(card(html, "labs-card")), visible_text(card(html, "questionnaire-card"))
    with translation.override(language):
        labels = [gettext(tp.label) for tp in Timepoint.objects.all()]
    headers = re.findall(r'<th data-timepoint="\w+">([^<]*)</th>', html)
    assert headers == labels
    assert labels[0] in questionnaires  # RAND36 at baseline, and the links to enter the others
    if language == "zh-hans":
        assert "基线（移植日，首次给药前）" in labs
    for code in Timepoint.objects.values_list("code", flat=True):
        assert code not in labs and code not in questionnaires


@pytest.mark.parametrize("language", LANGUAGES)
def test_questionnaire_scales_show_their_names(client, staff_site_a, patient, language):
    questionnaires = visible_text(card(_page(client, staff_site_a, patient, language), "questionnaire-card"))
    with translation.override(language):
        physical = gettext(SCALE_LABELS["physical_functioning"])
        role_physical = gettext(SCALE_LABELS["role_physical"])
    assert f"{physical}: 100 " in questionnaires  # items 3–12 all "not limited at all"; no "100.0"
    assert f"{role_physical}: —" in questionnaires  # not answered: not scored
    for key in RAND36_SCALES:
        assert key not in questionnaires


def test_every_scale_has_a_label():
    assert set(SCALE_LABELS) == set(RAND36_SCALES) | set(SSRS_SUBSCALES)
    assert SCALE_LABELS["role_physical"] == "Role limitations due to physical health"


def _links(html: str) -> dict[str, str]:
    """Link text → its aria-label, for the links of the page that have one."""
    found = {}
    for attrs, text in re.findall(r"<a\b([^>]*)>([^<]*)</a>", html):
        label = re.search(r'aria-label="([^"]*)"', attrs)
        if label:
            found[text.strip()] = label.group(1)
    return found


def test_correct_links_name_what_they_correct(client, staff_site_a, patient):
    html = _page(client, staff_site_a, patient, "en")
    links = _links(html)
    baseline = "Baseline (ET day, before the first dose)"
    for name in ("Correct identity", "Correct consent", "Correct baseline", "Correct transfer"):
        assert links[name] == name
    assert links["Correct pregnancy outcome"] == "Correct pregnancy outcome"
    assert links["Correct E2"] == f"Correct E2 at {baseline}"
    assert links["Correct RAND36"] == f"Correct RAND36 at {baseline}"
    assert links["Follow up"].startswith("Follow up adverse event: Injection-site bruising, onset ")
    assert not re.search(r">\s*[Cc]orrect\s*<", html)  # no bare "correct" beside a value


def test_correct_links_are_named_in_chinese_too(client, staff_site_a, patient):
    html = _page(client, staff_site_a, patient, "zh-hans")
    with translation.override("zh-hans"):
        expected = gettext("Correct %(code)s at %(timepoint)s") % {
            "code": "E2",
            "timepoint": gettext("Baseline (ET day, before the first dose)"),
        }
    assert f'aria-label="{expected}"' in html
    assert "基线（移植日，首次给药前）" in expected
