"""Blinded results: one selector decides, and it pools arms for users without unblinded access."""

import pytest

from core.models import Trial
from core.selectors import arm_results_visible, rows_for_results

pytestmark = pytest.mark.django_db

ROWS = [{"study_id": "SZ-0001", "arm": "EXP", "value": 1}, {"study_id": "SZ-0002", "arm": "CTRL", "value": 0}]


def test_open_label_trial_shows_arms_to_everyone(investigator_site_a, monitor):
    Trial.objects.update(results_blinded=False)
    assert arm_results_visible(investigator_site_a) and arm_results_visible(monitor)
    assert rows_for_results(monitor, ROWS) == ROWS


def test_blinded_trial_pools_results_for_users_without_unblinded_access(investigator_site_a, statistician):
    Trial.objects.update(results_blinded=True)
    assert not arm_results_visible(investigator_site_a)
    pooled = rows_for_results(investigator_site_a, ROWS)
    assert [row["arm"] for row in pooled] == [None, None]
    assert [row["value"] for row in pooled] == [1, 0]  # data kept, only the arm removed
    assert ROWS[0]["arm"] == "EXP"  # the caller's rows are not altered
    assert arm_results_visible(statistician)
    assert rows_for_results(statistician, ROWS) == ROWS
