"""Synthetic trials allocate from lists generated from fixed seeds (issue 18, finding 7): each list records
its seed and its generator, and regenerates to its recorded hash."""

import pytest

from patients.models import AllocationList
from sampledata.synthetic.service import synthetic_trial_generate
from tests.patients.test_allocation_lists import _regenerated_hash

pytestmark = pytest.mark.django_db


def test_synthetic_lists_record_their_fixed_seed_and_regenerate_to_their_hash():
    synthetic_trial_generate(patients=30, seed=5, sites=1)
    lists = list(AllocationList.objects.all())
    assert lists
    for made in lists:
        assert (made.generator, made.seed_source) == ("hmac-sha256-v2", "fixed")
        assert _regenerated_hash(made) == made.sha256
