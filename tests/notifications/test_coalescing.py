"""Coalescing: bonus events for one customer due in the same slot become one message.

Given a customer whose SMS waits for the morning; when several purchases happen at night; then the
first event's row collects the others (each of which keeps its own cancelled row, so its dedupe key
and a replay stay idempotent) and one SMS goes at 08:00 with the count, the sum and the balance as
it is at send time.
"""

import datetime
import threading
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.template import Context, Template

from loyalty.services import points_adjust
from notifications.defaults import TEMPLATES
from notifications.delivery.rendering import counted
from notifications.models import MessageTemplate, Notification, Topic
from notifications.outbox import claim as outbox
from notifications.outbox import write
from notifications.outbox.write import notify
from notifications.preferences.services import preference_update
from tests.loyalty.factories import purchase
from tests.notifications.test_pipeline import send_due

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
NIGHT = datetime.datetime(2026, 11, 25, 1, 0, tzinfo=TALLINN)
EIGHT = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=TALLINN)


@pytest.fixture
def night_owl(customer_factory, time_machine):
    """A customer whose window opens at 07:00, so SMS quiet hours hold bonus messages until 08:00."""
    time_machine.move_to(NIGHT, tick=False)
    customer = customer_factory(time_zone="Europe/Tallinn", language="en")
    preference_update(customer=customer, window_start=datetime.time(7), window_end=datetime.time(22))
    return customer


def purchases_at_night(customer, time_machine, amounts=("10", "15", "20")):
    for minutes, amount in zip((0, 20, 60), amounts, strict=False):
        time_machine.move_to(NIGHT + datetime.timedelta(minutes=minutes), tick=False)
        purchase(customer, amount=amount)
    return list(Notification.objects.filter(customer=customer, topic__code="bonus-credited").order_by("id"))


def test_three_purchases_at_night_become_one_sms_at_eight_with_the_sum_and_the_balance_then(
    night_owl, time_machine, admin_user, sms_outbox
):
    first, second, third = purchases_at_night(night_owl, time_machine)

    assert (first.status, first.channel, first.send_at) == ("scheduled", "sms", EIGHT)
    assert (first.context["count"], first.context["points"]) == (3, 45)
    assert [event["points"] for event in first.context["events"]] == [10, 15, 20]
    for joined in (second, third):
        assert (joined.status, joined.reason) == ("cancelled", "coalesced")
        assert joined.detail == f"coalesced into notification {first.pk}"
        assert joined.context["points"] in (15, 20)  # its own event, kept as it was

    # The balance changes before the message goes (a staff correction sends no message).
    time_machine.move_to(EIGHT - datetime.timedelta(hours=1), tick=False)
    points_adjust(customer=night_owl, points=1185, reason="card merge", staff=admin_user)

    time_machine.move_to(EIGHT + datetime.timedelta(seconds=1), tick=False)
    assert send_due(now=EIGHT + datetime.timedelta(seconds=1)) == {"sent": 1}
    [sms] = sms_outbox
    assert "3 purchases, +45 points, balance 1230." in sms.body
    first.refresh_from_db()
    assert first.status == "sent" and first.context["balance"] == 1230

    # A single purchase later in the day reads as it always did.
    time_machine.move_to(EIGHT + datetime.timedelta(hours=3), tick=False)
    purchase(night_owl, amount="7")
    send_due(now=EIGHT + datetime.timedelta(hours=3, seconds=1))
    assert sms_outbox[1].body.split(". Not you?")[0].endswith(": +7 points, balance 1237")


def test_a_coalesced_email_lists_each_purchase(customer_factory, time_machine):
    time_machine.move_to(NIGHT, tick=False)
    customer = customer_factory(time_zone="Europe/Tallinn", language="en")
    preference_update(customer=customer, preferred_channels={"bonus-credited": "email"})
    rows = purchases_at_night(customer, time_machine, amounts=("10", "15"))
    assert [row.status for row in rows] == ["scheduled", "cancelled"]

    nine = datetime.datetime(2026, 11, 25, 9, 0, 1, tzinfo=TALLINN)
    time_machine.move_to(nine, tick=False)
    assert send_due(now=nine) == {"sent": 1}
    [email] = mail.outbox
    assert "2 purchases, +25 points, balance 25" in email.subject
    receipts = [event["receipt_id"] for event in rows[0].context["events"]]
    assert f"+10 points (receipt {receipts[0]})" in email.body
    assert f"+15 points (receipt {receipts[1]})" in email.body


def test_a_replayed_event_is_not_added_twice(night_owl, time_machine):
    first, second = purchases_at_night(night_owl, time_machine, amounts=("10", "15"))
    assert (first.context["count"], first.context["points"]) == (2, 25)

    for row in (second, first):  # the same occasions again, e.g. a redelivered signal
        occasion = row.dedupe_key.rsplit(":", 1)[0]
        again = notify(customer=night_owl, topic="bonus-credited", context=row.context, dedupe_key=occasion)
        assert [n.pk for n in again] == [row.pk]

    first.refresh_from_db()
    assert (first.context["count"], first.context["points"]) == (2, 25)
    assert Notification.objects.filter(customer=night_owl).count() == 2


