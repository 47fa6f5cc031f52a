from django.db import migrations

REASONS = [
    ("too-many", "Too many messages", {"et": "Liiga palju sõnumeid", "fi": "Liian monta viestiä", "ru": "Слишком много сообщений", "sv": "För många meddelanden"}),
    ("not-relevant", "Not relevant to me", {"et": "Minu jaoks ebaoluline", "fi": "Ei koske minua", "ru": "Мне это неинтересно", "sv": "Inte relevant för mig"}),
    ("wrong-channel", "I prefer another channel", {"et": "Eelistan teist kanalit", "fi": "Haluan toisen kanavan", "ru": "Предпочитаю другой канал", "sv": "Jag föredrar en annan kanal"}),
    ("wrong-time", "Messages come at the wrong time", {"et": "Sõnumid tulevad valel ajal", "fi": "Viestit tulevat väärään aikaan", "ru": "Сообщения приходят в неудобное время", "sv": "Meddelandena kommer vid fel tid"}),
    ("never-signed-up", "I never signed up", {"et": "Ma ei liitunud", "fi": "En ole tilannut näitä", "ru": "Я не подписывался", "sv": "Jag har aldrig anmält mig"}),
    ("other", "Something else", {"et": "Muu põhjus", "fi": "Jokin muu", "ru": "Другое", "sv": "Något annat"}),
]


def install(apps, schema_editor):
    Reason = apps.get_model("notifications", "UnsubscribeReason")
    for position, (code, label, translations) in enumerate(REASONS):
        Reason.objects.get_or_create(code=code, defaults={"label": label, "translations": translations, "position": position})


class Migration(migrations.Migration):
    dependencies = [("notifications", "0007_customer_pages")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
