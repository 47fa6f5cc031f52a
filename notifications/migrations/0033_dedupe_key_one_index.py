"""One index on the dedupe key instead of two: a unique one with the pattern operator class serves
both the uniqueness and the look-up by prefix (every index costs each insert and status change)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0032_reasons_merged"),
    ]

    # The new unique index first: the key is never without one.
    operations = [
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                fields=("dedupe_key",), name="notif_dedupe_key_once", opclasses=["varchar_pattern_ops"]
            ),
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notif_occasion_idx",
        ),
        migrations.AlterField(
            model_name="notification",
            name="dedupe_key",
            field=models.CharField(max_length=200, verbose_name="dedupe key"),
        ),
    ]
