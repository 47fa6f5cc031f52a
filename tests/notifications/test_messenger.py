import datetime
import json

import pytest
import requests
import responses

from notifications.consent.book import ConsentBook
from notifications.consent.services import consent_record
from notifications.delivery.channels import Message, ProviderError
from notifications.delivery.channels.messenger import MessengerChannel
from notifications.models import ConsentEvent, InboundMessage, Notification, Preference, Topic
from notifications.outbox.write import notify
from notifications.preferences.services import messenger_link_start, preference_update
from tests.notifications.test_pipeline import send_due

TG_SEND = "https://api.telegram.org/bot123456:TEST/sendMessage"
WA_SEND = "https://graph.facebook.com/v21.0/1098765/messages"
_updates = iter(range(1000, 10**6))


def telegram(client, text, chat_id=777001, update_id=None, secret="telegram-webhook-secret"):
    update = {
        "update_id": update_id or next(_updates),
        "message": {
            "message_id": 11,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Mari", "language_code": "et"},
            "chat": {"id": chat_id, "first_name": "Mari", "type": "private"},
            "date": 1763900000,
            "text": text,
        },
    }
    return client.post(
        "/webhooks/telegram/",
        data=json.dumps(update),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
    )


def tg_ok(message_id=42):
    return {"ok": True, "result": {"message_id": message_id, "chat": {"id": 777001}, "date": 1763900001, "text": "ok"}}


@responses.activate
def test_deep_link_connects_telegram_records_opt_in_and_messages_then_flow(
    client,
    customer,
    settings,
    run_tasks_inline,
    django_capture_on_commit_callbacks,
):
    settings.NOTIFICATION_QUIET_HOURS = {**settings.NOTIFICATION_QUIET_HOURS, "messenger": None}  # any hour here
    responses.post(TG_SEND, json=tg_ok())
    link = messenger_link_start(customer=customer)
    assert link.startswith("https://t.me/CornerShopBot?start=")
    code = link.split("start=")[1]

    with django_capture_on_commit_callbacks(execute=True):
        assert telegram(client, f"/start {code}").status_code == 200
    preference = Preference.objects.get(customer=customer)
    assert (preference.messenger, preference.telegram_chat_id, preference.messenger_link_code) == (
        "telegram",
        "777001",
        "",
    )
    consent = ConsentEvent.objects.get(customer=customer, channel="messenger")
    assert consent.action == "granted" and consent.wording
    assert json.loads(responses.calls[0].request.body)["chat_id"] == "777001"  # one confirmation

    # A customer who prefers the messenger for bonus receipts now gets them there.
    preference_update(
        customer=customer,
        preferred_channels={"bonus-credited": "messenger"},
        window_start=datetime.time(0),
        window_end=datetime.time(23, 59),
    )
    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 5, "balance": 5}, dedupe_key="tg-1")
    assert row.channel == "messenger"
    Notification.objects.filter(pk=row.pk).update(send_at=row.created_at)
    send_due()
    row.refresh_from_db()
    assert row.status == "sent" and row.provider_message_id == "tg-777001-42"
    sent = json.loads(responses.calls[-1].request.body)
    assert "Reply STOP" in sent["text"] and "+5 points" in sent["text"]


def test_messenger_needs_opt_in_even_for_service_messages(customer):
    Preference.objects.create(customer=customer, messenger="telegram", telegram_chat_id="5")
    preference_update(customer=customer, preferred_channels={"bonus-credited": "messenger"})
    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 1}, dedupe_key="tg-no-optin")
    assert row.channel == "sms"  # no messenger consent: the topic's own channel carries it


@responses.activate
def test_stop_in_telegram_withdraws_messenger_consent(
    client, customer, run_tasks_inline, django_capture_on_commit_callbacks
):
    responses.post(TG_SEND, json=tg_ok())
    Preference.objects.create(customer=customer, messenger="telegram", telegram_chat_id="777001")
    with django_capture_on_commit_callbacks(execute=True):
        telegram(client, "Stop!")
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.channel, event.action, event.source) == ("messenger", "withdrawn", "keyword")
    assert "no more Telegram" in json.loads(responses.calls[0].request.body)["text"]


