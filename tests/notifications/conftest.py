import pytest

from notifications.channels.sms import MemorySmsChannel


@pytest.fixture(autouse=True)
def sms_outbox():
    MemorySmsChannel.outbox = []
    yield MemorySmsChannel.outbox
