import datetime

from django.utils import timezone

from notifications.models import Notification, Topic


def due_notification(customer, topic_code="service", channel="email", **fields) -> Notification:
    now = timezone.now()
    defaults = {
        "customer": customer,
        "topic": Topic.objects.get(code=topic_code),
        "channel": channel,
        "context": {"title": "Hello", "text": "Your order is ready."},
        "send_at": now - datetime.timedelta(seconds=1),
        "deadline": now + datetime.timedelta(days=2),
        "dedupe_key": f"test:{timezone.now().timestamp()}:{id(fields)}:{customer.pk}:{channel}:{topic_code}",
    }
    defaults.update(fields)
    return Notification.objects.create(**defaults)
