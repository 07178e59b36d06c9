"""Lists generated before v2 record their generator, so they keep extending with it (their slots must not
change) while new lists use the HMAC-SHA256 stream. Their seeds were typed, not drawn by the server."""

import pghistory
from django.db import migrations

REASON = "Generator version recorded: lists generated before v2 use mt19937-v1 (seed chosen, not drawn)"


def mark_existing(apps, schema_editor):
    AllocationList = apps.get_model("patients", "AllocationList")
    with pghistory.context(user=None, username="system", reason=REASON, request_id="migration"):
        AllocationList.objects.filter(source="generated", generator="").update(
            generator="mt19937-v1", seed_source="chosen"
        )


def unmark(apps, schema_editor):
    AllocationList = apps.get_model("patients", "AllocationList")
    with pghistory.context(
        user=None, username="system", reason="Generator version cleared (migration reversed)", request_id="migration"
    ):
        AllocationList.objects.filter(generator="mt19937-v1").update(generator="", seed_source="")


class Migration(migrations.Migration):
    dependencies = [("patients", "0006_allocation_generator_and_seed_source")]
    operations = [migrations.RunPython(mark_existing, unmark)]
