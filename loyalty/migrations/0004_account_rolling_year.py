from django.db import migrations, models

# Accounts start with the rolling year their ledger holds (afterwards sales keep it and a nightly job recounts it),
# so the first sale after the upgrade does not drop a customer's tier.
BACKFILL = """
WITH sales AS (
    SELECT sale.account_id,
           COALESCE(SUM(sale.base_amount) FILTER (
               WHERE sale.occurred_at > now() - interval '365 days' AND refund.id IS NULL), 0) AS spend,
           COUNT(*) FILTER (WHERE sale.occurred_at > now() - interval '365 days' AND refund.id IS NULL) AS purchases,
           MAX(sale.occurred_at) AS last_at
    FROM loyalty_bonustransaction sale
    LEFT JOIN loyalty_bonustransaction refund ON refund.reverses_id = sale.id AND refund.kind = 'reversal'
    WHERE sale.kind = 'accrual'
    GROUP BY sale.account_id
)
UPDATE loyalty_bonusaccount account
SET spend_12m = sales.spend, purchases_12m = sales.purchases, last_purchase_at = sales.last_at
FROM sales WHERE sales.account_id = account.id
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL)
        return
    # Other databases (the embedded SQLite of `make run`) hold demo data: account by account.
    import datetime

    from django.db.models import Max, Sum
    from django.utils import timezone

    account_model = apps.get_model("loyalty", "BonusAccount")
    transaction_model = apps.get_model("loyalty", "BonusTransaction")
    since = timezone.now() - datetime.timedelta(days=365)
    for account in account_model.objects.all():
        sales = transaction_model.objects.filter(account=account, kind="accrual")
        kept = sales.filter(occurred_at__gt=since, reversals__isnull=True)
        account.spend_12m = kept.aggregate(total=Sum("base_amount"))["total"] or 0
        account.purchases_12m = kept.count()
        account.last_purchase_at = sales.aggregate(last=Max("occurred_at"))["last"]
        account.save(update_fields=["spend_12m", "purchases_12m", "last_purchase_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0003_admin_ledger_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="bonusaccount",
            name="last_purchase_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last purchase"),
        ),
        migrations.AddField(
            model_name="bonusaccount",
            name="purchases_12m",
            field=models.PositiveIntegerField(default=0, verbose_name="purchases in 12 months"),
        ),
        migrations.AddField(
            model_name="bonusaccount",
            name="spend_12m",
            field=models.DecimalField(
                decimal_places=2,
                default=0,
                help_text="In the base currency",
                max_digits=14,
                verbose_name="12-month spend",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
