"""The topics and English templates a new installation starts with (staff edit them in the admin).

Kept here, not in the migration, so tests and the migration share one source. Names and texts are
English msgids (``pgettext_lazy``): the rows store the English, ``Topic.display_name`` shows a built-in
name in the customer's language, and ``install_translations`` writes each language's templates from
the catalogues.
"""

import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext_lazy

# Only service messages the customer cannot do without pass the weekly caps: the bonus account
# (credited, debited, expiring, expired), opening-hours changes and service messages. Greetings,
# gifts and thank-you letters are welcome but can wait for room under the cap.
TOPICS = [
    # code, name, kind, urgency, channels, alternatives, counts_against_cap, deadline_hours, freshness, coalesce
    (
        "bonus-credited",
        pgettext_lazy("topic", "Bonus credited"),
        "transactional",
        "timely",
        ["sms"],
        ["email", "messenger"],
        False,
        48,
        "bonus_balance",
        True,
    ),
    (
        "bonus-debited",
        pgettext_lazy("topic", "Bonus debited"),
        "transactional",
        "timely",
        ["sms"],
        ["email", "messenger"],
        False,
        48,
        "bonus_balance",
        True,
    ),
    (
        "bonus-expiring",
        pgettext_lazy("topic", "Bonus about to expire"),
        "transactional",
        "flexible",
        ["email"],
        ["sms"],
        False,
        72,
        "expiry_points",
        False,
    ),
    (
        "bonus-expired",
        pgettext_lazy("topic", "Bonus expired"),
        "transactional",
        "timely",
        ["email"],
        ["sms", "messenger"],
        False,
        48,
        "",
        False,
    ),
    (
        "gift",
        pgettext_lazy("topic", "Gift bonus"),
        "transactional",
        "timely",
        ["sms"],
        ["email", "messenger"],
        True,
        48,
        "",
        False,
    ),
    (
        "new-products",
        pgettext_lazy("topic", "New products"),
        "marketing",
        "flexible",
        ["sms", "email"],
        [],
        True,
        168,
        "offer",
        False,
    ),
    (
        "opening-hours",
        pgettext_lazy("topic", "Opening hours change"),
        "transactional",
        "timely",
        ["sms"],
        ["email", "messenger"],
        False,
        24,
        "",
        False,
    ),
    (
        "store-opening",
        pgettext_lazy("topic", "Store opening"),
        "marketing",
        "flexible",
        ["email"],
        ["sms"],
        True,
        168,
        "",
        False,
    ),
    (
        "promotion",
        pgettext_lazy("topic", "Promotion"),
        "marketing",
        "flexible",
        ["email"],
        ["sms", "messenger"],
        True,
        120,
        "offer",
        False,
    ),
    (
        "greeting",
        pgettext_lazy("topic", "Greetings"),
        "marketing",
        "timely",
        ["email"],
        ["postal", "sms"],
        True,
        24,
        "",
        False,
    ),
    (
        "thanks",
        pgettext_lazy("topic", "Thanks and apologies"),
        "transactional",
        "flexible",
        ["postal"],
        ["email"],
        True,
        240,
        "",
        False,
    ),
    (
        "company-event",
        pgettext_lazy("topic", "Company event"),
        "marketing",
        "flexible",
        ["email"],
        [],
        True,
        168,
        "",
        False,
    ),
    (
        "survey-invitation",
        pgettext_lazy("topic", "Survey invitation"),
        "marketing",
        "flexible",
        ["email"],
        [],
        True,
        168,
        "",
        False,
    ),
    (
        "service",
        pgettext_lazy("topic", "Service message"),
        "transactional",
        "immediate",
        ["email"],
        ["sms", "messenger"],
        False,
        24,
        "",
        False,
    ),
    # The till's reminders: an order waiting (now, never in quiet hours), an appointment (the day before).
    (
        "order-ready",
        pgettext_lazy("topic", "Order ready"),
        "transactional",
        "immediate",
        ["sms"],
        ["email", "messenger"],
        False,
        72,
        "",
        False,
    ),
    (
        "appointment-reminder",
        pgettext_lazy("topic", "Appointment reminder"),
        "transactional",
        "timely",
        ["sms"],
        ["email", "messenger"],
        False,
        24,
        "",
        False,
    ),
    # Behaviour triggers (notifications.triggers): re-checked at send time, stale once the customer came back.
    (
        "purchase-cycle",
        pgettext_lazy("topic", "Time for your usual visit"),
        "marketing",
        "flexible",
        ["email"],
        ["sms"],
        True,
        72,
        "not_returned",
        False,
    ),
    (
        "we-miss-you",
        pgettext_lazy("topic", "We miss you"),
        "marketing",
        "flexible",
        ["email"],
        ["sms"],
        True,
        168,
        "not_returned",
        False,
    ),
    (
        "account-summary",
        pgettext_lazy("topic", "Account summary"),
        "marketing",
        "flexible",
        ["email"],
        [],
        True,
        168,
        "account_summary",
        False,
    ),
    # Sent at the start of the customer's window on the day; not the day after (16 h from midnight).
    (
        "birthday-greeting",
        pgettext_lazy("topic", "Birthday greeting"),
        "marketing",
        "timely",
        ["email"],
        ["sms", "postal"],
        True,
        16,
        "",
        False,
    ),
    (
        "holiday-greeting",
        pgettext_lazy("topic", "Holiday greeting"),
        "marketing",
        "timely",
        ["email"],
        ["sms", "postal"],
        True,
        16,
        "",
        False,
    ),
]

