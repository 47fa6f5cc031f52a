"""Segments now live in campaigns (campaigns/0001 adopted the table): crm forgets the model, the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0014_staff_time_zone"),
        ("campaigns", "0001_segments_from_crm"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Segment")],
            database_operations=[],
        ),
    ]
