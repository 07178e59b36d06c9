"""The user menu of every page (issue 20, item 2): her full name (or username), her username and her roles by
their names, change password, tokens, log out; the roles read from permissions the page has loaded anyway."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from core.context_processors import role_labels
from tests.factories import make_user


def _menu(user) -> str:
    client = Client()
    client.force_login(user)
    html = client.get(reverse("quality:missing")).content.decode()
    return html[html.index('id="user-menu"') : html.index("</details>", html.index('id="user-menu"'))]


@pytest.mark.django_db
def test_the_menu_shows_her_full_name_username_and_role(site_a):
    user = make_user("wang", "investigator", site_a, first_name="Min", last_name="Wang")
    menu = _menu(user)
    assert re.search(r'id="current-user-name">Min Wang<', menu)
    assert '<span id="current-user">wang</span>' in menu
    assert '<span id="current-role">Investigator</span>' in menu  # not "Site staff" too: hers are within it
    for link in ("password-link", "tokens-link"):
        assert f'id="{link}"' in menu
    assert reverse("logout") in menu


@pytest.mark.django_db
def test_without_a_full_name_the_menu_shows_the_username(site_a):
    menu = _menu(make_user("nobody_named", "site_staff", site_a, first_name="", last_name=""))
    assert 'id="current-user-name">nobody_named<' in menu
    assert '<span id="current-role">Site staff</span>' in menu


@pytest.mark.django_db
def test_two_roles_are_both_named():
    user = make_user("two_hats", "monitor")
    user.groups.add(Group.objects.get(name="statistician"))
    user = type(user).objects.get(pk=user.pk)
    assert sorted(role_labels(user)) == ["Monitor", "Statistician"]


@pytest.mark.django_db
def test_a_user_without_a_role_has_no_role_name():
    assert role_labels(get_user_model().objects.create(username="bare")) == []


@pytest.mark.django_db
def test_the_menu_speaks_chinese(site_a):
    user = make_user("li", "site_staff", site_a, first_name="Li", last_name="Na")
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("quality:missing")).content.decode()
    assert '<html lang="zh-hans">' in html and 'id="current-role">中心工作人员<' in html
