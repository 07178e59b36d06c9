"""A refused request is logged once, on one line: Django's own console handler used to print every record
again beside the root's, and a 403 carried its whole traceback."""

import logging

import pytest
from django.urls import reverse


def test_django_adds_no_handler_of_its_own_beside_the_root_one():
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.request").handlers == []
    assert logging.getLogger("django.request").propagate  # to the root's one console handler


@pytest.mark.django_db
def test_a_refusal_is_one_line_without_traceback(client, staff_site_a, caplog):
    client.force_login(staff_site_a)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("quality:trial_settings"))
    assert response.status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert len(refusals) == 1
    assert refusals[0].exc_info is None and "Forbidden" in refusals[0].getMessage()
