"""`field__any=[...]` (core.lookups): the same rows as `__in`, with the list sent as one array parameter."""

import pytest

from patients.models import Patient
from tests.factories import screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients(site_a, staff_site_a):
    return [screen(site_a, staff_site_a) for _ in range(3)]


def test_any_finds_the_same_rows_as_in_for_keys_and_texts(patients):
    ids = [patients[0].pk, patients[2].pk, 987654]
    study_ids = [patients[1].study_id, "XX-0000"]
    assert set(Patient.objects.filter(pk__any=ids)) == set(Patient.objects.filter(pk__in=ids))
    assert list(Patient.objects.filter(study_id__any=study_ids)) == [patients[1]]
    assert list(Patient.objects.filter(site_id__any=[patients[0].site_id]).order_by("pk")) == patients


def test_any_of_nothing_is_nothing(patients):
    assert not Patient.objects.filter(pk__any=[]).exists()


def test_any_sends_one_parameter_whatever_the_length():
    sql, params = Patient.objects.filter(pk__any=list(range(5000))).query.sql_with_params()
    assert '"patients_patient"."id" = ANY(%s)' in sql
    assert len(params) == 1 and len(params[0]) == 5000
