"""Hostile addresses, query parameters and headers (SPEC §8): a 400 naming what is wrong, never a 500.

A control character in the path, a query parameter or a header; malformed or out-of-range date-times for
`updated_since` and the audit trail's `since`; a cursor the list did not give out; a page size outside
1–1000. Most of these were a 500 (or a silent acceptance) before issue 18: the request guard
(core.request_guard) refuses control characters wherever text arrives; core.api checks the cursor, the page
size and the date-times.
"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.core.hostile import (
    build_subjects,
    needs_db,
)
from tests.module_data import module_data

subjects = module_data(build_subjects)


@needs_db
@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/patients/{study_id}%00/", "page"),
        ("/patients/{study_id}%01/history/", "page"),
        ("/api/v1/patients/{study_id}%00/", "api"),
        ("/api/v1/lab-results/1%00/", "api"),
    ],
)
def test_a_control_character_in_the_path_is_a_400_with_a_message(subjects, staff_client, url, kind):
    staff_client.raise_request_exception = False
    response = staff_client.get(url.format(study_id=subjects["treated"].study_id))
    assert response.status_code == 400
    message = response.json()["detail"] if kind == "api" else response.content.decode()
    assert "control character U+000" in message and "in the address" in message


@needs_db
@pytest.mark.parametrize(
    "url",
    [
        "/patients/?q=SZ%00",
        "/api/v1/patients/?study_id=%00",
        "/api/v1/queries/?study_id=a%00b",
        "/api/v1/lab-results/?updated_since=%1B",
        "/api/v1/audit/?patient=SZ-0001%00",
        "/api/v1/patients/?na%00me=1",
    ],
)
def test_a_control_character_in_a_query_parameter_is_a_400_naming_it(subjects, staff_client, url):
    staff_client.raise_request_exception = False
    response = staff_client.get(url)
    assert response.status_code == 400
    body = response.json()["detail"] if "/api/" in url else response.content.decode()
    assert "control character" in body and "query parameter" in body


@needs_db
def test_a_control_character_in_a_header_is_a_400(subjects, staff_client):
    response = staff_client.get(reverse("api-patients"), HTTP_AUTHORIZATION="Token abc\x00def")
    assert response.status_code == 400
    assert "header Authorization" in response.json()["detail"]


@needs_db
@pytest.mark.parametrize(
    "query",
    [
        "updated_since=2025-13-01T00:00:00Z",  # well-formed, impossible month: parse_datetime raises
        "updated_since=2025-02-30T00:00:00Z",
        "updated_since=2025-03-01T25:00:00Z",
        "updated_since=yesterday",
        "updated_since=2025-03-01T00:00:00",  # no zone
    ],
)
def test_a_bad_updated_since_is_a_400_naming_the_parameter(subjects, staff_client, query):
    for route in ("api-patients", "api-lab-results", "api-transfers"):
        response = staff_client.get(f"{reverse(route)}?{query}")
        assert response.status_code == 400, (route, response.status_code)
        assert "updated_since" in response.json()


@needs_db
@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ("2025-03-01T00:00:00+23:59", "offset must be between -14:00 and +14:00"),
        ("2025-03-01T00:00:00-15:00", "offset must be between -14:00 and +14:00"),
        ("0001-01-01T00:00:00+01:00", "between the years 1 and 9999"),
        ("9999-12-31T23:59:59-01:00", "between the years 1 and 9999"),
    ],
)
def test_a_date_time_out_of_range_is_a_400_for_updated_since_and_the_audit_since(
    subjects, staff_client, moment, message
):
    for route in ("api-patients", "api-lab-results", "api-transfers", "api-sites"):
        response = staff_client.get(reverse(route), {"updated_since": moment})
        assert response.status_code == 400, (route, response.status_code)
        assert message in response.json()["updated_since"][0]
    response = staff_client.get(reverse("api-audit"), {"patient": subjects["treated"].study_id, "since": moment})
    assert response.status_code == 400 and message in response.json()["since"][0]


@needs_db
def test_the_extreme_offsets_in_use_are_accepted(subjects, staff_client):
    for moment in ("2025-03-01T00:00:00+14:00", "2025-03-01T00:00:00-12:00"):
        assert staff_client.get(reverse("api-patients"), {"updated_since": moment}).status_code == 200


def _paginated_lists() -> list[str]:
    """Every cursor-paginated list of the API, from the schema it serves."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if "get" in operations
        and "{" not in path
        and "cursor" in {p["name"] for p in operations["get"].get("parameters", [])}
    )


@needs_db
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "cD1hYmM=",  # base64 of "p=abc": well encoded, a position that is no primary key
        "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==",  # a position beyond any integer column
        "bz0tMQ==",  # "o=-1"
    ],
)
def test_a_cursor_the_list_did_not_give_out_is_a_400_on_every_paginated_list(subjects, cursor):
    from tests.factories import make_user

    client = Client(raise_request_exception=False)
    client.force_login(make_user("statistician_cursor", "statistician"))  # may read every list
    lists = _paginated_lists()
    assert {"/api/v1/patients/", "/api/v1/audit/", "/api/v1/queries/", "/api/v1/sites/"} <= set(lists)
    for path in lists:
        response = client.get(path, {"cursor": cursor, "patient": subjects["treated"].study_id})
        assert response.status_code == 400, (path, response.status_code)
        assert "follow the `next` or `previous` link" in response.json()["cursor"][0], path


@needs_db
@pytest.mark.parametrize("size", ["0", "-1", "1001", "abc", "1e3", "٣"])
def test_a_page_size_outside_1_to_1000_is_a_400(subjects, staff_client, size):
    response = staff_client.get(reverse("api-patients"), {"page_size": size})
    assert response.status_code == 400
    assert response.json() == {"page_size": ["Give a whole number from 1 to 1000."]}


@needs_db
def test_a_page_size_within_bounds_is_used(subjects, staff_client):
    assert staff_client.get(reverse("api-patients"), {"page_size": "1000"}).status_code == 200
    assert len(staff_client.get(reverse("api-patients"), {"page_size": "1"}).json()["results"]) == 1
