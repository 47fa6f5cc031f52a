"""The topics and English templates a new installation starts with (staff edit them in the admin).

Kept here, not in the migration, so tests and the migration share one source.
"""

# Only service messages the customer cannot do without pass the weekly caps: the bonus account
# (credited, debited, expiring, expired), opening-hours changes and service messages. Greetings,
# gifts and thank-you letters are welcome but can wait for room under the cap.
TOPICS = [
    # code, name, kind, urgency, channels, alternatives, counts_against_cap, deadline_hours, freshness, coalesce
    (
        "bonus-credited",
        "Bonus credited",
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
        "Bonus debited",
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
        "Bonus about to expire",
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
        "Bonus expired",
        "transactional",
        "timely",
        ["email"],
        ["sms", "messenger"],
        False,
        48,
        "",
        False,
    ),
    ("gift", "Gift bonus", "transactional", "timely", ["sms"], ["email", "messenger"], True, 48, "", False),
    ("new-products", "New products", "marketing", "flexible", ["sms", "email"], [], True, 168, "offer", False),
    (
        "opening-hours",
        "Opening hours change",
        "transactional",
        "timely",
        ["sms"],
        ["email", "messenger"],
        False,
        24,
        "",
        False,
    ),
    ("store-opening", "Store opening", "marketing", "flexible", ["email"], ["sms"], True, 168, "", False),
    ("promotion", "Promotion", "marketing", "flexible", ["email"], ["sms", "messenger"], True, 120, "offer", False),
    ("greeting", "Greetings", "marketing", "timely", ["email"], ["postal", "sms"], True, 24, "", False),
    ("thanks", "Thanks and apologies", "transactional", "flexible", ["postal"], ["email"], True, 240, "", False),
    ("company-event", "Company event", "marketing", "flexible", ["email"], [], True, 168, "", False),
    ("survey-invitation", "Survey invitation", "marketing", "flexible", ["email"], [], True, 168, "", False),
    ("service", "Service message", "transactional", "immediate", ["email"], ["sms", "messenger"], False, 24, "", False),
]

TEMPLATES = {
    # code: (e-mail subject, e-mail body, SMS body)
    # A coalesced message (several events due together, see Topic.coalesce) has ``count`` and
    # ``events``; a single event reads as it always did.
    "bonus-credited": (
        "{% if count %}{{ count }} purchases, +{{ points }} points, balance {{ balance }}"
        "{% else %}{{ points }} bonus points credited{% endif %}",
        "Hello {{ customer.first_name }},\n\n"
        "{% if count %}{{ count }} purchases, +{{ points }} points, balance {{ balance }}.\n"
        "{% for event in events %}\n+{{ event.points }} points"
        "{% if event.receipt_id %} (receipt {{ event.receipt_id }}){% endif %}. "
        "Not your purchase? {{ event.dispute_url|default:contact_email }}{% endfor %}"
        "{% else %}{{ points }} points were credited for your purchase"
        "{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance is {{ balance }} points.\n\n"
        "Not your purchase? Tell us: {{ dispute_url|default:contact_email }}{% endif %}",
        "{% if count %}{{ count }} purchases, {% endif %}+{{ points }} points, balance {{ balance }}. "
        "Not you? Call {{ contact_phone }}",
    ),
    "bonus-debited": (
        "{% if count %}{{ count }} deductions, -{{ points }} points, balance {{ balance }}"
        "{% else %}{{ points }} bonus points used{% endif %}",
        "Hello {{ customer.first_name }},\n\n"
        "{% if count %}{{ count }} deductions, -{{ points }} points, balance {{ balance }}.\n"
        "{% for event in events %}\n-{{ event.points }} points"
        "{% if event.receipt_id %} (receipt {{ event.receipt_id }}){% endif %}. "
        "Not you? {{ event.dispute_url|default:contact_email }}{% endfor %}"
        "{% else %}{{ points }} points were taken from your account"
        "{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance is {{ balance }} points.\n\n"
        "Not you? Tell us: {{ dispute_url|default:contact_email }}{% endif %}",
        "{% if count %}{{ count }} deductions, {% endif %}-{{ points }} points, balance {{ balance }}. "
        "Not you? Call {{ contact_phone }}",
    ),
    "bonus-expiring": (
        "{{ points }} points expire soon",
        "Hello {{ customer.first_name }},\n\n{{ points }} of your bonus points expire in {{ days_left }} days. "
        "Use them on your next visit.",
        "{{ points }} points expire in {{ days_left }} days.",
    ),
    "bonus-expired": (
        "{{ points }} points expired",
        "Hello {{ customer.first_name }},\n\n{{ points }} bonus points expired. Your balance is {{ balance }} points.",
        "{{ points }} points expired, balance {{ balance }}.",
    ),
    "gift": (
        "A gift of {{ points }} points",
        "Hello {{ customer.first_name }},\n\nWe credited {{ points }} gift points to your account. Enjoy!",
        "A gift: +{{ points }} points, balance {{ balance }}.",
    ),
    "new-products": (
        "New in store",
        "Hello {{ customer.first_name }},\n\n{{ text|default:'New products have arrived in your store.' }}",
        "New in store: {{ teaser|default:'see your e-mail for details' }}",
    ),
    "opening-hours": (
        "Opening hours change",
        "Hello {{ customer.first_name }},\n\n{{ text }}",
        "{{ text }}",
    ),
    "store-opening": (
        "A new store near you",
        "Hello {{ customer.first_name }},\n\n{{ text }}",
        "{{ teaser|default:text }}",
    ),
    "promotion": (
        "{{ title|default:'An offer for you' }}",
        "Hello {{ customer.first_name }},\n\n{{ text }}",
        "{{ teaser|default:text }}",
    ),
    "greeting": ("{{ title|default:'Greetings' }}", "Dear {{ customer.first_name }},\n\n{{ text }}", "{{ text }}"),
    "company-event": ("{{ title|default:'Join us' }}", "Hello {{ customer.first_name }},\n\n{{ text }}", "{{ text }}"),
    "survey-invitation": (
        "{{ title|default:'Tell us what you want to hear about' }}",
        "Hello {{ customer.first_name }},\n\n{{ text|default:'A short survey' }}: {{ survey_url }}",
        "{{ survey_url }}",
    ),
    "service": ("{{ title }}", "Hello {{ customer.first_name }},\n\n{{ text }}", "{{ text }}"),
    "thanks": ("{{ title|default:'Thank you' }}", "Dear {{ customer.first_name }},\n\n{{ text }}", "{{ text }}"),
}


def install(topic_model, template_model) -> None:
    """Create the missing default topics and English templates; leave existing ones as edited.

    Migrations call this with their historical models: a field the model has not got yet is left
    to the migration that adds it.
    """
    known = {f.name for f in topic_model._meta.get_fields()}
    for code, name, kind, urgency, channels, alternatives, capped, deadline, fresh, coalesce in TOPICS:
        values = {
            "name": name,
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
        subject, email_body, sms_body = TEMPLATES[code]
        template_model.objects.get_or_create(
            topic=topic, channel="email", language="en", defaults={"subject": subject, "body": email_body}
        )
        template_model.objects.get_or_create(topic=topic, channel="sms", language="en", defaults={"body": sms_body})
        if "postal" in channels or "postal" in alternatives:
            template_model.objects.get_or_create(
                topic=topic, channel="postal", language="en", defaults={"subject": subject, "body": email_body}
            )
