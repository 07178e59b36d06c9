"""The "About this demo" page: the paper's claims beside live values read from the latest snapshot.

(tests/sampledata/test_demo_paper.py checks the claims against a snapshot of the real seeded demo; here a
snapshot payload is built along the claims' paths, so the page's judging and rendering are tested fast.)
"""

import copy
from decimal import Decimal

import pytest
from django.urls import reverse

from analysis.models import StatisticsSnapshot
from sampledata.paper_claims import PAPER_CLAIMS
from sampledata.views import INVENTED, NOT_REPRODUCED, REPRODUCED, claim_rows

pytestmark = pytest.mark.django_db


def _value(claim) -> float:
    printed = claim.demo
    if printed.endswith("%"):
        return float(Decimal(printed[:-1]) / 100)
    if printed.startswith("<"):
        return float(Decimal(printed[1:]) / 10)
    return float(Decimal(printed))


def payload_of_the_demo() -> dict:
    """A payload holding, at every claim's path, the value the seeded demo computes."""
    payload: dict = {}
    for claim in PAPER_CLAIMS:
        node = payload
        for part in claim.path[:-1]:
            node = node.setdefault(part, {})
        node[claim.path[-1]] = _value(claim)
    return payload


def _set(payload: dict, path: tuple, value) -> None:
    node = payload
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def test_each_claim_is_judged_from_the_value_in_the_snapshot():
    rows = {row.claim.id: row for row in claim_rows(payload_of_the_demo())}
    assert set(rows) == {c.id for c in PAPER_CLAIMS}
    for claim in PAPER_CLAIMS:
        expected = INVENTED if not claim.published else (REPRODUCED if claim.reproducible else NOT_REPRODUCED)
        assert (rows[claim.id].live, rows[claim.id].verdict) == (claim.demo, expected), claim.id
    assert rows["clinical_pregnancy.EXP"].verdict == REPRODUCED
    assert any(r.verdict == NOT_REPRODUCED for r in rows.values()), "the demo documents claims it cannot reproduce"


def test_changed_data_change_the_verdict_and_a_missing_value_is_not_a_crash():
    payload = payload_of_the_demo()
    cpr = next(c for c in PAPER_CLAIMS if c.id == "clinical_pregnancy.EXP")
    changed = copy.deepcopy(payload)
    _set(changed, cpr.path, 0.35)
    rows = {row.claim.id: row for row in claim_rows(changed)}
    assert (rows[cpr.id].live, rows[cpr.id].verdict) == ("35%", NOT_REPRODUCED)
    rows = {row.claim.id: row for row in claim_rows({})}
    assert rows[cpr.id].live == "" and rows[cpr.id].verdict == NOT_REPRODUCED


def _snapshot(payload):
    from django.utils import timezone

    return StatisticsSnapshot.objects.create(
        input_hash="about-test",
        payload=payload,
        data_as_of=timezone.now(),
        duration_seconds=0.1,
        code_version="test",
        patients=80,
    )


def test_about_page_lists_the_claims_by_verdict(client, investigator_site_a):
    client.force_login(investigator_site_a)
    assert 'id="no-snapshot"' in client.get(reverse("about")).content.decode()
    _snapshot(payload_of_the_demo())
    page = client.get(reverse("about")).content.decode()
    assert 'data-claim="clinical_pregnancy.EXP" data-verdict="reproduced"' in page
    for claim in PAPER_CLAIMS:
        if claim.published and not claim.reproducible:
            assert f'data-claim="{claim.id}" data-verdict="not reproduced"' in page


def test_blinded_users_do_not_see_the_arm_comparison(client, staff_site_a):
    from core.models import Trial

    Trial.objects.update(results_blinded=True)
    _snapshot(payload_of_the_demo())
    client.force_login(staff_site_a)
    page = client.get(reverse("about")).content.decode()
    assert "data-claim=" not in page and "blinded" in page


def test_the_paper_summary_the_page_cites_ships_in_docs(client, investigator_site_a):
    from django.conf import settings

    summary = (settings.BASE_DIR / "docs" / "paper.md").read_text()
    assert "10.5937/jomb0-57360" in summary and "Lei J, Jin Y, Geng N, Zhang H" in summary
    for fact in ("80 women", "40 per arm", "Clinical pregnancy rate", "41.25%", "22.62%", "dalteparin"):
        assert fact in summary, fact
    client.force_login(investigator_site_a)
    page = client.get(reverse("about")).content.decode()
    citation = page[page.index('id="paper-citation"') :].split("</p>")[0]
    assert "<code>docs/paper.md</code>" in citation and 'href="https://doi.org/10.5937/jomb0-57360"' in citation
    assert "docs/paper.md" in page[: page.index('id="paper-citation"')]  # the description names it too
    assert "trial in paper.md" not in page
