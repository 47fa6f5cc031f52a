import datetime
import json
import threading
import time
import zoneinfo
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from loyalty import services as loyalty
from loyalty.models import BonusLot
from notifications.consent.book import ConsentBook
from notifications.consent.services import consent_record
from notifications.delivery import dispatch
from notifications.models import Channel, ConsentEvent, Notification, Preference, Topic
from notifications.outbox import claim as outbox
from notifications.outbox.write import notify
from notifications.preferences.services import preference_update
from tests.loyalty.factories import make_pos_key, purchase
from tests.notifications.factories import due_notification

Status = Notification.Status


def send_due(now=None):
    """What beat + a worker do, in-process: claim due rows and deliver them, batch after batch."""
    return dispatch.drain(now=now)


def grant(customer, channel, topic=None, source=ConsentEvent.Source.SURVEY):
    return consent_record(
        customer=customer,
        channel=channel,
        topic=topic,
        action=ConsentEvent.Action.GRANTED,
        source=source,
        wording="Yes, send me offers",
        wording_version="v1",
    )


def test_pos_purchase_becomes_a_bonus_credited_sms_inside_the_window_sent_exactly_once(
    client, customer_factory, store_factory, django_capture_on_commit_callbacks, sms_outbox
):
    customer = customer_factory(external_id="CARD-7", time_zone="Europe/Helsinki", first_name="Aino")
    preference_update(customer=customer, window_start=datetime.time(10), window_end=datetime.time(18))
    _key, raw = make_pos_key(store_factory())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps(
                {"customer": {"external_id": "CARD-7"}, "receipt_id": "R1", "amount": "42.00", "currency": "EUR"}
            ),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "k1"},
        )
    assert response.status_code == 201
    notification = Notification.objects.get(customer=customer)
    assert (notification.topic.code, notification.channel, notification.status) == (
        "bonus-credited",
        "sms",
        "scheduled",
    )
    local = notification.send_at.astimezone(zoneinfo.ZoneInfo("Europe/Helsinki"))
    assert datetime.time(10) <= local.time() < datetime.time(18)
    assert notification.context["points"] == 42

    at_slot = notification.send_at + datetime.timedelta(seconds=1)
    assert send_due(now=at_slot) == {"sent": 1}
    assert send_due(now=at_slot + datetime.timedelta(hours=1)) == {}
    assert len(sms_outbox) == 1 and "+42 points" in sms_outbox[0].body and sms_outbox[0].to == str(customer.phone)
    notification.refresh_from_db()
    assert notification.status == Status.SENT and notification.provider_message_id == f"mem-{notification.pk}"
    assert (notification.sms_encoding, notification.sms_segments) == ("gsm7", 1)


def test_preferred_channel_and_fallback_when_there_is_no_phone(customer_factory):
    by_email = customer_factory()
    preference_update(customer=by_email, preferred_channels={"bonus-credited": "email"})
    no_phone = customer_factory(phone="")
    for customer in (by_email, no_phone):
        rows = notify(customer=customer, topic="bonus-credited", context={"points": 1}, dedupe_key=f"t:{customer.pk}")
        assert [(r.channel, r.status) for r in rows] == [("email", "scheduled")]


def test_same_occasion_never_notifies_twice(customer):
    first = notify(customer=customer, topic="service", context={}, dedupe_key="order-1")
    again = notify(customer=customer, topic="service", context={}, dedupe_key="order-1")
    assert [n.pk for n in first] == [n.pk for n in again]
    assert Notification.objects.count() == 1


def test_marketing_without_consent_is_suppressed_with_the_reason(customer):
    rows = notify(customer=customer, topic="promotion", context={"text": "-20%"}, dedupe_key="promo-1")
    assert [(r.status, r.reason) for r in rows] == [("suppressed", "no_consent")]


def test_consent_withdrawn_after_scheduling_suppresses_at_send_time(customer):
    grant(customer, Channel.EMAIL)
    [row] = notify(customer=customer, topic="promotion", context={"text": "-20%"}, dedupe_key="promo-2")
    assert row.status == "scheduled"
    consent_record(customer=customer, channel=Channel.EMAIL, action="withdrawn", source=ConsentEvent.Source.STAFF)
    send_due(now=row.send_at + datetime.timedelta(seconds=1))
    row.refresh_from_db()
    assert (row.status, row.reason) == ("suppressed", "no_consent")
    assert mail.outbox == []


