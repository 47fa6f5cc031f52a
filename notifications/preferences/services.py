"""Preference writes: how and when a customer wants to hear from us (surveys and pages write through here)."""

import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import Customer, District
from notifications.consent.book import MARKETING_CHANNELS, ConsentBook
from notifications.consent.services import Evidence, consent_choice_record
from notifications.models import Channel, ConsentEvent, Preference, Topic
from notifications.outbox.replan import PREFERENCE_CHANGE, queued_notifications_replan
from notifications.selectors import marketing_topics

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


def preference_choices_save(*, preference: Preference) -> None:
    """Save what the customer chose, never the badge: consent_record keeps that current."""
    preference.full_clean()
    fields = [f.name for f in Preference._meta.concrete_fields if f.name not in ("id", "customer", "badge")]
    preference.save(update_fields=fields)


CONSENT_BINDINGS = {"consent_email": Channel.EMAIL, "consent_sms": Channel.SMS, "consent_messenger": Channel.MESSENGER}


def survey_answers_apply(*, customer: Customer, answers: list[tuple[str, object, str]], evidence: Evidence) -> None:
    """Turn bound survey answers into preferences and consent (the surveys app writes only through here).

    ``answers`` are (binding, value, wording shown) triples. Consent answers are applied first, so
    topics chosen in the same survey are granted on the channels just agreed to.
    """
    ordered = sorted(answers, key=lambda item: item[0] not in CONSENT_BINDINGS)
    preference, _created = Preference.objects.get_or_create(customer=customer)
    with transaction.atomic():
        for binding, value, wording in ordered:
            if binding in CONSENT_BINDINGS:
                # The questions ask about news and offers: a "no" leaves service messages alone.
                action = ConsentEvent.Action.GRANTED if value else ConsentEvent.Action.WITHDRAWN
                consent_choice_record(
                    customer=customer,
                    evidence=evidence,
                    channel=CONSENT_BINDINGS[binding],
                    scope=ConsentEvent.Scope.MARKETING,
                    action=action,
                    wording=wording,
                )
            elif binding == "topics":
                book = ConsentBook.for_customers([customer.pk])
                chosen = set(value or [])
                for topic in marketing_topics():
                    for channel in MARKETING_CHANNELS:
                        if topic.code in chosen:
                            if book.marketing_on(customer.pk, channel):
                                consent_choice_record(
                                    customer=customer,
                                    evidence=evidence,
                                    channel=channel,
                                    topic=topic,
                                    action=ConsentEvent.Action.GRANTED,
                                    wording=wording,
                                )
                        else:
                            consent_choice_record(
                                customer=customer,
                                evidence=evidence,
                                channel=channel,
                                topic=topic,
                                action=ConsentEvent.Action.WITHDRAWN,
                                wording=wording,
                            )
            elif binding == "preferred_channel" and value:
                topics = Topic.objects.filter(is_active=True)
                preference.preferred_channels = {
                    **(preference.preferred_channels or {}),
                    **{t.code: value for t in topics if value in (t.alternatives or []) or value in (t.channels or [])},
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
                preference.districts.add(*District.objects.filter(pk__in=value))
        preference_choices_save(preference=preference)
        queued_notifications_replan(customers=[customer], cause=PREFERENCE_CHANGE)
