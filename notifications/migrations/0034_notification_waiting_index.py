"""A partial index of the messages still waiting, by customer and topic (a sale's coalescing look-up)."""

from django.db import migrations, models

import crm.online_indexes


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction: the tills and the outbox keep writing meanwhile.
    atomic = False

    dependencies = [
        ("notifications", "0033_dedupe_key_one_index"),
    ]

    operations = [
        crm.online_indexes.AddIndexOnline(
            model_name="notification",
            index=models.Index(
                condition=models.Q(status="scheduled"), fields=["customer", "topic"], name="notif_waiting_idx"
            ),
        ),
    ]