def test_quiet_hours_are_never_violated_even_for_immediate_messages(customer_factory, sms_outbox, time_machine):
    customer = customer_factory(time_zone="Europe/Moscow")
    preference_update(customer=customer, preferred_channels={"service": "sms"})
    three_am = datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.UTC)  # 03:00 in Moscow
    time_machine.move_to(three_am, tick=False)
    [row] = notify(customer=customer, topic="service", context={"text": "x"}, dedupe_key="q1")
    assert row.channel == "sms"
    assert row.send_at.astimezone(customer.zone).time() == datetime.time(8, 0)

    # A row forced due at night is deferred by the dispatcher to the morning, not sent.
    Notification.objects.filter(pk=row.pk).update(send_at=three_am - datetime.timedelta(minutes=1))
    assert send_due() == {"deferred": 1}
    row.refresh_from_db()
    assert (row.status, row.reason, sms_outbox) == ("deferred", "quiet_hours", [])
    assert row.send_at.astimezone(customer.zone) == datetime.datetime(2026, 11, 24, 8, tzinfo=customer.zone)

    # In the morning it goes.
    time_machine.move_to(row.send_at + datetime.timedelta(seconds=1), tick=False)
    assert send_due() == {"sent": 1}
    assert len(sms_outbox) == 1


def _always_open(customer):
    preference_update(customer=customer, window_start=datetime.time(0, 0), window_end=datetime.time(23, 59))


def test_weekly_cap_defers_then_suppresses(customer, settings):
    settings.NOTIFICATION_CONTACT_MIN_SPACING_HOURS = 0  # the channel's own cap (spacing: test_contact_rules.py)
    grant(customer, Channel.EMAIL)
    _always_open(customer)
    preference_update(customer=customer, max_per_week={"email": 2})
    Topic.objects.filter(code="promotion").update(urgency="timely")
    sent = [due_notification(customer, "promotion", dedupe_key=f"cap-{i}") for i in range(2)]
    assert send_due() == {"sent": 2}
    third = due_notification(
        customer, "promotion", dedupe_key="cap-3", deadline=timezone.now() + datetime.timedelta(days=9)
    )
    send_due()
    third.refresh_from_db()
    assert (third.status, third.reason) == ("deferred", "capped")
    oldest = min(Notification.objects.filter(pk__in=[n.pk for n in sent]).values_list("sent_at", flat=True))
    assert third.send_at >= oldest + datetime.timedelta(days=7)
    fourth = due_notification(
        customer, "promotion", dedupe_key="cap-4", deadline=timezone.now() + datetime.timedelta(days=1)
    )
    send_due()
    fourth.refresh_from_db()
    assert (fourth.status, fourth.reason) == ("suppressed", "capped")
    assert len(mail.outbox) == 2


def test_greetings_obey_the_weekly_cap_and_only_service_passes_it(customer, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC), tick=False)
    grant(customer, Channel.EMAIL)
    _always_open(customer)
    preference_update(customer=customer, max_per_week={"email": 1})
    due_notification(customer, "promotion", context={"text": "x"}, dedupe_key="cap-g-1")
    assert send_due() == {"sent": 1}
    greeting = due_notification(customer, "greeting", context={"title": "Hi", "text": "x"}, dedupe_key="cap-g-2")
    later_greeting = due_notification(
        customer,
        "greeting",
        context={"text": "y"},
        dedupe_key="cap-g-3",
        deadline=timezone.now() + datetime.timedelta(days=9),
    )
    service = due_notification(customer, "service", dedupe_key="cap-g-4")
    send_due()
    for row in (greeting, later_greeting, service):
        row.refresh_from_db()
    assert (greeting.status, greeting.reason) == ("suppressed", "capped")
    assert (later_greeting.status, later_greeting.reason) == ("deferred", "capped")
    assert service.status == "sent" and len(mail.outbox) == 2


def test_only_service_topics_may_pass_the_cap(db):
    passing = set(Topic.objects.filter(counts_against_cap=False).values_list("code", flat=True))
    assert passing == {
        "bonus-credited",
        "bonus-debited",
        "bonus-expiring",
        "bonus-expired",
        "opening-hours",
        "service",
        "order-ready",
        "appointment-reminder",
    }
    assert Topic._meta.get_field("counts_against_cap").default is True  # a topic staff add counts unless exempted


