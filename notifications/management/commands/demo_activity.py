import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from crm.demo import DEMO_PREFIX
from crm.models import Customer, Store
from loyalty.services import purchase_record
from notifications.consent.services import consent_record
from notifications.models import ConsentEvent, Notification
from notifications.outbox.write import notify


class Command(BaseCommand):
    help = (
        "Demo events for a local run: purchases at the demo stores (bonus SMS and e-mails follow, each "
        "in the customer's own hours), marketing consent for some customers, and thank-you letters."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=20)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when notifications already exist")

    def handle(self, *args, customers: int, if_empty: bool, **options):
        if if_empty and Notification.objects.exists():
            self.stdout.write("demo activity already present; nothing added")
            return
        rng = random.Random(7)
        stores = list(Store.objects.all())
        people = list(Customer.objects.filter(external_id__startswith=DEMO_PREFIX).order_by("id")[:customers])
        now = timezone.now()
        for n, customer in enumerate(people):
            if n % 3 == 0:
                consent_record(
                    customer=customer,
                    channel="email",
                    action=ConsentEvent.Action.GRANTED,
                    source=ConsentEvent.Source.IMPORT,
                    wording="Yes, e-mail me news and offers.",
                    wording_version="demo-1",
                )
            purchase_record(
                customer=customer,
                store=customer.home_store or rng.choice(stores),
                receipt_id=f"DEMO-{now:%Y%m%d%H%M%S%f}-{customer.pk}",  # unique, however often it runs
                amount=Decimal(rng.randint(500, 15000)) / 100,
                currency="EUR",
                occurred_at=now,
            )
        with_email = next((c for c in people if c.email), None)
        if with_email:
            # A service e-mail goes out at once (no quiet hours for e-mail): var/outbox shows it in seconds.
            with transaction.atomic():
                notify(
                    customer=with_email,
                    topic="service",
                    context={"title": "Welcome", "text": "Your loyalty card is active."},
                    dedupe_key=f"demo-welcome:{with_email.pk}",
                )
        for customer in people[:3]:
            with transaction.atomic():
                notify(
                    customer=customer,
                    topic="thanks",
                    context={"title": "Thank you", "text": "Thank you for shopping with us this year."},
                    dedupe_key=f"demo-thanks:{customer.pk}:{now.year}",
                )
        self.stdout.write(f"demo activity: {len(people)} purchases; see the admin's Notifications and Letter batches")
