"""Blinded results: one selector decides who sees results by arm."""

import pytest

from core.models import Trial
from core.selectors import arm_results_visible

pytestmark = pytest.mark.django_db


def test_open_label_trial_shows_arms_to_everyone(investigator_site_a, monitor):
    Trial.objects.update(results_blinded=False)
    assert arm_results_visible(investigator_site_a) and arm_results_visible(monitor)


def test_blinded_trial_shows_arms_only_with_the_unblinded_permission(investigator_site_a, monitor, statistician):
    Trial.objects.update(results_blinded=True)
    assert not arm_results_visible(investigator_site_a)
    assert not arm_results_visible(monitor)
    assert arm_results_visible(statistician)  # holds view_unblinded_results
