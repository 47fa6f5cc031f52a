from notifications.channels.base import ChannelBackend, ProviderError


class BrokenEmail(ChannelBackend):
    def send(self, message):
        raise ProviderError("SMTP down")
