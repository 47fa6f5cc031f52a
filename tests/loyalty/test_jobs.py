import datetime
import zoneinfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loyalty import services, signals
from loyalty.models import BonusLot, BonusTransaction, ExpiryWarning, PosApiKey, hash_api_key
from tests.loyalty.factories import days, purchase


@pytest.fixture
def events():
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event)

    for signal in (signals.bonus_expiring, signals.bonus_expired, signals.bonus_gifted):
        signal.connect(receiver, dispatch_uid=f"test-{id(signal)}")
    yield received
    for signal in (signals.bonus_expiring, signals.bonus_expired, signals.bonus_gifted):
        signal.disconnect(dispatch_uid=f"test-{id(signal)}")


def _lot_expiring_in(customer, store, n_days, now, points="50"):
    purchase(customer, store=store, amount=points)
    lot = BonusLot.objects.filter(account__customer=customer).latest("id")
    BonusLot.objects.filter(pk=lot.pk).update(expires_at=now + days(n_days))
    return lot


def test_expiry_warned_once_per_lot_and_offset(
    customer, store, events, django_capture_on_commit_callbacks, time_machine
):
    now = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    time_machine.move_to(now)
    lot = _lot_expiring_in(customer, store, 25, now)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expiry_warnings_send(now=now) == 1
        assert services.expiry_warnings_send(now=now) == 0  # run twice: nothing new
        assert services.expiry_warnings_send(now=now + days(10)) == 0  # 15 days left: 30-day warning done
        assert services.expiry_warnings_send(now=now + days(19)) == 1  # 6 days left: 7-day warning
        assert services.expiry_warnings_send(now=now + days(20)) == 0
    assert sorted(ExpiryWarning.objects.filter(lot=lot).values_list("days_before", flat=True)) == [7, 30]
    assert [(e.kind, e.points, e.days_before, e.days_left) for e in events] == [
        ("expiring", 50, 30, 25),
        ("expiring", 50, 7, 6),
    ]


def test_lot_first_seen_close_to_expiry_gets_only_the_nearest_warning(customer, store, time_machine):
    now = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    time_machine.move_to(now)
    lot = _lot_expiring_in(customer, store, 5, now)
    services.expiry_warnings_send(now=now)
    services.expiry_warnings_send(now=now + days(1))
    assert list(ExpiryWarning.objects.filter(lot=lot).values_list("days_before", flat=True)) == [7]


def test_spent_lots_are_not_warned(customer, store):
    now = timezone.now()
    _lot_expiring_in(customer, store, 20, now)
    purchase(customer, store=store, amount="0", redeem=50)
    assert services.expiry_warnings_send(now=now) == 0


def test_expire_job_emits_one_event_per_account(customer, store, events, django_capture_on_commit_callbacks):
    purchase(customer, store=store, amount="10")
    purchase(customer, store=store, amount="15")
    now = BonusLot.objects.latest("id").expires_at + days(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.lots_expire_due(now=now) == 1
    assert [(e.kind, e.points, e.balance) for e in events] == [("expired", 25, 0)]


@pytest.mark.parametrize(
    ("zone", "utc_now", "expected"),
    [
        # 23:30 UTC on 14 May is already 15 May in Moscow and Helsinki, but not in Reykjavik.
        ("Europe/Moscow", datetime.datetime(2026, 5, 14, 23, 30, tzinfo=datetime.UTC), True),
        ("Europe/Helsinki", datetime.datetime(2026, 5, 14, 23, 30, tzinfo=datetime.UTC), True),
        ("Atlantic/Reykjavik", datetime.datetime(2026, 5, 14, 23, 30, tzinfo=datetime.UTC), False),
        ("America/New_York", datetime.datetime(2026, 5, 15, 3, 30, tzinfo=datetime.UTC), False),
        ("America/New_York", datetime.datetime(2026, 5, 15, 4, 30, tzinfo=datetime.UTC), True),
    ],
)
def test_birthday_gift_in_the_customers_own_zone(customer_factory, zone, utc_now, expected, time_machine):
    time_machine.move_to(utc_now)
    customer = customer_factory(birth_date=datetime.date(1990, 5, 15), time_zone=zone)
    assert services.birthday_gifts_grant(now=utc_now) == int(expected)
    assert BonusTransaction.objects.filter(account__customer=customer, kind="gift").exists() is expected


def test_birthday_gift_once_per_year(customer_factory, events, django_capture_on_commit_callbacks, time_machine):
    morning = datetime.datetime(2026, 7, 1, 6, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Tallinn"))
    time_machine.move_to(morning - datetime.timedelta(days=1))
    customer = customer_factory(birth_date=datetime.date(1985, 7, 1), time_zone="Europe/Tallinn")
    with django_capture_on_commit_callbacks(execute=True):
        for hour in range(0, 12):
            services.birthday_gifts_grant(now=morning + datetime.timedelta(hours=hour))
        services.birthday_gifts_grant(now=morning.replace(year=2027))
    gifts = BonusTransaction.objects.filter(account__customer=customer, kind="gift")
    assert gifts.count() == 2
    assert [e.kind for e in events] == ["gifted", "gifted"]


def test_leap_day_birthdays_are_celebrated_on_28_february(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2027, 2, 27, tzinfo=datetime.UTC))
    customer = customer_factory(birth_date=datetime.date(2000, 2, 29), time_zone="Europe/Tallinn")
    services.birthday_gifts_grant(now=datetime.datetime(2027, 2, 28, 10, 0, tzinfo=datetime.UTC))
    assert BonusTransaction.objects.filter(account__customer=customer, kind="gift").count() == 1


def test_create_pos_key_prints_the_key_once_and_stores_only_its_hash(store, capsys):
    call_command("create_pos_key", store.code, "--name", "till 1")
    raw = capsys.readouterr().out.strip()
    key = PosApiKey.objects.get()
    assert key.key_hash == hash_api_key(raw) and raw not in (key.prefix, key.key_hash) and key.store == store
    with pytest.raises(CommandError, match="no store"):
        call_command("create_pos_key", "NOPE")