def test_stale_expiry_warning_is_cancelled_and_fresh_one_renders_the_amount_left(customer, store_factory):
    store = store_factory()
    _always_open(customer)
    purchase(customer, store=store, amount="100")
    lot = BonusLot.objects.get()
    BonusLot.objects.filter(pk=lot.pk).update(expires_at=timezone.now() + datetime.timedelta(days=5))
    loyalty.expiry_warnings_send()
    [warning] = notify(
        customer=customer,
        topic="bonus-expiring",
        context={"points": 100, "days_left": 5, "lot_ids": [lot.pk]},
        dedupe_key="exp-a",
    )
    purchase(customer, store=store, amount="0", redeem=60)  # part spent: render 40
    Notification.objects.filter(pk=warning.pk).update(send_at=timezone.now())
    send_due()
    warning.refresh_from_db()
    assert warning.status == "sent" and "40 points of your bonus will expire" in warning.body

    [stale] = notify(
        customer=customer, topic="bonus-expiring", context={"points": 40, "lot_ids": [lot.pk]}, dedupe_key="exp-b"
    )
    purchase(customer, store=store, amount="0", redeem=40)  # all spent
    Notification.objects.filter(pk=stale.pk).update(send_at=timezone.now())
    send_due()
    stale.refresh_from_db()
    assert (stale.status, stale.reason) == ("cancelled", "stale")


def test_marketing_email_carries_brand_contact_and_rfc8058_headers(customer, settings):
    grant(customer, Channel.EMAIL)
    _always_open(customer)
    Topic.objects.filter(code="promotion").update(urgency="timely")
    due_notification(customer, "promotion", context={"title": "Autumn sale", "text": "-20% on coats"})
    send_due()
    [email] = mail.outbox
    assert email.subject == f"{settings.BRAND_NAME}: Autumn sale"
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    one_click = email.extra_headers["List-Unsubscribe"]
    assert one_click.startswith("<https://crm.example.com/u/") and one_click.endswith("/one-click/>")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert settings.BRAND_CONTACT_EMAIL in email.body and "https://crm.example.com/u/" in email.body


def test_email_without_an_https_unsubscribe_is_refused_with_the_reason(customer, settings):
    settings.PUBLIC_BASE_URL = "http://insecure.example.com"
    row = due_notification(customer, "service")
    send_due()
    row.refresh_from_db()
    assert (row.status, row.reason) == ("suppressed", "incomplete") and "List-Unsubscribe" in row.detail
    assert mail.outbox == []


def test_one_click_post_withdraws_that_topic_on_that_channel(client, customer):
    grant(customer, Channel.EMAIL)
    due_notification(customer, "service", context={"title": "t", "text": "x"})
    send_due()
    url = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>").replace("https://crm.example.com", "")
    assert client.get(url).status_code == 405  # GET never writes
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    book = ConsentBook.for_customers([customer.pk])
    assert not book.allows(customer.pk, Channel.EMAIL, Topic.objects.get(code="service"))
    assert book.allows(customer.pk, Channel.EMAIL, Topic.objects.get(code="promotion"))  # other topics unchanged
    assert client.post(url.replace("/u/", "/u/x"), {"List-Unsubscribe": "One-Click"}).status_code == 404


def test_badge_follows_consent(customer):
    grant(customer, Channel.EMAIL)
    assert Preference.objects.get(customer=customer).badge == "email_only"
    grant(customer, Channel.SMS)
    assert Preference.objects.get(customer=customer).badge == "full"


