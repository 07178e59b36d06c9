"""Lists generated before server seeds: the migration marks them mt19937-v1, and they keep extending with it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from patients import allocation, randomization
from patients.allocation_stream import MT19937_V1
from patients.models import AllocationList

# The arms in the order the trial configuration lists them (core.Arm.order), as the services pass them.
ARMS = ("CTRL", "EXP")

pytestmark = pytest.mark.django_db

BEFORE = [("patients", "0005_statement_foreign_keys_fewer_indexes")]
LEGACY_SEED = 20240101  # what a person typed before v2: a date


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes("patients")


def _legacy_list(old_apps, site_pk: int, user_pk: int) -> int:
    """A live v1 list as the code before v2 stored it: an integer seed, no generator recorded."""
    old_list = old_apps.get_model("patients", "AllocationList")
    old_slot = old_apps.get_model("patients", "AllocationSlot")
    arms = dict(old_apps.get_model("core", "Arm").objects.values_list("code", "pk"))
    slots = allocation.permuted_blocks(arms=ARMS, seed=LEGACY_SEED, length=20, generator=MT19937_V1)
    made = old_list.objects.create(
        site_id=site_pk,
        age_group="<35",
        source="generated",
        seed=LEGACY_SEED,
        block_sizes=[2, 4],
        created_by_id=user_pk,
    )
    old_slot.objects.bulk_create(
        old_slot(
            allocation_list=made,
            sequence=s.sequence,
            arm_id=arms[s.arm],
            block_number=s.block_number,
            block_size=s.block_size,
        )
        for s in slots
    )
    return made.pk


def test_a_list_made_before_v2_is_marked_mt19937_and_extends_with_it_keeping_its_slots(site_a, statistician):
    latest = _latest()
    old_apps = _migrate(BEFORE)
    pk = _legacy_list(old_apps, site_a.pk, statistician.pk)
    with connection.cursor() as cursor:
        # Django's foreign keys are deferred: fire their checks now, or the next ALTER TABLE is refused.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _migrate(latest)
    legacy = AllocationList.objects.get(pk=pk)
    assert (legacy.generator, legacy.seed, legacy.seed_hex, legacy.seed_source) == (
        MT19937_V1,
        LEGACY_SEED,
        "",
        "chosen",
    )
    before = list(legacy.slots.order_by("sequence").values_list("sequence", "arm__code", "block_number"))
    live = randomization.allocation_list_go_live(allocation_list=legacy, by=statistician)
    assert randomization.allocation_list_verify(allocation_list=live, by=statistician) is True

    randomization.allocation_list_extend(allocation_list=live, by=statistician, length=60)

    live.refresh_from_db()
    after = list(live.slots.order_by("sequence").values_list("sequence", "arm__code", "block_number"))
    assert after[:20] == before and len(after) == 60
    v1 = allocation.permuted_blocks(arms=ARMS, seed=LEGACY_SEED, length=60, generator=MT19937_V1)
    assert after == [(s.sequence, s.arm, s.block_number) for s in v1]
    assert live.sha256 == allocation.sequence_sha256(v1) and live.generator == MT19937_V1
    assert randomization.allocation_list_verify(allocation_list=live, by=statistician) is True


def test_new_lists_use_the_v2_generator_and_an_imported_list_records_none(site_a, statistician):
    made = randomization.allocation_list_generate(
        site=site_a, age_group="<35", length=10, block_sizes=[2, 4], by=statistician
    )
    imported = randomization.allocation_list_import(
        site=site_a, age_group=">=35", content=b"sequence,arm\n1,EXP\n2,CTRL\n", filename="l.csv", by=statistician
    )
    assert made.generator == "hmac-sha256-v2" and made.seed is None
    assert (imported.generator, imported.seed_hex, imported.seed, imported.seed_source) == ("", "", None, "")
