"""Study ids are gap-free per site even when many staff register at once (real PostgreSQL transactions)."""

import threading
from datetime import date

import pytest
from django.db import connection

from patients.models import Patient
from tests.factories import screen

pytestmark = pytest.mark.django_db(transaction=True)

CONCURRENT_REGISTRATIONS = 20


def test_concurrent_registrations_get_distinct_consecutive_ids(site_a, site_b, staff_site_a, staff_site_b):
    start = threading.Barrier(CONCURRENT_REGISTRATIONS)
    errors: list[BaseException] = []

    def register(n: int) -> None:
        try:
            start.wait()
            screen(site_a, staff_site_a, medical_record_number=f"CONC-{n}", screening_date=date(2025, 3, 1))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(CONCURRENT_REGISTRATIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    ids = sorted(Patient.objects.filter(site=site_a).values_list("study_id", flat=True))
    assert ids == [f"SZ-{n:04d}" for n in range(1, CONCURRENT_REGISTRATIONS + 1)]
    # Numbering is per site: the next site starts at 0001.
    assert screen(site_b, staff_site_b).study_id == "BJ-0001"


def test_a_refused_registration_leaves_no_gap(site_a, staff_site_a):
    from core.exceptions import ValidationFailed

    first = screen(site_a, staff_site_a)
    with pytest.raises(ValidationFailed):
        screen(site_a, staff_site_a, medical_record_number=first.identity.medical_record_number)
    assert screen(site_a, staff_site_a).study_id == "SZ-0002"
