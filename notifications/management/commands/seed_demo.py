import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from crm.bulk_load import load_mode
from crm.demo import DEMO_PREFIX, seed_customers
from crm.models import Customer
from loyalty.demo import purchase_history_seed
from loyalty.models import BonusAccount, BonusLot, BonusTransaction, LotMovement
from notifications.demo import consent_and_preferences_seed
from notifications.models import ConsentEvent, Preference

# Lives in notifications, the app above crm and loyalty: each app seeds its own tables, this runs them in order.
SEEDED = (
    Customer, BonusAccount, BonusTransaction, BonusLot, LotMovement, Preference, ConsentEvent,
    Preference.districts.through,
)  # fmt: skip
BIG_SEED = 20_000


class Command(BaseCommand):
    help = (
        "Seed realistic demo districts, stores and customers (Estonia, Finland, Sweden, Russia), each with "
        "a year of purchases in the bonus ledger, preferences and consent (with its evidence and badge)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200, help="How many customers to add")
        parser.add_argument("--seed", type=int, default=1, help="Random seed, for repeatable data")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when demo customers already exist (used by make run)"
        )

    def handle(self, *args, customers: int, seed: int, if_empty: bool, **options):
        if customers < 0:
            raise CommandError("--customers must be zero or more")
        if if_empty and Customer.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
            self.stdout.write("demo data already present; nothing seeded")
            return
        started = time.perf_counter()
        # A big seed builds the tables' indexes and checks their keys once, at the end (crm.bulk_load).
        big = customers >= BIG_SEED
        with transaction.atomic(), load_mode(*SEEDED) if big else nullcontext():
            ids = seed_customers(count=customers, seed=seed)
            purchases = purchase_history_seed(customer_ids=ids, seed=seed)
            events = consent_and_preferences_seed(customer_ids=ids, seed=seed)
        if connection.vendor == "postgresql" and customers:
            # Fresh statistics, so the first segment counted after a big seed gets a sensible plan.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(connection.ops.quote_name(m._meta.db_table) for m in SEEDED)}")
        self.stdout.write(
            f"seeded {len(ids)} customers, {purchases} purchases and {events} consent events "
            f"in {time.perf_counter() - started:.1f}s"
        )
