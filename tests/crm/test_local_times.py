"""Local times: staff read their own zone and the customer's, callbacks are agreed in the
customer's, across the days the clocks change (Tallinn and Berlin: 2026-10-25 and 2027-03-28)."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from crm.callback_forms import wall_clock_to_utc
from crm.models import Callback, StaffProfile
from crm.services import callback_reminders_send
from crm.zones import both_zones
from notifications.delivery.rendering import dispute_url
from surveys.services import _first_workday_morning
from tests.loyalty.factories import purchase

UTC = datetime.UTC
TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin_staff(client, admin_user):
    admin_user.email = "agent@shop.example"
    admin_user.save()
    StaffProfile.objects.create(user=admin_user, time_zone="Europe/Berlin")
    client.force_login(admin_user)
    return client


def _add_callback(client, customer, day: str, time: str):
    return client.post(
        reverse("admin:crm_callback_add"),
        {
            "customer": customer.pk,
            "due_at_0": day,
            "due_at_1": time,
            "subject": "Refund",
            "notes": "",
            "status": "open",
        },
    )


@pytest.mark.parametrize(
    ("day", "time", "stored"),
    [
        ("2026-10-24", "09:00", datetime.datetime(2026, 10, 24, 6, 0, tzinfo=UTC)),  # EEST, +3
        ("2026-10-26", "09:00", datetime.datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),  # EET, +2
        ("2026-10-25", "03:30", datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # the repeated hour: the first
        ("2027-03-28", "09:00", datetime.datetime(2027, 3, 28, 6, 0, tzinfo=UTC)),  # EEST again
    ],
)
def test_a_callback_is_entered_in_the_customers_local_time_and_stored_in_utc(berlin_staff, customer, day, time, stored):
    response = _add_callback(berlin_staff, customer, day, time)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Callback.objects.get().due_at == stored


def test_a_time_the_clocks_skip_is_refused_with_the_reason(berlin_staff, customer):
    response = _add_callback(berlin_staff, customer, "2027-03-28", "03:30")
    assert response.status_code == 200 and not Callback.objects.exists()
    assert "does not exist in Europe/Tallinn" in response.content.decode()
    assert wall_clock_to_utc(datetime.datetime(2027, 3, 28, 3, 30), TALLINN) is None


def test_the_callback_pages_show_both_clocks_and_the_form_the_customers(berlin_staff, customer):
    _add_callback(berlin_staff, customer, "2026-10-26", "09:00")
    callback = Callback.objects.get()
    listed = berlin_staff.get(reverse("admin:crm_callback_changelist")).content.decode()
    assert "2026-10-26 09:00 EET (customer) · 2026-10-26 08:00 CET (you)" in listed
    page = berlin_staff.get(reverse("admin:crm_callback_change", args=[callback.pk])).content.decode()
    assert 'name="due_at_1" value="09:00:00"' in page and "(you)" in page
    # Saved again unchanged, it stays the same instant.
    response = berlin_staff.post(
        reverse("admin:crm_callback_change", args=[callback.pk]),
        {
            "customer": customer.pk,
            "due_at_0": "2026-10-26",
            "due_at_1": "09:00:00",
            "subject": "Refund",
            "notes": "",
            "status": "open",
        },
    )
    assert response.status_code == 302
    callback.refresh_from_db()
    assert callback.due_at == datetime.datetime(2026, 10, 26, 7, 0, tzinfo=UTC)


def test_the_reminder_fires_at_the_agreed_local_time(berlin_staff, customer, admin_user, mailoutbox):
    _add_callback(berlin_staff, customer, "2026-10-26", "09:00")
    Callback.objects.update(assigned_to=admin_user)
    with time_machine.travel(datetime.datetime(2026, 10, 26, 6, 59, tzinfo=UTC), tick=False):
        assert callback_reminders_send() == 0
    with time_machine.travel(datetime.datetime(2026, 10, 26, 7, 0, tzinfo=UTC), tick=False):
        assert callback_reminders_send() == 1
    [email] = mailoutbox
    assert "2026-10-26 09:00 EET" in email.body and "Europe/Tallinn" in email.body


def test_a_low_score_callback_is_due_at_nine_on_the_customers_next_workday():
    # Friday 23:30 in Tallinn is already Saturday there: Monday 09:00 EET, after the change.
    friday_night = datetime.datetime(2026, 10, 23, 21, 30, tzinfo=UTC)
    assert _first_workday_morning(friday_night, TALLINN) == datetime.datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert _first_workday_morning(friday_night, new_york) == datetime.datetime(2026, 10, 26, 13, 0, tzinfo=UTC)


def test_both_zones_name_each_clock_and_say_it_once_when_they_agree():
    after = datetime.datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert both_zones(after, TALLINN, BERLIN) == "2027-03-28 10:00 EEST (customer) · 2027-03-28 09:00 CEST (you)"
    assert both_zones(after, TALLINN, TALLINN) == "2027-03-28 10:00 EEST (customer and you)"


def test_admin_pages_use_the_staff_members_zone(berlin_staff, customer):
    from crm.models import Interaction

    Interaction.objects.create(
        customer=customer, kind="call", summary="x", occurred_at=datetime.datetime(2026, 10, 26, 6, 0, tzinfo=UTC)
    )
    page = berlin_staff.get(reverse("admin:crm_customer_change", args=[customer.pk])).content.decode()
    assert "2026-10-26 07:00 CET" in page


def test_the_dispute_page_shows_the_customers_own_clock(client, customer_factory, store_factory):
    customer = customer_factory(time_zone="Europe/Helsinki")
    result = purchase(customer, store=store_factory(), occurred_at=datetime.datetime(2026, 10, 25, 6, 0, tzinfo=UTC))
    page = client.get(dispute_url(customer, result.transaction_ids[0]).replace("https://crm.example.com", ""))
    text = page.content.decode()
    assert "2026-10-25 08:00 EET" in text and "Europe/Helsinki" in text


def test_the_customer_page_shows_the_customers_clock_next_to_yours(berlin_staff, customer, admin_user):
    with time_machine.travel(datetime.datetime(2027, 3, 28, 7, 0, tzinfo=UTC), tick=False):
        berlin_staff.force_login(admin_user)  # a session of today's would have expired by then
        page = berlin_staff.get(reverse("admin:crm_customer_change", args=[customer.pk])).content.decode()
    assert "Now (Europe/Tallinn): 2027-03-28 10:00 EEST (customer) · 2027-03-28 09:00 CEST (you)" in page
