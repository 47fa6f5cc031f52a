"""Preference writes: how and when a customer wants to hear from us (surveys and pages write through here)."""

import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import Customer, District
from notifications.consent.book import MARKETING_CHANNELS, ConsentBook
from notifications.consent.services import ConsentChoice, Evidence, decision_record
from notifications.models import Channel, ConsentEvent, Preference, Topic
from notifications.outbox.replan import PREFERENCE_CHANGE, queued_notifications_replan

# Preference fields that decide a queued message's channel or slot (language is read at send time,
# but a language change is a change of mind all the same).
PLANNING_FIELDS = frozenset(
    {
        "preferred_channels",
        "window_start",
        "window_end",
        "weekdays",
        "paused_until",
        "language",
        "best_hour",
        "best_weekday",
        "learn_send_time",
        "ignored_topics",
        "messenger",
        "telegram_chat_id",
    }
)


def preference_update(*, customer: Customer, **fields) -> Preference:
    """Change a customer's preferences (the surveys and preference pages write through here).

    A change to how or when the customer wants to hear from us re-plans their queued rows at once.
    """
    allowed = {f.name for f in Preference._meta.get_fields()} - {"id", "customer", "badge", "updated_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown preference fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        preference, _created = Preference.objects.get_or_create(customer=customer)
        changed = {name for name, value in fields.items() if getattr(preference, name) != value}
        for name, value in fields.items():
            setattr(preference, name, value)
        preference.full_clean()
        preference.save()
        if changed & PLANNING_FIELDS:
            queued_notifications_replan(customers=[customer], cause=PREFERENCE_CHANGE)
    return preference


def messenger_link_start(*, customer: Customer) -> str:
    """A one-time Telegram deep link that connects the customer's chat when they press Start."""
    code = secrets.token_urlsafe(24)
    Preference.objects.update_or_create(
        customer=customer, defaults={"messenger_link_code": code, "messenger_link_created_at": timezone.now()}
    )
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={code}"


def preference_choices_save(*, preference: Preference, with_badge: bool = False) -> None:
    """Save what the customer chose; the badge only ``with_badge``, when the consent events just
    recorded in this transaction set it (otherwise the consent services keep it current)."""
    # The row and its customer exist already: no queries to check the one-to-one again.
    preference.full_clean(exclude=["customer"], validate_unique=False)
    skipped = ("id", "customer") if with_badge else ("id", "customer", "badge")
    preference.save(update_fields=[f.name for f in Preference._meta.concrete_fields if f.name not in skipped])


CONSENT_BINDINGS = {"consent_email": Channel.EMAIL, "consent_sms": Channel.SMS, "consent_messenger": Channel.MESSENGER}


def survey_answers_apply(*, customer: Customer, answers: list[tuple[str, object, str]], evidence: Evidence) -> None:
    """Turn bound survey answers into preferences and consent (the surveys app writes only through here).

    ``answers`` are (binding, value, wording shown) triples. Consent answers are applied first, so
    topics chosen in the same survey are granted on the channels just agreed to. All the consent
    events are written together, the badge goes out with the preferences, and the queued rows are
    re-planned once.
    """
    ordered = sorted(answers, key=lambda item: item[0] not in CONSENT_BINDINGS)
    # No savepoint: the answers take effect as a whole, with the response the caller saves.
    with transaction.atomic(savepoint=False):
        preference, _created = Preference.objects.get_or_create(customer=customer)
        book = ConsentBook.for_customers([customer.pk])
        active = list(Topic.objects.filter(is_active=True).order_by("name"))
        choices: list[ConsentChoice] = []
        for binding, value, wording in ordered:
            if binding in CONSENT_BINDINGS:
                # The questions ask about news and offers: a "no" leaves service messages alone.
                action = ConsentEvent.Action.GRANTED if value else ConsentEvent.Action.WITHDRAWN
                choices.append(
                    ConsentChoice(
                        CONSENT_BINDINGS[binding], action, scope=ConsentEvent.Scope.MARKETING, wording=wording
                    )
                )
            elif binding == "topics":
                # Granted on the channels that carry news and offers once the consent answers count.
                decided = book.with_events([_unsaved(customer, choice) for choice in choices])
                chosen = set(value or [])
                for topic in (t for t in active if t.is_marketing):
                    for channel in MARKETING_CHANNELS:
                        if topic.code not in chosen:
                            choices.append(
                                ConsentChoice(channel, ConsentEvent.Action.WITHDRAWN, topic=topic, wording=wording)
                            )
                        elif decided.marketing_on(customer.pk, channel):
                            choices.append(
                                ConsentChoice(channel, ConsentEvent.Action.GRANTED, topic=topic, wording=wording)
                            )
            elif binding == "preferred_channel" and value:
                preference.preferred_channels = {
                    **(preference.preferred_channels or {}),
                    **{t.code: value for t in active if value in (t.alternatives or []) or value in (t.channels or [])},
                }
            elif binding == "time_window" and value:
                start, end = str(value).split("-")
                preference.window_start = datetime.time.fromisoformat(start)
                preference.window_end = datetime.time.fromisoformat(end)
            elif binding == "weekdays":
                preference.weekdays = sorted(int(day) for day in (value or []))
            elif binding == "frequency" and value:
                preference.max_per_week = {
                    **(preference.max_per_week or {}),
                    Channel.EMAIL: int(value),
                    Channel.SMS: int(value),
                }
            elif binding == "districts" and value:
                known = District.objects.filter(pk__in=value).values_list("pk", flat=True)
                through = Preference.districts.through
                through.objects.bulk_create(
                    [through(preference=preference, district_id=pk) for pk in known], ignore_conflicts=True
                )
        book = decision_record(customer=customer, evidence=evidence, choices=choices, book=book, preference=preference)
        preference_choices_save(preference=preference, with_badge=bool(choices))
        queued_notifications_replan(customers=[customer], cause=PREFERENCE_CHANGE, book=book)


def _unsaved(customer: Customer, choice: ConsentChoice) -> ConsentEvent:
    """A choice as the event it becomes, to read the consent it gives before it is written."""
    return choice.event(customer=customer, source="", wording_version="", ip_address=None, user_agent="", staff=None)
