"""The callers and the records the API permission matrix runs against (tests/api/test_permission_matrix_*.py).

Detail URLs of the rule table (tests/api/permission_rules.py) point at real records of site A, built
through the services (tests/factories.py) by `build_world`, once per module that declares
`world = module_data(build_world)` (tests/module_data.py); each case runs in its own savepoint.
"""

from dataclasses import dataclass

from knox.models import AuthToken
from rest_framework.test import APIClient

ANON, STAFF_A, INVESTIGATOR_A, MONITOR, STATISTICIAN, ADMIN, STAFF_B = (
    "anonymous",
    "staff_a",
    "investigator_a",
    "monitor",
    "statistician",
    "admin",
    "staff_b",
)
CALLERS = (ANON, STAFF_A, INVESTIGATOR_A, MONITOR, STATISTICIAN, ADMIN, STAFF_B)
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

ENTRY = frozenset({STAFF_A, INVESTIGATOR_A})  # enter clinical data at site A
SITE_A_READERS = ENTRY | {MONITOR, STATISTICIAN}  # may read site A's records
USERS = SITE_A_READERS | {ADMIN, STAFF_B}  # every signed-in caller
DASHBOARDS = frozenset({INVESTIGATOR_A, STATISTICIAN})
ONLY_STATISTICIAN = frozenset({STATISTICIAN})


@dataclass(frozen=True)
class World:
    """Study ids and primary keys of real site-A records, plus one API token per caller."""

    tokens: dict[str, str]
    screened: str  # eligible, awaiting consent
    consented: str  # awaiting baseline
    randomizable: str  # every precondition of randomization met
    fresh: str  # randomized, no transfer yet
    treated: str  # randomized with a transfer, no outcome yet
    main: str  # randomized with transfer, outcome, AE, questionnaire and a lab result
    drawn_at: str
    criteria: dict[str, bool]
    pk: dict[str, int]


# --- The world: built once per module that declares it, rolled back when that module ends -----------


def build_world() -> World:
    from analysis.services import statistics_compute, statistics_request
    from quality.services import query_raise
    from tests import factories as f

    site_a, site_b = f.site("SZ"), f.site("BJ", "Second site (Beijing)")
    users = {
        STAFF_A: f.make_user("staff_a", "site_staff", site_a),
        INVESTIGATOR_A: f.make_user("investigator_a", "investigator", site_a),
        MONITOR: f.make_user("monitor", "monitor"),
        STATISTICIAN: f.make_user("statistician", "statistician"),
        ADMIN: f.make_user("admin", "admin", is_staff=True),
        STAFF_B: f.make_user("staff_b", "site_staff", site_b),
    }
    staff, statistician = users[STAFF_A], users[STATISTICIAN]
    main = f.randomized_patient(site_a, staff, statistician)
    transfer = f.backdated_transfer(main, staff, embryos=1)
    treated = f.randomized_patient(site_a, staff, statistician)
    f.backdated_transfer(treated, staff)
    records = f.clinical_records(main, staff)
    drawn_at = records["drawn_at"]
    result, outcome, event, questionnaire = (
        records[k] for k in ("lab_result", "outcome", "adverse_event", "questionnaire")
    )
    query = query_raise(patient=main, form="baseline", field="weight_kg", message="Source?", by=users[MONITOR])
    job, _ = statistics_request(by=statistician)
    statistics_compute(job_id=job.pk)  # a snapshot, so reading statistics is not a 404 for want of one
    return World(
        tokens={caller: AuthToken.objects.create(user=user)[1] for caller, user in users.items()},
        screened=f.screen(site_a, staff).study_id,
        consented=f.consented_patient(site_a, staff).study_id,
        randomizable=f.randomizable_patient(site_a, staff).study_id,
        fresh=f.randomized_patient(site_a, staff, statistician).study_id,
        treated=treated.study_id,
        main=main.study_id,
        drawn_at=drawn_at.isoformat(),
        criteria=f.all_met_answers(),
        pk={
            "lab_result": result.pk,
            "transfer": transfer.pk,
            "outcome": outcome.pk,
            "adverse_event": event.pk,
            "questionnaire": questionnaire.pk,
            "query": query.pk,
            "job": job.pk,
        },
    )


def _client(world: World, caller: str) -> APIClient:
    client = APIClient()
    if caller != ANON:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[caller]}")
    return client
