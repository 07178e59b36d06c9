"""Seed the configuration of the first trial (SPEC §3): trial, arms, the trial centre, criteria, time points."""

from django.db import migrations

TRIAL = {
    "name": "Dalteparin sodium with luteal phase support after repeated IVF failure",
    "registration_id": "DOI 10.5937/jomb0-57360",
    "target_sample_size": 80,
    "allocation_ratio": "1:1",
    "results_blinded": False,
    "status": "recruiting",
}
ARMS = [
    {"code": "CTRL", "label": "LPS alone", "is_control": True, "order": 1},
    {"code": "EXP", "label": "LPS + dalteparin sodium", "is_control": False, "order": 2},
]
CRITERIA = [
    ("AGE_20_40", "Age 20–40 years", "inclusion", 20, 40),
    (
        "FAILED_TRANSFERS_2PLUS",
        "≥2 previous failed embryo transfers with good-quality embryos",
        "inclusion",
        None,
        None,
    ),
    ("NORMAL_CAVITY", "Normal uterine cavity", "inclusion", None, None),
    ("PLATELETS_100PLUS", "Platelets ≥100×10⁹/L", "inclusion", None, None),
    ("THROMBOPHILIA_ANTICOAG", "Known thrombophilia on anticoagulation", "exclusion", None, None),
    ("BLEEDING_DISORDER", "Bleeding disorder or active bleeding", "exclusion", None, None),
    ("HIT_OR_LMWH_ALLERGY", "History of heparin-induced thrombocytopenia or LMWH allergy", "exclusion", None, None),
    ("UTERINE_ANOMALY", "Uterine malformation or untreated hydrosalpinx", "exclusion", None, None),
    ("HEPATIC_RENAL_IMPAIRMENT", "Hepatic or renal impairment", "exclusion", None, None),
]
TIMEPOINTS = [
    ("BASELINE", "Baseline (ET day, before the first dose)", 0, 3, 0),
    ("ET14", "β-hCG test (ET + 14 days)", 14, 2, 2),
    ("ET28", "Post-treatment (ET + 28 days)", 28, 3, 3),
]


def seed(apps, schema_editor):
    apps.get_model("core", "Trial").objects.get_or_create(name=TRIAL["name"], defaults=TRIAL)
    Arm = apps.get_model("core", "Arm")
    for arm in ARMS:
        Arm.objects.get_or_create(code=arm["code"], defaults=arm)
    apps.get_model("core", "Site").objects.get_or_create(code="SZ", defaults={"name": "Trial centre (Shenzhen)"})
    Criterion = apps.get_model("core", "EligibilityCriterion")
    for order, (code, text, kind, min_age, max_age) in enumerate(CRITERIA, start=1):
        Criterion.objects.get_or_create(
            code=code, defaults={"text": text, "kind": kind, "order": order, "min_age": min_age, "max_age": max_age}
        )
    Timepoint = apps.get_model("core", "Timepoint")
    for order, (code, label, offset, before, after) in enumerate(TIMEPOINTS, start=1):
        Timepoint.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "day_offset": offset,
                "window_before": before,
                "window_after": after,
                "order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