# Each text is Django template source, translated whole by the catalogues: a translator keeps every
# {{ … }} and {% … %} as it is and translates the words around them (and the quoted defaults inside).
# Counts read through the counted phrases rendering adds, each in the template's language:
# {{ points_text }} is "1 point" or "5 points", never "1 points" (see notifications.delivery.rendering).
TEMPLATES = {
    # code: (e-mail subject, e-mail body, SMS body)
    # A coalesced message (several events due together, see Topic.coalesce) has ``count`` and
    # ``events``; a single event reads as it always did.
    "bonus-credited": (
        # Translators: the e-mail subject of the “bonus-credited” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy(
            "email subject",
            "{% if count %}{{ purchases_text }}, +{{ points_text }}, balance {{ balance }}"
            "{% else %}{{ points_text }} credited{% endif %}",
        ),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\n"
            "{% if count %}{{ purchases_text }}, +{{ points_text }}, balance {{ balance }}.\n"
            "{% for event in events %}\n+{{ event.points_text }}"
            "{% if event.receipt_id %} (receipt {{ event.receipt_id }}){% endif %}. "
            "Not your purchase? {{ event.dispute_url|default:contact_email }}{% endfor %}"
            "{% else %}We credited {{ points_text }} for your purchase"
            "{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance: {{ balance_text }}.\n\n"
            "Not your purchase? Tell us: {{ dispute_url|default:contact_email }}{% endif %}",
        ),
        pgettext_lazy(
            "sms",
            "{% if count %}{{ purchases_text }}, {% endif %}+{{ points_text }}, balance {{ balance }}. "
            "Not you? Call {{ contact_phone }}",
        ),
    ),
    "bonus-debited": (
        # Translators: the e-mail subject of the “bonus-debited” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy(
            "email subject",
            "{% if count %}{{ deductions_text }}, -{{ points_text }}, balance {{ balance }}"
            "{% else %}{{ points_text }} used{% endif %}",
        ),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\n"
            "{% if count %}{{ deductions_text }}, -{{ points_text }}, balance {{ balance }}.\n"
            "{% for event in events %}\n-{{ event.points_text }}"
            "{% if event.receipt_id %} (receipt {{ event.receipt_id }}){% endif %}. "
            "Not you? {{ event.dispute_url|default:contact_email }}{% endfor %}"
            "{% else %}We took {{ points_text }} from your account"
            "{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance: {{ balance_text }}.\n\n"
            "Not you? Tell us: {{ dispute_url|default:contact_email }}{% endif %}",
        ),
        pgettext_lazy(
            "sms",
            "{% if count %}{{ deductions_text }}, {% endif %}-{{ points_text }}, balance {{ balance }}. "
            "Not you? Call {{ contact_phone }}",
        ),
    ),
    "bonus-expiring": (
        # Translators: the e-mail subject of the “bonus-expiring” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ points_text }} about to expire"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\n{{ points_text }} of your bonus will expire in {{ days_left_text }}. "
            "Use your points on your next visit.",
        ),
        pgettext_lazy("sms", "{{ points_text }} will expire in {{ days_left_text }}."),
    ),
    "bonus-expired": (
        # Translators: the e-mail subject of the “bonus-expired” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ points_text }} expired"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\n{{ points_text }} of your bonus expired. "
            "Your balance: {{ balance_text }}.",
        ),
        pgettext_lazy("sms", "{{ points_text }} expired, balance {{ balance }}."),
    ),
    "gift": (
        # Translators: the e-mail subject of the “gift” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "A gift of {{ points_text }}"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\nWe credited {{ points_text }} to your account as a gift. Enjoy!",
        ),
        pgettext_lazy("sms", "A gift: +{{ points_text }}, balance {{ balance }}."),
    ),
    "new-products": (
        # Translators: the e-mail subject of the “new-products” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "New in store"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\n{{ text|default:'New products have arrived in your store.' }}",
        ),
        pgettext_lazy("sms", "New in store: {{ teaser|default:'see your e-mail for details' }}"),
    ),
    "opening-hours": (
        # Translators: the e-mail subject of the “opening-hours” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "Opening hours change"),
        pgettext_lazy("email body", "Hello {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ text }}"),
    ),
    "store-opening": (
        # Translators: the e-mail subject of the “store-opening” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "A new store near you"),
        pgettext_lazy("email body", "Hello {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ teaser|default:text }}"),
    ),
    "promotion": (
        # Translators: the e-mail subject of the “promotion” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ title|default:'An offer for you' }}"),
        pgettext_lazy("email body", "Hello {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ teaser|default:text }}"),
    ),
    "greeting": (
        # Translators: the e-mail subject of the “greeting” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ title|default:'Greetings' }}"),
        pgettext_lazy("email body", "Dear {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ text }}"),
    ),
    "company-event": (
        # Translators: the e-mail subject of the “company-event” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ title|default:'Join us' }}"),
        pgettext_lazy("email body", "Hello {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ text }}"),
    ),
    "order-ready": (
        # Translators: the e-mail subject of the “order-ready” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "Your order {{ reference }} is ready"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\nyour order {{ reference }} is ready for pickup at {{ store }}.{% if until %} Please pick it up by {{ until }}.{% endif %}{% if note %}\n\n{{ note }}{% endif %}",
        ),
        pgettext_lazy(
            "sms",
            "Order {{ reference }} is ready at {{ store }}.{% if until %} Pick up by {{ until }}.{% endif %}{% if note %} {{ note }}{% endif %}",
        ),
    ),
    "appointment-reminder": (
        # Translators: the e-mail subject of the “appointment-reminder” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "Reminder: {{ store }}, {{ day }} at {{ time }}"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\na reminder of your appointment at {{ store }} on {{ day }} at {{ time }}.{% if note %}\n\n{{ note }}{% endif %}\n\nCannot come? Call {{ contact_phone }}.",
        ),
        pgettext_lazy(
            "sms",
            "Reminder: {{ store }}, {{ day }} at {{ time }}.{% if note %} {{ note }}{% endif %} Cannot come? {{ contact_phone }}",
        ),
    ),
    "purchase-cycle": (
        # Translators: the e-mail subject of the “purchase-cycle” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "Time for your usual visit?"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\nit is about time for your usual visit: we would be glad to see you.{% if balance %} Your balance is {{ balance_text }}.{% endif %}",
        ),
        pgettext_lazy("sms", "Time for your usual visit?{% if balance %} Balance {{ balance_text }}.{% endif %}"),
    ),
    "we-miss-you": (
        # Translators: the e-mail subject of the “we-miss-you” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "We miss you, {{ customer.first_name }}"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\nit has been a while since your last visit.{% if balance %} Your balance of {{ balance_text }} is waiting for you.{% endif %} We would be glad to see you again.",
        ),
        pgettext_lazy("sms", "We miss you!{% if balance %} Your {{ balance_text }} are waiting for you.{% endif %}"),
    ),
    "account-summary": (
        # Translators: the e-mail subject of the “account-summary” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "Your bonus account: {{ balance_text }}"),
        pgettext_lazy(
            "email body",
            "Hello {{ customer.first_name }},\n\nyour balance is {{ balance_text }}{% if tier %} ({{ tier }}){% endif %}.{% if expiring %} Of them, {{ expiring }} expire within 30 days: use them on your next visit.{% endif %}\n\nThank you for shopping with us.",
        ),
        pgettext_lazy(
            "sms", "Balance {{ balance_text }}.{% if expiring %} {{ expiring }} expire within 30 days.{% endif %}"
        ),
    ),
    "birthday-greeting": (
        # Translators: the e-mail subject of the “birthday-greeting” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "Happy birthday, {{ customer.first_name }}!"),
        pgettext_lazy(
            "email body",
            "Dear {{ customer.first_name }},\n\nHappy birthday from all of us!{% if points %} We have credited {{ points_text }} to your account as a gift: your balance is {{ balance_text }}.{% endif %}\n\nHave a wonderful day.",
        ),
        pgettext_lazy(
            "sms",
            "Happy birthday, {{ customer.first_name }}!{% if points %} A gift of {{ points_text }}, balance {{ balance }}.{% endif %}",
        ),
    ),
    "holiday-greeting": (
        # Translators: the e-mail subject of the “holiday-greeting” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ holiday|capfirst }}: best wishes from us"),
        pgettext_lazy(
            "email body",
            "Dear {{ customer.first_name }},\n\n{{ holiday|capfirst }}: warm wishes from all of us!{% if points %} A gift of {{ points_text }} is on your account: your balance is {{ balance_text }}.{% endif %}",
        ),
        pgettext_lazy(
            "sms",
            "{{ holiday|capfirst }}: best wishes!{% if points %} A gift of {{ points_text }}, balance {{ balance }}.{% endif %}",
        ),
    ),
    "survey-invitation": (
        # Translators: the e-mail subject of the “survey-invitation” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ title|default:'Tell us what you want to hear about' }}"),
        pgettext_lazy(
            "email body", "Hello {{ customer.first_name }},\n\n{{ text|default:'A short survey' }}: {{ survey_url }}"
        ),
        pgettext_lazy("sms", "{{ survey_url }}"),
    ),
    "service": (
        # Translators: the e-mail subject of the “service” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ title }}"),
        pgettext_lazy("email body", "Hello {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ text }}"),
    ),
    "thanks": (
        # Translators: the e-mail subject of the “thanks” message; keep {{ … }} and {% … %} as they are.
        pgettext_lazy("email subject", "{{ title|default:'Thank you' }}"),
        pgettext_lazy("email body", "Dear {{ customer.first_name }},\n\n{{ text }}"),
        pgettext_lazy("sms", "{{ text }}"),
    ),
}


