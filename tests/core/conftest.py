"""Fixtures shared by the modules of tests/core."""

import pytest
from django.test import Client


@pytest.fixture
def staff_client(subjects):
    """Site A's staff signed in, in the hostile-input modules: `subjects` is their module's records
    (tests/core/hostile.py, `subjects = module_data(build_subjects)`)."""
    client = Client()
    client.force_login(subjects["staff"])
    return client
