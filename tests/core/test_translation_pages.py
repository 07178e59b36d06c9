"""Pages in Chinese (English / 简体中文): after a user chooses Chinese the pages show no English from the
catalogue, messages and refusals follow the chosen language, and English stays the default for everyone
else (API clients too)."""

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.core.po_catalogue import COMMITTED, PLACEHOLDER

# Shown as stored, in no language: the audit trail's field names and old → new values (codes such as
# "eligible", which the catalogue also holds for messages).
STORED_VALUE_CLASSES = {"audit-field", "audit-old", "audit-new"}


class VisibleText(HTMLParser):
    """Text a reader sees (not scripts or styles), plus placeholders and tooltips, one piece per node."""

    def __init__(self):
        super().__init__()
        self.pieces: list[str] = []
        self._skipped: list[str] = []  # open tags whose text is not checked

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style") or STORED_VALUE_CLASSES & set((attributes.get("class") or "").split()):
            self._skipped.append(tag)
        for name in ("placeholder", "title", "aria-label"):
            if attributes.get(name):
                self.pieces.append(" ".join(attributes[name].split()))

    def handle_endtag(self, tag):
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()

    def handle_data(self, data):
        if not self._skipped and data.strip():
            self.pieces.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.pieces


# English kept on purpose: stored audit reasons (the record reads the same for everyone).
STORED_ENGLISH = {"Randomized"}


def _english_checks():
    """Untranslated English to look for: whole text nodes, and phrases of 3+ words inside text nodes."""
    exact, phrases = {}, []
    for (_context, msgid), entry in COMMITTED.items():
        if entry["obsolete"] or all(t == msgid for t in entry["msgstr"]):
            continue  # codes and abbreviations that Chinese writes the same way (β-hCG, BMI, CA-125)
        parts = [" ".join(part.split()).strip(" .,:;·—()") for part in PLACEHOLDER.split(msgid)]
        if not PLACEHOLDER.search(msgid):
            exact[" ".join(msgid.split())] = msgid
        phrases += [(msgid, re.compile(rf"(?<!\w){re.escape(part)}(?!\w)")) for part in parts if len(part.split()) >= 3]
    return exact, phrases


EXACT_ENGLISH, ENGLISH_PHRASES = _english_checks()


def _english_left(pieces: list[str]) -> list[str]:
    """Catalogue strings that appear untranslated among the visible pieces of a page."""
    pieces = [piece for piece in pieces if piece not in STORED_ENGLISH]
    found = [f"{EXACT_ENGLISH[piece]!r}" for piece in pieces if piece in EXACT_ENGLISH]
    text = "\n".join(pieces)
    return found + [f"{msgid!r} ({match.group(0)!r})" for msgid, rx in ENGLISH_PHRASES if (match := rx.search(text))]


