"""Requests and reads for the export tests: the export view called without a URLconf, its body and
its table, and the identities no export may contain."""

import csv
import io
import json
from datetime import date, timedelta

from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from analysis.export_api import ExportApi
from labs.services import lab_draw_record

FORMATS = ("csv", "json")


# Distinctive identities: none of these strings may appear in any export.
IDENTITIES = {
    "a1": {
        "full_name": "Xiomara Quenby-Thistlewood",
        "medical_record_number": "MRN-QX-770391",
        "date_of_birth": date(1990, 6, 17),
        "phone": "+86 755 8123 9944",
    },
    "a2": {
        "full_name": "Ottoline Brackenbury",
        "medical_record_number": "MRN-OB-118824",
        "date_of_birth": date(1988, 9, 23),
        "phone": "+86 138 0271 5566",
    },
    "a3": {
        "full_name": "Perpetua Ingleby-Marchbank",
        "medical_record_number": "MRN-PI-556102",
        "date_of_birth": date(1993, 2, 11),
        "phone": "+86 755 2468 1357",
    },
    "b1": {
        "full_name": "Wilhelmina Trevithick",
        "medical_record_number": "MRN-WT-330917",
        "date_of_birth": date(1994, 12, 5),
        "phone": "+86 10 6655 4433",
    },
}


factory = APIRequestFactory()


def _draw(patient, timepoint, entries, by):
    drawn_at = timezone.now() - timedelta(hours=1)
    return lab_draw_record(patient=patient, timepoint=timepoint, drawn_at=drawn_at, entries=entries, by=by)


def _export(user, dataset: str, fmt: str, **headers):
    request = factory.get(f"/api/v1/export/{dataset}.{fmt}", **headers)
    if user is not None:
        force_authenticate(request, user=user)
    return ExportApi.as_view()(request, dataset=dataset, fmt=fmt)


def _body(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def _table(user, dataset: str, fmt: str) -> tuple[list[str], list[dict]]:
    """(header, rows as dicts) of an export; CSV values are strings, JSON values are typed."""
    body = _body(_export(user, dataset, fmt))
    if fmt == "csv":
        header, *lines = list(csv.reader(io.StringIO(body)))
        return header, [dict(zip(header, line, strict=True)) for line in lines]
    objects = json.loads(body)
    return (list(objects[0]) if objects else []), objects
