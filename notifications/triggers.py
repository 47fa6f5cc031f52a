"""Behaviour triggers (issue 18): messages a customer's own behaviour calls for, found set-based.

Each trigger is one query over every customer that picks those it applies to, handed to
``notify_many`` (which plans consent, channels and slots; the dispatcher keeps the weekly caps).
Dedupe keys name the period, so beat running a job again in the same period writes nothing:

- re-engagement: no purchase for ``NOTIFICATION_REENGAGE_WEEKS``, and no such message since;
- keep in touch: customers who agreed to marketing but heard nothing (no capped message sent)
  for ``NOTIFICATION_KEEP_IN_TOUCH_WEEKS``;
- purchase cycle: a customer's usual interval between purchases (the median gap of the last
  year, at least three purchases) has just passed since their last one.
"""

import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.models import Customer
from loyalty.models import BonusAccount
from notifications.models import ConsentEvent, Notification
from notifications.outbox.fanout import FanOut, notify_many

Scope = ConsentEvent.Scope


def _weeks(name: str, default: int) -> datetime.timedelta:
    return datetime.timedelta(weeks=getattr(settings, name, default))


def _period(now: datetime.datetime, length: datetime.timedelta) -> str:
    """The number of the period of ``length`` that ``now`` falls in (the same all period long)."""
    return str(int(now.timestamp() // length.total_seconds()))


def _agreed_to_marketing():
    """Customers whose latest word on marketing somewhere was yes (notify_many decides exactly)."""
    return Exists(
        ConsentEvent.objects.filter(
            customer=OuterRef("pk"),
            action=ConsentEvent.Action.GRANTED,
            scope__in=[Scope.MARKETING, Scope.EVERYTHING, Scope.TOPIC],
        )
    )


def reengagement_send(*, now: datetime.datetime | None = None) -> FanOut:
    """'We miss you' to customers whose last purchase is older than the setting's weeks."""
    now = now or timezone.now()
    quiet = _weeks("NOTIFICATION_REENGAGE_WEEKS", 8)
    lapsed = BonusAccount.objects.filter(customer=OuterRef("pk"), last_purchase_at__lt=now - quiet)
    asked = Notification.objects.filter(
        customer=OuterRef("pk"), topic__code="re-engagement", created_at__gte=now - quiet
    )
    customers = Customer.objects.filter(Exists(lapsed), _agreed_to_marketing(), is_active=True).exclude(Exists(asked))
    return notify_many(
        customers=customers,
        topic="re-engagement",
        context={},
        dedupe_prefix=f"re-engagement:{_period(now, quiet)}",
        now=now,
    )


def keep_in_touch_send(*, now: datetime.datetime | None = None) -> FanOut:
    """A useful message to consenting customers who have heard nothing for the setting's weeks.

    Only messages that count against the caps count as contact; the dispatcher keeps the
    customer's weekly cap, so this never takes them above it.
    """
    now = now or timezone.now()
    every = _weeks("NOTIFICATION_KEEP_IN_TOUCH_WEEKS", 4)
    heard = Notification.objects.filter(
        Q(sent_at__gte=now - every) | Q(status__in=["scheduled", "deferred"]),
        customer=OuterRef("pk"),
        topic__counts_against_cap=True,
    )
    customers = Customer.objects.filter(_agreed_to_marketing(), is_active=True).exclude(Exists(heard))
    return notify_many(
        customers=customers,
        topic="keep-in-touch",
        context={},
        dedupe_prefix=f"keep-in-touch:{_period(now, every)}",
        now=now,
    )


PURCHASE_CYCLES_SQL = """
WITH purchases AS (
    SELECT a.customer_id, t.occurred_at,
           LAG(t.occurred_at) OVER (PARTITION BY t.account_id ORDER BY t.occurred_at) AS previous
    FROM loyalty_bonustransaction t
    JOIN loyalty_bonusaccount a ON a.id = t.account_id
    WHERE t.kind = 'accrual' AND t.receipt_id <> '' AND t.occurred_at >= %(since)s AND t.occurred_at < %(now)s
)
SELECT customer_id
FROM purchases
WHERE previous IS NOT NULL
GROUP BY customer_id
HAVING COUNT(*) >= 2
   AND MAX(occurred_at) + make_interval(secs => PERCENTILE_CONT(0.5) WITHIN GROUP (
           ORDER BY EXTRACT(EPOCH FROM occurred_at - previous))) BETWEEN %(from)s AND %(now)s
"""


def purchase_cycle_send(*, now: datetime.datetime | None = None) -> FanOut:
    """A reminder to customers whose usual interval between purchases passed in the last day.

    The interval is learned per customer: the median gap between their purchases of the last
    year (three purchases at least). Run daily; each cycle is reminded once.
    """
    now = now or timezone.now()
    day = datetime.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            PURCHASE_CYCLES_SQL, {"since": now - datetime.timedelta(days=365), "now": now, "from": now - day}
        )
        due = [row[0] for row in cursor.fetchall()]
    return notify_many(
        customers=Customer.objects.filter(pk__in=due, is_active=True),
        topic="purchase-cycle",
        context={},
        dedupe_prefix=f"purchase-cycle:{_period(now, day)}",
        now=now,
    )


def behaviour_triggers_run(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """The daily beat job: every trigger once; returns how many customers each queued."""
    now = now or timezone.now()
    return {
        "re-engagement": reengagement_send(now=now).queued,
        "keep-in-touch": keep_in_touch_send(now=now).queued,
        "purchase-cycle": purchase_cycle_send(now=now).queued,
    }
