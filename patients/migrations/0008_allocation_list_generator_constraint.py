from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0007_mark_existing_lists_mt19937")]

    operations = [
        migrations.AddConstraint(
            model_name="allocationlist",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("generator", ""),
                        ("seed__isnull", True),
                        ("seed_hex", ""),
                        ("seed_source", ""),
                        ("source", "imported"),
                    ),
                    models.Q(
                        ("generator", "hmac-sha256-v2"),
                        ("seed__isnull", True),
                        ("seed_hex__regex", "^[0-9a-f]{64}$"),
                        ("seed_source__in", ["server", "fixed"]),
                        ("source", "generated"),
                    ),
                    models.Q(
                        ("generator", "mt19937-v1"),
                        ("seed__isnull", False),
                        ("seed_hex", ""),
                        ("seed_source", "chosen"),
                        ("source", "generated"),
                    ),
                    _connector="OR",
                ),
                name="allocation_list_records_its_generator_and_seed",
            ),
        ),
    ]
