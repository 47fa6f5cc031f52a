import base64
import datetime

import pytest
import requests
import responses
from django.urls import reverse
from twilio.request_validator import RequestValidator

from crm.models import Interaction
from notifications.consent.book import ConsentBook
from notifications.consent.services import consent_record
from notifications.delivery.channels import Message, ProviderError
from notifications.delivery.channels.twilio import TwilioSmsChannel
from notifications.delivery.sms_encoding import sms_segments
from notifications.inbound.sweep import inbound_sweep
from notifications.models import (
    ConsentEvent,
    ContactSuppression,
    DeliveryEvent,
    InboundMessage,
    Notification,
    Topic,
)
from notifications.outbox.write import notify
from tests.notifications.factories import due_notification

AUTH = "postmark:s3cret-webhook"


@pytest.fixture(autouse=True)
def feedback_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": AUTH}
    settings.TWILIO_AUTH_TOKEN = "twilio-token"
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32


@pytest.fixture
def sent_email(customer, run_tasks_inline, time_machine):
    # Sent a few minutes before the provider's (fixed) delivery timestamps below.
    time_machine.move_to(datetime.datetime(2026, 11, 23, 16, 30, tzinfo=datetime.UTC))
    row = due_notification(customer, "service")
    Notification.objects.filter(pk=row.pk).update(
        status="sent", provider_message_id="883953f4-6105-42a2-a16a-77a8eac79483"
    )
    return row


def postmark(client, payload, auth=AUTH, django_capture_on_commit_callbacks=None):
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
    return client.post("/anymail/postmark/tracking/", data=payload, content_type="application/json", headers=headers)


def delivery(row, **extra):
    # The shape of Postmark's documented Delivery webhook.
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": row.customer.email,
        "Tag": "service",
        "DeliveredAt": "2026-11-23T16:34:52Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {"notification_id": str(row.pk)},
        **extra,
    }


def bounce(row, kind="HardBounce", record="Bounce", event_id=4323372036854775807):
    return {
        "RecordType": record,
        "ID": event_id,
        "Type": kind,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "service",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"notification_id": str(row.pk)},
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": row.customer.email,
        "From": "hello@cornershop.example",
        "BouncedAt": "2026-11-23T16:40:00Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Corner Shop: Hello",
    }


