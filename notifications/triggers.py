"""Messages the customers' own behaviour calls for, found set-based by beat jobs (issue 18).

- **Purchase cycle**: a customer who buys every ~N days hears from us when N days have passed
  (``loyalty.selectors.purchase_cycle_due`` learns N per customer from their ledger).
- **Re-engagement**: after ``REENGAGE_AFTER_WEEKS`` without a purchase, once per silence.
- **Regular contact**: a customer who agreed to marketing but heard nothing counted for
  ``CONTACT_CADENCE_WEEKS`` gets a useful account summary (balance, what expires soon), so the
  shop is neither a stranger nor a nuisance: it is an ordinary marketing message, so consent,
  windows and the weekly caps apply to it like to any other.

Each message is re-checked at send time (freshness): a customer who came back meanwhile gets no
"we miss you", and the balance shown is the balance then. Every job is a few statements whatever
the number of customers; running one again writes nothing new.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.models import Customer
from loyalty.selectors import purchase_cycle_due
from notifications.models import Notification, Preference
from notifications.outbox.fanout import notify_many

CYCLE_TOPIC = "purchase-cycle"
REENGAGE_TOPIC = "we-miss-you"
CADENCE_TOPIC = "account-summary"
# Badges of customers who agreed to some marketing: the others would only collect suppressed rows.
MARKETING_BADGES = [Preference.Badge.FULL, Preference.Badge.EMAIL_ONLY, Preference.Badge.SMS_ONLY]


def _reachable() -> Q:
    return Q(is_active=True, preference__badge__in=MARKETING_BADGES)


def _told_since_last_purchase(topic: str) -> Exists:
    """A message of ``topic`` was planned for the customer after their last purchase."""
    return Exists(
        Notification.objects.filter(
            customer=OuterRef("pk"),
            topic__code=topic,
            created_at__gt=OuterRef("bonus_account__last_purchase_at"),
        )
    )


def _send(customers, topic: str, prefix: str, now: datetime.datetime) -> int:
    with transaction.atomic():
        return notify_many(customers=customers, topic=topic, context={}, dedupe_prefix=prefix, now=now).queued


def purchase_cycle_remind(*, now: datetime.datetime | None = None) -> int:
    """Remind customers whose learned purchase cycle has come round; once per cycle."""
    now = now or timezone.now()
    due = purchase_cycle_due(now=now)
    customers = Customer.objects.filter(_reachable(), pk__in=due).exclude(_told_since_last_purchase(CYCLE_TOPIC))
    return _send(customers, CYCLE_TOPIC, f"cycle:{now:%Y-%m-%d}", now)


def reengagement_send(*, now: datetime.datetime | None = None) -> int:
    """Write to customers silent for ``REENGAGE_AFTER_WEEKS`` (up to a year); once per silence."""
    now = now or timezone.now()
    silent_since = now - datetime.timedelta(weeks=settings.REENGAGE_AFTER_WEEKS)
    customers = Customer.objects.filter(
        _reachable(),
        bonus_account__last_purchase_at__lt=silent_since,
        bonus_account__last_purchase_at__gte=now - datetime.timedelta(days=365),
    ).exclude(_told_since_last_purchase(REENGAGE_TOPIC))
    return _send(customers, REENGAGE_TOPIC, f"reengage:{now:%Y-%m-%d}", now)


def regular_contact_send(*, now: datetime.datetime | None = None) -> int:
    """An account summary to consenting customers who heard nothing counted for ``CONTACT_CADENCE_WEEKS``.

    "Nothing counted": no message that counts against the caps sent in that time, and none
    waiting to go. One per customer per ISO week at most (the dedupe key), never above a cap
    (the message is planned like any other marketing message).
    """
    now = now or timezone.now()
    since = now - datetime.timedelta(weeks=settings.CONTACT_CADENCE_WEEKS)
    counted = Notification.objects.filter(customer=OuterRef("pk"), topic__counts_against_cap=True)
    customers = Customer.objects.filter(_reachable(), bonus_account__isnull=False).exclude(
        Exists(counted.filter(sent_at__gte=since)) | Exists(counted.filter(status=Notification.Status.SCHEDULED))
    )
    year, week, _ = now.isocalendar()
    return _send(customers, CADENCE_TOPIC, f"summary:{year}-W{week:02d}", now)


def behaviour_triggers_run(*, now: datetime.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {
        CYCLE_TOPIC: purchase_cycle_remind(now=now),
        REENGAGE_TOPIC: reengagement_send(now=now),
        CADENCE_TOPIC: regular_contact_send(now=now),
    }
