import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from loyalty import services
from loyalty.models import PosApiKey, Tier, hash_api_key
from tests.crm.factories import CustomerFactory, StoreFactory


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"tier-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    min_spend = Decimal("0")
    earn_rate = Decimal("1")


def make_pos_key(store=None) -> tuple[PosApiKey, str]:
    store = store or StoreFactory()
    raw = PosApiKey.generate()
    key = PosApiKey.objects.create(store=store, prefix=raw[:12], key_hash=hash_api_key(raw))
    return key, raw


_receipts = iter(range(10**9))


def purchase(customer=None, *, store=None, amount="100.00", currency="EUR", redeem=0, occurred_at=None, **kwargs):
    """Record a purchase through the real service, with a fresh receipt id."""
    return services.purchase_record(
        customer=customer or CustomerFactory(),
        store=store or StoreFactory(),
        receipt_id=kwargs.pop("receipt_id", f"R-{next(_receipts)}"),
        amount=Decimal(amount),
        currency=currency,
        occurred_at=occurred_at or timezone.now(),
        redeem_points=redeem,
        **kwargs,
    )


def days(n: float) -> datetime.timedelta:
    return datetime.timedelta(days=n)