def test_provider_failure_retries_with_backoff_then_fails(customer, settings):
    settings.NOTIFICATION_BACKENDS = {
        **settings.NOTIFICATION_BACKENDS,
        "email": "tests.notifications.backends.BrokenEmail",
    }
    from notifications.delivery.channels import _backend_class

    _backend_class.cache_clear()
    row = due_notification(customer, "service")
    try:
        send_due()
        row.refresh_from_db()
        assert (row.status, row.reason, row.attempts) == ("scheduled", "provider_error", 1)
        assert row.send_at > timezone.now() + datetime.timedelta(seconds=100)
        Notification.objects.filter(pk=row.pk).update(
            attempts=settings.NOTIFICATION_MAX_ATTEMPTS - 1, send_at=timezone.now()
        )
        send_due()
        row.refresh_from_db()
        assert row.status == "failed" and "SMTP down" in row.detail
    finally:
        _backend_class.cache_clear()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_racing_never_send_a_message_twice(customer_factory):
    customers = customer_factory.create_batch(5)
    rows = [due_notification(c, "service", dedupe_key=f"race-{c.pk}-{i}") for c in customers for i in range(8)]
    barrier = threading.Barrier(4)

    def dispatcher(_):
        barrier.wait(timeout=20)
        try:
            claimed = []
            while claims := outbox.claim(now=timezone.now(), limit=7):
                claimed.extend(claim.id for claim in claims)
                dispatch.deliver(claims)
                dispatch.deliver(claims)  # a broker redelivery of the same batch: its rows are no longer sending
            return claimed
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        claimed = [i for ids in pool.map(dispatcher, range(4)) for i in ids]
    assert sorted(claimed) == sorted(r.pk for r in rows)  # every row claimed by exactly one dispatcher
    assert len(mail.outbox) == len(rows)
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == len(rows)
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_batch_of_100_takes_a_constant_number_of_queries(customer_factory, django_assert_max_num_queries):
    for customer in customer_factory.create_batch(100):
        due_notification(customer, "service")
    claims = outbox.claim(now=timezone.now(), limit=100)
    assert len(claims) == 100
    # Rows, preferences, consent, suppressions, recent sends, templates, the bulk record: no query per row.
    with django_assert_max_num_queries(9):  # and the sender identities (cached per process)
        assert dispatch.deliver(claims) == {"sent": 100}


def test_fan_out_is_set_based_and_idempotent(customer_factory, django_assert_max_num_queries):
    from crm.models import Customer
    from notifications.outbox.fanout import notify_many

    customers = customer_factory.create_batch(30)
    grant(customers[0], Channel.EMAIL)
    # Two chunks of 20: eight statements each (five reads, the insert in its savepoint), not one per customer.
    with django_assert_max_num_queries(18):
        report = notify_many(
            customers=Customer.objects.all(),
            topic="promotion",
            context={"text": "-10%"},
            dedupe_prefix="camp-1",
            chunk_size=20,
        )
    assert (report.customers, report.rows_written, report.queued, report.already_present) == (30, 30, 1, 0)
    assert report.suppressed == {"no_consent": 29}
    by_status = dict(Notification.objects.filter(dedupe_key__startswith="camp-1:").values_list("customer_id", "status"))
    assert by_status[customers[0].pk] == "scheduled"
    assert set(by_status.values()) == {"scheduled", "suppressed"}  # the rest gave no consent: kept, with the reason
    again = notify_many(customers=Customer.objects.all(), topic="promotion", context={}, dedupe_prefix="camp-1")
    assert (again.customers, again.rows_written, again.queued, again.already_present) == (30, 0, 0, 30)
    assert Notification.objects.filter(dedupe_key__startswith="camp-1:").count() == 30


def test_each_channel_has_its_own_drainer(customer_factory, run_tasks_inline, monkeypatch, time_machine):
    """A slow SMS gateway must not hold up e-mails: beat wakes one drainer per channel with work."""
    from notifications import tasks

    time_machine.move_to("2026-11-24T10:00:00+00:00")  # daytime: SMS may go

    customers = customer_factory.create_batch(3)
    rows = [
        due_notification(c, "service", channel=ch, dedupe_key=f"split-{c.pk}-{ch}")
        for c in customers
        for ch in ("email", "sms")
    ]
    drained = []
    real = dispatch.drain
    monkeypatch.setattr(dispatch, "drain", lambda **kw: drained.append(kw["channel"]) or real(**kw))
    assert tasks.dispatch_due_task() == ["email", "sms"]
    assert sorted(drained) == ["email", "sms"]
    assert set(Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("status", flat=True)) == {"sent"}


