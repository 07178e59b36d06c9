"""Seed the questionnaires of SPEC §3: RAND-36 and SSRS, each collected at BASELINE and ET28."""

from django.db import migrations

INSTRUMENTS = [
    ("RAND36", "RAND 36-Item Health Survey 1.0", 36),
    ("SSRS", "Social Support Rating Scale", 10),
]


def seed(apps, schema_editor):
    Instrument = apps.get_model("outcomes", "Instrument")
    timepoints = list(apps.get_model("core", "Timepoint").objects.filter(code__in=["BASELINE", "ET28"]))
    for code, name, items in INSTRUMENTS:
        instrument, _ = Instrument.objects.get_or_create(code=code, defaults={"name": name, "item_count": items})
        instrument.timepoints.set(timepoints)


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial"), ("core", "0002_seed_trial_configuration")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
