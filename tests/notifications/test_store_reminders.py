"""The till's reminders: an order ready now, an appointment the day before, changed or cancelled at the store."""

import datetime
import json
import zoneinfo

import pytest
from django.core import mail

from loyalty.models import IdempotencyRecord
from notifications.delivery.dispatch import drain
from notifications.models import Notification
from tests.crm.factories import StoreFactory
from tests.loyalty.factories import make_pos_key

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")


@pytest.fixture
def pos(db):
    _key, raw = make_pos_key(StoreFactory(code="TLN-01", name="Kalamaja"))
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def mari(customer_factory):
    return customer_factory(external_id="CARD-1", phone="+37251234567", language="et", first_name="Mari")


def post(client, pos, body, key="r-1"):
    return client.post(
        "/api/v1/reminders/",
        data=json.dumps(body),
        content_type="application/json",
        headers={**pos, "Idempotency-Key": key},
    )


def test_an_order_ready_in_the_evening_waits_for_the_morning_then_goes_by_sms_in_the_customers_language(
    client, pos, mari, time_machine, sms_outbox
):
    evening = datetime.datetime(2026, 10, 24, 22, 30, tzinfo=TALLINN)  # SMS quiet hours until 08:00
    time_machine.move_to(evening, tick=False)
    body = {"customer": {"external_id": "CARD-1"}, "kind": "order_ready", "reference": "A-77", "note": "Lett 2"}
    response = post(client, pos, body)
    assert response.status_code == 202, response.content
    assert response.json() == {"kind": "order_ready", "reference": "A-77", "status": "planned"}
    assert post(client, pos, body).status_code == 202  # the till's retry: replayed, nothing new

    [row] = Notification.objects.all()
    assert (row.topic.code, row.channel) == ("order-ready", "sms")
    assert row.send_at.astimezone(TALLINN) == datetime.datetime(2026, 10, 25, 8, 0, tzinfo=TALLINN)

    time_machine.move_to(datetime.datetime(2026, 10, 25, 8, 0, 5, tzinfo=TALLINN), tick=False)
    drain()
    [sms] = sms_outbox
    assert "Tellimus A-77 ootab teid: Kalamaja." in sms.body and "Lett 2" in sms.body


def test_an_appointment_is_reminded_the_day_before_across_the_dst_change(client, pos, mari, time_machine):
    time_machine.move_to(datetime.datetime(2026, 10, 20, 12, 0, tzinfo=TALLINN), tick=False)
    # Monday 26 October 10:00 (after the clocks went back on Sunday): the reminder on Sunday at 10:00.
    at = datetime.datetime(2026, 10, 26, 10, 0, tzinfo=TALLINN)
    body = {"customer": {"phone": "5123 4567"}, "kind": "appointment", "reference": "B-9", "at": at.isoformat()}
    assert post(client, pos, body).status_code == 202

    [row] = Notification.objects.all()
    assert row.topic.code == "appointment-reminder"
    assert row.send_at.astimezone(TALLINN) == datetime.datetime(2026, 10, 25, 10, 0, tzinfo=TALLINN)
    assert row.deadline == at - datetime.timedelta(hours=2)
    assert (row.context["day"], row.context["time"]) == ("2026-10-26", "10:00")


def test_a_moved_appointment_replaces_its_reminder_and_a_cancelled_one_withdraws_it(client, pos, mari, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 2, 12, 0, tzinfo=TALLINN), tick=False)
    first = datetime.datetime(2026, 11, 10, 15, 0, tzinfo=TALLINN)
    moved = datetime.datetime(2026, 11, 12, 9, 30, tzinfo=TALLINN)
    ref = {"customer": {"external_id": "CARD-1"}, "kind": "appointment", "reference": "B-10"}
    post(client, pos, {**ref, "at": first.isoformat()}, key="1")
    post(client, pos, {**ref, "at": moved.isoformat()}, key="2")

    rows = {row.context["day"]: row for row in Notification.objects.all()}
    assert (rows["2026-11-10"].status, rows["2026-11-10"].detail) == ("cancelled", "changed at the store")
    assert rows["2026-11-12"].status == "scheduled"

    assert post(client, pos, {**ref, "cancelled": True}, key="3").json()["status"] == "cancelled"
    assert not Notification.objects.filter(status="scheduled").exists()
    time_machine.move_to(moved, tick=False)
    drain()
    assert not mail.outbox


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "appointment"}, "at"),
        ({"kind": "appointment", "at": "2026-11-01T10:00:00+02:00"}, "at"),
        ({"kind": "order_ready", "until": "2026-11-01T10:00:00+02:00"}, "until"),
        ({"kind": "delivery"}, "kind"),
        ({"reference": ""}, "reference"),
        ({"customer": {"external_id": "NOBODY"}}, "customer"),
    ],
)
def test_bad_input_names_the_field_and_plans_nothing(client, pos, mari, time_machine, change, field):
    time_machine.move_to(datetime.datetime(2026, 11, 2, 12, 0, tzinfo=TALLINN), tick=False)
    body = {"customer": {"external_id": "CARD-1"}, "kind": "order_ready", "reference": "A-1", **change}
    response = post(client, pos, body)
    assert 400 <= response.status_code < 500
    assert field in json.dumps(response.json())
    assert not Notification.objects.exists()
    assert not IdempotencyRecord.objects.filter(status_code__gte=200).exists()
