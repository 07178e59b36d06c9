"""Permissions read in one query (core.auth_backends): the same set as Django's ModelBackend."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from core.auth_backends import ModelBackendOneQuery
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # no permission cache, as on each request


@pytest.mark.parametrize("role", ["site_staff", "investigator", "monitor", "statistician", "admin"])
def test_each_role_has_the_same_permissions_as_with_model_backend(role, site_a):
    user = make_user(f"user_{role}", role, site_a)
    user.user_permissions.add(Permission.objects.get(codename="view_logentry"))  # one of her own too
    expected = ModelBackend().get_all_permissions(_fresh(user))
    assert ModelBackendOneQuery().get_all_permissions(_fresh(user)) == expected
    assert "admin.view_logentry" in expected and len(expected) > 1


def test_one_query_per_request_and_none_for_inactive_users(site_a, django_assert_num_queries):
    user = make_user("one_query", "investigator", site_a)
    fresh = _fresh(user)
    with django_assert_num_queries(1):
        assert fresh.has_perm("core.view_dashboards")
        assert fresh.has_perm("core.enter_clinical_data")
    user.is_active = False
    user.save()
    assert ModelBackendOneQuery().get_all_permissions(_fresh(user)) == set()
