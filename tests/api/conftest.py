"""Requests through Django's WSGI handler inside a module's transaction (tests/module_data.py)."""

from contextlib import contextmanager

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@contextmanager
def handler_keeps_the_connection():
    """Django's WSGI handler must not close the connection when a request starts or ends: that would end
    the transaction the test data lives in (Django's own test client disconnects the same handler)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def in_transaction():
    with handler_keeps_the_connection():
        yield


# The API journey's steps and checks assert as they go: rewritten like a test module's asserts, so that a
# failure there shows its values too (they are imported by tests/api/test_api_journey.py only).
pytest.register_assert_rewrite("tests.api.journey_steps", "tests.api.journey_checks")
