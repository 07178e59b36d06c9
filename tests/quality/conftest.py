"""Fixtures the quality service tests share."""

import pytest

from tests.factories import backdated_transfer, randomized_patient


@pytest.fixture
def treated(site_a, staff_site_a, statistician):
    """Transferred 14 days ago, so an ET14 draw today is inside its window."""
    patient = randomized_patient(site_a, staff_site_a, statistician)
    backdated_transfer(patient, staff_site_a, days_ago=14)
    return patient