def test_expired_or_unknown_link_connects_nothing(client, customer, django_capture_on_commit_callbacks):
    link = messenger_link_start(customer=customer)
    Preference.objects.update(messenger_link_created_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    with django_capture_on_commit_callbacks(execute=False):
        telegram(client, f"/start {link.split('start=')[1]}")
        telegram(client, "/start forged-code")
    assert Preference.objects.get().telegram_chat_id == ""
    assert not ConsentEvent.objects.exists()


def test_forged_or_replayed_telegram_updates_write_nothing_twice(client, customer, django_capture_on_commit_callbacks):
    Preference.objects.create(customer=customer, messenger="telegram", telegram_chat_id="777001")
    assert telegram(client, "STOP", secret="guess").status_code == 400
    assert client.post("/webhooks/telegram/", data="{}", content_type="application/json").status_code == 400
    assert not InboundMessage.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(3):
            telegram(client, "STOP", update_id=99)
    assert InboundMessage.objects.count() == 1 and ConsentEvent.objects.count() == 1


@responses.activate
def test_whatsapp_backend_posts_to_the_cloud_api():
    responses.post(WA_SEND, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.HBgM"}]})
    assert MessengerChannel().send(Message(notification_id=1, to="whatsapp:+37251234567", body="Hi")) == "wamid.HBgM"
    call = responses.calls[0].request
    assert json.loads(call.body)["to"] == "37251234567" and call.headers["Authorization"] == "Bearer wa-token"


@responses.activate
@pytest.mark.parametrize(("status", "permanent"), [(403, True), (400, True), (429, False), (502, False)])
def test_messenger_errors_are_final_or_retried(status, permanent):
    responses.post(
        TG_SEND, json={"ok": False, "error_code": status, "description": "Forbidden: bot was blocked"}, status=status
    )
    with pytest.raises(ProviderError) as excinfo:
        MessengerChannel().send(Message(notification_id=1, to="telegram:5", body="Hi"))
    assert excinfo.value.permanent is permanent


@responses.activate
def test_messenger_timeout_is_retried():
    responses.post(TG_SEND, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ProviderError) as excinfo:
        MessengerChannel().send(Message(notification_id=1, to="telegram:5", body="Hi"))
    assert excinfo.value.permanent is False


# --- WhatsApp replies ------------------------------------------------------------------------------


def whatsapp(client, text, *, sender="37251234567", message_id="wamid.IN1", secret="whatsapp-app-secret"):
    """A message as Meta's Cloud API webhook posts it, signed with the app secret."""
    import hashlib
    import hmac

    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1098765",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "contacts": [{"wa_id": sender, "profile": {"name": "Mari"}}],
                                "messages": [
                                    {"from": sender, "id": message_id, "type": "text", "text": {"body": text}}
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/webhooks/whatsapp/", data=body, content_type="application/json", headers={"X-Hub-Signature-256": signature}
    )


def test_whatsapp_subscription_check_answers_only_the_verify_token(client, db):
    ok = client.get(
        "/webhooks/whatsapp/", {"hub.mode": "subscribe", "hub.verify_token": "whatsapp-verify", "hub.challenge": "42"}
    )
    assert (ok.status_code, ok.content) == (200, b"42")
    wrong = client.get("/webhooks/whatsapp/", {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"})
    assert wrong.status_code == 403


@responses.activate
@pytest.mark.parametrize(
    ("text", "language", "answer"), [("STOP", "en", "no more WhatsApp"), ("стоп", "ru", "WhatsApp")]
)
def test_whatsapp_stop_withdraws_messenger_consent_and_answers_in_the_customers_language(
    client, customer_factory, run_tasks_inline, django_capture_on_commit_callbacks, text, language, answer
):
    customer = customer_factory(phone="+37251234567", language=language)
    Preference.objects.create(customer=customer, messenger="whatsapp")
    consent_record(customer=customer, channel="messenger", action="granted", source="preference_page")
    responses.post(WA_SEND, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT"}]})
    with django_capture_on_commit_callbacks(execute=True):
        assert whatsapp(client, text).status_code == 200
        assert whatsapp(client, text).status_code == 200  # Meta retries: acted on once
    event = ConsentEvent.objects.filter(customer=customer, source="keyword").get()
    assert (event.channel, event.action) == ("messenger", "withdrawn")
    assert not ConsentBook.for_customers([customer.pk]).allows(
        customer.pk, "messenger", Topic.objects.get(code="service")
    )
    [reply] = responses.calls
    sent = json.loads(reply.request.body)
    assert sent["to"] == "37251234567" and answer in sent["text"]["body"]
    if language == "ru":
        assert "WhatsApp" in sent["text"]["body"] and "no more" not in sent["text"]["body"]


def test_forged_whatsapp_posts_write_nothing(client, customer_factory):
    customer_factory(phone="+37251234567")
    assert whatsapp(client, "STOP", secret="guess").status_code == 400
    assert client.post("/webhooks/whatsapp/", data="{}", content_type="application/json").status_code == 400
    assert not InboundMessage.objects.exists() and not ConsentEvent.objects.filter(source="keyword").exists()
