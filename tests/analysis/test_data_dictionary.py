"""The data dictionary: every exported column with its header name, label, type, unit and allowed
values, for any logged-in user."""

import pytest
from rest_framework.test import force_authenticate

from analysis import exports
from analysis.export_api import DataDictionaryApi
from tests.analysis.export_helpers import _table, factory

pytestmark = pytest.mark.django_db


def test_data_dictionary_lists_every_exported_column_with_header_names(trial, statistician, staff_site_a):
    request = factory.get("/api/v1/data-dictionary/")
    force_authenticate(request, user=staff_site_a)  # any authenticated user may read it
    response = DataDictionaryApi.as_view()(request)
    assert response.status_code == 200
    datasets = response.data["datasets"]
    assert list(datasets) == list(exports.DATASETS)
    for dataset, entries in datasets.items():
        header, _ = _table(statistician, dataset, "csv")
        assert [entry["name"] for entry in entries] == header, dataset
        for entry in entries:
            assert set(entry) == {"name", "label", "type", "unit", "allowed_values"}
            assert entry["label"]
            assert entry["type"] in {"string", "integer", "number", "boolean", "date", "datetime"}
    patients = {entry["name"]: entry for entry in datasets["patients"]}
    assert (patients["lab_E2_BASELINE"]["unit"], patients["lab_E2_BASELINE"]["type"]) == ("pmol/L", "number")
    assert (patients["clinical_pregnancy"]["type"], patients["clinical_pregnancy"]["allowed_values"]) == (
        "boolean",
        [0, 1],
    )
    assert patients["arm"]["allowed_values"] == ["CTRL", "EXP"]
    assert patients["education"]["allowed_values"] == [
        "junior_high_or_below",
        "high_school_or_vocational",
        "college_or_higher",
    ]
    lab = {entry["name"]: entry for entry in datasets["lab-results"]}
    assert lab["censored"]["allowed_values"] == ["<", ">"]
    assert lab["flag"]["allowed_values"] == ["normal", "low", "high"]


def test_data_dictionary_needs_a_logged_in_user(db):
    assert DataDictionaryApi.as_view()(factory.get("/api/v1/data-dictionary/")).status_code in (401, 403)
