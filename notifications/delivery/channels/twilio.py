"""SMS through Twilio's official client. Timeouts and 5xx are retried by the dispatcher; 4xx are final."""

import requests
from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications.delivery.channels.base import ChannelBackend, Message, ProviderError


class TwilioSmsChannel(ChannelBackend):
    def send(self, message: Message) -> str:
        client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT_SECONDS),
        )
        callback = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("twilio-sms-status")
        try:
            sent = client.messages.create(
                to=message.to,
                from_=settings.TWILIO_FROM or settings.BRAND_SMS_SENDER_ID,
                body=message.body,
                status_callback=callback,
            )
        except TwilioRestException as exc:
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise ProviderError(f"Twilio {exc.status} {exc.code}: {exc.msg}", permanent=permanent) from exc
        except requests.RequestException as exc:
            raise ProviderError(f"Twilio unreachable: {exc.__class__.__name__}") from exc
        return sent.sid
