"""The permission rule table of API v1: route × method × caller → the status SPEC §1 implies.

Every route of `ivf_trial.api_urls` must have a rule in RULES (keyed by URL name); a new endpoint
without one fails `test_every_api_route_has_a_rule` (tests/api/test_permission_matrix.py, which runs every
case against the records of tests/api/permission_world.py). A rule written ahead of its route (listed in
PENDING) produces no case until the route lands.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone

from ivf_trial import api_urls
from tests.api.permission_world import (
    ADMIN,
    ANON,
    CALLERS,
    DASHBOARDS,
    ENTRY,
    METHODS,
    MONITOR,
    ONLY_STATISTICIAN,
    SITE_A_READERS,
    STAFF_B,
    STATISTICIAN,
    USERS,
    World,
    _client,
)

# Allowed: a GET answers 2xx; a write answers 2xx, or 400/409 when its body or the record's state is refused.
OK = "allowed"
READ_ONLY = {"GET": USERS}


@dataclass(frozen=True)
class Rule:
    """What SPEC §1 and §7 allow on one route.

    offers: method → callers allowed to use it (a method missing here answers 405).
    about_site_a: methods whose target is a site-A record: a caller who cannot read site A gets 404
        (no existence leak), any other caller outside `offers` gets 403.
    gate: callers passing a view-wide permission that DRF checks before the method (others: 403 always).
    exceptions: (method, caller) → expected status, each with its reason beside it.
    spec_gaps: method → how the app falls short of the SPEC; its cases are strict xfails.
    """

    offers: Mapping[str, frozenset[str]]
    kwargs: Callable[[World], dict] = lambda w: {}
    query: Callable[[World], str] = lambda w: ""
    body: Callable[[World], dict] | None = None
    bodies: Mapping[str, Callable[[World], dict]] = field(default_factory=dict)  # per caller, when they differ
    multipart: bool = False
    about_site_a: frozenset[str] = frozenset()
    gate: frozenset[str] | None = None
    public: bool = False
    exceptions: Mapping[tuple[str, str], int | frozenset[int]] = field(default_factory=dict)
    spec_gaps: Mapping[str, str] = field(default_factory=dict)


def _reason(**changes):
    return lambda w: {**changes, "reason": "permission matrix", "version": 1}


def _for(study: str, **values):
    return lambda w: {"study_id": getattr(w, study), **values}


def _record(key: str):
    return lambda w: {"pk": w.pk[key]}


ALL_METHODS = frozenset(METHODS)
TODAY = timezone.localdate()

# SPEC §1: the role is checked before the body is read, so a read-only role gets 403 whatever it sends,
# never a 400 for its body. A caller who may enter data at no site is refused before the study id in the
# body is looked up; only data-entry roles of other sites reach the lookup and its 404.
ROLE_BEFORE_BODY = {("POST", ADMIN): 403}

RULES: dict[str, Rule] = {
    # Anonymous may ask for a token (SPEC §7); an empty body is a 400 for everyone. DELETE revokes the
    # token it is sent with (SPEC §11.1): without one there is nothing to revoke (401).
    "api-token": Rule(
        offers={"POST": USERS | {ANON}, "DELETE": USERS},
        body=lambda w: {},
        public=True,
        exceptions={("DELETE", ANON): 401},
    ),
    "api-sites": Rule(offers=READ_ONLY),
    "api-arms": Rule(offers=READ_ONLY),
    "api-analytes": Rule(offers=READ_ONLY),
    "api-timepoints": Rule(offers=READ_ONLY),
    "api-patients": Rule(
        offers={"GET": USERS, "POST": ENTRY},
        body=lambda w: {
            "site": "SZ",
            "full_name": "Matrix Patient",
            "date_of_birth": "1992-03-15",
            "medical_record_number": "MRN-MATRIX-1",
            "screening_date": "2025-03-01",
            "criteria": w.criteria,
        },
        # An existing site the caller may not enter data for is a 403 (sites are listed to every user by
        # /api/v1/sites/, so naming one reveals nothing); "Unknown site" (400) is only for a code that
        # does not exist.
    ),
    "api-patient": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY},
        kwargs=lambda w: {"study_id": w.main},
        body=_reason(),
        about_site_a=ALL_METHODS,
    ),
    "api-consent": Rule(
        offers={"POST": ENTRY},
        kwargs=lambda w: {"study_id": w.screened},
        body=lambda w: {"form_version": "v2.1", "signed_on": "2025-03-02"},
        about_site_a=ALL_METHODS,
    ),
    "api-baseline": Rule(
        offers={"POST": ENTRY},
        kwargs=lambda w: {"study_id": w.consented},
        body=lambda w: {
            "height_cm": "160.0",
            "weight_kg": "56.0",
            "previous_failed_transfers": 2,
            "prior_miscarriages": 1,
            "infertility_type": "primary",
            "infertility_years": "3.5",
            "education": "college_or_higher",
        },
        about_site_a=ALL_METHODS,
    ),
    "api-randomize": Rule(
        offers={"POST": ENTRY}, kwargs=lambda w: {"study_id": w.randomizable}, about_site_a=ALL_METHODS
    ),
    "api-lab-results": Rule(
        offers={"GET": USERS, "POST": ENTRY},
        body=lambda w: {
            "study_id": w.main,
            "timepoint": "BASELINE",
            "analyte": "LH",
            "value": 5,
            "unit": "IU/L",
            "drawn_at": w.drawn_at,
        },
        about_site_a=frozenset({"POST"}),
        exceptions=ROLE_BEFORE_BODY,
    ),
    "api-lab-result": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY},
        kwargs=_record("lab_result"),
        body=_reason(value="60"),
        about_site_a=ALL_METHODS,
    ),
    "api-transfers": Rule(
        offers={"GET": USERS, "POST": ENTRY},
        body=_for(
            "fresh",
            transfer_date=TODAY.isoformat(),
            cycle_type="fresh",
            embryo_stage="blastocyst",
            embryos_transferred=2,
        ),
        about_site_a=frozenset({"POST"}),
        exceptions=ROLE_BEFORE_BODY,
    ),
    "api-transfers-detail": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY},
        kwargs=_record("transfer"),
        body=_reason(embryos_transferred=1),
        about_site_a=ALL_METHODS,
    ),
    "api-outcomes": Rule(
        offers={"GET": USERS, "POST": ENTRY},
        body=_for("treated", beta_hcg_positive=False),
        about_site_a=frozenset({"POST"}),
        exceptions=ROLE_BEFORE_BODY,
    ),
    "api-outcomes-detail": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY},
        kwargs=_record("outcome"),
        body=_reason(),
        about_site_a=ALL_METHODS,
    ),
    "api-adverse-events": Rule(
        offers={"GET": USERS, "POST": ENTRY},
        body=_for(
            "main",
            term="bleeding",
            onset_date=(TODAY - timedelta(days=2)).isoformat(),
            grade=1,
            serious=False,
            related_to_dalteparin="possible",
            action_taken="none",
            outcome="recovering",
        ),
        about_site_a=frozenset({"POST"}),
        exceptions=ROLE_BEFORE_BODY,
    ),
    "api-adverse-events-detail": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY},
        kwargs=_record("adverse_event"),
        body=_reason(outcome="recovered"),
        about_site_a=ALL_METHODS,
    ),
    "api-questionnaires": Rule(
        offers={"GET": USERS, "POST": ENTRY},
        body=_for("main", instrument="RAND36", timepoint="ET28", answers={"3": 3, "4": 3}),
        about_site_a=frozenset({"POST"}),
        exceptions=ROLE_BEFORE_BODY,
    ),
    "api-questionnaires-detail": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY},
        kwargs=_record("questionnaire"),
        body=_reason(),
        about_site_a=ALL_METHODS,
    ),
    # Statistics: investigators and statisticians (SPEC §6: investigators may trigger a recomputation
    # and watch it; §1 names only the statistician — see the report).
    "api-statistics": Rule(offers={"GET": DASHBOARDS}),
    "api-statistics-recompute": Rule(offers={"POST": DASHBOARDS}),
    "api-statistics-job": Rule(offers={"GET": DASHBOARDS}, kwargs=_record("job")),
    "api-export": Rule(
        offers={"GET": ONLY_STATISTICIAN},
        kwargs=lambda w: {"dataset": "patients", "fmt": "csv"},
        gate=ONLY_STATISTICIAN,
    ),
    # The CDISC ODM file (SPEC §11.2): the same rule as the analysis exports.
    "api-export-odm": Rule(offers={"GET": ONLY_STATISTICIAN}, gate=ONLY_STATISTICIAN),
    "api-data-dictionary": Rule(offers=READ_ONLY),
    # The schema and Swagger UI are for signed-in users (SPEC §1: anonymous see login, health, static).
    "api-schema": Rule(offers=READ_ONLY),
    "api-docs": Rule(offers=READ_ONLY),
    "api-lab-imports": Rule(
        offers={"POST": ENTRY},
        query=lambda w: "?dry_run=1",
        body=lambda w: {
            "file": SimpleUploadedFile(
                "labs.csv",
                (
                    f"study_id,timepoint,drawn_at,analyte,value,unit\n{w.main},BASELINE,{w.drawn_at},FSH,6.1,IU/L\n"
                ).encode(),
                content_type="text/csv",
            )
        },
        multipart=True,
        # Site B's staff may import, but a row naming a site-A patient is a row error ("unknown study
        # id at your sites"), the file's equivalent of a record's 404.
        exceptions={("POST", STAFF_B): 400},
    ),
    "api-audit": Rule(
        offers={"GET": SITE_A_READERS},
        query=lambda w: f"?patient={w.main}&since=2025-01-01T00:00:00Z",
        about_site_a=ALL_METHODS,
    ),
    # The accounts' trail (SPEC §11.1): the administrator and the statistician only.
    "api-audit-accounts": Rule(
        offers={"GET": frozenset({ADMIN, STATISTICIAN})}, query=lambda w: "?since=2025-01-01T00:00:00Z"
    ),
    # Monitors raise queries (SPEC §1) about a site-A patient; every reader lists those of the sites
    # they read. Only monitors may raise one, checked before the body (ROLE_BEFORE_BODY): other roles
    # get 403 before the patient is looked up.
    "api-queries": Rule(
        offers={"GET": USERS, "POST": frozenset({MONITOR})},
        body=_for("main", form="baseline", field="weight_kg", message="Please confirm the weight against the source."),
        about_site_a=frozenset({"POST"}),
        exceptions={("POST", ADMIN): 403, ("POST", STAFF_B): 403},
    ),
    # Staff answer a query, the monitor closes it.
    "api-query": Rule(
        offers={"GET": SITE_A_READERS, "PATCH": ENTRY | {MONITOR}},
        kwargs=_record("query"),
        body=lambda w: {"status": "answered", "message": "Checked against the source document."},
        bodies={MONITOR: lambda w: {"status": "closed", "message": "Resolved."}},
        about_site_a=ALL_METHODS,
    ),
}
# Rules kept for routes that are not (or no longer) in the router produce no case; list them here.
PENDING: set[str] = set()


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


API_ROUTES = {name: pattern for pattern, name in _walk(api_urls.urlpatterns)}


def expected_status(rule: Rule, method: str, caller: str):
    if (method, caller) in rule.exceptions:
        return rule.exceptions[method, caller]
    if caller == ANON and not rule.public:
        return 401
    if rule.gate is not None and caller not in rule.gate:
        return 403
    if method not in rule.offers:
        return 405
    if caller in rule.offers[method]:
        return OK
    if method in rule.about_site_a and caller not in SITE_A_READERS:
        return 404
    return 403


def _cases():
    """Every case of every route with a rule, as pytest params."""
    for name in sorted(set(API_ROUTES) & set(RULES)):
        rule = RULES[name]
        for method in METHODS:
            for caller in CALLERS:
                marks = []
                if method in rule.spec_gaps and caller != ANON:
                    marks = [pytest.mark.xfail(strict=True, reason=rule.spec_gaps[method])]
                yield pytest.param(name, method, caller, marks=marks, id=f"{name}-{method}-{caller}")


def _request(world: World, rule: Rule, name: str, method: str, caller: str):
    url = reverse(name, kwargs=rule.kwargs(world)) + rule.query(world)
    send = getattr(_client(world, caller), method.lower())
    body = rule.bodies.get(caller, rule.body)
    if method in ("GET", "DELETE") or body is None:
        return send(url)
    return send(url, body(world), format="multipart" if rule.multipart else "json")


def _matches(expected, status: int, method: str) -> bool:
    if expected == OK:
        return 200 <= status < 300 or (method != "GET" and status in (400, 409))
    if isinstance(expected, frozenset):
        return status in expected
    return status == expected
