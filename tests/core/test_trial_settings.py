"""The statistician's Trial settings page (issue 18, finding 2): status and blinding change only there, each
with a reason, in the audit trail; `locked` belongs to the database lock alone."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from core.exceptions import InvalidTransition, ReasonRequired, StaleVersion, ValidationFailed
from core.models import DatabaseLock, Trial
from core.selectors import arm_results_visible
from core.trial_settings import trial_settings_update, trial_settings_version
from quality import services as quality_services

pytestmark = pytest.mark.django_db

URL = reverse("quality:trial_settings")
OTHER_ROLES = ["staff_site_a", "investigator_site_a", "monitor", "admin_user"]


def _trial() -> Trial:
    return Trial.objects.get()


def _post(client, **data):
    trial = _trial()
    values = {"status": trial.status, "version": trial_settings_version(trial), "reason": "", **data}
    if "results_blinded" not in data and trial.results_blinded:
        values["results_blinded"] = "on"
    if values.get("results_blinded") is False:
        del values["results_blinded"]  # an unticked checkbox sends nothing
    return client.post(URL, values)


def _events():
    return list(Trial.pgh_event_model.objects.select_related("pgh_context").order_by("pgh_id"))


def test_the_statistician_closes_recruitment_and_blinds_results_with_a_reason_in_the_audit_trail(client, statistician):
    client.force_login(statistician)
    before = len(_events())
    response = _post(client, status="closed", results_blinded="on", reason="Recruitment target reached (DSMB 3)")
    assert response.status_code == 302
    trial = _trial()
    assert (trial.status, trial.results_blinded) == ("closed", True)
    [event] = _events()[before:]
    assert (event.status, event.results_blinded) == ("closed", True)
    metadata = event.pgh_context.metadata
    assert metadata["reason"] == "Recruitment target reached (DSMB 3)"
    assert (metadata["username"], metadata["user"]) == ("statistician", statistician.pk)
    page = client.get(URL).content.decode()
    assert "Recruitment target reached (DSMB 3)" in page and 'data-status="closed"' in page


def test_without_a_reason_nothing_changes(client, statistician):
    client.force_login(statistician)
    before = len(_events())
    response = _post(client, status="closed", reason="   ")
    assert response.status_code == 400 and 'data-field="reason"' in response.content.decode()
    with pytest.raises(ReasonRequired):
        trial_settings_update(status="closed", results_blinded=True, reason="", by=statistician)
    assert (_trial().status, _trial().results_blinded, len(_events())) == ("recruiting", False, before)


@pytest.mark.parametrize("persona", OTHER_ROLES)
def test_other_roles_can_neither_see_nor_change_the_settings(client, persona, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert _post(client, status="closed", results_blinded="on", reason="mine now").status_code == 403
    with pytest.raises(PermissionDenied):
        trial_settings_update(status="closed", results_blinded=True, reason="mine now", by=user)
    assert (_trial().status, _trial().results_blinded) == ("recruiting", False)
    assert reverse("quality:trial_settings") not in client.get(reverse("patients:list")).content.decode()


def test_the_nav_links_the_page_for_the_statistician(client, statistician):
    client.force_login(statistician)
    assert f'href="{URL}"' in client.get(reverse("quality:database_lock")).content.decode()


def test_locked_cannot_be_set_here(client, statistician):
    with pytest.raises(InvalidTransition, match="database lock"):
        trial_settings_update(status="locked", results_blinded=False, reason="skip the lock record", by=statistician)
    client.force_login(statistician)
    response = _post(client, status="locked", reason="skip the lock record")
    assert response.status_code == 400 and 'data-field="status"' in response.content.decode()
    assert _trial().status == "recruiting" and not DatabaseLock.objects.exists()


def test_a_database_lock_cannot_be_lifted_here_but_blinding_can_still_change(client, statistician):
    quality_services.database_lock(reason="Final analysis", by=statistician, override_reason="No statistics yet")
    with pytest.raises(InvalidTransition, match="database lock"):
        trial_settings_update(status="recruiting", results_blinded=False, reason="reopen quietly", by=statistician)
    client.force_login(statistician)
    refused = _post(client, status="recruiting", reason="reopen quietly")
    assert _trial().status == "locked"  # the locked status is not offered: the form keeps it
    assert refused.status_code == 400
    done = _post(client, results_blinded="on", reason="Blind the report until the DSMB meets")
    assert done.status_code == 302
    assert (_trial().status, _trial().results_blinded) == ("locked", True)
    assert DatabaseLock.objects.get().unlocked_at is None  # the lock row stays open


@pytest.mark.parametrize(
    ("start", "wanted", "allowed"),
    [
        ("setup", "recruiting", True),
        ("recruiting", "closed", True),
        ("closed", "recruiting", True),
        ("recruiting", "setup", False),
        ("setup", "closed", False),
    ],
)
def test_status_changes_follow_the_trial_lifecycle(statistician, start, wanted, allowed):
    Trial.objects.update(status=start)
    if allowed:
        trial_settings_update(status=wanted, results_blinded=False, reason="lifecycle", by=statistician)
    else:
        with pytest.raises(InvalidTransition):
            trial_settings_update(status=wanted, results_blinded=False, reason="lifecycle", by=statistician)
    assert _trial().status == (wanted if allowed else start)


def test_a_change_that_changes_nothing_is_refused(statistician):
    with pytest.raises(ValidationFailed, match="Nothing to change"):
        trial_settings_update(status="recruiting", results_blinded=False, reason="nothing", by=statistician)


def test_a_stale_form_is_refused_naming_who_changed_the_settings(client, statistician):
    opened = trial_settings_version(_trial())
    trial_settings_update(status="closed", results_blinded=False, reason="closed first", by=statistician)
    with pytest.raises(StaleVersion, match="changed by statistician"):
        trial_settings_update(
            status="closed", results_blinded=True, reason="blind", by=statistician, expected_version=opened
        )
    client.force_login(statistician)
    response = _post(client, status="closed", results_blinded="on", reason="blind", version=opened)
    assert response.status_code == 400 and "changed by statistician" in response.content.decode()
    assert _trial().results_blinded is False


def test_blinding_takes_effect_for_a_user_without_unblinding(investigator_site_a, statistician):
    assert arm_results_visible(investigator_site_a) and arm_results_visible(statistician)
    trial_settings_update(status="recruiting", results_blinded=True, reason="Blind interim", by=statistician)
    assert not arm_results_visible(investigator_site_a)
    assert arm_results_visible(statistician)  # she holds view_unblinded_results
    trial_settings_update(status="recruiting", results_blinded=False, reason="Unblind at lock", by=statistician)
    assert arm_results_visible(investigator_site_a)
