"""Birthday and holiday greetings: on the day, early in each customer's window, in their language, once."""

import datetime
import zoneinfo

import pytest
from django.core import mail

from loyalty.models import BonusAccount, BonusTransaction, Tier
from notifications.consent.services import consent_record
from notifications.delivery.dispatch import drain
from notifications.greetings import greetings_send, holiday_names
from notifications.models import HolidayGreeting, Notification

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")


def _reachable(customer_factory, **fields):
    customer = customer_factory(**fields)
    consent_record(customer=customer, channel="email", action="granted", source="staff", wording="at the till")
    return customer


def _in_tier(customer, *, code: str, **gifts) -> None:
    tier, _ = Tier.objects.update_or_create(code=code, defaults={"name": code.title(), **gifts})
    BonusAccount.objects.update_or_create(customer=customer, defaults={"tier": tier})


def _local(moment: datetime.datetime, zone=TALLINN) -> datetime.datetime:
    return moment.astimezone(zone)


def test_a_birthday_is_greeted_at_the_start_of_the_window_with_the_tiers_gift_in_the_customers_language(
    customer_factory, time_machine
):
    # 00:30 on 1 July in Tallinn is still 30 June in UTC.
    night = datetime.datetime(2026, 7, 1, 0, 30, tzinfo=TALLINN)
    time_machine.move_to(night, tick=False)
    gold = _reachable(customer_factory, birth_date=datetime.date(1985, 7, 1), language="et", first_name="Mari")
    _in_tier(gold, code="gold", birthday_gift_points=250)
    _reachable(customer_factory, birth_date=datetime.date(1985, 7, 2), language="et")  # tomorrow

    for hour in range(0, 5):  # the hourly job, again and again: one greeting, one gift
        greetings_send(now=night + datetime.timedelta(hours=hour))

    [gift] = BonusTransaction.objects.filter(kind="gift")
    assert (gift.account.customer, gift.points) == (gold, 250)
    [greeting] = Notification.objects.all()
    assert (greeting.customer, greeting.topic.code, greeting.channel) == (gold, "birthday-greeting", "email")
    assert _local(greeting.send_at).replace(tzinfo=None) == datetime.datetime(2026, 7, 1, 9, 0)  # the window opens

    time_machine.move_to(datetime.datetime(2026, 7, 1, 9, 0, 5, tzinfo=TALLINN), tick=False)
    drain()
    [email] = mail.outbox
    assert email.subject.endswith("Palju õnne sünnipäevaks, Mari!")
    assert "250 punkti" in email.body


def test_a_tier_without_a_birthday_gift_still_greets(customer_factory, time_machine):
    morning = datetime.datetime(2026, 3, 3, 6, 0, tzinfo=TALLINN)
    time_machine.move_to(morning, tick=False)
    silver = _reachable(customer_factory, birth_date=datetime.date(1990, 3, 3), language="sv")
    _in_tier(silver, code="silver", birthday_gift_points=0)

    assert greetings_send(now=morning) == 1
    assert not BonusTransaction.objects.exists()
    [greeting] = Notification.objects.filter(topic__code="birthday-greeting")
    assert greeting.customer == silver and "points" not in greeting.context
    assert greetings_send(now=morning + datetime.timedelta(hours=1)) == 0


def test_holiday_greetings_arrive_on_the_holiday_in_each_customers_language(customer_factory, time_machine):
    HolidayGreeting.objects.update_or_create(country="EE", holiday="Christmas Eve", defaults={"with_gift": True})
    HolidayGreeting.objects.update_or_create(country="SE", holiday="Midsummer Day", defaults={"is_active": True})
    night = datetime.datetime(2026, 12, 24, 0, 15, tzinfo=TALLINN)  # 23 December in UTC and in Stockholm
    time_machine.move_to(night, tick=False)
    estonian = _reachable(customer_factory, country="EE", language="et", first_name="Jaan")
    russian = _reachable(customer_factory, country="", language="ru", first_name="Olga")  # the home country
    finn = _reachable(customer_factory, country="FI", language="fi", time_zone="Europe/Helsinki")
    swede = _reachable(customer_factory, country="SE", language="sv", time_zone="Europe/Stockholm")
    _in_tier(estonian, code="gold", holiday_gift_points=75)

    greetings_send(now=night)
    greetings_send(now=night + datetime.timedelta(hours=1))  # Stockholm's midnight: no Christmas Eve greeting in SE

    greeted = {n.customer: n for n in Notification.objects.filter(topic__code="holiday-greeting")}
    assert set(greeted) == {estonian, russian, finn}  # FI greets Christmas Eve too (a default)
    assert swede not in greeted
    assert greeted[estonian].context["holiday"] == "jõululaupäev" and greeted[estonian].context["points"] == 75
    assert greeted[finn].context["holiday"] == "Jouluaatto"
    assert BonusTransaction.objects.get(kind="gift").account.customer == estonian  # only the tier with a gift
    for notification in greeted.values():
        assert _local(notification.send_at).date() == datetime.date(2026, 12, 24)

    time_machine.move_to(datetime.datetime(2026, 12, 24, 9, 0, 5, tzinfo=TALLINN), tick=False)
    drain()
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects[estonian.email].endswith("Jõululaupäev: parimad soovid meilt")
    assert subjects[russian.email].endswith("Christmas Eve: наилучшие пожелания")  # no Russian name in EE's calendar
    assert subjects[finn.email].endswith("Jouluaatto: parhaat toivotukset meiltä")


def test_a_greeting_on_a_day_that_is_no_holiday_sends_nothing(customer_factory, time_machine):
    day = datetime.datetime(2026, 12, 22, 8, 0, tzinfo=TALLINN)
    time_machine.move_to(day, tick=False)
    _reachable(customer_factory, country="EE", language="et")
    assert greetings_send(now=day) == 0
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("language", "expected"), [("et", "jõululaupäev"), ("en", "Christmas Eve"), ("ru", "Christmas Eve")]
)
def test_holiday_names_come_from_the_calendar_in_the_customers_language(language, expected):
    assert holiday_names("EE", datetime.date(2026, 12, 24), language) == [expected]


def test_staff_can_only_pick_a_holiday_the_country_has(staff_client):
    from django.urls import reverse

    url = reverse("admin:notifications_holidaygreeting_add")
    response = staff_client.post(url, {"country": "ee", "holiday": "Thanksgiving", "is_active": "on"})
    assert response.status_code == 200
    assert "is not a holiday in EE" in response.content.decode()
    assert not HolidayGreeting.objects.filter(holiday="Thanksgiving").exists()
    response = staff_client.post(url, {"country": "ee", "holiday": "Midsummer Day", "is_active": "on"})
    assert response.status_code == 302
    assert HolidayGreeting.objects.filter(country="EE", holiday="Midsummer Day").exists()
