from django.db import migrations

# The English bonus templates as installed before counted phrases, (e-mail subject, e-mail body, SMS
# body): "{{ points }} points" read "1 points" and could not be translated into Russian's three forms.
# A template still reading exactly so was never edited by staff and gets the new default text.
BEFORE = {
    "bonus-credited": (
        "{% if count %}{{ count }} purchases, +{{ points }} points, balance {{ balance }}{% else %}{{ points }} bonus points credited{% endif %}",
        "Hello {{ customer.first_name }},\n\n{% if count %}{{ count }} purchases, +{{ points }} points, balance {{ balance }}.\n{% for event in events %}\n+{{ event.points }} points{% if event.receipt_id %} (receipt {{ event.receipt_id }}){% endif %}. Not your purchase? {{ event.dispute_url|default:contact_email }}{% endfor %}{% else %}{{ points }} points were credited for your purchase{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance is {{ balance }} points.\n\nNot your purchase? Tell us: {{ dispute_url|default:contact_email }}{% endif %}",
        "{% if count %}{{ count }} purchases, {% endif %}+{{ points }} points, balance {{ balance }}. Not you? Call {{ contact_phone }}",
    ),
    "bonus-debited": (
        "{% if count %}{{ count }} deductions, -{{ points }} points, balance {{ balance }}{% else %}{{ points }} bonus points used{% endif %}",
        "Hello {{ customer.first_name }},\n\n{% if count %}{{ count }} deductions, -{{ points }} points, balance {{ balance }}.\n{% for event in events %}\n-{{ event.points }} points{% if event.receipt_id %} (receipt {{ event.receipt_id }}){% endif %}. Not you? {{ event.dispute_url|default:contact_email }}{% endfor %}{% else %}{{ points }} points were taken from your account{% if receipt_id %} (receipt {{ receipt_id }}){% endif %}. Your balance is {{ balance }} points.\n\nNot you? Tell us: {{ dispute_url|default:contact_email }}{% endif %}",
        "{% if count %}{{ count }} deductions, {% endif %}-{{ points }} points, balance {{ balance }}. Not you? Call {{ contact_phone }}",
    ),
    "bonus-expiring": (
        "{{ points }} points expire soon",
        "Hello {{ customer.first_name }},\n\n{{ points }} of your bonus points expire in {{ days_left }} days. Use them on your next visit.",
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
}


def counted_and_translated_templates(apps, schema_editor):
    """The unedited English bonus templates read counts as phrases; then every other language's
    templates come from the catalogues as compiled now (missing rows only)."""
    from notifications.defaults import TEMPLATES, english, install_translations

    Topic = apps.get_model("notifications", "Topic")
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    for code, (subject, email_body, sms_body) in BEFORE.items():
        new_subject, new_email_body, new_sms_body = (english(text) for text in TEMPLATES[code])
        english_rows = MessageTemplate.objects.filter(topic__code=code, language="en")
        english_rows.filter(channel__in=["email", "postal"], subject=subject, body=email_body).update(
            subject=new_subject, body=new_email_body
        )
        english_rows.filter(channel="sms", body=sms_body).update(body=new_sms_body)
    install_translations(Topic, MessageTemplate)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0023_announce_permission")]

    operations = [migrations.RunPython(counted_and_translated_templates, migrations.RunPython.noop)]
