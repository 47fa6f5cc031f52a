"""The topics and English templates a new installation starts with (staff edit them in the admin).

Kept here, not in the migration, so tests and the migration share one source.
"""

# Only service messages the customer cannot do without pass the weekly caps: the bonus account
# (credited, debited, expiring, expired), opening-hours changes and service messages. Greetings,
# gifts and thank-you letters are welcome but can wait for room under the cap.
TOPICS = [
    # code, name, kind, urgency, channels, alternatives, counts_against_cap, deadline_hours, freshness
    ("bonus-credited", "Bonus credited", "transactional", "timely", ["sms"], ["email", "messenger"], False, 48, ""),
    ("bonus-debited", "Bonus debited", "transactional", "timely", ["sms"], ["email", "messenger"], False, 48, ""),
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
    ),
    ("bonus-expired", "Bonus expired", "transactional", "timely", ["email"], ["sms", "messenger"], False, 48, ""),
    ("gift", "Gift bonus", "transactional", "timely", ["sms"], ["email", "messenger"], True, 48, ""),
    ("new-products", "New products", "marketing", "flexible", ["sms", "email"], [], True, 168, ""),
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
    ),
    ("store-opening", "Store opening", "marketing", "flexible", ["email"], ["sms"], True, 168, ""),
    ("promotion", "Promotion", "marketing", "flexible", ["email"], ["sms", "messenger"], True, 120, ""),
    ("greeting", "Greetings", "marketing", "timely", ["email"], ["postal", "sms"], True, 24, ""),
    ("thanks", "Thanks and apologies", "transactional", "flexible", ["postal"], ["email"], True, 240, ""),
    ("company-event", "Company event", "marketing", "flexible", ["email"], [], True, 168, ""),
    ("survey-invitation", "Survey invitation", "marketing", "flexible", ["email"], [], True, 168, ""),
    ("service", "Service message", "transactional", "immediate", ["email"], ["sms", "messenger"], False, 24, ""),
]

TEMPLATES = {
    # code: (e-mail subject, e-mail body, SMS body)
    "bonus-credited": (
        "{{ points }} bonus points credited",
        "Hello {{ customer.first_name }},\n\n{{ points }} points were credited for your purchase"
        "{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance is {{ balance }} points.\n\n"
        "Not your purchase? Tell us: {{ dispute_url|default:contact_email }}",
        "+{{ points }} points, balance {{ balance }}. Not you? Call {{ contact_phone }}",
    ),
    "bonus-debited": (
        "{{ points }} bonus points used",
        "Hello {{ customer.first_name }},\n\n{{ points }} points were taken from your account"
        "{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance is {{ balance }} points.\n\n"
        "Not you? Tell us: {{ dispute_url|default:contact_email }}",
        "-{{ points }} points, balance {{ balance }}. Not you? Call {{ contact_phone }}",
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
    """Create the missing default topics and English templates; leave existing ones as edited."""
    for code, name, kind, urgency, channels, alternatives, capped, deadline, fresh in TOPICS:
        topic, _created = topic_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "urgency": urgency,
                "channels": channels,
                "alternatives": alternatives,
                "counts_against_cap": capped,
                "deadline_hours": deadline,
                "freshness_check": fresh,
            },
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
