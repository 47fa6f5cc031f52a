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


@pytest.fixture(autouse=True)
def send_times_as_planned(request):
    """Campaign tests check times against the customers' windows: the learned hour's exploration
    (a random allowed hour for a share of flexible messages, tested in notifications) is off here."""
    if not request.node.get_closest_marker("django_db") and "db" not in request.fixturenames:
        return
    from notifications.models import Topic

    if "transactional_db" not in request.fixturenames:
        request.getfixturevalue("db")
    Topic.objects.filter(code="new-products").update(learn_send_time=False)
