"""Order-ready and appointment reminders posted by the POS: loyalty signals, notifications writes."""

import datetime
import json
from zoneinfo import ZoneInfo

import pytest

from loyalty.models import IdempotencyRecord
from notifications.consent.services import consent_record
from notifications.models import Notification
from tests.loyalty.factories import make_pos_key

UTC = datetime.UTC
TALLINN = ZoneInfo("Europe/Tallinn")


@pytest.fixture
def pos(store_factory):
    _key, raw = make_pos_key(store_factory(code="TLN-01", name="Kesklinn"))
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def card_holder(customer_factory):
    customer = customer_factory(external_id="CARD-1", phone="+37251234567", time_zone="Europe/Tallinn")
    consent_record(customer=customer, channel="sms", scope="channel", action="granted", source="survey")
    return customer


def post(client, pos, body, key="k-1"):
    headers = dict(pos, **({"Idempotency-Key": key} if key else {}))
    return client.post("/api/v1/reminders/", data=json.dumps(body), content_type="application/json", headers=headers)


def test_an_order_ready_is_texted_now_once_per_order(client, pos, card_holder, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 24, 12, 0, tzinfo=TALLINN), tick=False)
    body = {"kind": "order_ready", "customer": {"external_id": "CARD-1"}, "reference": "O-77", "note": "Desk 2"}

    response = post(client, pos, body)

    assert response.status_code == 202, response.content
    [row] = Notification.objects.filter(topic__code="order-ready")
    assert (row.customer_id, row.channel, row.status) == (card_holder.pk, "sms", "scheduled")
    assert row.send_at == datetime.datetime(2026, 11, 24, 12, 0, tzinfo=TALLINN)
    assert row.context["reference"] == "O-77" and row.context["store_name"] == "Kesklinn"
    assert post(client, pos, body).json() == response.json()  # the same key replays
    assert post(client, pos, body, key="k-2").status_code == 202  # the same order again: no second message
    assert Notification.objects.filter(topic__code="order-ready").count() == 1


def test_an_appointment_is_reminded_the_day_before_and_never_after_it(client, pos, card_holder, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 24, 12, 0, tzinfo=TALLINN), tick=False)
    at = datetime.datetime(2026, 11, 27, 15, 30, tzinfo=TALLINN)
    body = {"kind": "appointment", "customer": {"phone": "5123 4567"}, "reference": "B-9", "at": at.isoformat()}

    response = post(client, pos, body)

    assert response.status_code == 202, response.content
    [row] = Notification.objects.filter(topic__code="appointment")
    assert row.send_at == datetime.datetime(2026, 11, 26, 15, 30, tzinfo=TALLINN)
    assert row.deadline <= at
    assert "(Europe/Tallinn)" in row.context["at_local"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "appointment", "customer": {"external_id": "CARD-1"}, "reference": "B-1"}, "at"),
        (
            {
                "kind": "appointment",
                "customer": {"external_id": "CARD-1"},
                "reference": "B-1",
                "at": "2020-01-01T10:00:00Z",
            },
            "at",
        ),
        (
            {
                "kind": "appointment",
                "customer": {"external_id": "CARD-1"},
                "reference": "B-1",
                "at": "2030-01-01T10:00",
            },
            "at",
        ),
        ({"kind": "party", "customer": {"external_id": "CARD-1"}, "reference": "B-1"}, "kind"),
        ({"kind": "order_ready", "customer": {"external_id": "CARD-1"}, "reference": ""}, "reference"),
        ({"kind": "order_ready", "customer": {"external_id": "NOPE"}, "reference": "O-1"}, "customer"),
    ],
)
def test_bad_reminders_get_a_4xx_naming_the_field_and_change_nothing(client, pos, card_holder, body, field):
    response = post(client, pos, body)

    assert 400 <= response.status_code < 500
    assert response.json()["field"] == field, response.json()
    assert not Notification.objects.exists()
    assert not IdempotencyRecord.objects.exists()
