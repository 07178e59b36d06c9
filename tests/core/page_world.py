"""The page rule table and the world the page tests run in (SPEC §1): who may use every HTML page.

Every URL pattern of the project must be covered: app pages by a rule in PAGES (keyed by URL name), the
REST API by tests/api/permission_rules.py (same keys, its own rule table), the Django admin by the
namespace rule of tests/core/test_admin_page_permissions.py. The table is checked page × role by
tests/core/test_app_page_permissions.py; a new page without a rule fails
`test_every_url_pattern_has_an_access_rule` there.

Statuses: an allowed GET answers 200 (or the page's redirect); an allowed POST (empty, or the rule's
body) re-renders the form, redirects or refuses the input (200/202/302/400) — never 403, 404 or 5xx.
A role outside the rule gets 403, or 404 where the page must not even exist for it: a patient of a site
the user cannot read (SPEC: another site's record answers 404) and the allocation pages (concealment).

The world (`build_world`) is built once per module that declares `world = module_data(build_world)`
(tests/module_data.py): site-A patients carry "PHI-CANARY-" identities, so the suite's PHI guard also
checks every response, and every request runs in its own rolled-back savepoint (`request_in_savepoint`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

STAFF_A, INVESTIGATOR_A, STAFF_B, MONITOR, STATISTICIAN, ADMIN = (
    "staff_a",
    "investigator_a",
    "staff_b",
    "monitor",
    "statistician",
    "admin",
)
ROLES = (STAFF_A, INVESTIGATOR_A, STAFF_B, MONITOR, STATISTICIAN, ADMIN)
EVERYONE = frozenset(ROLES)
ENTRY_A = frozenset({STAFF_A, INVESTIGATOR_A})  # enter clinical data at site A
ENTRY = ENTRY_A | {STAFF_B}  # enter clinical data at some site
READ_A = ENTRY_A | {MONITOR, STATISTICIAN}  # read site A's patients
NOT_SITE_A = EVERYONE - READ_A  # for them site A's patients do not exist
DASHBOARDS = frozenset({INVESTIGATOR_A, STATISTICIAN})
ONLY_STATISTICIAN = frozenset({STATISTICIAN})
APPROVERS = frozenset({INVESTIGATOR_A, STATISTICIAN})  # decide access requests (core/access_grants.py)
ACCOUNT_TRAIL = frozenset({ADMIN, STATISTICIAN})

ACCEPTED_POST = frozenset({200, 202, 302, 400})
CANARY = "PHI-CANARY-"


@dataclass(frozen=True)
class World:
    """Keys of real site-A records (the main patient has every form) and the role users."""

    users: dict
    main: str  # randomized, transfer, labs, outcome, AE, questionnaire, query, identity corrected once
    screened: str  # eligible, not consented
    pk: dict


@dataclass(frozen=True)
class Page:
    """Who may use one page (SPEC §1).

    get / post: roles whose GET / POST is served; None: the method is not offered (405).
    hidden: roles for whom the page does not exist (404) instead of being refused (403).
    conceal: the 404 comes before the method check (the allocation pages answer 404 even to a wrong method).
    """

    get: frozenset | None
    post: frozenset | None
    hidden: frozenset = frozenset()
    kwargs: Callable[[World], dict] = lambda w: {}
    ok_get: int = 200
    post_data: Callable[[World, str], dict] = lambda w, role: {}
    conceal: bool = False


def _main(w: World) -> dict:
    return {"study_id": w.main}


def _patient_form(**extra) -> Page:
    """A data-entry form on a site-A patient: her site's staff and investigators only."""
    return Page(get=ENTRY_A, post=ENTRY_A, hidden=NOT_SITE_A, kwargs=extra.pop("kwargs", _main), **extra)


def _pk(key: str, **more) -> Callable[[World], dict]:
    return lambda w: {"pk": w.pk[key], **more}


def _allocation(**extra) -> Page:
    return Page(hidden=EVERYONE - ONLY_STATISTICIAN, conceal=True, **extra)


