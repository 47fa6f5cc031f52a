import time

from django.core.management.base import BaseCommand, CommandError

from crm.demo import DEMO_PREFIX, seed_customers
from crm.models import Customer


class Command(BaseCommand):
    help = "Seed realistic demo districts, stores and customers (Estonia, Finland, Sweden, Russia)."

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
        created = seed_customers(count=customers, seed=seed)
        self.stdout.write(f"seeded {created} customers in {time.perf_counter() - started:.1f}s")
