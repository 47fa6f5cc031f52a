"""Turning an outbox row into the message a channel sends: template, brand, contact, unsubscribe."""

from contextlib import nullcontext
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.template import Context, Template
from django.template.base import TextNode, Variable, VariableNode
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.links.tokens import customer_token, make_token
from notifications.delivery.channels import Message
from notifications.delivery.html import email_html
from notifications.delivery.identity import Sender, sender_for
from notifications.delivery.sms_encoding import sms_segments
from notifications.models import Channel, MessageTemplate, Notification
from notifications.outbox.planning import contact_point


class RenderError(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


PLACEHOLDER = "token-placeholder-3f9a"


@lru_cache(maxsize=32)
def _path_template(name: str) -> tuple[str, str]:
    """A token page's path around its token, reversed once per process (reverse() is slow)."""
    before, _placeholder, after = reverse(name, args=[PLACEHOLDER]).partition(PLACEHOLDER)
    return before, after


def token_url(name: str, token: str) -> str:
    """The absolute link to the token page ``name`` (a URL name taking one token)."""
    before, after = _path_template(name)
    return absolute(f"{before}{token}{after}")


def unsubscribe_urls(notification: Notification) -> tuple[str, str]:
    token = customer_token(
        "unsubscribe",
        notification.customer,
        t=notification.topic.code,
        ch=notification.channel,
        n=notification.pk,
    )
    return token_url("unsubscribe", token), token_url("unsubscribe-one-click", token)


def why_url(notification: Notification) -> str:
    """The "why am I getting this?" page of one message (consent, rule or campaign, date; fewer or none)."""
    # Short enough for an SMS: the message and the customer's token version only (the page reads
    # the rest from the message; raising the version revokes the link like every other).
    return token_url("why", make_token("why", n=notification.pk, v=notification.customer.token_version))


def offer_url(notification: Notification) -> str:
    """The live offer page of one message: the offer as it is when opened, not as it was sent."""
    # Like the why link: the message and the customer's token version, read back by the page.
    return token_url("offer", make_token("offer", n=notification.pk, v=notification.customer.token_version))


def preferences_url(customer) -> str:
    return token_url("preferences", customer_token("preferences", customer))


def dispute_url(customer, transaction_id: int) -> str:
    return token_url("dispute", customer_token("dispute", customer, tx=transaction_id))


# A channel without its own template borrows another's text (a messenger message reads like an SMS).
TEMPLATE_FALLBACK = {Channel.MESSENGER: Channel.SMS, Channel.POSTAL: Channel.EMAIL}


def pick_template(templates: dict, notification: Notification, language: str) -> MessageTemplate | None:
    """The template for the row's topic and channel in ``language``, else in the default language."""
    if notification.context.get("content"):
        return content_template(notification, language)
    for channel in (notification.channel, TEMPLATE_FALLBACK.get(notification.channel)):
        for lang in (language, settings.LANGUAGE_CODE):
            found = templates.get((notification.topic_id, channel, lang))
            if found:
                return found
    return None


# Counted phrases a template uses instead of "{{ points }} points" (which reads "1 points", and
# cannot give Russian its three forms): context value → (name in the template, its phrase).
COUNTED = [
    ("points", "points_text", lambda n: ngettext("%(count)s point", "%(count)s points", n)),
    ("balance", "balance_text", lambda n: ngettext("%(count)s point", "%(count)s points", n)),
    ("days_left", "days_left_text", lambda n: ngettext("%(count)s day", "%(count)s days", n)),
    ("count", "purchases_text", lambda n: ngettext("%(count)s purchase", "%(count)s purchases", n)),
    ("count", "deductions_text", lambda n: ngettext("%(count)s deduction", "%(count)s deductions", n)),
]


def counted(context: dict) -> dict:
    """The counted phrases for the numbers in ``context``, in the active language."""
    phrases = {}
    for key, name, phrase in COUNTED:
        number = context.get(key)
        if isinstance(number, int) and not isinstance(number, bool):
            phrases[name] = phrase(number) % {"count": number}
    return phrases


def content_template(notification: Notification, language: str) -> MessageTemplate | None:
    """The row's own text (a campaign's, carried in its context as ``content``: channel → language →
    [subject, body]) in ``language``, else the default language, else any language it has."""
    content = notification.context["content"]
    for channel in (notification.channel, TEMPLATE_FALLBACK.get(notification.channel)):
        texts = content.get(channel) or {}
        text = texts.get(language) or texts.get(settings.LANGUAGE_CODE) or next(iter(texts.values()), None)
        if text:
            subject, body = text
            return MessageTemplate(
                topic_id=notification.topic_id, channel=channel, language=language, subject=subject, body=body
            )
    return None


@lru_cache(maxsize=32)
def _phrases(language: str) -> dict[str, str]:
    """The footer's and the channels' fixed phrases in ``language`` (looked up once per process)."""
    with translation.override(language):
        return {
            "contact": _("%(brand)s · %(phone)s · %(email)s"),
            "offer": _("See the offer as it is now: %(url)s"),
            "stop": _("Stop these messages or choose fewer: %(url)s"),
            "choices": _("All your choices: %(url)s"),
            "why": _("Why am I getting this? %(url)s"),
            "reply_stop": _("Reply STOP to stop these messages."),
            "letters": _("No more letters? Write to %(address)s or choose at %(url)s"),
            "info": _("Info %(phone)s"),
            "sms_stop": _("STOP to %(sender)s to opt out"),
            "sms_why": _("Why: %(url)s"),
        }


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return Template(source)


# Context values a memoised render may be keyed by (a model instance, say, is not: its fields may differ).
PLAIN = (str, int, float, bool, type(None), Decimal)


@lru_cache(maxsize=512)
def _inputs(source: str) -> tuple[str, ...] | None:
    """The context names a template's output depends on, when it depends on nothing else: text and
    variables whose filters take constants (no tags). None for any other template."""
    names = []
    for node in _compiled(source).nodelist:
        if isinstance(node, TextNode):
            continue
        if not isinstance(node, VariableNode):
            return None
        expression = node.filter_expression
        if any(is_variable for _filter, arguments in expression.filters for is_variable, _value in arguments):
            return None
        if isinstance(expression.var, Variable) and expression.var.lookups:
            names.append(expression.var.lookups[0])
    return tuple(names)


def _render_text(source: str, context: dict, memo: dict | None) -> str:
    """A template's text with ``context``; with a ``memo`` (one dispatch batch's), each distinct
    input is rendered once: a subject such as "{{ title }}" is the same for a whole campaign."""
    key = _memo_key(source, context) if memo is not None else None
    if key is not None and key in memo:
        return memo[key]
    text = _compiled(source).render(Context(context, autoescape=False)).strip()
    if key is not None:
        memo[key] = text
    return text


def _memo_key(source: str, context: dict) -> tuple | None:
    """What the text depends on, when that is plain values only (else None: not memoised)."""
    names = _inputs(source)
    if names is None:
        return None
    values = tuple(context.get(name) for name in names)
    if not all(type(value) in PLAIN for value in values):
        return None
    return source, translation.get_language(), values


def render(
    notification: Notification,
    *,
    template: MessageTemplate | None,
    language: str,
    preference=None,
    memo: dict | None = None,
) -> Message:
    """Render in the customer's language; refuse a message without sender, contact or unsubscribe.

    ``memo``: a dict the caller keeps for a batch of messages (see ``_render_text``)."""
    if template is None:
        raise RenderError(Notification.Reason.NO_TEMPLATE, f"{notification.topic.code}/{notification.channel}")
    customer = notification.customer
    sender = sender_for(customer)
    page_url, one_click_url = unsubscribe_urls(notification)
    tx_ids = notification.context.get("transaction_ids") or []
    context = {
        **notification.context,
        "customer": customer,
        "brand": sender.name,
        "contact_phone": sender.support_phone,
        "contact_email": sender.contact_email,
        "unsubscribe_url": page_url,
        "preferences_url": preferences_url(customer),
        "why_url": why_url(notification) if notification.topic.is_marketing else "",
        "offer_url": offer_url(notification) if (notification.context.get("offer") or {}).get("key") else "",
        "dispute_url": dispute_url(customer, tx_ids[0]) if tx_ids else "",
    }
    if notification.context.get("survey"):
        # The surveys app's page, by URL name: each customer's link carries their own token.
        token = customer_token("survey", customer, s=notification.context["survey"])
        context["survey_url"] = token_url("survey", token)
    # The dispatcher renders a batch language by language under one override; switch only when needed.
    switch = translation.get_language() != language
    phrases = _phrases(language)
    with translation.override(language) if switch else nullcontext():
        # The template's words and counts in its own language (the default language's template
        # stands in for a missing translation); the footer below in the customer's.
        with nullcontext() if template.language == language else translation.override(template.language):
            context.update(counted(context))
            if notification.context.get("events"):
                # A coalesced message lists its events, each with its own "that wasn't me" link.
                context["events"] = [
                    {
                        **event,
                        **counted(event),
                        "dispute_url": dispute_url(customer, event["transaction_ids"][0])
                        if event.get("transaction_ids")
                        else "",
                    }
                    for event in notification.context["events"]
                ]
            body = _render_text(template.body, context, memo)
            subject = _render_text(template.subject, context, memo)
        contact = phrases["contact"] % {
            "brand": sender.name,
            "phone": sender.support_phone,
            "email": sender.contact_email,
        }
        message = Message(
            notification_id=notification.pk, to=contact_point(customer, notification.channel, preference), body=body
        )
        if notification.channel == Channel.EMAIL:
            message.subject = f"{sender.name}: {subject}" if subject else sender.name
            message.body = "\n\n".join(
                [
                    body,
                    *(
                        [phrases["offer"] % {"url": context["offer_url"]}]
                        if context["offer_url"] and context["offer_url"] not in body  # unless the text has it
                        else []
                    ),
                    "—",
                    contact,
                    phrases["stop"] % {"url": page_url},
                    phrases["choices"] % {"url": context["preferences_url"]},
                    *([phrases["why"] % {"url": context["why_url"]}] if context["why_url"] else []),
                ]
            )
            message.headers = {
                "List-Unsubscribe": f"<{one_click_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
            message.sender = sender.from_email
        elif notification.channel == Channel.MESSENGER:
            message.sender = sender.name
            message.body = "\n\n".join(
                [
                    f"{sender.name}: {body}",
                    contact,
                    phrases["reply_stop"],
                    *([phrases["why"] % {"url": context["why_url"]}] if context["why_url"] else []),
                ]
            )
        elif notification.channel == Channel.POSTAL:
            message.sender = sender.name
            message.subject = subject
            message.body = "\n\n".join(
                [
                    body,
                    contact,
                    phrases["letters"] % {"address": sender.postal_optout_address, "url": context["preferences_url"]},
                    *([phrases["why"] % {"url": context["why_url"]}] if context["why_url"] else []),
                ]
            )
        elif notification.channel == Channel.SMS:
            message.sender = sender.sms_sender_id
            if sender.name not in body:
                message.body = f"{sender.name}: {body}"
            if sender.support_phone not in message.body:
                message.body += " " + phrases["info"] % {"phone": sender.support_phone}
            if notification.topic.is_marketing:
                message.body += " " + phrases["sms_stop"] % {"sender": sender.sms_sender_id}
                # The "why" link when it fits in the segments the message takes anyway.
                with_link = f"{message.body} {phrases['sms_why'] % {'url': context['why_url']}}"
                if sms_segments(with_link)[1] <= sms_segments(message.body)[1]:
                    message.body = with_link
        if notification.channel == Channel.EMAIL:
            message.html = email_html(message, language=language)  # the same text, in the brand's frame
    check_complete(message, notification, sender=sender)
    return message


def check_complete(message: Message, notification: Notification, *, sender: Sender | None = None) -> None:
    """Every message identifies the sender and carries a contact; every e-mail has the full footer
    and both unsubscribes; every letter the address to stop letters at."""
    sender = sender or sender_for(notification.customer)
    problems = []
    if not message.to:
        raise RenderError(Notification.Reason.NO_CONTACT)
    if not message.sender:
        problems.append("sender")
    if notification.channel == Channel.EMAIL:
        url = message.headers.get("List-Unsubscribe", "")
        if not url.startswith("<https://") and not (settings.DEBUG and url.startswith("<http://")):
            problems.append("List-Unsubscribe (HTTPS)")
        if message.headers.get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click":
            problems.append("List-Unsubscribe-Post")
        if sender.contact_email not in message.body or "/u/" not in message.body:
            problems.append("contact details or unsubscribe link")
        if sender.name not in message.subject:
            problems.append("brand in subject")
        if notification.topic.is_marketing and "/w/" not in message.body:
            problems.append("why link")
    elif notification.channel == Channel.POSTAL:
        if sender.postal_optout_address not in message.body or "/p/" not in message.body:
            problems.append("address or page to stop letters")
    elif sender.support_phone not in message.body:
        problems.append("contact")
    if problems:
        raise RenderError(Notification.Reason.INCOMPLETE, ", ".join(problems))