def test_an_existing_installation_has_its_topics_capped_by_the_migration(db):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("notifications.migrations.0010_capped_topics")
    Topic.objects.filter(code__in=["gift", "thanks", "service"]).update(counts_against_cap=False)  # as installed
    migration.cap_topics(apps, None)
    capped = dict(
        Topic.objects.filter(code__in=["gift", "thanks", "service"]).values_list("code", "counts_against_cap")
    )
    assert capped == {"gift": True, "thanks": True, "service": False}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_under_backlog_a_lease_starts_when_the_work_does_so_no_row_is_claimed_twice(
    customer_factory, settings, monkeypatch
):
    """Claims are taken by the worker that sends, batch by batch, so a backlog never outlives leases."""
    settings.NOTIFICATION_LEASE_SECONDS = 1
    sends: list[int] = []

    class SlowProvider:
        def send(self, message):
            time.sleep(0.05)
            sends.append(message.notification_id)
            return f"p-{message.idempotency_key}"

    customers = customer_factory.create_batch(6)
    rows = [due_notification(c, "service", dedupe_key=f"backlog-{c.pk}-{i}") for c in customers for i in range(8)]
    # Two drainers work through 48 rows in batches of 6: about 1.2 s of sending, longer than one lease.
    monkeypatch.setattr(dispatch, "backend_for", lambda channel: SlowProvider())

    def drainer(_):
        try:
            return dispatch.drain(limit=6)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(drainer, range(2)))
    assert sorted(sends) == sorted(r.pk for r in rows)  # each sent once
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}  # each claimed once


# --- Transactional outbox: the message commits or rolls back with the sale ------------------------


def test_the_bonus_message_is_in_the_outbox_when_the_sale_commits_before_any_hook_runs(
    customer, store_factory, django_capture_on_commit_callbacks
):
    """A crash right after the sale's commit (before on-commit hooks run) must not lose the message."""
    with django_capture_on_commit_callbacks(execute=False) as hooks:
        purchase(customer, store=store_factory(), amount="25")
    [row] = Notification.objects.filter(customer=customer)
    assert (row.topic.code, row.context["points"]) == ("bonus-credited", 25)
    assert len(hooks) <= 1  # at most the best-effort wake-up; nothing the message depends on


def test_the_outbox_row_rolls_back_with_the_sale(customer, store_factory):
    class TillCrashed(Exception):
        pass

    with pytest.raises(TillCrashed), transaction.atomic():
        purchase(customer, store=store_factory(), amount="25")
        assert Notification.objects.filter(customer=customer).exists()  # written in the sale's transaction
        raise TillCrashed
    assert not Notification.objects.filter(customer=customer).exists()
    assert not BonusLot.objects.filter(account__customer=customer).exists()


@pytest.mark.parametrize("chunk_size", [3, 10_000])
@pytest.mark.parametrize("topic", ["promotion", "bonus-credited", "service", "greeting"])
def test_fan_out_plans_each_customer_exactly_as_notify_does(
    customer_factory, time_machine, topic, chunk_size, settings
):
    """The set-based fan-out shares its plans and slots between customers and reads consent and
    suppressions per chunk; the outcome must be notify's, customer by customer."""
    # notify also spaces a customer's occasions apart (here: from the fan-out's rows written just
    # before); the fan-out leaves that to the dispatcher (test_contact_rules.py).
    settings.NOTIFICATION_CONTACT_MIN_SPACING_HOURS = 0
    from notifications.models import ContactSuppression
    from notifications.outbox.fanout import notify_many

    time_machine.move_to("2027-03-27T22:30:00+00:00", tick=False)  # the night before Europe springs forward
    Topic.objects.filter(code=topic).update(coalesce=False)  # planning is compared here, not coalescing
    zones = ["Europe/Tallinn", "Europe/Helsinki", "Europe/Moscow", "America/New_York", "Europe/Stockholm"]
    customers = []
    for i in range(20):
        customer = customer_factory(
            time_zone=zones[i % len(zones)],
            email="" if i % 7 == 3 else f"c{i}@example.com",
            phone="" if i % 5 == 4 else f"+3725{1000000 + i}",
        )
        fields = {}
        if i % 3 == 0:
            fields.update(window_start=datetime.time(7 + i % 5), window_end=datetime.time(18 + i % 4))
        if i % 4 == 1:
            fields.update(weekdays=[1, 3])
        if i % 6 == 2:
            fields.update(paused_until=datetime.date(2027, 3, 30))
        if i % 5 == 1:
            fields.update(best_hour=19)
        if i % 4 == 2:
            fields.update(preferred_channels={topic: "sms"})
        if fields:
            preference_update(customer=customer, **fields)
        if i % 2 == 0:
            grant(customer, Channel.EMAIL)
        if i % 3 == 1:
            grant(customer, Channel.SMS)
        customers.append(customer)
    ContactSuppression.objects.create(channel="email", address=customers[2].email, reason="hard bounce")
    from crm.models import Customer

    def outcome(customer):
        rows = Notification.objects.filter(customer=customer, dedupe_key__startswith="many:")
        return sorted(rows.values_list("channel", "status", "reason", "send_at", "deadline"))

    many = Customer.objects.all()
    notify_many(customers=many, topic=topic, context={"text": "x"}, dedupe_prefix="many", chunk_size=chunk_size)
    planned = {customer.pk: outcome(customer) for customer in customers}
    # The same occasions again, one by one (the dedupe key seeds the exploration of send times).
    Notification.objects.all().delete()
    for customer in customers:
        notify(customer=customer, topic=topic, context={"text": "x"}, dedupe_key=f"many:{customer.pk}")

    for customer in customers:
        assert planned[customer.pk] == outcome(customer), customer.time_zone


