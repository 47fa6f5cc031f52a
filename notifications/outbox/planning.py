"""Which channels a message goes out on: the topic's plan, the customer's choice, consent and contact points.

Every function here reads; the batch loaders take many customers at once so the dispatcher
checks a whole batch with a handful of queries.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from phonenumber_field.phonenumber import PhoneNumber

from crm.models import Customer
from notifications.consent.book import ConsentBook
from notifications.models import Channel, ContactSuppression, Notification, Preference, Topic

Reason = Notification.Reason


def channel_available(channel: str) -> bool:
    return channel in settings.NOTIFICATION_BACKENDS


def phone_e164(customer: Customer) -> str:
    """The customer's phone as stored (E.164), or "".

    Not ``str(customer.phone)`` or ``if customer.phone``: both re-validate the number against the
    numbering plan, which costs more than everything else the dispatcher does for an SMS.
    """
    phone = customer.phone
    return phone.as_e164 if isinstance(phone, PhoneNumber) else (phone or "")


def contact_point(customer: Customer, channel: str, preference: Preference | None = None) -> str:
    """Where a message on ``channel`` goes for this customer; "" when there is nowhere."""
    if channel == Channel.MESSENGER:
        if preference is None or not preference.messenger:
            return ""
        if preference.messenger == "telegram" and preference.telegram_chat_id:
            return f"telegram:{preference.telegram_chat_id}"
        if preference.messenger == "whatsapp" and phone_e164(customer):
            return f"whatsapp:{phone_e164(customer)}"
        return ""
    if channel == Channel.EMAIL:
        return customer.email
    if channel == Channel.SMS:
        return phone_e164(customer)
    if channel == Channel.POSTAL:
        if customer.address_line and customer.city:
            return f"{customer.address_line}, {customer.postal_code} {customer.city}".replace("  ", " ")
        return ""
    return ""


def suppressed_contacts(customers) -> set[tuple[str, str]]:
    """(channel, address) pairs among these customers' contact points that bounced or complained."""
    emails = {c.email for c in customers if c.email}
    phones = {phone for c in customers if (phone := phone_e164(c))}
    if not emails and not phones:
        return set()
    rows = ContactSuppression.objects.filter(
        Q(channel=Channel.EMAIL, address__any=emails) | Q(channel=Channel.SMS, address__any=phones)
    ).values_list("channel", "address")
    return set(rows.order_by())


@dataclass(frozen=True)
class Plan:
    channel: str
    reason: str = ""  # empty: may be scheduled; otherwise why not


def plan_channels(
    customer: Customer,
    topic: Topic,
    preference: Preference | None,
    book: ConsentBook,
    suppressed: set[tuple[str, str]] = frozenset(),
) -> list[Plan]:
    """The channels this message goes out on, with a reason for each one it cannot.

    The topic's plan, with the customer's preferred channel for the topic taking the place of
    the plan's first channel when the topic allows it; a planned channel the customer cannot
    get (no contact point, no consent, no backend) falls back to an alternative (no phone →
    e-mail). A channel that has no workable alternative is kept with its reason.
    """
    planned = list(topic.channels)
    preferred = (preference.preferred_channels or {}).get(topic.code) if preference else None
    alternatives = list(topic.alternatives)
    if preferred and preferred in topic.alternatives and preferred not in planned and planned:
        # The customer's choice first; the topic's own channel becomes its first fallback.
        alternatives.insert(0, planned[0])
        planned[0] = preferred
    alternatives = [c for c in dict.fromkeys(alternatives) if c not in planned]
    result: list[Plan] = []
    used: set[str] = set()

    def problem(channel: str) -> str:
        if not channel_available(channel):
            return Reason.CHANNEL_UNAVAILABLE
        address = contact_point(customer, channel, preference)
        if not address:
            return Reason.NO_CONTACT
        if (channel, address) in suppressed:
            return Reason.SUPPRESSED_CONTACT
        if not book.allows(customer.pk, channel, topic):
            return Reason.NO_CONSENT
        return ""

    for channel in planned:
        reason = problem(channel)
        if reason:
            substitute = next((alt for alt in alternatives if alt not in used and not problem(alt)), None)
            if substitute:
                alternatives.remove(substitute)
                used.add(substitute)
                result.append(Plan(substitute))
                continue
        used.add(channel)
        result.append(Plan(channel, reason))
    return result
