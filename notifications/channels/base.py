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

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at this notification: providers and receivers deduplicate on it."""
        return idempotency_key(self.notification_id)


def idempotency_key(notification_id: int) -> str:
    """Stable per notification and installation, not guessable from the id alone."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"notification:{notification_id}".encode(), hashlib.sha256)
    return f"n{notification_id}-{digest.hexdigest()[:16]}"


class ChannelBackend:
    """Sends one rendered message and returns the provider's id for it.

    The notification id travels with the message (Message-ID, metadata or reference) so a
    retry after a crash is recognisable to the provider and to us.
    """

    def send(self, message: Message) -> str:
        raise NotImplementedError