TOPIC_NAMES = {code: name for code, name, *_rest in TOPICS}

# Where a built-in template goes, as (channel, its subject and body from TEMPLATES); a letter reads
# like the e-mail.
PARTS = {"email": (0, 1), "sms": (None, 2), "postal": (0, 1)}


def english(text) -> str:
    """The English of a built-in name or text (its msgid), whatever language is active."""
    with translation.override(None):
        return str(text)


def name_in_active_language(code: str, stored: str) -> str | None:
    """A built-in topic's name in the active language, or None when staff renamed it (or it is theirs)."""
    name = TOPIC_NAMES.get(code)
    if name is None or english(name) != stored:
        return None
    return str(name)


def install(topic_model, template_model) -> None:
    """Create the missing default topics and English templates; leave existing ones as edited.

    Migrations call this with their historical models: a field the model has not got yet is left
    to the migration that adds it.
    """
    known = {f.name for f in topic_model._meta.get_fields()}
    for code, name, kind, urgency, channels, alternatives, capped, deadline, fresh, coalesce in TOPICS:
        values = {
            "name": english(name),
            "kind": kind,
            "urgency": urgency,
            "channels": channels,
            "alternatives": alternatives,
            "counts_against_cap": capped,
            "deadline_hours": deadline,
            "freshness_check": fresh,
            "coalesce": coalesce,
        }
        topic, _created = topic_model.objects.get_or_create(
            code=code, defaults={field: value for field, value in values.items() if field in known}
        )
        subject, email_body, sms_body = (english(text) for text in TEMPLATES[code])
        template_model.objects.get_or_create(
            topic=topic, channel="email", language="en", defaults={"subject": subject, "body": email_body}
        )
        template_model.objects.get_or_create(topic=topic, channel="sms", language="en", defaults={"body": sms_body})
        if "postal" in channels or "postal" in alternatives:
            template_model.objects.get_or_create(
                topic=topic, channel="postal", language="en", defaults={"subject": subject, "body": email_body}
            )


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")
_LETTER = re.compile(r"[^\W\d_]")