@pytest.fixture
def trial_data(site_a, staff_site_a, investigator_site_a, monitor, statistician):
    """A randomized patient with every form, a consented one without baseline, an ineligible one, queries
    (automatic and manual) and a statistics snapshot."""
    from analysis import services as analysis_services
    from labs.services import lab_draw_record
    from outcomes import services as outcome_services
    from quality.services import query_raise
    from tests.factories import backdated_transfer, consented_patient, randomized_patient, screen

    patient = randomized_patient(site_a, staff_site_a, statistician)
    transfer = backdated_transfer(patient, staff_site_a, days_ago=40, embryos=2)
    drawn_at = timezone.make_aware(timezone.datetime.combine(transfer.transfer_date, timezone.datetime.min.time()))
    lab_draw_record(
        patient=patient,
        timepoint="BASELINE",
        drawn_at=drawn_at + timedelta(hours=8),
        entries=[("BHCG", "<2", "IU/L"), ("E2", "300", "pg/mL"), ("CA125", "50", "U/mL"), ("IL6", "3.1", "pg/mL")],
        by=staff_site_a,
    )
    outcome_services.outcome_record(
        patient=patient,
        data={
            "beta_hcg_positive": True,
            "beta_hcg_date": transfer.transfer_date + timedelta(days=14),
            "beta_hcg_value": Decimal("350"),
            "clinical_pregnancy": True,
            "ultrasound_date": transfer.transfer_date + timedelta(days=30),
            "gestational_sacs": 1,
            "fetal_heartbeat": True,
            "ectopic": False,
            "miscarriage": False,
        },
        by=staff_site_a,
    )
    outcome_services.adverse_event_record(
        patient=patient,
        data={
            "term": "injection_site_bruising",
            "term_other": "",
            "onset_date": transfer.transfer_date + timedelta(days=2),
            "resolution_date": None,
            "grade": 1,
            "serious": False,
            "related_to_dalteparin": "possible",
            "action_taken": "none",
            "outcome": "recovering",
        },
        by=staff_site_a,
    )
    outcome_services.questionnaire_record(
        patient=patient,
        instrument="SSRS",
        timepoint="BASELINE",
        completed_on=transfer.transfer_date,
        answers={"1": 2, "2": 4, "3": 3, "4": 3, "6": 2, "7": 3, "8": 2, "9": 3, "10": 2},
        by=staff_site_a,
    )
    query = query_raise(patient=patient, form="baseline", field="weight_kg", message="Please check.", by=monitor)
    consented = consented_patient(site_a, staff_site_a)
    screen(site_a, staff_site_a, eligible=False)
    job, _ = analysis_services.statistics_request()
    analysis_services.statistics_compute(job_id=job.pk)
    return {"patient": patient, "consented": consented, "query": query}


def _pages(data) -> dict[str, list[tuple[str, str, dict | None]]]:
    """Per persona: (method, url, POST data) of the main pages."""
    from patients.models import AllocationList

    study_id, other = data["patient"].study_id, data["consented"].study_id
    bad_csv = "study_id,timepoint,drawn_at,analyte,value,unit\nXX-9999,ET99,yesterday,FOO,-1,g\n"
    staff = [
        ("get", reverse("patients:list"), None),
        ("get", reverse("casebook:patient", args=[study_id]), None),
        ("get", reverse("casebook:history", args=[study_id]), None),
        ("get", reverse("patients:screen"), None),
        ("post", reverse("patients:screen"), {"full_name": ""}),
        ("get", reverse("patients:baseline", args=[other]), None),
        ("post", reverse("patients:baseline", args=[other]), {"height_cm": "300", "weight_kg": "20"}),
        ("get", reverse("labs:draw_create", args=[study_id]), None),
        ("get", reverse("labs:import"), None),
        ("post", reverse("labs:import"), {"file": ("labs.csv", bad_csv)}),
        ("get", reverse("outcomes:pregnancy", args=[study_id]), None),
        ("get", reverse("outcomes:ae_create", args=[study_id]), None),
        ("get", reverse("outcomes:questionnaire", args=[study_id, "RAND36", "BASELINE"]), None),
        ("get", reverse("outcomes:questionnaire", args=[study_id, "SSRS", "BASELINE"]), None),
        ("get", reverse("quality:queries"), None),
        ("get", reverse("quality:query", args=[data["query"].pk]), None),
        ("get", reverse("casebook:review", args=[study_id]), None),
        ("get", reverse("quality:missing"), None),
    ]
    return {
        "staff_site_a": staff,
        "investigator_site_a": [
            ("get", reverse("analysis:dashboard"), None),
            ("get", reverse("analysis:dashboard") + "?population=per_protocol", None),
            ("get", reverse("casebook:review", args=[study_id]), None),
            ("get", reverse("casebook:patient", args=[study_id]), None),
        ],
        "monitor": [
            ("get", reverse("patients:list"), None),
            ("get", reverse("casebook:patient", args=[study_id]), None),
            ("get", reverse("quality:queries"), None),
            ("get", reverse("quality:query", args=[data["query"].pk]), None),
            ("get", reverse("casebook:review", args=[study_id]), None),
            ("get", reverse("quality:missing"), None),
        ],
        "statistician": [
            ("get", reverse("analysis:dashboard"), None),
            ("get", reverse("allocation:overview"), None),
            ("get", reverse("allocation:detail", args=[AllocationList.objects.first().pk]), None),
            ("get", reverse("quality:database_lock"), None),
            ("get", reverse("casebook:history", args=[study_id]), None),
        ],
    }


