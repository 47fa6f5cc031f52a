"""Consent writes: every "yes" or "no" is an appended event, and the customer's badge follows it."""

from dataclasses import dataclass

from django.db import transaction

from crm.models import Customer
from notifications.consent.book import ConsentBook, badge_for
from notifications.models import ConsentEvent, Preference, Topic
from notifications.outbox.replan import CONSENT_CHANGE, queued_notifications_replan


def consent_record(
    *,
    customer: Customer,
    channel: str,
    action: str,
    source: str,
    topic: Topic | None = None,
    scope: str | None = None,
    wording: str = "",
    wording_version: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    staff=None,
    reason: str = "",
    replan: bool = True,
) -> ConsentEvent:
    """Append one consent event and refresh the customer's badge in the same transaction.

    ``scope`` defaults to the topic when one is given, else to the whole channel (service
    messages included, as an SMS STOP means). "No more news by SMS" is ``scope="marketing"``
    and "unsubscribe from everything" ``scope="everything"``: one row each, covering topics
    created later too; ``channel`` of an "everything" event is where the customer acted.

    The customer's queued rows are re-planned in the same transaction; a caller recording several
    events of one decision passes ``replan=False`` and re-plans once after the last.
    """
    Scope = ConsentEvent.Scope
    scope = scope or (Scope.TOPIC if topic is not None else Scope.CHANNEL)
    if (scope == Scope.TOPIC) != (topic is not None):
        raise ValueError("a consent event names a topic exactly when its scope is one topic")
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            topic=topic,
            scope=scope,
            action=action,
            source=source,
            wording=wording,
            wording_version=wording_version,
            ip_address=ip_address,
            user_agent=user_agent[:400],
            staff=staff,
            reason=reason,
        )
        badge_refresh(customer=customer)
        if replan:
            queued_notifications_replan(customers=[customer], cause=CONSENT_CHANGE)
    return event


def badge_refresh(*, customer: Customer) -> str:
    badge = badge_for(ConsentBook.for_customers([customer.pk]), customer.pk)
    Preference.objects.update_or_create(customer=customer, defaults={"badge": badge})
    return badge


# The version of the wordings the pages and surveys show next to each choice, kept on every event.
WORDING_VERSION = "2026-11"


@dataclass(frozen=True)
class Evidence:
    ip_address: str | None
    user_agent: str
    source: str

    @classmethod
    def from_request(cls, request, source: str) -> "Evidence":
        return cls(request.META.get("REMOTE_ADDR") or None, request.headers.get("User-Agent", "")[:400], source)


def consent_choice_record(
    *,
    customer: Customer,
    evidence: Evidence,
    channel: str,
    action: str,
    topic: Topic | None = None,
    scope: str | None = None,
    wording: str = "",
    reason: str = "",
) -> None:
    """One consent event of a decision the customer took on a page or in a survey, with its evidence.

    The caller re-plans once, after the last event of the decision.
    """
    consent_record(
        customer=customer,
        channel=channel,
        topic=topic,
        scope=scope,
        action=action,
        source=evidence.source,
        wording=wording,
        wording_version=WORDING_VERSION,
        ip_address=evidence.ip_address,
        user_agent=evidence.user_agent,
        reason=reason,
        replan=False,
    )
