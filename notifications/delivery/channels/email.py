from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from notifications.delivery.channels.base import ChannelBackend, Message, ProviderError


def message_id_for(message: Message) -> str:
    """The same Message-ID on every attempt, so a re-send after a crash is one message to the
    recipient's mail client and to ESPs that deduplicate."""
    domain = settings.BRAND_SENDER_EMAIL.rsplit("@", 1)[-1]
    return f"<{message.idempotency_key}@{domain}>"


class EmailChannel(ChannelBackend):
    """Through Django's mail API: any EMAIL_BACKEND, including every django-anymail ESP."""

    def send(self, message: Message) -> str:
        message_id = message_id_for(message)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=message.sender or settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={**message.headers, "Message-ID": message_id},
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        # anymail: our id travels as metadata, so tracking webhooks name the notification.
        email.metadata = {"notification_id": str(message.notification_id)}
        try:
            sent = email.send(fail_silently=False)
        except Exception as exc:  # the backend's own errors differ per ESP
            raise ProviderError(f"{exc.__class__.__name__}: {exc}") from exc
        if not sent:
            raise ProviderError("the e-mail backend sent nothing")
        status = getattr(email, "anymail_status", None)
        return (status.message_id if status and status.message_id else None) or message_id
