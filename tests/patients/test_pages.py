"""Registry pages render what the services stored, with a query count independent of the row count."""

import pytest
from django.urls import reverse

from patients import services
from tests.factories import baseline_input, consented_patient, screen

pytestmark = pytest.mark.django_db


def _list_queries(client, django_assert_max_num_queries, expected):
    # session, user, permissions (user + group), memberships (site scoping), paginator count,
    # the page of patients with their site, identity names of the page, trial name. The session is saved
    # at most once a minute (idle timeout): not on these views, see the warm-up.
    with django_assert_max_num_queries(expected) as captured:
        assert client.get(reverse("patients:list")).status_code == 200
    return len(captured.captured_queries)


def test_patient_list_query_count_does_not_grow_with_patients(
    client, site_a, staff_site_a, django_assert_max_num_queries
):
    for _ in range(3):
        screen(site_a, staff_site_a)
    client.force_login(staff_site_a)
    client.get(reverse("patients:list"))  # the first view after login starts the idle-timeout clock
    with_three = _list_queries(client, django_assert_max_num_queries, 9)
    for _ in range(7):
        screen(site_a, staff_site_a)
    assert _list_queries(client, django_assert_max_num_queries, 9) == with_three


def test_status_filter_and_study_id_search(client, site_a, staff_site_a):
    eligible = screen(site_a, staff_site_a)
    ineligible = screen(site_a, staff_site_a, eligible=False)
    client.force_login(staff_site_a)
    filtered = client.get(reverse("patients:list"), {"status": "ineligible"}).content.decode()
    assert f'data-study-id="{ineligible.study_id}"' in filtered
    assert f'data-study-id="{eligible.study_id}"' not in filtered
    searched = client.get(reverse("patients:list"), {"q": eligible.study_id.lower()}).content.decode()
    assert f'data-study-id="{eligible.study_id}"' in searched
    assert f'data-study-id="{ineligible.study_id}"' not in searched


def test_patient_page_shows_each_forms_state(client, site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    client.force_login(staff_site_a)
    url = reverse("casebook:patient", args=[patient.study_id])
    page = client.get(url).content.decode()
    assert 'data-form="consent" data-state="complete"' in page
    assert 'data-form="baseline" data-state="not started"' in page
    services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    page = client.get(url).content.decode()
    assert 'data-form="baseline" data-state="complete"' in page
    assert "21.88 kg/m²" in page


def test_history_page_lists_who_what_and_why(client, site_a, staff_site_a):
    patient = consented_patient(site_a, staff_site_a)
    baseline = services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.baseline_update(
        baseline=baseline,
        data=baseline_input(prior_miscarriages=2),
        by=staff_site_a,
        reason="Source document says 2",
        expected_version=1,
    )
    client.force_login(staff_site_a)
    page = client.get(reverse("casebook:history", args=[patient.study_id])).content.decode()
    assert 'data-record="baseline" data-action="changed" data-field="prior_miscarriages"' in page
    assert "Source document says 2" in page
    assert staff_site_a.username in page
