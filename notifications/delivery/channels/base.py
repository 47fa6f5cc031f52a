import hashlib
import hmac
from dataclasses import dataclass, field

from django.conf import settings


class ProviderError(Exception):
    """The provider refused or failed; ``permanent`` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass
class Message:
    notification_id: int
    to: str
    body: str
    subject: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    sender: str = ""
    key: str = ""  # for messages that are not notifications (e.g. a reply to STOP)

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at this message: providers and receivers deduplicate on it."""
        return idempotency_key(self.key) if self.key else notification_key(self.notification_id)


def idempotency_key(name: str) -> str:
    """A key stable per message and installation, not guessable from the name alone."""
    digest = hmac.new(settings.SECRET_KEY.encode(), name.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{name}-{digest}"


def notification_key(notification_id: int) -> str:
    return idempotency_key(f"n{notification_id}")


class ChannelBackend:
    """Sends one rendered message and returns the provider's id for it.

    ``message.idempotency_key`` is the same on every attempt at the message: a backend passes it
    to the provider where the API takes one (and as the e-mail Message-ID), so a retry after a
    crash is recognisable to the provider and to us.
    """

    def send(self, message: Message) -> str:
        raise NotImplementedError