PAGES: dict[str, Page] = {
    # Public or personal plumbing.
    # Home: each role's worklist (core/worklists.py), scoped by the providers; a page to read.
    "home": Page(get=EVERYONE, post=None),
    "login": Page(get=EVERYONE, post=EVERYONE, ok_get=302),  # signed in already: on to the worklist
    "logout": Page(get=None, post=EVERYONE),
    "health": Page(get=EVERYONE, post=None),
    "set_language": Page(get=None, post=EVERYONE, post_data=lambda w, role: {"language": "en", "next": "/patients/"}),
    # The demo's "about" page: the paper's claims beside the live snapshot, for every signed-in user.
    "about": Page(get=EVERYONE, post=EVERYONE),
    # Registry: every signed-in user gets the list, scoped by the selectors (admin: an empty list).
    "patients:list": Page(get=EVERYONE, post=EVERYONE),
    "patients:screen": Page(get=ENTRY, post=ENTRY),
    "casebook:patient": Page(get=READ_A, post=READ_A, hidden=NOT_SITE_A, kwargs=_main),
    "casebook:history": Page(get=READ_A, post=READ_A, hidden=NOT_SITE_A, kwargs=_main),
    "patients:identity": _patient_form(),
    "patients:consent": _patient_form(),
    "patients:consent_void": _patient_form(),
    "patients:baseline": _patient_form(),
    "patients:baseline_void": _patient_form(),
    "patients:withdraw": _patient_form(),
    "patients:void": _patient_form(),
    "patients:transfer": _patient_form(),
    "patients:luteal_support": _patient_form(),
    "patients:dalteparin": _patient_form(),
    "casebook:randomize": _patient_form(kwargs=lambda w: {"study_id": w.screened}),
    "patients:randomization_error": Page(
        get=ONLY_STATISTICIAN, post=ONLY_STATISTICIAN, hidden=NOT_SITE_A, kwargs=_main
    ),
    # Allocation lists: the statistician's; to everyone else these URLs do not exist.
    "allocation:overview": _allocation(get=ONLY_STATISTICIAN, post=ONLY_STATISTICIAN),
    "allocation:detail": _allocation(get=ONLY_STATISTICIAN, post=ONLY_STATISTICIAN, kwargs=_pk("allocation")),
    "allocation:go_live": _allocation(get=None, post=ONLY_STATISTICIAN, kwargs=_pk("allocation")),
    "allocation:extend": _allocation(get=None, post=ONLY_STATISTICIAN, kwargs=_pk("allocation")),
    # Labs.
    "labs:draw_create": _patient_form(),
    "labs:result_correct": _patient_form(kwargs=_pk("lab_result")),
    "labs:import": Page(get=ENTRY, post=ENTRY),
    "labs:import_confirm": Page(get=None, post=ENTRY),
    # Outcomes.
    "outcomes:pregnancy": _patient_form(),
    "outcomes:ae_create": _patient_form(),
    "outcomes:ae_edit": _patient_form(kwargs=lambda w: {"study_id": w.main, "pk": w.pk["adverse_event"]}),
    "outcomes:questionnaire": _patient_form(
        kwargs=lambda w: {"study_id": w.main, "instrument": "RAND36", "timepoint": "BASELINE"}
    ),
    # Data quality: lists are scoped by site; a query and a casebook belong to a site-A patient. Staff
    # answer a query and the monitor closes it; the statistician reads the thread but takes no part.
    "quality:queries": Page(get=EVERYONE, post=EVERYONE),
    "quality:query": Page(
        get=READ_A,
        post=ENTRY_A | {MONITOR},
        hidden=NOT_SITE_A,
        kwargs=_pk("query"),
        post_data=lambda w, role: {"action": "close" if role in (MONITOR, STATISTICIAN) else "answer", "message": ""},
    ),
    "casebook:review": Page(
        get=READ_A, post=READ_A, hidden=NOT_SITE_A, kwargs=_main, post_data=lambda w, role: {"action": "raise"}
    ),
    "quality:missing": Page(get=EVERYONE, post=EVERYONE),
    "quality:database_lock": Page(get=ONLY_STATISTICIAN, post=ONLY_STATISTICIAN),
    "quality:trial_settings": Page(get=ONLY_STATISTICIAN, post=ONLY_STATISTICIAN),
    # Dashboards: investigators and statisticians.
    "analysis:dashboard": Page(get=DASHBOARDS, post=DASHBOARDS),
    "analysis:table_csv": Page(get=DASHBOARDS, post=DASHBOARDS, kwargs=lambda w: {"table": w.pk["table"]}),
    "analysis:recompute": Page(get=None, post=DASHBOARDS),
    "analysis:job": Page(get=DASHBOARDS, post=DASHBOARDS, kwargs=_pk("job")),
    # Exports: the statistician's alone (SPEC §1); a page to read, nothing to post.
    "analysis:exports": Page(get=ONLY_STATISTICIAN, post=None),
    # Accounts: one's own password for everyone; the set-password link works without a login (a bad link
    # shows its page); approvals for investigators and statisticians (404 to others); the accounts' trail
    # for the administrator and the statistician; the access review for the administrator.
    "accounts:password_change": Page(get=EVERYONE, post=EVERYONE),
    "accounts:password_change_done": Page(get=EVERYONE, post=None),
    "accounts:set_password": Page(get=EVERYONE, post=EVERYONE, kwargs=lambda w: {"uidb64": "MQ", "token": "x-y"}),
    "accounts:set_password_done": Page(get=EVERYONE, post=None),
    "accounts:approvals": Page(get=APPROVERS, post=APPROVERS, hidden=EVERYONE - APPROVERS),
    "accounts:approval_decide": Page(get=None, post=APPROVERS, hidden=EVERYONE - APPROVERS, kwargs=lambda w: {"pk": 1}),
    "accounts:history": Page(get=ACCOUNT_TRAIL, post=ACCOUNT_TRAIL),
    "accounts:access_review": Page(get=frozenset({ADMIN}), post=frozenset({ADMIN})),
    # API tokens: everyone lists her own; a token key that is not one's own does not exist (one's own is
    # revoked in tests/core/test_tokens_page.py). Locked accounts: the administrator's.
    "tokens:list": Page(get=EVERYONE, post=None),
    "tokens:revoke": Page(
        get=None, post=frozenset(), hidden=EVERYONE, kwargs=lambda w: {"token_key": "0123456789abcde"}
    ),
    "tokens:locked_accounts": Page(get=frozenset({ADMIN}), post=frozenset({ADMIN})),
}
# Rules kept for pages that are not (or no longer) routed produce no case; list them here.
PENDING: set[str] = set()


