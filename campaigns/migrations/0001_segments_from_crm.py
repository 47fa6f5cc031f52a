"""Segments move from crm to campaigns: the model's state only, and its content type.

The table stays ``crm_segment`` with its rows (``db_table``); crm's migration 0013 takes the model
out of crm's state after this one put it into campaigns'. The content type ``crm.segment`` is
renamed to ``campaigns.segment`` so its permissions (and the groups holding them, the admin's log)
follow the model instead of being made anew.
"""

from django.db import migrations, models


def content_type_move(apps, schema_editor, source="crm", target="campaigns"):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label=target, model="segment").exists():
        content_type.objects.filter(app_label=source, model="segment").update(app_label=target)


def content_type_back(apps, schema_editor):
    content_type_move(apps, schema_editor, source="campaigns", target="crm")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("crm", "0014_staff_time_zone"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Segment",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100, unique=True, verbose_name="name")),
                        (
                            "rules",
                            models.JSONField(
                                default=dict,
                                help_text='All must hold, e.g. {"districts": ["Kalamaja, Tallinn", 4], "languages": ["et"], "badges": ["full"], "tiers": ["gold"], "gender": "female", "bought_within_days": 90, "min_purchases_12m": 3, "min_spend_12m": "200", "store": {"code": "TLN-01", "mode": "most_purchases"}, "answers": [{"question": 12, "value": "women"}]}. Districts by id, name or "name, city"; store mode "most_purchases" (last 12 months) or "last_purchase". min_purchases_12m and min_spend_12m read each bonus account\'s rolling year (refunded sales left out), which every sale updates and a nightly recount trims: a sale older than 12 months still counts until that night.',
                                verbose_name="rules",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                    ],
                    options={
                        "verbose_name": "segment",
                        "verbose_name_plural": "segments",
                        "ordering": ["name"],
                        "db_table": "crm_segment",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_move, content_type_back),
    ]
