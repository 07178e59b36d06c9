"""Seed the six analytes of SPEC §3 with accepted units (factor to canonical), hard limits and ranges.

Reference ranges are adult female ranges for the luteal phase where that matters; β-hCG has a range
only at baseline (before transfer it should be negative), since afterwards its level is the outcome.
"""

from django.db import migrations

ANALYTES = [
    # code, name, canonical unit, accepted units, hard max (canonical), general range (low, high)
    ("BHCG", "β-hCG", "IU/L", {"IU/L": 1, "mIU/mL": 1}, 1_000_000, None),
    ("FSH", "Follicle-stimulating hormone", "IU/L", {"IU/L": 1, "mIU/mL": 1}, 500, (1.5, 12.4)),
    ("LH", "Luteinising hormone", "IU/L", {"IU/L": 1, "mIU/mL": 1}, 500, (1.0, 15.0)),
    ("E2", "Estradiol", "pmol/L", {"pmol/L": 1, "pg/mL": 3.671}, 50_000, (70.0, 1800.0)),
    ("CA125", "CA-125", "U/mL", {"U/mL": 1, "kU/L": 1}, 100_000, (0.0, 35.0)),
    ("IL6", "Interleukin-6", "pg/mL", {"pg/mL": 1, "ng/L": 1}, 100_000, (0.0, 7.0)),
]
BHCG_BASELINE_RANGE = (0.0, 5.0)


def seed(apps, schema_editor):
    Analyte = apps.get_model("labs", "Analyte")
    ReferenceRange = apps.get_model("labs", "ReferenceRange")
    Timepoint = apps.get_model("core", "Timepoint")
    for order, (code, name, unit, accepted, hard_max, general) in enumerate(ANALYTES, start=1):
        analyte, _ = Analyte.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "canonical_unit": unit,
                "accepted_units": accepted,
                "hard_max": hard_max,
                "order": order,
            },
        )
        if general:
            ReferenceRange.objects.get_or_create(
                analyte=analyte, timepoint=None, defaults={"low": general[0], "high": general[1]}
            )
    ReferenceRange.objects.get_or_create(
        analyte=Analyte.objects.get(code="BHCG"),
        timepoint=Timepoint.objects.get(code="BASELINE"),
        defaults={"low": BHCG_BASELINE_RANGE[0], "high": BHCG_BASELINE_RANGE[1]},
    )


class Migration(migrations.Migration):
    dependencies = [("labs", "0001_initial"), ("core", "0002_seed_trial_configuration")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
