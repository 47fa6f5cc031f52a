from dataclasses import dataclass, field


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


class ChannelBackend:
    """Sends one rendered message and returns the provider's id for it.

    The notification id travels with the message (Message-ID, metadata or reference) so a
    retry after a crash is recognisable to the provider and to us.
    """

    def send(self, message: Message) -> str:
        raise NotImplementedError
