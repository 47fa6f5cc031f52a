"""Store occasions: an opening-hours change the day before to that store's customers; an opening to its area."""

import datetime
import zoneinfo

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.models import AuditEntry
from crm import roles
from notifications.consent.services import consent_record
from notifications.models import Notification
from notifications.occasions import opening_hours_change_announce, store_opening_announce
from tests.loyalty.factories import purchase

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
HELSINKI = zoneinfo.ZoneInfo("Europe/Helsinki")
TEXTS = {"en": "Closed on 1 January.", "et": "1. jaanuaril suletud."}


@pytest.fixture
def world(customer_factory, store_factory, district_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 20, 12, 0, tzinfo=TALLINN), tick=False)
    kalamaja, pelgulinn, far = district_factory(name="Kalamaja"), district_factory(name="Pelgulinn"), district_factory()
    kalamaja.neighbours.add(pelgulinn)
    store, other = store_factory(district=kalamaja), store_factory(district=far)
    home = customer_factory(home_store=store, language="et")
    buyer = customer_factory(language="en", time_zone="Europe/Helsinki")
    purchase(buyer, store=store)
    stranger = customer_factory(home_store=other)
    return {"store": store, "home": home, "buyer": buyer, "stranger": stranger, "districts": (kalamaja, pelgulinn, far)}


def test_an_opening_hours_change_reaches_only_the_stores_customers_the_day_before_in_their_windows(world):
    report = opening_hours_change_announce(store=world["store"], day=datetime.date(2027, 1, 1), texts=TEXTS)

    assert report.customers == report.queued == 2
    rows = {row.customer: row for row in Notification.objects.filter(topic__code="opening-hours")}
    assert set(rows) == {world["home"], world["buyer"]}
    assert {row.channel for row in rows.values()} == {"sms"}
    # 31 December at 09:00, when each customer's window opens, in their own zone; no later than the day.
    assert rows[world["home"]].send_at == datetime.datetime(2026, 12, 31, 9, 0, tzinfo=TALLINN)
    assert rows[world["buyer"]].send_at == datetime.datetime(2026, 12, 31, 9, 0, tzinfo=HELSINKI)
    assert rows[world["home"]].deadline == datetime.datetime(2027, 1, 1, 0, 0, tzinfo=TALLINN)
    assert rows[world["home"]].context["text"] == TEXTS["et"]  # each in their own language
    assert rows[world["buyer"]].context["text"] == TEXTS["en"]

    again = opening_hours_change_announce(store=world["store"], day=datetime.date(2027, 1, 1), texts=TEXTS)
    assert again.queued == 0 and Notification.objects.filter(topic__code="opening-hours").count() == 2


def test_an_opening_hours_change_on_the_day_itself_is_refused(world, time_machine):
    time_machine.move_to(datetime.datetime(2027, 1, 1, 0, 30, tzinfo=TALLINN), tick=False)
    with pytest.raises(ValueError, match="day before"):
        opening_hours_change_announce(store=world["store"], day=datetime.date(2027, 1, 1), texts=TEXTS)
    assert not Notification.objects.filter(topic__code="opening-hours").exists()


def test_a_store_opening_is_news_in_its_district_and_the_neighbouring_ones(world, customer_factory):
    kalamaja, pelgulinn, far = world["districts"]
    lives = customer_factory(home_district=kalamaja)
    next_door = customer_factory(home_district=pelgulinn)
    elsewhere = customer_factory(home_district=far)
    chose = customer_factory(home_district=far)
    for customer in (lives, next_door, elsewhere, chose):
        consent_record(customer=customer, channel="email", action="granted", source="staff")
    chose.preference.districts.add(pelgulinn)

    store_opening_announce(store=world["store"], texts=TEXTS)

    reached = set(Notification.objects.filter(topic__code="store-opening").values_list("customer", flat=True))
    assert reached == {lives.pk, next_door.pk, chose.pk}


def test_staff_check_counts_without_writing_and_announce_writes_and_audits(world, client):
    user = User.objects.create_user("marketer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(user)
    url = reverse("admin:notifications_announce")
    form = {"occasion": "hours", "store": world["store"].pk, "day": "2027-01-01", "text_en": TEXTS["en"]}

    checked = client.post(url, {**form, "check": "1"})
    assert checked.status_code == 200 and checked.context["result"].queued == 2
    assert not Notification.objects.filter(topic__code="opening-hours").exists()

    missing_day = client.post(url, {**form, "day": "", "announce": "1"})
    assert "Which day do the opening hours change?" in missing_day.content.decode()
    assert not Notification.objects.filter(topic__code="opening-hours").exists()

    client.post(url, {**form, "announce": "1"})
    assert Notification.objects.filter(topic__code="opening-hours").count() == 2
    assert AuditEntry.objects.filter(object_type="crm.store", actor=user).exists()
