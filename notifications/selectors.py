from django.db.models import QuerySet

from crm.models import Customer
from notifications.models import ConsentEvent, Notification


def customer_notifications(customer: Customer) -> QuerySet[Notification]:
    """Every message planned for a customer, newest first, with the decision and its reason."""
    return Notification.objects.filter(customer=customer).select_related("topic").order_by("-created_at", "-id")


def customer_consent_history(customer: Customer) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(customer=customer).select_related("topic", "staff").order_by("-created_at", "-id")
    )
