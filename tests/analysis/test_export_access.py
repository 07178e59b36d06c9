"""Who may export what: no identity in any export, rows limited to the user's sites, the arm blinded
for users without unblinded access, statisticians only, unknown data sets 404."""

import csv
import io
import json

import pytest

from analysis import exports
from core.models import Trial
from tests.analysis.export_helpers import FORMATS, IDENTITIES, _body, _export, _table

pytestmark = pytest.mark.django_db


def test_no_identity_field_or_value_appears_in_any_export(trial, statistician):
    forbidden = set()
    for identity in IDENTITIES.values():
        dob = identity["date_of_birth"]
        forbidden |= {identity["full_name"], identity["medical_record_number"], identity["phone"]}
        forbidden |= {*identity["full_name"].split(), identity["phone"].replace(" ", "")}
        forbidden |= {dob.isoformat(), dob.strftime("%d/%m/%Y"), dob.strftime("%m/%d/%Y"), dob.strftime("%Y%m%d")}
    for dataset in exports.DATASETS:
        for fmt in FORMATS:
            body = _body(_export(statistician, dataset, fmt))
            header = next(csv.reader(io.StringIO(body))) if fmt == "csv" else list(json.loads(body)[0])
            for name in header:
                assert name not in {"name", "mrn", "dob"}, (dataset, fmt, name)
                for part in ("full_name", "medical_record", "date_of_birth", "birth_date", "phone"):
                    assert part not in name, (dataset, fmt, name)
            leaked = sorted(value for value in forbidden if value.lower() in body.lower())
            assert leaked == [], (dataset, fmt)


@pytest.mark.parametrize("dataset", exports.DATASETS)
def test_exports_are_limited_to_the_sites_the_user_may_read(trial, statistician, exporter_site_b, dataset):
    for fmt in FORMATS:
        _, own_site = _table(exporter_site_b, dataset, fmt)
        assert own_site, (dataset, fmt)
        assert {row["site"] for row in own_site} == {"BJ"}
        assert {row["study_id"] for row in own_site} == {trial.b1.study_id}
    _, everything = _table(statistician, dataset, "csv")
    assert {row["site"] for row in everything} == {"SZ", "BJ"}


def test_blinded_results_leave_the_arm_empty_for_users_without_unblinded_access(trial, statistician, exporter_site_b):
    Trial.objects.update(results_blinded=True)
    for dataset in exports.DATASETS:
        _, blinded = _table(exporter_site_b, dataset, "json")
        assert {row["arm"] for row in blinded} == {None}, dataset
        _, unblinded = _table(statistician, dataset, "json")
        assert {row["arm"] for row in unblinded} <= {"CTRL", "EXP"}
        assert None not in {row["arm"] for row in unblinded}


@pytest.mark.parametrize("persona", ["staff_site_a", "investigator_site_a", "monitor"])
def test_only_statisticians_may_export(request, persona):
    user = request.getfixturevalue(persona)
    for fmt in FORMATS:
        response = _export(user, "patients", fmt)
        assert response.status_code == 403
        assert not response.streaming
        assert "export" in response.data["detail"]


def test_anonymous_users_may_not_export(db):
    assert _export(None, "lab-results", "csv").status_code in (401, 403)


@pytest.mark.parametrize("path", [("patient-identities", "csv"), ("labs", "json"), ("patients", "xml")])
def test_unknown_dataset_or_format_is_404(statistician, path):
    dataset, fmt = path
    response = _export(statistician, dataset, fmt)
    assert response.status_code == 404
    assert "datasets are patients, lab-results, adverse-events, questionnaires" in response.data["detail"]
