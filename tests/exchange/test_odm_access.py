"""Who may take the ODM file and what it holds for them: statisticians only (as the other exports), a
blinded exporter gets no arm, `?site` narrows it (an unknown or unreadable site is refused), a
site-scoped exporter gets her sites only, and a refused request logs nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from analysis.models import ExportLog
from core.models import Trial
from tests.exchange.odm_world import NS, body_of, build_world, fetch, odm_schema, parse, subject
from tests.module_data import module_data

pytestmark = pytest.mark.django_db

world = module_data(build_world)


def _subjects(root) -> set[str]:
    return {s.get("SubjectKey") for s in root.iterfind(".//odm:SubjectData", NS)}


@pytest.mark.parametrize("persona", ["staff", "staff_bj", "investigator", "monitor", "admin"])
def test_only_statisticians_may_take_the_file(world, persona):
    response = fetch(world["users"][persona])
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert ExportLog.objects.count() == 0


def test_anonymous_is_refused(world):
    assert fetch(None).status_code in (401, 403)
    assert ExportLog.objects.count() == 0


def test_a_blinded_exporter_gets_no_arm_and_no_dalteparin(world):
    Trial.objects.update(results_blinded=True)
    blinded = parse(body_of(fetch(world["users"]["blinded"])))
    odm_schema().assertValid(blinded)
    treated = subject(blinded, world["treated"].study_id)
    assert treated.find(".//odm:ItemData[@ItemOID='I.RANDOMIZATION.RANDOMIZED_AT']", NS) is not None
    assert blinded.find(".//odm:ItemData[@ItemOID='I.RANDOMIZATION.ARM']", NS) is None
    assert blinded.find(".//odm:FormData[@FormOID='F.DALTEPARIN']", NS) is None
    unblinded = parse(body_of(fetch(world["users"]["statistician"])))
    arms = {i.get("Value") for i in unblinded.iterfind(".//odm:ItemData[@ItemOID='I.RANDOMIZATION.ARM']", NS)}
    assert arms and arms <= {"CTRL", "EXP"}
    assert unblinded.find(".//odm:FormData[@FormOID='F.DALTEPARIN']", NS) is not None


def test_site_narrows_the_file_to_that_site(world):
    root = parse(body_of(fetch(world["users"]["statistician"], "?site=BJ")))
    assert _subjects(root) == {world["other_site"].study_id}
    assert root.get("Granularity") == "SingleSite"
    assert _subjects(parse(body_of(fetch(world["users"]["statistician"], "?site=SZ")))) == {
        world["treated"].study_id,
        world["screen_failure"].study_id,
    }


@pytest.mark.parametrize(("query", "field"), [("?site=XX", "site"), ("?site=", "site"), ("?audit=yes", "audit")])
def test_a_bad_parameter_is_a_400_with_its_field_named(world, query, field):
    response = fetch(world["users"]["statistician"], query)
    assert response.status_code == 400
    assert field in response.json()
    assert ExportLog.objects.count() == 0


def _site_exporter(user):
    """A site-B staff member given the export permission by hand: she reads her own site only."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename="export_data"))
    return get_user_model().objects.get(pk=user.pk)


def test_a_site_scoped_exporter_gets_her_sites_only_and_is_refused_another(world):
    exporter = _site_exporter(world["users"]["staff_bj"])
    assert _subjects(parse(body_of(fetch(exporter)))) == {world["other_site"].study_id}
    assert fetch(exporter, "?site=SZ").status_code == 403


def test_a_control_character_in_free_text_does_not_break_the_file(world):
    from core.audit import audited
    from patients.models import LutealSupport

    with audited(by=world["users"]["staff"], reason="Pasted from the pharmacy system"):
        LutealSupport.objects.filter(patient=world["treated"]).update(drug="Gel\x01 8%")
    root = parse(body_of(fetch(world["users"]["statistician"], "?audit=1")))
    assert root.find(".//odm:ItemData[@ItemOID='I.LUTEAL_SUPPORT.DRUG']", NS).get("Value") == "Gel\ufffd 8%"
