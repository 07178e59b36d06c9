"""Hostile bytes in the new filter forms and the bulk message (issue 20 review): the audit history (page and
CSV) and the queries list answer without a 500 whatever a filter or the bulk message holds."""

import pytest
from django.urls import reverse

from quality.models import DataQuery
from tests.factories import randomized_patient

pytestmark = pytest.mark.django_db

HOSTILE = ["\x00", "体重\x00", "\u202e", "x" * 5000]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_history_and_query_filters_and_the_bulk_message_never_answer_500(
    client, site_a, staff_site_a, statistician, monitor, value
):
    patient = randomized_patient(site_a, staff_site_a, statistician)
    client.force_login(monitor)
    history = reverse("casebook:history", args=[patient.study_id])
    for key in ("record", "field", "user", "date_from", "date_to"):
        for fmt in ("", "csv"):
            assert client.get(history, {key: value, "format": fmt}).status_code < 500, (key, fmt)
    for key in ("site", "form", "field", "status", "origin", "age", "study_id", "page"):
        assert client.get(reverse("quality:queries"), {key: value}).status_code < 500, key
    before = DataQuery.objects.filter(status="closed").count()
    refused = client.post(reverse("quality:queries"), {"action": "close", "message": value, "queries": [value]})
    assert 400 <= refused.status_code < 500
    assert DataQuery.objects.filter(status="closed").count() == before
