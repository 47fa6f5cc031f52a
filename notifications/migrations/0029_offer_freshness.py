from django.db import migrations, models


def offers_checked(apps, schema_editor):
    """Promotions and new-product news are offers: re-checked at send time (delivery.freshness.offer)."""
    Topic = apps.get_model("notifications", "Topic")
    Topic.objects.filter(code__in=["promotion", "new-products"], freshness_check="").update(freshness_check="offer")


class Migration(migrations.Migration):
    dependencies = [("notifications", "0028_respect_reasons")]

    operations = [
        migrations.RunPython(offers_checked, migrations.RunPython.noop),
    ]
