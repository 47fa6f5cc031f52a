"""What the customer pages do: unsubscribe as a conversation, and saving the preference centre.

Every consent change is a ConsentEvent with the wording the customer was shown and the
request's evidence; results are described back in plain words.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import Customer
from notifications.consent.book import MARKETING_CHANNELS, ConsentBook
from notifications.consent.services import ConsentChoice, Evidence, decision_record
from notifications.models import (
    Channel,
    ConsentEvent,
    Notification,
    Preference,
    Topic,
    UnsubscribeFeedback,
    UnsubscribeReason,
)
from notifications.outbox.planning import contact_point
from notifications.outbox.replan import CONSENT_CHANGE, PREFERENCE_CHANGE, queued_notifications_replan
from notifications.preferences.services import preference_choices_save
from notifications.selectors import marketing_topics


def _shown(value) -> str:
    if isinstance(value, datetime.time):
        return "24:00" if value == datetime.time(23, 59) else value.strftime("%H:%M")
    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def unsubscribe_apply(
    *,
    customer: Customer,
    topic: Topic,
    channel: str,
    choice: str,
    evidence: Evidence,
    switch_to: str = "",
    reason: UnsubscribeReason | None = None,
    free_text: str = "",
    notification: Notification | None = None,
    wording: str = "",
) -> UnsubscribeFeedback:
    """Apply the customer's choice and keep why; service messages are never switched off here.

    "Stop all by <channel>" and "stop everything" are one standing event each (scope marketing,
    scope everything), so a marketing topic created later obeys them too; the event keeps the
    choice as worded on the page. The events are written together, then the queued rows are
    re-planned once: "SMS off, e-mail on" moves a queued SMS instead of dropping it.
    """
    Choice = UnsubscribeFeedback.Choice
    Scope = ConsentEvent.Scope
    withdrawn = ConsentEvent.Action.WITHDRAWN
    why = reason.label if reason else ""
    choices = []
    if choice == Choice.TOPIC:
        choices = [ConsentChoice(channel, withdrawn, topic=topic, wording=wording, reason=why)]
    elif choice in (Choice.CHANNEL, Choice.EVERYTHING):
        scope = Scope.MARKETING if choice == Choice.CHANNEL else Scope.EVERYTHING
        choices = [ConsentChoice(channel, withdrawn, scope=scope, wording=wording, reason=why)]
    elif choice == Choice.SWITCH:
        choices = [
            ConsentChoice(channel, withdrawn, topic=topic, wording=wording, reason=why),
            ConsentChoice(switch_to, ConsentEvent.Action.GRANTED, topic=topic, wording=wording),
        ]
    # No savepoint: the choice is applied as a whole, with whatever transaction it runs in.
    with transaction.atomic(savepoint=False):
        book = None
        if choice == Choice.FEWER:
            preference, _created = Preference.objects.get_or_create(customer=customer)
            preference.max_per_week = {**(preference.max_per_week or {}), channel: 1}
            preference.save(update_fields=["max_per_week", "updated_at"])
        else:
            book = decision_record(customer=customer, evidence=evidence, choices=choices)
        queued_notifications_replan(customers=[customer], cause=CONSENT_CHANGE, book=book)
        return UnsubscribeFeedback.objects.create(
            customer=customer,
            notification=notification,
            topic=topic,
            channel=channel,
            campaign=str((notification.context or {}).get("campaign", "")) if notification else "",
            choice=choice,
            switch_to=switch_to if choice == Choice.SWITCH else "",
            reason=reason,
            free_text=free_text.strip(),
        )


def what_we_send(
    customer: Customer, *, preference: Preference | None, book: ConsentBook
) -> list[tuple[str, list[str]]]:
    """For each channel the customer can be reached on: the topics that will still come, by name.

    ``preference`` and ``book``: as the page holds them after the customer's change.
    """
    topics = list(Topic.objects.filter(is_active=True).order_by("kind", "name"))
    summary = []
    for channel, label in Channel.choices:
        if not contact_point(customer, channel, preference):
            continue
        allowed = [topic.display_name for topic in topics if book.allows(customer.pk, channel, topic)]
        summary.append((label, allowed))
    return summary


@dataclass(frozen=True)
class StandingState:
    """What holds for topics not created yet; the pages say it in words (templates translate)."""

    everything: bool  # only the messages the law requires, on every channel
    no_marketing: list  # channel labels with no news or offers, new topics included
    nothing: list  # channel labels with nothing at all, service messages included


def standing_state(customer: Customer, *, preference: Preference | None, book: ConsentBook) -> StandingState:
    """The standing withdrawals of this customer, on the channels the customer can be reached on."""
    channels = [c for c in MARKETING_CHANNELS if contact_point(customer, c, preference)]
    return StandingState(
        everything=book.withdrawn_everything(customer.pk),
        no_marketing=[Channel(c).label for c in channels if book.marketing_off(customer.pk, c)],
        nothing=[Channel(c).label for c in channels if book.service_off(customer.pk, c)],
    )


def topic_wanted(book: ConsentBook, customer_id: int, topic: Topic) -> bool:
    """Whether the preference centre shows a topic ticked.

    Ticked unless the customer's own latest word on the topic is "no" on a channel that carries
    marketing (or on any channel, when none does): the page has one box per topic, not per pair.
    """
    on = [c for c in MARKETING_CHANNELS if book.marketing_on(customer_id, c)] or MARKETING_CHANNELS
    return not any(book.topic_withdrawn(customer_id, channel, topic) for channel in on)


def preferences_save(
    *,
    customer: Customer,
    data: dict,
    evidence: Evidence,
    wordings: dict[str, str],
    preference: Preference | None = None,
    book: ConsentBook | None = None,
    topics: list[Topic] | None = None,
) -> list[str]:
    """Save the preference centre's form; return each change in plain words (empty: nothing changed).

    A channel box is the standing marketing consent for that channel (one event, new topics
    included); a topic box is recorded per channel only where it changes something. Every choice
    is decided against the consent the page showed, the events are written together, and the
    queued rows are re-planned once. The page passes what it read to show the form
    (``preference``, ``book``, marketing ``topics``) so it is not read twice.
    """
    changes: list[str] = []
    choices: list[ConsentChoice] = []
    # No savepoint: the save fails as a whole, with whatever transaction it runs in.
    with transaction.atomic(savepoint=False):
        if preference is None or preference.pk is None:
            preference, _created = Preference.objects.get_or_create(customer=customer)
        book = book if book is not None else ConsentBook.for_customers([customer.pk])
        on_channels = []
        for channel in MARKETING_CHANNELS:
            field = f"marketing_{channel}"
            was = book.marketing_on(customer.pk, channel)
            now_on = data[field] if field in data else was
            if now_on:
                on_channels.append(channel)
            if now_on != was:
                action = ConsentEvent.Action.GRANTED if now_on else ConsentEvent.Action.WITHDRAWN
                choices.append(
                    ConsentChoice(channel, action, scope=ConsentEvent.Scope.MARKETING, wording=wordings[field])
                )
                label = Channel(channel).label
                changes.append(
                    _("News and offers by %(channel)s: on") % {"channel": label}
                    if now_on
                    else _("News and offers by %(channel)s: off") % {"channel": label}
                )
        if "topics" in data:
            for topic in topics if topics is not None else marketing_topics():
                interested_now = topic.code in set(data["topics"])
                if interested_now == topic_wanted(book, customer.pk, topic):
                    continue
                if interested_now:
                    # Only on channels that carry marketing: a topic box never opens a channel left off.
                    channels = [c for c in on_channels if book.topic_withdrawn(customer.pk, c, topic)]
                    action = ConsentEvent.Action.GRANTED
                else:
                    channels = [c for c in MARKETING_CHANNELS if not book.topic_withdrawn(customer.pk, c, topic)]
                    action = ConsentEvent.Action.WITHDRAWN
                choices.extend(ConsentChoice(c, action, topic=topic, wording=wordings["topics"]) for c in channels)
                if channels:
                    changes.append(
                        _("Topic “%(topic)s”: on") % {"topic": topic.display_name}
                        if interested_now
                        else _("Topic “%(topic)s”: off") % {"topic": topic.display_name}
                    )
        default_window = settings.NOTIFICATION_DEFAULT_WINDOW
        effective = {
            "window_start": preference.window_start or datetime.time.fromisoformat(default_window[0]),
            "window_end": preference.window_end or datetime.time.fromisoformat(default_window[1]),
            "weekdays": preference.weekdays or [],
            "language": preference.language or customer.language,
            "paused_until": preference.paused_until,
        }
        labels = {
            "window_start": _("Earliest time"),
            "window_end": _("Latest time"),
            "weekdays": _("Preferred days"),
            "language": _("Language"),
            "paused_until": _("Pause until"),
        }
        for field, label in labels.items():
            if field in data and effective[field] != data[field]:
                setattr(preference, field, data[field])
                changes.append(f"{label}: {_shown(data[field])}")
        caps = {**settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK, **(preference.max_per_week or {})}
        for channel in (Channel.EMAIL, Channel.SMS):
            field = f"max_{channel}"
            if data.get(field) is not None and caps.get(channel) != data[field]:
                caps[channel] = data[field]
                changes.append(
                    _("At most %(n)s per week by %(channel)s") % {"n": data[field], "channel": Channel(channel).label}
                )
        preference.max_per_week = {
            channel: caps[channel] for channel in (Channel.EMAIL, Channel.SMS) if channel in caps
        }
        bonus_channel = data.get("bonus_channel")
        if bonus_channel is not None:
            bonus_topics = ["bonus-credited", "bonus-debited", "bonus-expiring", "bonus-expired", "gift"]
            current = {code: ch for code, ch in (preference.preferred_channels or {}).items()}
            if any(current.get(code) != bonus_channel for code in bonus_topics) and bonus_channel:
                preference.preferred_channels = {**current, **{code: bonus_channel for code in bonus_topics}}
                changes.append(_("Bonus messages by %(channel)s") % {"channel": Channel(bonus_channel).label})
        # The badge the new events give goes out with the rest of the row.
        book = decision_record(customer=customer, evidence=evidence, choices=choices, book=book, preference=preference)
        preference_choices_save(preference=preference, with_badge=bool(choices))
        if "districts" in data:
            before = set(preference.districts.values_list("pk", flat=True))
            after = {d.pk for d in data["districts"]}
            if before != after:
                through = Preference.districts.through
                through.objects.filter(preference=preference, district_id__in=before - after).delete()
                through.objects.bulk_create(
                    through(preference=preference, district_id=district_id) for district_id in after - before
                )
                changes.append(
                    _("Districts for local news: %(names)s")
                    % {"names": ", ".join(str(d) for d in data["districts"]) or "—"}
                )
        if changes:
            queued_notifications_replan(customers=[customer], cause=PREFERENCE_CHANGE, book=book)
    return changes


def why_facts(customer: Customer, topic: Topic, channel: str, notification: Notification | None) -> dict:
    """What the "why" page shows about one message: the consent that allowed it (when, how, from
    where, the words the customer was shown), the rule or campaign and the date behind it, local
    times with the customer's zone."""
    book = ConsentBook.for_customers([customer.pk])
    consent = book.decision(customer.pk, channel, topic)
    zone = customer.zone
    context = (notification.context or {}) if notification else {}

    def local(moment):
        return moment.astimezone(zone) if moment else None

    return {
        "topic": topic,
        "channel_label": Channel(channel).label,
        "notification": notification,
        "occasion": notification.occasion if notification else "",
        "campaign": str(context.get("campaign", "")),
        "planned_at": local(notification.created_at) if notification else None,
        "sent_at": local(notification.sent_at or notification.send_at) if notification else None,
        "consent": consent,
        "consent_at": local(consent.created_at) if consent else None,
        "zone": customer.time_zone,
        "allowed_now": book.allows(customer.pk, channel, topic),
        "standing": standing_state(customer, preference=None, book=book),
    }
