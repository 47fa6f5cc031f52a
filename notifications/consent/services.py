"""Consent writes: every "yes" or "no" is an appended event, and the customer's badge follows it.

A decision of several choices (a page saved, a survey answered) is recorded at once: one INSERT
for its events, the badge written once, and one re-plan of the customer's queued rows after it,
whatever the number of topics and channels it touches.
"""

from dataclasses import dataclass

from django.db import transaction

from crm.models import Customer
from notifications.consent.book import ConsentBook, badge_for
from notifications.models import ConsentEvent, Preference, Topic
from notifications.outbox.replan import CONSENT_CHANGE, queued_notifications_replan

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


@dataclass(frozen=True)
class ConsentChoice:
    """One "yes" or "no" of a decision, as the customer was asked it.

    ``scope`` defaults to the topic when one is given, else to the whole channel (service messages
    included, as an SMS STOP means). "No more news by SMS" is ``scope="marketing"`` and
    "unsubscribe from everything" ``scope="everything"``: one event each, covering topics created
    later too; ``channel`` of an "everything" event is where the customer acted.
    """

    channel: str
    action: str
    topic: Topic | None = None
    scope: str | None = None
    wording: str = ""
    reason: str = ""

    def event(self, *, customer: Customer, source: str, wording_version: str, ip_address, user_agent, staff):
        Scope = ConsentEvent.Scope
        scope = self.scope or (Scope.TOPIC if self.topic is not None else Scope.CHANNEL)
        if (scope == Scope.TOPIC) != (self.topic is not None):
            raise ValueError("a consent event names a topic exactly when its scope is one topic")
        return ConsentEvent(
            customer=customer,
            channel=self.channel,
            topic=self.topic,
            scope=scope,
            action=self.action,
            source=source,
            wording=self.wording,
            wording_version=wording_version,
            ip_address=ip_address,
            user_agent=user_agent[:400],
            staff=staff,
            reason=self.reason,
        )


def consent_choices_record(
    *,
    customer: Customer,
    choices: list[ConsentChoice],
    source: str,
    wording_version: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    staff=None,
    book: ConsentBook | None = None,
    preference: Preference | None = None,
) -> tuple[list[ConsentEvent], ConsentBook]:
    """Append the events of one decision with one INSERT and give the customer the badge they earn, once.

    ``book``: the customer's events as the caller read them to decide; the new events join it in
    memory instead of being read back. ``preference``: an instance the caller saves afterwards,
    badge included; without it the badge is written here. Runs in the caller's transaction (it is
    one step of the caller's change) and returns the events and the book with them, for the
    caller's single re-plan and for the page it shows. No choices: nothing is written.
    """
    if not choices:
        return [], book if book is not None else ConsentBook.for_customers([customer.pk])
    with transaction.atomic(savepoint=False):
        events = ConsentEvent.objects.bulk_create(
            choice.event(
                customer=customer,
                source=source,
                wording_version=wording_version,
                ip_address=ip_address,
                user_agent=user_agent,
                staff=staff,
            )
            for choice in choices
        )
        book = book.with_events(events) if book is not None else ConsentBook.for_customers([customer.pk])
        badge = badge_for(book, customer.pk)
        if preference is not None:
            preference.badge = badge
        else:
            badge_save(customer=customer, badge=badge)
    return events, book


def badge_save(*, customer: Customer, badge: str) -> None:
    """Write only the badge (one upsert): the customer's other choices are never overwritten with old values."""
    Preference.objects.bulk_create(
        [Preference(customer=customer, badge=badge)],
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=["badge", "updated_at"],
    )


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
    """Append one consent event (see ``ConsentChoice`` for the scopes), refresh the badge, re-plan the queued rows.

    All in one transaction; ``replan=False`` leaves the re-plan to a caller that records more.
    """
    choice = ConsentChoice(channel=channel, action=action, topic=topic, scope=scope, wording=wording, reason=reason)
    with transaction.atomic():
        [event], book = consent_choices_record(
            customer=customer,
            choices=[choice],
            source=source,
            wording_version=wording_version,
            ip_address=ip_address,
            user_agent=user_agent,
            staff=staff,
        )
        if replan:
            queued_notifications_replan(customers=[customer], cause=CONSENT_CHANGE, book=book)
    return event


def decision_record(
    *,
    customer: Customer,
    evidence: Evidence,
    choices: list[ConsentChoice],
    book: ConsentBook | None = None,
    preference: Preference | None = None,
) -> ConsentBook:
    """The consent events of a decision the customer took on a page or in a survey, with its evidence.

    The caller re-plans once, after the decision is saved.
    """
    _events, book = consent_choices_record(
        customer=customer,
        choices=choices,
        source=evidence.source,
        wording_version=WORDING_VERSION,
        ip_address=evidence.ip_address,
        user_agent=evidence.user_agent,
        book=book,
        preference=preference,
    )
    return book
