"""Messengers: Telegram (Bot API) and WhatsApp (Cloud API), chosen by the address prefix.

Contact points look like ``telegram:<chat id>`` or ``whatsapp:+372…``; only customers who opted
in have one. Calls time out; 429 and 5xx are retried by the dispatcher, other 4xx are final.
"""

import requests
from django.conf import settings

from notifications.delivery.channels.base import ChannelBackend, Message, ProviderError


def _post(url: str, *, json: dict, headers: dict | None = None) -> dict:
    try:
        response = requests.post(url, json=json, headers=headers or {}, timeout=settings.MESSENGER_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ProviderError(f"unreachable: {exc.__class__.__name__}") from exc
    if response.status_code >= 400:
        permanent = response.status_code < 500 and response.status_code != 429
        raise ProviderError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)
    return response.json()


def telegram_send(chat_id: str, text: str) -> str:
    url = f"https://api.telegram.org/bot{settings.TELEGRAM_BOT_TOKEN}/sendMessage"
    data = _post(url, json={"chat_id": chat_id, "text": text, "disable_web_page_preview": True})
    return f"tg-{chat_id}-{data['result']['message_id']}"


def whatsapp_send(number: str, text: str) -> str:
    url = f"https://graph.facebook.com/{settings.WHATSAPP_API_VERSION}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
    payload = {"messaging_product": "whatsapp", "to": number.lstrip("+"), "type": "text", "text": {"body": text}}
    data = _post(url, json=payload, headers={"Authorization": f"Bearer {settings.WHATSAPP_TOKEN}"})
    return data["messages"][0]["id"]


class MessengerChannel(ChannelBackend):
    def send(self, message: Message) -> str:
        kind, _sep, address = message.to.partition(":")
        if kind == "telegram":
            return telegram_send(address, message.body)
        if kind == "whatsapp":
            return whatsapp_send(address, message.body)
        raise ProviderError(f"no messenger for {message.to!r}", permanent=True)
