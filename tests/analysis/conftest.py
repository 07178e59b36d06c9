"""Fixtures the export tests share."""

import pytest


@pytest.fixture
def exporter_site_b(staff_site_b):
    """A site-B staff member given the export permission by hand (no role has it besides statistician)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    staff_site_b.user_permissions.add(Permission.objects.get(content_type__app_label="core", codename="export_data"))
    return get_user_model().objects.get(pk=staff_site_b.pk)  # fresh: no cached permissions