def test_delivered_then_opened_and_clicked_are_kept_on_the_notification(
    client, sent_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert postmark(client, delivery(sent_email)).status_code == 200
        open_event = {
            "RecordType": "Open",
            "MessageStream": "outbound",
            "FirstOpen": True,
            "Platform": "WebMail",
            "UserAgent": "Mozilla/5.0",
            "ReadSeconds": 5,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Metadata": {"notification_id": str(sent_email.pk)},
            "ReceivedAt": "2026-11-24T07:10:00Z",
            "Tag": "service",
            "Recipient": sent_email.customer.email,
        }
        assert postmark(client, open_event).status_code == 200
        click = {
            **open_event,
            "RecordType": "Click",
            "ClickLocation": "HTML",
            "OriginalLink": "https://example.com",
            "ReceivedAt": "2026-11-24T07:11:00Z",
        }
        assert postmark(client, click).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.status == "delivered"
    assert sent_email.delivered_at == datetime.datetime(2026, 11, 23, 16, 34, 52, tzinfo=datetime.UTC)
    assert sent_email.opened_at.hour == 7 and sent_email.clicked_at.minute == 11


def test_replayed_event_is_recorded_once(client, sent_email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert postmark(client, delivery(sent_email)).status_code == 200
            assert postmark(client, bounce(sent_email)).status_code == 200
    assert DeliveryEvent.objects.count() == 2
    assert ContactSuppression.objects.count() == 1
    assert ConsentEvent.objects.filter(source="provider").count() == 1  # one standing withdrawal, not one per topic


def test_hard_bounce_suppresses_the_address_and_a_late_delivered_lifts_nothing(
    client, sent_email, django_capture_on_commit_callbacks
):
    customer = sent_email.customer
    consent_record(customer=customer, channel="email", action="granted", source=ConsentEvent.Source.SURVEY)
    with django_capture_on_commit_callbacks(execute=True):
        postmark(client, bounce(sent_email))
        postmark(client, delivery(sent_email, DeliveredAt="2026-11-23T18:00:00Z"))  # late, out of order
    sent_email.refresh_from_db()
    assert sent_email.status == "failed" and "bounced" in sent_email.detail
    suppression = ContactSuppression.objects.get()
    assert (suppression.channel, suppression.address, suppression.reason) == ("email", customer.email, "hard bounce")
    book = ConsentBook.for_customers([customer.pk])
    assert not book.allows(customer.pk, "email", Topic.objects.get(code="promotion"))
    withdrawn = ConsentEvent.objects.filter(customer=customer, source="provider", action="withdrawn")
    assert set(withdrawn.values_list("reason", flat=True)) == {"hard bounce"}
    # New messages avoid the dead address: the SMS alternative is used, or the reason is given.
    [row] = notify(
        customer=customer, topic="bonus-expired", context={"points": 1, "balance": 0}, dedupe_key="after-bounce"
    )
    assert row.channel == "sms"
    customer.phone = ""
    customer.save()
    [row] = notify(customer=customer, topic="service", context={}, dedupe_key="after-bounce-2")
    assert (row.status, row.reason) == ("suppressed", "suppressed_contact")


def test_complaint_suppresses_and_withdraws_marketing(client, sent_email, django_capture_on_commit_callbacks):
    complaint = bounce(sent_email, kind="SpamComplaint", record="SpamComplaint", event_id=77)
    with django_capture_on_commit_callbacks(execute=True):
        postmark(client, complaint)
    assert ContactSuppression.objects.get().reason == "spam complaint"
    assert ConsentEvent.objects.filter(action="withdrawn", reason="spam complaint").exists()


def test_soft_bounce_does_not_suppress(client, sent_email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        postmark(client, bounce(sent_email, kind="SoftBounce", event_id=91))
    assert not ContactSuppression.objects.exists()
    sent_email.refresh_from_db()
    assert sent_email.status == "sent"


def test_forged_tracking_webhook_is_400_and_writes_nothing(client, sent_email):
    assert postmark(client, bounce(sent_email), auth="postmark:guess").status_code == 400
    assert (
        client.post("/anymail/postmark/tracking/", data=bounce(sent_email), content_type="application/json").status_code
        == 400
    )
    assert not DeliveryEvent.objects.exists() and not ContactSuppression.objects.exists()


# --- SMS replies -----------------------------------------------------------------------------------


def twilio_post(client, path, params, token="twilio-token"):
    url = "https://crm.example.com" + path
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


_sids = iter(range(10**6))


def sms(client, text, sender="+37251234567", sid=None):
    params = {"MessageSid": sid or f"SM{next(_sids):032d}", "From": sender, "To": "CornerShop", "Body": text}
    return twilio_post(client, reverse("twilio-sms-inbound"), params)


@pytest.fixture
def texter(customer_factory, run_tasks_inline):
    return customer_factory(phone="+37251234567", language="en")


STOP_CORPUS = [
    "STOP", "stop", "Stop.", "  STOP!! ", "StopAll", "STOPALL", "UNSUBSCRIBE", "Unsubscribe please", "cancel",
    "CANCEL", "End", "END.", "quit", "QUIT", "revoke", "REVOKE", "OPT OUT", "opt-out", "Opt out!", "OPTOUT",
    "СТОП", "стоп", "Стоп!", "ОТПИСАТЬСЯ", "отписаться", "LOPETA", "lopeta!", "Lopeta", "AVSLUTA", "avsluta",
    "STOPP", "Stopp",
    # Seen in the wild: other languages' words, diacritics, politeness, misspellings.
    "lõpeta", "LÕPETA!", "sluta", "Sluta tack", "unsub", "please stop", "Stop please", "STOP palun",
    "Unsubscibe", "хватит", "Стоп, пожалуйста",
]  # fmt: skip


@pytest.mark.parametrize("text", STOP_CORPUS)
def test_every_stop_word_withdraws_sms_consent_with_one_confirmation(
    client, texter, text, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sms(client, text)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    event = ConsentEvent.objects.get(customer=texter)
    assert (event.channel, event.topic, event.action, event.source, event.wording) == (
        "sms",
        None,
        "withdrawn",
        "keyword",
        text,
    )
    assert not ConsentBook.for_customers([texter.pk]).allows(texter.pk, "sms", Topic.objects.get(code="service"))
    assert len(sms_outbox) == 1 and "no more SMS" in sms_outbox[0].body and sms_outbox[0].to == "+37251234567"


def test_stop_with_a_topic_word_withdraws_only_that_topic(
    client, texter, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sms(client, "STOP PROMO")
    event = ConsentEvent.objects.get(customer=texter)
    assert event.topic.code == "promotion"
    book = ConsentBook.for_customers([texter.pk])
    assert book.allows(texter.pk, "sms", Topic.objects.get(code="bonus-credited"))
    assert "Promotion" in sms_outbox[0].body


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "UNSTOP!", "старт"])
def test_start_restores_sms(client, texter, text, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sms(client, "STOP")
        sms(client, text)
    assert ConsentBook.for_customers([texter.pk]).allows(texter.pk, "sms", Topic.objects.get(code="service"))
    assert len(sms_outbox) == 2 and "on again" in sms_outbox[1].body


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", "ПОМОЩЬ", "apua", "Hjälp"])
def test_help_answers_with_brand_and_contacts(
    client, texter, text, sms_outbox, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sms(client, text)
    assert not ConsentEvent.objects.exists()
    assert settings.BRAND_NAME in sms_outbox[0].body and settings.BRAND_CONTACT_PHONE in sms_outbox[0].body


def test_other_text_is_logged_for_staff_without_reply(client, texter, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sms(client, "Is the Kesklinn store open on Sunday?")
    assert Interaction.objects.get(customer=texter).summary.endswith("open on Sunday?")
    assert sms_outbox == [] and not ConsentEvent.objects.exists()


def test_replayed_inbound_sms_acts_once(client, texter, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert sms(client, "STOP", sid="SM-replayed").status_code == 200
    assert InboundMessage.objects.count() == 1 and ConsentEvent.objects.count() == 1 and len(sms_outbox) == 1


def test_forged_inbound_sms_is_400_and_writes_nothing(client, texter, sms_outbox):
    params = {"MessageSid": "SMx", "From": "+37251234567", "Body": "STOP"}
    path = reverse("twilio-sms-inbound")
    assert twilio_post(client, path, params, token="wrong-token").status_code == 400
    assert client.post(path, params).status_code == 400
    assert not InboundMessage.objects.exists() and not ConsentEvent.objects.exists() and sms_outbox == []


def test_sms_status_callback_marks_delivered_and_unknown_number_suppresses(
    client, customer, run_tasks_inline, django_capture_on_commit_callbacks
):
    row = due_notification(customer, "service", channel="sms")
    Notification.objects.filter(pk=row.pk).update(status="sent", provider_message_id="SM1")
    path = reverse("twilio-sms-status")
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post(client, path, {"MessageSid": "SM1", "MessageStatus": "delivered", "To": str(customer.phone)})
    row.refresh_from_db()
    assert row.status == "delivered"
    other = due_notification(customer, "service", channel="sms", dedupe_key="sms-2")
    Notification.objects.filter(pk=other.pk).update(status="sent", provider_message_id="SM2")
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post(
            client,
            path,
            {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30005", "To": str(customer.phone)},
        )
    assert ContactSuppression.objects.get().address == str(customer.phone)


# --- Twilio backend, stubbed at the HTTP layer -------------------------------------------------------

MESSAGES_URL = "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"


@responses.activate
def test_twilio_backend_sends_with_the_alphanumeric_sender_and_status_callback(settings):
    responses.post(MESSAGES_URL, json={"sid": "SM9f0c", "status": "queued"}, status=201)
    sid = TwilioSmsChannel().send(Message(notification_id=5, to="+37251234567", body="Hello"))
    assert sid == "SM9f0c"
    sent = responses.calls[0].request.body
    assert "From=CornerShop" in sent and "To=%2B37251234567" in sent and "StatusCallback=https" in sent


@responses.activate
@pytest.mark.parametrize(("status", "permanent"), [(400, True), (429, False), (500, False), (503, False)])
def test_twilio_errors_are_final_or_retried(status, permanent):
    responses.post(
        MESSAGES_URL, json={"code": 21211, "message": "Invalid 'To' number", "status": status}, status=status
    )
    with pytest.raises(ProviderError) as excinfo:
        TwilioSmsChannel().send(Message(notification_id=5, to="+37251234567", body="Hello"))
    assert excinfo.value.permanent is permanent


@responses.activate
def test_twilio_timeout_is_retried_not_final():
    responses.post(MESSAGES_URL, body=requests.exceptions.ConnectTimeout("timed out"))
    with pytest.raises(ProviderError) as excinfo:
        TwilioSmsChannel().send(Message(notification_id=5, to="+37251234567", body="Hello"))
    assert excinfo.value.permanent is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", ("gsm7", 1)),
        ("a" * 160, ("gsm7", 1)),
        ("a" * 161, ("gsm7", 2)),
        ("a" * 306, ("gsm7", 2)),
        ("a" * 307, ("gsm7", 3)),
        ("€" * 80, ("gsm7", 1)),
        ("€" * 81, ("gsm7", 2)),
        ("Ä ö Ü ñ", ("gsm7", 1)),
        ("Привет" * 11 + "abcd", ("ucs2", 1)),
        ("Привет" * 12, ("ucs2", 2)),
        ("õ", ("ucs2", 1)),
    ],
)
def test_sms_segments_count_gsm7_and_ucs2(text, expected):
    assert sms_segments(text) == expected


def test_keyword_confirmation_is_in_the_customers_language(
    client, customer_factory, run_tasks_inline, sms_outbox, django_capture_on_commit_callbacks
):
    customer_factory(phone="+79161234567", language="ru")
    with django_capture_on_commit_callbacks(execute=True):
        sms(client, "СТОП", sender="+79161234567")
    assert "вы больше не будете получать от нас SMS" in sms_outbox[0].body


# --- Stored first, processed later: nothing a provider or customer sent is lost ----------------------


def test_events_and_replies_no_task_processed_are_picked_up_by_the_sweeper(
    client, customer, sms_outbox, django_capture_on_commit_callbacks, time_machine
):
    """No worker consumes the broker here (as when it is down): the rows wait, then beat's sweeper acts."""
    texter = customer
    texter.phone = "+37251234567"
    texter.save()
    time_machine.move_to("2026-11-24T10:00:00+00:00")
    row = due_notification(texter, "service")
    Notification.objects.filter(pk=row.pk).update(status="sent", provider_message_id="883953f4-6105-42a2-a16a")
    with django_capture_on_commit_callbacks(execute=True):  # the wake-ups go to a broker nobody reads
        assert sms(client, "STOP").status_code == 200
        payload = {**bounce(row), "MessageID": "883953f4-6105-42a2-a16a"}
        assert postmark(client, payload).status_code == 200
    event = DeliveryEvent.objects.get()
    inbound = InboundMessage.objects.get()
    assert event.processed_at is None and not ContactSuppression.objects.exists()
    assert inbound.processed_at is not None and inbound.reply and inbound.reply_sent_at is None and sms_outbox == []

    time_machine.move_to("2026-11-24T10:01:00+00:00")
    assert inbound_sweep() == {"events": 1, "inbound": 0, "replies": 1}
    event.refresh_from_db(), inbound.refresh_from_db()
    assert event.processed_at and ContactSuppression.objects.get().address == texter.email
    assert inbound.reply_sent_at and len(sms_outbox) == 1 and "no more SMS" in sms_outbox[0].body
    assert inbound_sweep() == {"events": 0, "inbound": 0, "replies": 0}  # once only


def test_a_reply_that_fails_to_process_is_kept_and_processed_later(
    client, texter, sms_outbox, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    from notifications.inbound import replies

    time_machine.move_to("2026-11-24T10:00:00+00:00")
    real = replies._sms_process
    monkeypatch.setattr(replies, "_sms_process", lambda inbound: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert sms(client, "STOP").status_code == 200  # the provider is told we have it
    inbound = InboundMessage.objects.get()
    assert inbound.processed_at is None and not ConsentEvent.objects.exists()

    monkeypatch.setattr(replies, "_sms_process", real)
    time_machine.move_to("2026-11-24T10:01:00+00:00")
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_sweep()["inbound"] == 1
    assert ConsentEvent.objects.get(customer=texter).action == "withdrawn"
    assert len(sms_outbox) == 1  # the confirmation, once


def test_a_reply_is_sent_with_a_stable_key_outside_the_lease(texter, sms_outbox, django_capture_on_commit_callbacks):
    from notifications.inbound.replies import inbound_reply_send, inbound_sms_handle

    inbound = inbound_sms_handle(provider="twilio", message_id="SM-k", sender=str(texter.phone), body="HELP")
    assert inbound_reply_send(inbound.pk) is True
    assert inbound_reply_send(inbound.pk) is False  # sent already: never twice
    assert sms_outbox[0].key == f"reply-{inbound.pk}" and sms_outbox[0].idempotency_key.startswith("reply-")
