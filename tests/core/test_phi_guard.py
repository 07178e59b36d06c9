"""PHI never leaks: canary identities planted at site A, every page and every API GET opened by each role
without the right to see them, every logger at DEBUG — no canary in any response, error page or log record.

The suite-wide guard (tests/phi_guard.py, installed by tests/conftest.py) checks every test-client
response of the whole suite against the identities in the database; this module makes sure it has
something to find: distinctive "PHI-CANARY-" names, record numbers and phones (a former name too, in the
audit history), opened as monitor, statistician, other-site staff and admin. The guard's own self-tests
below show it fails on a real leak path.
"""

import logging

import pytest
from django.urls import reverse

from analysis import exports
from ivf_trial import api_urls
from tests import phi_guard
from tests.core.page_world import (
    ADMIN,
    APP_PAGES,
    CANARY,
    MONITOR,
    PAGES,
    STAFF_A,
    STAFF_B,
    STATISTICIAN,
    World,
    build_world,
    client_for,
    request_in_savepoint,
    walk,
)
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

WITHOUT_PHI = (MONITOR, STATISTICIAN, STAFF_B, ADMIN)
API_ROUTES = sorted({name for _, name in walk(api_urls.urlpatterns)})


world = module_data(build_world)


def _pk(key):
    return lambda w: {"pk": w.pk[key]}


def _main(w):
    return {"study_id": w.main}


# URL arguments of every API route that takes any (a new one without an entry fails the coverage test).
API_KWARGS = {
    "api-patient": _main,
    "api-consent": _main,
    "api-baseline": _main,
    "api-randomize": _main,
    "api-lab-result": _pk("lab_result"),
    "api-transfers-detail": _pk("transfer"),
    "api-outcomes-detail": _pk("outcome"),
    "api-adverse-events-detail": _pk("adverse_event"),
    "api-questionnaires-detail": _pk("questionnaire"),
    "api-query": _pk("query"),
    "api-statistics-job": _pk("job"),
}
API_QUERIES = {"api-audit": lambda w: f"?patient={w.main}&since=2000-01-01T00:00:00Z"}


def api_urls_for(world: World) -> list[str]:
    urls = []
    for name in API_ROUTES:
        if name == "api-export":
            urls += [
                reverse(name, kwargs={"dataset": dataset, "fmt": fmt})
                for dataset in exports.DATASETS
                for fmt in ("csv", "json")
            ]
            continue
        kwargs = API_KWARGS.get(name, lambda w: {})(world)
        urls.append(reverse(name, kwargs=kwargs) + API_QUERIES.get(name, lambda w: "")(world))
    return urls


def page_urls_for(world: World) -> list[str]:
    return [reverse(name, kwargs=PAGES[name].kwargs(world)) for name in APP_PAGES]


def _leaks(text: str) -> list[str]:
    found, start = [], text.find(CANARY)
    while start != -1 and len(found) < 5:
        found.append(text[max(0, start - 60) : start + 40])
        start = text.find(CANARY, start + 1)
    return found


def test_every_api_route_with_arguments_is_exercised():
    needing = {name for route, name in walk(api_urls.urlpatterns) if "<" in route} - {"api-export"}
    assert needing <= set(API_KWARGS), f"API routes without URL arguments here: {sorted(needing - set(API_KWARGS))}"


@pytest.mark.parametrize("role", WITHOUT_PHI)
def test_no_page_or_api_answer_or_log_record_shows_a_canary(world, role, caplog):
    client = client_for(world, role)
    client.raise_request_exception = False  # a 500 page is scanned (and reported) like any other answer
    caplog.set_level(logging.DEBUG)
    failures, answered = [], 0
    with phi_guard.all_loggers_at_debug():
        for url in page_urls_for(world) + api_urls_for(world):
            response = request_in_savepoint(client, "get", url)
            body = response.streamed_body if response.streaming else response.content
            answered += response.status_code == 200
            if response.status_code >= 500:
                failures.append(f"GET {url}: {response.status_code}")
            failures += [f"GET {url} ({response.status_code}) shows …{leak}…" for leak in _leaks(body.decode())]
    records = [record for record in caplog.records if CANARY in phi_guard._record_text(record)]
    failures += [f"log {record.name} {record.levelname}: {phi_guard._record_text(record)[:200]}" for record in records]
    assert not failures, "\n".join(failures)
    assert answered >= 10  # the role did see pages (a blanket refusal would prove nothing)
    assert caplog.records, "DEBUG logging produced nothing: the log half of this test would be blind"


