"""Every page names its icon, so browsers do not ask for /favicon.ico (a 404 in every log)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

STATIC = Path(settings.BASE_DIR) / "static"


@pytest.mark.django_db
def test_pages_link_an_icon_that_exists(client):
    html = client.get(reverse("login")).content.decode()
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="/static/([^"]+)">', html)
    assert icon is not None
    assert (STATIC / icon.group(1)).read_text(encoding="utf-8").startswith("<svg")