def test_a_row_a_dispatcher_already_claimed_is_not_merged_into(night_owl, time_machine):
    first, second = purchases_at_night(night_owl, time_machine, amounts=("10", "15"))
    assert second.status == "cancelled"
    [claim] = outbox.claim(now=EIGHT, limit=10)
    assert claim.id == first.pk

    purchase(night_owl, amount="20")

    first.refresh_from_db()
    latest = Notification.objects.filter(customer=night_owl, topic__code="bonus-credited").latest("id")
    assert (first.status, first.context["count"]) == ("sending", 2)
    assert (latest.status, latest.send_at, latest.context["points"]) == ("scheduled", EIGHT, 20)


def test_a_topic_that_does_not_coalesce_keeps_one_row_per_event(night_owl, time_machine):
    Topic.objects.filter(code="bonus-credited").update(coalesce=False)
    rows = purchases_at_night(night_owl, time_machine, amounts=("10", "15"))
    assert [(row.status, row.send_at) for row in rows] == [("scheduled", EIGHT)] * 2

    hours = [notify(customer=night_owl, topic="opening-hours", context={"text": t}, dedupe_key=t)[0] for t in "ab"]
    assert [(row.status, row.send_at) for row in hours] == [("scheduled", EIGHT)] * 2
    assert not Topic.objects.get(code="opening-hours").coalesce


def test_the_migration_updates_unedited_bonus_templates_and_a_single_event_reads_as_before(db):
    migration = import_module("notifications.migrations.0013_coalesce_bonus_messages")
    credited = Topic.objects.get(code="bonus-credited")
    debited = Topic.objects.get(code="bonus-debited")
    Topic.objects.filter(pk__in=[credited.pk, debited.pk]).update(coalesce=False, freshness_check="")
    for code, (subject, email_body, sms_body) in migration.BEFORE.items():  # as an existing installation has them
        MessageTemplate.objects.filter(topic__code=code, language="en", channel="email").update(
            subject=subject, body=email_body
        )
        MessageTemplate.objects.filter(topic__code=code, language="en", channel="sms").update(body=sms_body)
    MessageTemplate.objects.filter(topic=debited, language="en", channel="sms").update(body="Edited by staff")

    migration.coalesce_bonus_messages(apps, None)

    topics = Topic.objects.filter(pk__in=[credited.pk, debited.pk]).values_list("coalesce", "freshness_check")
    assert set(topics) == {(True, "bonus_balance")}
    templates = {(t.topic.code, t.channel): t for t in MessageTemplate.objects.filter(language="en")}
    assert templates[("bonus-credited", "sms")].body == TEMPLATES["bonus-credited"][2]
    assert templates[("bonus-credited", "email")].subject == TEMPLATES["bonus-credited"][0]
    assert templates[("bonus-debited", "email")].body == TEMPLATES["bonus-debited"][1]
    assert templates[("bonus-debited", "sms")].body == "Edited by staff"

    single = {
        "customer": {"first_name": "Aino"},
        "points": 12,
        "balance": 340,
        "receipt_id": "R-9",
        "contact_phone": "+372 600 0000",
        "contact_email": "help@example.com",
    }
    # A single event reads as one did before coalescing, its counts as counted phrases since.
    ctx = Context({**single, **counted(single)}, autoescape=False)
    assert [Template(new).render(ctx).strip() for new in TEMPLATES["bonus-credited"]] == [
        "12 points credited",
        "Hello Aino,\n\nWe credited 12 points for your purchase (receipt R-9). Your balance: 340 points.\n\n"
        "Not your purchase? Tell us: help@example.com",
        "+12 points, balance 340. Not you? Call +372 600 0000",
    ]
    assert Template(TEMPLATES["bonus-debited"][2]).render(ctx).strip() == (
        "-12 points, balance 340. Not you? Call +372 600 0000"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # topics come from a data migration
def test_a_sale_holds_the_waiting_message_it_will_join_from_the_moment_it_reads_it(
    night_owl, time_machine, monkeypatch
):
    """The sale's planning query locks the rows it may join: a dispatcher claiming while the sale
    plans skips them (SKIP LOCKED) instead of sending a message the sale is about to change, and
    claims the row with both events once the sale has committed."""
    [first] = purchases_at_night(night_owl, time_machine, amounts=("10",))
    planning, release = threading.Event(), threading.Event()
    plan = write._outbox_rows

    def plan_slowly(**kwargs):  # the sale has read the waiting row; it has not written yet
        planning.set()
        release.wait(timeout=30)
        return plan(**kwargs)

    monkeypatch.setattr(write, "_outbox_rows", plan_slowly)

    def sale():
        try:
            purchase(night_owl, amount="15")
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(sale)
        assert planning.wait(timeout=30)
        assert outbox.claim(now=EIGHT, limit=10) == []  # locked by the sale, not waited for
        release.set()
        running.result(timeout=30)

    [claim] = outbox.claim(now=EIGHT, limit=10)
    assert claim.id == first.pk
    first.refresh_from_db()
    assert (first.status, first.context["count"], first.context["points"]) == ("sending", 2, 25)
