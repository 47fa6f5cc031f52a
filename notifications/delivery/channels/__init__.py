"""Channel backends, chosen in settings (NOTIFICATION_BACKENDS) like Django's e-mail backends."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.delivery.channels.base import ChannelBackend, Message, ProviderError


@cache
def _backend_class(path: str) -> type[ChannelBackend]:
    return import_string(path)


def backend_for(channel: str) -> ChannelBackend:
    return _backend_class(settings.NOTIFICATION_BACKENDS[channel])()


__all__ = ["ChannelBackend", "Message", "ProviderError", "backend_for"]
