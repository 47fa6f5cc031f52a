import datetime

import factory
from django.utils import timezone

from campaigns.models import Campaign, CampaignContent, Segment
from crm.models import Customer
from notifications.models import Channel, ConsentEvent, Topic


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(dict)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    topic = factory.LazyFunction(lambda: Topic.objects.get(code="new-products"))
    segment = factory.SubFactory(SegmentFactory)
    deadline = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))

    @factory.post_generation
    def contents(self, create, extracted, **kwargs):
        if not create:
            return
        for channel, language, subject, body in extracted or DEFAULT_CONTENT:
            CampaignContent.objects.create(
                campaign=self, channel=channel, language=language, subject=subject, body=body
            )


DEFAULT_CONTENT = [
    (Channel.SMS, "en", "", "New winter boots in store, {{ customer.first_name }}. Details by e-mail."),
    (Channel.SMS, "et", "", "Uued talvesaapad poes, {{ customer.first_name }}."),
    (Channel.EMAIL, "en", "Winter boots are here", "Hello {{ customer.first_name }},\n\nOur winter boots arrived."),
    (Channel.EMAIL, "et", "Talvesaapad on kohal", "Tere {{ customer.first_name }},\n\nTalvesaapad saabusid."),
]


def marketing_consent(customers) -> None:
    """Every customer agrees to all news and offers on e-mail and SMS (two rows each, in bulk)."""
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                customer_id=customer.pk if isinstance(customer, Customer) else customer,
                channel=channel,
                scope=ConsentEvent.Scope.MARKETING,
                action=ConsentEvent.Action.GRANTED,
                source=ConsentEvent.Source.SURVEY,
                wording="Yes, send me offers",
            )
            for customer in customers
            for channel in (Channel.EMAIL, Channel.SMS)
        ],
        batch_size=5000,
    )
