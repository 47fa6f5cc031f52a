import pytest

from notifications.delivery.channels.sms import MemorySmsChannel


@pytest.fixture(autouse=True)
def sms_outbox():
    MemorySmsChannel.outbox = []
    yield MemorySmsChannel.outbox
