"""The home page is each role's worklist (issue 20, item 3): counts and links per role, scoped to the user's
sites, in English and Chinese, at a number of queries that does not grow with the trial.

The world: site A (SZ) with casebooks in every state a worklist cares about, site B (BJ) with its own;
built once for the module, every test in its own savepoint.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core.readiness import lock_readiness
from core.worklists import worklist_for
from quality import catalogue, selectors
from quality import services as quality
from quality.models import DataQuery, QueryStatus
from tests.core.test_translation_pages import visible_text
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

ROLES = ("staff_a", "investigator_a", "staff_b", "investigator_b", "monitor", "statistician", "admin")
SECTION_KEYS = {"data_entry", "investigator", "monitor", "statistician", "accounts"}
# What each role's home shows: the section keys of its roles (an investigator also enters data and
# decides access requests at her site; the statistician decides unblinded access).
EXPECTED_SECTIONS = {
    "staff_a": {"data_entry"},
    "staff_b": {"data_entry"},
    "investigator_a": {"data_entry", "investigator", "accounts"},
    "investigator_b": {"data_entry", "investigator", "accounts"},
    "monitor": {"monitor"},
    "statistician": {"statistician", "accounts"},
    "admin": {"accounts"},
}


@dataclass(frozen=True)
class Home:
    users: dict
    ready: str  # screen failure, nothing open: ready to sign, its form not verified
    verified: str  # screen failure, screening verified: ready to sign
    queried: str  # an open query: not ready; staff answer it
    answered: str  # an answered query: not ready; the monitor closes it
    signed: str  # signed: nothing to do
    treated: str  # randomized, transfer 60 days ago: follow-up forms overdue; a serious adverse event
    site_b: tuple[str, ...]  # site B's patients: a ready casebook, an open and an answered query, an SAE


def _sign(patient, by):
    from tests.factories import PASSWORD

    request = RequestFactory().post("/")
    quality.casebook_sign(
        patient=patient, username=by.get_username(), password=PASSWORD, meaning="approval", by=by, request=request
    )


def _query(patient, monitor, *, answer_by=None):
    query = quality.query_raise(
        patient=patient, form="screening", field="screening_date", message="Date on the source?", by=monitor
    )
    if answer_by is not None:
        quality.query_answer(query=query, message="Checked: as on the source.", by=answer_by)
    return query


def _treated_with_sae(site, staff, statistician):
    from outcomes.services import adverse_event_record
    from tests import factories as f

    patient = f.randomized_patient(site, staff, statistician)
    f.backdated_transfer(patient, staff, days_ago=60)
    onset = timezone.localdate() - timedelta(days=3)
    serious = f.adverse_event_form(
        term="bleeding", grade=3, serious=True, onset_date=onset, resolution_date=None, outcome="recovering"
    )
    adverse_event_record(patient=patient, data=serious, by=staff)
    return patient


def _screen_failures(site, staff, n):
    from tests.factories import screen

    return [screen(site, staff, eligible=False) for _ in range(n)]


def build_home() -> Home:
    from analysis.services import statistics_compute, statistics_request
    from tests import factories as f

    site_a, site_b = f.site("SZ"), f.site("BJ", "Second site (Beijing)")
    users = {
        "staff_a": f.make_user("staff_a", "site_staff", site_a),
        "investigator_a": f.make_user("investigator_a", "investigator", site_a),
        "staff_b": f.make_user("staff_b", "site_staff", site_b),
        "investigator_b": f.make_user("investigator_b", "investigator", site_b),
        "monitor": f.make_user("monitor", "monitor"),
        "statistician": f.make_user("statistician", "statistician"),
        "admin": f.make_user("admin", "admin", is_staff=True),
    }
    staff, monitor = users["staff_a"], users["monitor"]
    ready, verified, queried, answered, signed = _screen_failures(site_a, staff, 5)
    quality.form_verify(patient=verified, form="screening", by=monitor)
    _query(queried, monitor)
    _query(answered, monitor, answer_by=staff)
    _sign(signed, users["investigator_a"])
    treated = _treated_with_sae(site_a, staff, users["statistician"])
    b_ready, b_queried, b_answered = _screen_failures(site_b, users["staff_b"], 3)
    _query(b_queried, monitor)
    _query(b_answered, monitor, answer_by=users["staff_b"])
    b_treated = _treated_with_sae(site_b, users["staff_b"], users["statistician"])
    job, _ = statistics_request(by=users["statistician"])
    statistics_compute(job_id=job.pk)
    return Home(
        users=users,
        ready=ready.study_id,
        verified=verified.study_id,
        queried=queried.study_id,
        answered=answered.study_id,
        signed=signed.study_id,
        treated=treated.study_id,
        site_b=tuple(p.study_id for p in (b_ready, b_queried, b_answered, b_treated)),
    )


home = module_data(build_home)


def _client(world: Home, role: str, language: str = "en") -> Client:
    client = Client()
    client.force_login(world.users[role])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _items(world: Home, role: str) -> dict:
    return {item.key: item for section in worklist_for(world.users[role]) for item in section.items}


def _sections(world: Home, role: str) -> set[str]:
    return {section.key for section in worklist_for(world.users[role])}


# --- Each role's sections and counts --------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_sections_of_its_roles_and_no_other(home, role):
    assert _sections(home, role) == EXPECTED_SECTIONS[role]
    page = _client(home, role).get(reverse("home")).content.decode()
    for key in SECTION_KEYS:
        assert (f'data-section="{key}"' in page) == (key in EXPECTED_SECTIONS[role]), key


def test_staff_count_the_missing_forms_page_and_their_sites_open_queries(home):
    staff = home.users["staff_a"]
    items = _items(home, "staff_a")
    missing = selectors.missing_forms(user=staff)
    overdue = [row for row in missing if row.form.overdue]
    assert overdue and {row.patient.study_id for row in overdue} == {home.treated}
    assert items["forms_due"].count == len(missing)
    assert items["forms_overdue"].count == len(overdue)
    assert items["forms_overdue"].url == reverse("quality:missing") + "?overdue=1"
    open_at_a = DataQuery.objects.filter(patient__site__code="SZ", status=QueryStatus.OPEN).count()
    assert open_at_a >= 1 and items["queries_to_answer"].count == open_at_a
    assert items["queries_to_answer"].url == reverse("quality:queries") + "?status=open"


def test_the_investigator_sees_the_casebooks_she_may_sign_with_links_to_their_signature(home):
    items = _items(home, "investigator_a")
    ready = items["casebooks_to_sign"]
    assert ready.count == 2
    assert [entry.label for entry in ready.entries] == [home.ready, home.verified]
    links = {entry.label: entry.url for entry in ready.entries}
    assert links[home.ready] == reverse("casebook:review", args=[home.ready]) + "#signature"
    notes = {entry.label: entry.note for entry in ready.entries}
    assert notes == {home.ready: "1 form not verified", home.verified: "every form verified"}
    page = _client(home, "investigator_a").get(reverse("home")).content.decode()
    assert f'href="{links[home.verified]}"' in page


def test_a_casebook_changed_after_signing_is_ready_to_sign_again(home):
    from django.db.models import F

    from core.audit import audited
    from patients.models import Screening

    assert home.signed not in [e.label for e in _items(home, "investigator_a")["casebooks_to_sign"].entries]
    with audited(by=home.users["staff_a"], reason="test setup: a correction after the signature"):
        Screening.objects.filter(patient__study_id=home.signed).update(version=F("version") + 1)
    entries = {e.label: e.note for e in _items(home, "investigator_a")["casebooks_to_sign"].entries}
    assert entries[home.signed] == "1 form not verified; changed since it was signed"


def test_the_investigator_sees_her_sites_serious_adverse_events(home):
    events = _items(home, "investigator_a")["serious_adverse_events"]
    assert events.count == 1
    [entry] = events.entries
    assert entry.label.startswith(f"{home.treated}: Bleeding, grade 3")
    assert entry.url == reverse("casebook:patient", args=[home.treated]) + "#ae-card"
    assert "not resolved" in entry.note


def test_the_monitor_sees_forms_to_verify_and_answered_queries_at_every_site(home):
    from patients.models import Patient

    items = _items(home, "monitor")
    patients = list(Patient.objects.filter(voided_at__isnull=True))
    books = selectors.casebooks(patients)
    complete = sum(1 for p in patients for f in books[p.pk].forms if f.state == catalogue.COMPLETE)
    assert items["forms_to_verify"].count == complete
    listed = {entry.label for entry in items["forms_to_verify"].entries}
    assert home.verified not in listed and {home.ready, home.site_b[0]} <= listed
    assert items["queries_to_close"].count == 2  # one answered at each site
    assert items["queries_to_close"].url == reverse("quality:queries") + "?status=answered"


def test_the_statistician_sees_lock_readiness_stale_statistics_and_exports(home):
    from analysis.exports import export_log_start
    from analysis.services import data_changed

    items = _items(home, "statistician")
    checks = lock_readiness()
    assert items["lock_readiness"].count == sum(c.count for c in checks)
    assert [e.label for e in items["lock_readiness"].entries] == [c.label for c in checks]
    assert items["lock_readiness"].url == reverse("quality:database_lock")
    assert (items["stale_statistics"].count, items["stale_statistics"].flagged) == (0, False)
    assert items["latest_exports"].entries == ()
    data_changed()
    data_changed()
    export_log_start(user=home.users["statistician"], dataset="patients", fmt="csv")
    items = _items(home, "statistician")
    assert (items["stale_statistics"].count, items["stale_statistics"].flagged) == (2, True)
    assert [e.label for e in items["latest_exports"].entries] == ["patients (CSV) by statistician"]
    assert items["latest_exports"].url == reverse("analysis:exports")


def test_the_administrator_sees_access_requests_locked_accounts_and_the_review_when_due(home):
    from django.contrib.auth.models import Group

    from core.account_events import account_event_record
    from core.accounts import access_review_record
    from core.audit import audited
    from core.models import AccessGrant, AccountEventKind, GrantKind, GrantStatus

    admin = home.users["admin"]
    items = _items(home, "admin")
    assert (items["access_waiting"].count, items["locked_accounts"].count) == (0, 0)
    assert items["access_review"].flagged
    with audited(by=admin, reason="New investigator"):
        AccessGrant.objects.create(
            user=home.users["staff_a"],
            kind=GrantKind.ROLE,
            group=Group.objects.get(name="investigator"),
            requested_by=admin,
            reason="New investigator",
            status=GrantStatus.PENDING,
        )
    account_event_record(kind=AccountEventKind.ACCOUNT_LOCKED, user=home.users["staff_b"])
    access_review_record(by=admin, remarks="Quarterly review", accounts=7, unused=[])
    items = _items(home, "admin")
    assert (items["access_waiting"].count, items["locked_accounts"].count) == (1, 1)
    assert not items["access_review"].flagged and "Next due on" in items["access_review"].note
    # The investigator of staff_a's site decides it; site B's investigator does not see it.
    assert _items(home, "investigator_a")["access_to_decide"].count == 1
    assert _items(home, "investigator_b")["access_to_decide"].count == 0


# --- Site scoping and rights ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff_b", "investigator_b"])
def test_another_sites_items_never_appear(home, role):
    page = _client(home, role).get(reverse("home")).content.decode()
    site_a = (home.ready, home.verified, home.queried, home.answered, home.signed, home.treated)
    assert not [study_id for study_id in site_a if study_id in page]
    items = _items(home, role)
    assert items["queries_to_answer"].count == 1
    assert items["forms_overdue"].count == sum(
        1 for row in selectors.missing_forms(user=home.users[role]) if row.form.overdue
    )
    if role == "investigator_b":
        assert [e.label for e in items["casebooks_to_sign"].entries] == [home.site_b[0]]
        assert [e.label.split(":")[0] for e in items["serious_adverse_events"].entries] == [home.site_b[3]]


def test_site_a_staff_never_count_site_bs_items(home):
    page = _client(home, "investigator_a").get(reverse("home")).content.decode()
    assert not [study_id for study_id in home.site_b if study_id in page]


def test_a_user_without_a_role_has_an_empty_worklist(home):
    from django.contrib.auth.models import Group

    from tests.factories import make_user

    Group.objects.get_or_create(name="nobody")
    nobody = make_user("nobody", "nobody", is_staff=False)
    assert worklist_for(nobody) == []
    client = Client()
    client.force_login(nobody)
    assert 'id="worklist-empty"' in client.get(reverse("home")).content.decode()


def test_the_home_page_is_only_read(home):
    assert _client(home, "staff_a").post(reverse("home")).status_code == 405


def test_logging_in_lands_on_the_worklist(home):
    from tests.factories import PASSWORD

    response = Client().post(reverse("login"), {"username": "staff_a", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")


# --- Languages ------------------------------------------------------------------------------------------

CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # forms_due, site_staff, casebooks_to_sign


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("role", ROLES)
def test_the_worklist_reads_in_english_and_chinese_without_codes(home, role, language):
    html = _client(home, role, language).get(reverse("home")).content.decode()
    assert f'<html lang="{language}">' in html
    main = html[html.index("<main") :]
    text = " ".join(visible_text(main))
    assert not CODE.findall(text), CODE.findall(text)
    assert "%(" not in text and "{{" not in text and "{%" not in text


@pytest.mark.parametrize("role", ROLES)
def test_the_chinese_page_shows_no_english_section_or_item_label(home, role):
    with translation.override("en"):
        english = {
            text
            for section in worklist_for(home.users[role])
            for text in (section.title, *(item.label for item in section.items))
        }
    assert english  # every role has work sections
    html = _client(home, role, "zh-hans").get(reverse("home")).content.decode()
    main = " ".join(visible_text(html[html.index("<main") :]))
    assert not [text for text in english if text in main]


# --- Queries --------------------------------------------------------------------------------------------


def _home_queries(world: Home, role: str) -> int:
    client = _client(world, role)
    client.get(reverse("home"))  # sessions, permissions and the trial's name warm up as for any page
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("role", "limit"),
    # Every page: session, user, permissions, the trial's name (4). quality: memberships, the patients, one
    # casebook computation for all of them (a query per form table, the time points and instruments,
    # verifications, signatures, locks, the trial lock: 24), query counts by site and status, open queries
    # per casebook (investigators). outcomes: the SAEs. analysis: the lock checklist (as the apps define
    # it), the snapshot, the export log. core: access requests to decide, pending, unused and locked
    # accounts, the latest access review. Measured 31 / 34 / 30 / 35 / 8 on this world.
    [("staff_a", 35), ("investigator_a", 40), ("monitor", 35), ("statistician", 45), ("admin", 12)],
)
def test_the_home_page_costs_a_bounded_number_of_queries(home, role, limit, django_assert_max_num_queries):
    client = _client(home, role)
    client.get(reverse("home"))
    with django_assert_max_num_queries(limit):
        client.get(reverse("home"))


@pytest.mark.parametrize("role", ["staff_a", "investigator_a", "monitor", "statistician"])
def test_the_number_of_queries_does_not_grow_with_the_patients(home, role):
    from patients.models import Patient
    from tests import factories as f

    before = _home_queries(home, role)
    site_a = f.site("SZ")
    staff = home.users["staff_a"]
    _screen_failures(site_a, staff, 3)
    _query(Patient.objects.filter(site=site_a).order_by("-pk").first(), home.users["monitor"], answer_by=staff)
    _treated_with_sae(site_a, staff, home.users["statistician"])
    assert _home_queries(home, role) == before