def has_words(source: str) -> bool:
    """Whether a reader sees words in a template: outside its tags, or quoted inside them (defaults)."""
    literals = [literal for tag in _TAG.findall(source) for literal in _LITERAL.findall(tag)]
    return bool(_LETTER.search(" ".join([_TAG.sub(" ", source), *literals])))


def translated(text, language: str) -> str | None:
    """A built-in text in ``language`` from the catalogues, or None while the catalogue lacks it.

    A text with no words of its own (``{{ text }}``) reads the same in every language.
    """
    source = english(text)
    with translation.override(language):
        result = str(text)
    if result == source and has_words(source):
        return None
    return result


def install_translations(topic_model, template_model, *, languages=None) -> int:
    """Create each built-in template in every other language its catalogue translates; returns how many.

    Only where the English row still reads as built in (a translation of the default is not a
    translation of what staff wrote instead), only rows that do not exist yet (staff's edits stay),
    and only when the catalogue translates every part of the message (a half-translated one would
    mix languages; until then the customer gets the English). Reads the compiled catalogues as they
    are now: run again after new translations arrive (``manage.py templates_translate``).
    """
    if languages is None:
        languages = [code for code, _name in settings.LANGUAGES if code != "en"]
    built_in = {}
    for template in template_model.objects.filter(
        topic__code__in=TEMPLATES, language="en", channel__in=PARTS
    ).select_related("topic"):
        texts = TEMPLATES[template.topic.code]
        subject, body = (None if i is None else texts[i] for i in PARTS[template.channel])
        if template.body == english(body) and template.subject == (english(subject) if subject else ""):
            built_in[template.topic_id, template.channel] = (subject, body)
    existing = set(
        template_model.objects.filter(language__in=languages, topic_id__in={topic for topic, _c in built_in})
        .values_list("topic_id", "channel", "language")
        .order_by()
    )
    rows = []
    for language in languages:
        for (topic_id, channel), (subject, body) in built_in.items():
            if (topic_id, channel, language) in existing:
                continue
            parts = [translated(body, language), translated(subject, language) if subject else ""]
            if None not in parts:
                rows.append(
                    template_model(
                        topic_id=topic_id, channel=channel, language=language, body=parts[0], subject=parts[1]
                    )
                )
    template_model.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def install_written_translations(topic_model, template_model, translated: dict, *, channels=("email", "sms")) -> None:
    """Create templates translated by hand in a migration (``{code: {language: (subject, e-mail body,
    SMS body)}}``) on ``channels``; a letter takes the e-mail's text. Rows that exist stay as edited."""
    for code, languages in translated.items():
        topic = topic_model.objects.get(code=code)
        for language, (subject, email_body, sms_body) in languages.items():
            for channel in channels:
                body = sms_body if channel == "sms" else email_body
                template_model.objects.get_or_create(
                    topic=topic,
                    channel=channel,
                    language=language,
                    defaults={"subject": "" if channel == "sms" else subject, "body": body},
                )
