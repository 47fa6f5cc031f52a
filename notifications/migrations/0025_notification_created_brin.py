import crm.online_indexes
import notifications.models
from django.db import migrations


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY runs outside a transaction: the outbox keeps writing meanwhile.
    atomic = False

    dependencies = [
        ("notifications", "0024_counted_and_translated_templates"),
    ]

    operations = [
        crm.online_indexes.AddIndexOnline(
            model_name="notification",
            index=notifications.models.TimeRangeIndex(
                autosummarize=True, fields=["created_at"], name="notif_created_brin"
            ),
        ),
    ]
