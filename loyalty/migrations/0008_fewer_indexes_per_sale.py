"""Two single-column indexes that a composite one already serves, dropped: each cost every sale a
scattered index write (and a full-page image in the WAL after each checkpoint).

Only the indexes go; the foreign keys stay as they are (Django's own AlterField would drop and
re-add them, re-checking every ledger row).
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    # (table, index Django named for the foreign key's column, column)
    ("loyalty_bonustransaction", "loyalty_bonustransaction_account_id_fac4ca38", "account_id"),
    ("loyalty_idempotencyrecord", "loyalty_idempotencyrecord_api_key_id_2c2b7d2e", "api_key_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0007_tier_gifts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="bonustransaction",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transactions",
                        to="loyalty.bonusaccount",
                        verbose_name="account",
                    ),
                ),
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="api_key",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="loyalty.posapikey",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f"DROP INDEX IF EXISTS {index}",
                    reverse_sql=f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column})",
                )
                for table, index, column in INDEXES
            ],
        ),
    ]
