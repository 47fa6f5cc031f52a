import pytest

from tests.campaigns.factories import CampaignFactory, SegmentFactory


@pytest.fixture
def campaign_factory(db):
    return CampaignFactory


@pytest.fixture
def segment_factory(db):
    return SegmentFactory


@pytest.fixture(autouse=True)
def sms_outbox():
    from notifications.delivery.channels.sms import MemorySmsChannel

    MemorySmsChannel.outbox = []
    yield MemorySmsChannel.outbox