def test_the_canaries_are_on_the_pages_for_the_patients_own_staff(world):
    """The positive control: the same pages do carry the canaries, current and former, to her site's staff."""
    client = client_for(world, STAFF_A)
    detail = client.get(reverse("casebook:patient", kwargs={"study_id": world.main})).content.decode()
    history = client.get(reverse("casebook:history", kwargs={"study_id": world.main})).content.decode()
    assert f"{CANARY}Name-002" in detail and f"{CANARY}MRN-002" in detail
    assert f"{CANARY}Name-001" in history  # the former name, in the identity correction's audit entry


def test_a_name_search_finds_nothing_for_a_user_without_phi_rights(world):
    """Searching by name must not confirm that a woman is enrolled (an oracle leak without showing a name)."""
    url = reverse("patients:list") + f"?q={CANARY}Name-002"
    assert world.main in client_for(world, STAFF_A).get(url).content.decode()
    for role in WITHOUT_PHI:
        assert world.main not in client_for(world, role).get(url).content.decode(), role


# --- The guard itself -----------------------------------------------------------------------------------


def test_the_guard_fails_a_request_whose_page_shows_a_name(world, monkeypatch):
    """Break the one place that decides whose names the list shows: the guard stops the request."""
    from patients import selectors
    from patients.models import PatientIdentity

    def every_name(*, user, patients):
        return dict(PatientIdentity.objects.filter(patient__in=patients).values_list("patient_id", "full_name"))

    monkeypatch.setattr(selectors, "identity_names", every_name)
    assert f"{CANARY}Name-002" in client_for(world, STAFF_A).get(reverse("patients:list")).content.decode()
    with pytest.raises(phi_guard.PhiLeak, match=r"full name 'PHI-CANARY-Name-00\d' of SZ-000\d.*as monitor"):
        client_for(world, MONITOR).get(reverse("patients:list"))


def test_the_guard_fails_a_request_that_logs_a_name(world, monkeypatch):
    from casebook import selectors

    casebook = selectors.patient_casebook

    def chatty(*, user, patient):
        logging.getLogger("patients.debugging").debug("casebook of %s", patient.identity.full_name)
        return casebook(user=user, patient=patient)

    monkeypatch.setattr(selectors, "patient_casebook", chatty)
    url = reverse("casebook:patient", kwargs={"study_id": world.main})
    client_for(world, MONITOR).get(url)  # DEBUG is below the configured level: nothing written, nothing leaked
    with phi_guard.all_loggers_at_debug(), pytest.raises(phi_guard.PhiLeak, match=r"log record of patients\.debugging"):
        client_for(world, MONITOR).get(url)


def test_the_guard_reads_streamed_answers(world):
    forbidden = phi_guard.Forbidden({f"{CANARY}MRN-001": "MRN of SZ-0001"})
    chunks = [b"study_id,mrn\nSZ-0001,PHI-CANA", b"RY-MRN-001\n"]  # cut across two chunks
    with pytest.raises(phi_guard.PhiLeak, match="MRN of SZ-0001"):
        list(phi_guard._scanned(iter(chunks), forbidden, "GET /export"))


def test_the_guard_matches_whole_values_only():
    forbidden = phi_guard.Forbidden({"Test Patient 1": "full name of SZ-0001"})
    assert forbidden.first_in("<td>Test Patient 1</td>") == "full name of SZ-0001"
    assert forbidden.first_in("<td>Test Patient 12</td>") is None
    assert phi_guard._spellings("O'Brien 李") >= {"O&#x27;Brien 李", "O'Brien \\u674e"}


def test_the_guard_lets_staff_see_their_own_sites_identities_but_not_others(world):
    hidden_from_b = phi_guard.forbidden_for(world.users[STAFF_B])
    hidden_from_a = phi_guard.forbidden_for(world.users[STAFF_A])
    assert hidden_from_b.first_in(f"{CANARY}Name-002") and hidden_from_b.first_in(f"{CANARY}Name-001")
    assert hidden_from_a.first_in(f"{CANARY}Name-002") is None
    # What the request itself sent is not a leak: a refused form shows what was typed.
    typed = phi_guard.forbidden_for(world.users[STAFF_B], sent=f"q={CANARY}Name-002")
    assert typed.first_in(f"{CANARY}Name-002") is None