def _choose(client, language: str) -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": reverse("patients:list")})
    assert response.status_code == 302


@pytest.mark.django_db
def test_after_choosing_chinese_the_staff_pages_show_no_english_from_the_catalogue(client, request, trial_data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    key_chinese = {
        reverse("patients:list"): "患者",
        reverse("casebook:patient", args=[trial_data["patient"].study_id]): "知情同意",
        reverse("patients:screen"): "入选资格核对表",
        reverse("analysis:dashboard"): "试验仪表板",
        reverse("casebook:review", args=[trial_data["patient"].study_id]): "病例报告表审阅",
        reverse("allocation:overview"): "随机分配表",
        reverse("quality:database_lock"): "数据库锁定",
        reverse("labs:import"): "导入检验结果",
    }
    problems = []
    for persona, pages in _pages(trial_data).items():
        client.force_login(request.getfixturevalue(persona))
        _choose(client, "zh-hans")
        for method, url, data in pages:
            if data and "file" in data:
                name, content = data["file"]
                data = {"file": SimpleUploadedFile(name, content.encode(), content_type="text/csv")}
            response = getattr(client, method)(url, data or {})
            assert response.status_code in (200, 400), (persona, url, response.status_code)
            html = response.content.decode()
            assert '<html lang="zh-hans">' in html, (persona, url)
            problems += [f"{persona} {method.upper()} {url}: {p}" for p in _english_left(visible_text(html))]
            if method == "get" and url in key_chinese:
                assert key_chinese[url] in html, (persona, url)
        client.logout()
    assert not problems, "\n".join(problems)


BASELINE_FORM = {
    "height_cm": "300",
    "weight_kg": "56",
    "previous_failed_transfers": "2",
    "prior_miscarriages": "0",
    "infertility_type": "primary",
    "infertility_years": "3",
    "education": "college_or_higher",
}


@pytest.mark.django_db
def test_messages_and_refusals_follow_the_chosen_language(client, site_a, staff_site_a):
    from tests.factories import consented_patient

    patient = consented_patient(site_a, staff_site_a)
    client.force_login(staff_site_a)
    _choose(client, "zh-hans")
    url = reverse("patients:baseline", args=[patient.study_id])
    assert "这个字段是必填项。" in client.post(url, {"height_cm": ""}).content.decode()  # Django's own messages too
    refused = client.post(url, BASELINE_FORM).content.decode()
    assert "300 cm 超出合理范围 120–220 cm。" in refused
    saved = client.post(url, {**BASELINE_FORM, "height_cm": "160"}, follow=True).content.decode()
    assert "基线已保存。" in saved


@pytest.mark.django_db
def test_english_is_the_default_and_can_be_chosen_back(client, staff_site_a):
    login = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in login and ">Log in</button>" in login
    assert 'action="/i18n/setlang/"' in login and ">中文</button>" in login  # the switcher, before logging in
    client.force_login(staff_site_a)
    assert '<h1 class="h3 mb-0">Patients</h1>' in client.get(reverse("patients:list")).content.decode()
    _choose(client, "zh-hans")
    assert '<h1 class="h3 mb-0">患者</h1>' in client.get(reverse("patients:list")).content.decode()
    _choose(client, "en")
    assert '<h1 class="h3 mb-0">Patients</h1>' in client.get(reverse("patients:list")).content.decode()


@pytest.mark.django_db
def test_api_clients_get_english_messages(client, site_a, staff_site_a):
    from knox.models import AuthToken

    from tests.factories import consented_patient

    patient = consented_patient(site_a, staff_site_a)
    _, token = AuthToken.objects.create(user=staff_site_a)
    response = client.post(
        f"/api/v1/patients/{patient.study_id}/baseline/",
        {
            "height_cm": "300",
            "weight_kg": "60",
            "previous_failed_transfers": 2,
            "prior_miscarriages": 0,
            "infertility_type": "primary",
            "infertility_years": "3",
            "education": "college_or_higher",
        },
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 400
    assert "300.0 cm is outside the plausible range 120–220 cm." in response.content.decode()
