from notifications.delivery.channels.base import ChannelBackend, Message, ProviderError


class LetterBatchChannel(ChannelBackend):
    """Postal letters are not sent by a provider: the dispatcher files them into the day's batch,
    which staff print (PDF with address labels) and post; posting marks them sent."""

    def send(self, message: Message) -> str:
        if not message.to:
            raise ProviderError("no postal address", permanent=True)
        return f"letter-{message.notification_id}"