# --- The URL walk ---------------------------------------------------------------------------------------


def walk(patterns, prefix: str = "", namespace: str = ""):
    """(route, URL name or None) for every pattern, namespaces joined as Django reverses them."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None


ROUTES = sorted(set(walk(get_resolver().url_patterns)), key=lambda r: (r[0], r[1] or ""))
APP_PAGES = sorted(name for route, name in ROUTES if name and not name.startswith(("admin:", "api-")))
ADMIN_PAGES = sorted(name for route, name in ROUTES if name and name.startswith("admin:"))


# --- The world: built once per module that declares it, rolled back when that module ends -------------


def canary_identity(n: int) -> dict:
    """Identity values nobody without PHI rights may ever see, distinctive enough to find anywhere."""
    return {
        "full_name": f"{CANARY}Name-{n:03d}",
        "medical_record_number": f"{CANARY}MRN-{n:03d}",
        "phone": f"{CANARY}Tel-{n:03d}",
    }


def _users(site_a, site_b) -> dict:
    from tests import factories as f

    return {
        STAFF_A: f.make_user("staff_a", "site_staff", site_a),
        INVESTIGATOR_A: f.make_user("investigator_a", "investigator", site_a),
        STAFF_B: f.make_user("staff_b", "site_staff", site_b),
        MONITOR: f.make_user("monitor", "monitor"),
        STATISTICIAN: f.make_user("statistician", "statistician"),
        ADMIN: f.make_user("admin", "admin", is_staff=True),
    }


def _clinical_records(main, staff) -> dict:
    """A lab result, outcome, adverse event and questionnaire for the main patient; their keys."""
    from tests.factories import clinical_records

    records = clinical_records(main, staff)
    return {key: records[key].pk for key in ("lab_result", "outcome", "adverse_event", "questionnaire")}


def build_world() -> World:
    """Site A (SZ) with one patient carrying every form, one screened; site B (BJ) with one patient."""
    from analysis.dashboard_tables import TABLES
    from analysis.services import statistics_compute, statistics_request
    from patients.models import AllocationList
    from patients.services import IdentityInput, identity_update
    from quality.services import query_raise
    from tests import factories as f

    site_a, site_b = f.site("SZ"), f.site("BJ", "Second site (Beijing)")
    users = _users(site_a, site_b)
    staff, statistician = users[STAFF_A], users[STATISTICIAN]
    main = f.randomized_patient(site_a, staff, statistician, **canary_identity(1))
    identity = main.identity
    identity_update(  # the history now holds a former name too
        patient=main,
        identity=IdentityInput(**{**canary_identity(2), "date_of_birth": identity.date_of_birth}),
        by=staff,
        reason="Name misspelt at registration",
        expected_version=identity.version,
    )
    transfer = f.backdated_transfer(main, staff, embryos=1)
    keys = {**_clinical_records(main, staff), "transfer": transfer.pk}
    query = query_raise(patient=main, form="baseline", field="weight_kg", message="Source?", by=users[MONITOR])
    screened = f.screen(site_a, staff, **canary_identity(3))
    f.randomized_patient(site_b, users[STAFF_B], statistician)  # site B's own patient (not a canary)
    job, _ = statistics_request(by=statistician)
    statistics_compute(job_id=job.pk)
    return World(
        users=users,
        main=main.study_id,
        screened=screened.study_id,
        pk={
            **keys,
            "query": query.pk,
            "job": job.pk,
            "allocation": AllocationList.objects.filter(site=site_a).first().pk,
            "table": next(iter(TABLES)),
        },
    )


def client_for(world: World, role: str) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def request_in_savepoint(client: Client, method: str, url: str, data: dict | None = None):
    """One request whose writes are rolled back, so every case sees the same world."""
    with transaction.atomic():
        response = getattr(client, method)(url, data or {})
        if getattr(response, "streaming", False):  # read inside the savepoint: the stream queries too
            response.streamed_body = b"".join(response.streaming_content)
        transaction.set_rollback(True)
    return response