@pytest.mark.parametrize("chunk_size", [1, 3, 4, 50])
def test_fan_out_walks_sparse_members_in_chunks_and_plans_each_once(customer_factory, chunk_size):
    """Chunks are ranges of ids sized by the members' density: across runs of non-members and a dense
    tail, every member is planned exactly once, whatever the chunk size."""
    from crm.models import Customer
    from notifications.outbox.fanout import notify_many

    customers = customer_factory.create_batch(40)
    chosen = [c for i, c in enumerate(customers) if i in (0, 1, 9, 17, 18) or i >= 30]
    for customer in chosen[:3]:
        preference_update(customer=customer)  # a preference row, nothing set
    members = Customer.objects.filter(pk__in=[c.pk for c in chosen])
    report = notify_many(customers=members, topic="service", context={}, dedupe_prefix="sparse", chunk_size=chunk_size)
    written = sorted(
        Notification.objects.filter(dedupe_key__startswith="sparse:").values_list("customer_id", flat=True)
    )
    assert written == sorted(c.pk for c in chosen)
    assert (report.customers, report.queued, report.rows_written) == (len(chosen), len(chosen), len(chosen))
    again = notify_many(customers=members, topic="service", context={}, dedupe_prefix="sparse", chunk_size=chunk_size)
    assert (again.customers, again.already_present, again.rows_written) == (len(chosen), len(chosen), 0)
    nobody = notify_many(customers=Customer.objects.none(), topic="service", context={}, dedupe_prefix="none")
    assert (nobody.customers, nobody.rows_written) == (0, 0)


def test_an_occasion_is_planned_once_even_after_its_row_moved_channel(customer_factory, time_machine):
    from crm.models import Customer
    from notifications.outbox.fanout import notify_many

    time_machine.move_to("2026-11-24T10:00:00+00:00")
    customer = customer_factory()
    grant(customer, Channel.SMS)
    grant(customer, Channel.EMAIL)
    preference_update(customer=customer, preferred_channels={"promotion": "sms"})
    [first] = notify(customer=customer, topic="promotion", context={"text": "x"}, dedupe_key="promo-9")
    notify_many(customers=Customer.objects.filter(pk=customer.pk), topic="promotion", context={}, dedupe_prefix="c9")
    assert first.channel == "sms"
    preference_update(customer=customer, preferred_channels={"promotion": "email"})  # re-plans the queued rows
    assert set(Notification.objects.values_list("channel", flat=True)) == {"email"}

    again = notify(customer=customer, topic="promotion", context={"text": "x"}, dedupe_key="promo-9")
    report = notify_many(customers=Customer.objects.all(), topic="promotion", context={}, dedupe_prefix="c9")
    assert [row.pk for row in again] == [first.pk]
    assert (report.rows_written, report.already_present) == (0, 1)
    assert Notification.objects.count() == 2


def test_beat_wakes_a_drainer_per_batch_due_up_to_the_workers_concurrency(customer_factory, settings):
    from notifications.delivery.dispatch import drainers_wanted

    settings.NOTIFICATION_BATCH_SIZE, settings.NOTIFICATION_DRAINERS_PER_CHANNEL = 5, 2
    customers = customer_factory.create_batch(12)
    for customer in customers[:3]:
        due_notification(customer, "service", channel="sms")
    rows = [due_notification(customer, "service", channel="email") for customer in customers]
    assert drainers_wanted() == {"email": 2, "sms": 1}  # 12 e-mails are three batches: capped at two drainers

    Notification.objects.filter(channel="sms").update(status="sent")
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
        status="sending", lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert drainers_wanted() == {"email": 1}  # stranded by a dead worker: one drainer reclaims them
