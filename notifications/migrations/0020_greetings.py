"""Birthday and holiday greetings: their topics and templates in every customer language, and the holidays greeted."""

from django.db import migrations, models

TRANSLATED = {
    "birthday-greeting": {
        "et": (
            "Palju õnne sünnipäevaks, {{ customer.first_name }}!",
            "Hea {{ customer.first_name }},\n\npalju õnne sünnipäevaks meie kõigi poolt!"
            "{% if points %} Kandsime kingituseks teie kontole {{ points }} punkti: teie saldo on {{ balance }} punkti."
            "{% endif %}\n\nIlusat päeva!",
            "Palju õnne sünnipäevaks, {{ customer.first_name }}!{% if points %} +{{ points }} kingipunkti, "
            "saldo {{ balance }}.{% endif %}",
        ),
        "fi": (
            "Hyvää syntymäpäivää, {{ customer.first_name }}!",
            "Hyvä {{ customer.first_name }},\n\nhyvää syntymäpäivää meiltä kaikilta!"
            "{% if points %} Olemme hyvittäneet tilillesi lahjaksi {{ points }} pistettä: saldosi on {{ balance }} pistettä."
            "{% endif %}\n\nIhanaa päivää!",
            "Hyvää syntymäpäivää, {{ customer.first_name }}!{% if points %} +{{ points }} lahjapistettä, "
            "saldo {{ balance }}.{% endif %}",
        ),
        "ru": (
            "С днём рождения, {{ customer.first_name }}!",
            "Здравствуйте, {{ customer.first_name }}!\n\nПоздравляем вас с днём рождения!"
            "{% if points %} Подарочные баллы на вашем счёте: {{ points }}, ваш баланс: {{ balance }}.{% endif %}"
            "\n\nЧудесного дня!",
            "С днём рождения, {{ customer.first_name }}!{% if points %} Подарочные баллы: +{{ points }}, "
            "баланс {{ balance }}.{% endif %}",
        ),
        "sv": (
            "Grattis på födelsedagen, {{ customer.first_name }}!",
            "Hej {{ customer.first_name }},\n\nstort grattis på födelsedagen från oss alla!"
            "{% if points %} Vi har satt in {{ points }} presentpoäng på ditt konto: ditt saldo är {{ balance }} poäng."
            "{% endif %}\n\nHa en underbar dag!",
            "Grattis på födelsedagen, {{ customer.first_name }}!{% if points %} +{{ points }} presentpoäng, "
            "saldo {{ balance }}.{% endif %}",
        ),
    },
    "holiday-greeting": {
        "et": (
            "{{ holiday|capfirst }}: parimad soovid meilt",
            "Hea {{ customer.first_name }},\n\n{{ holiday|capfirst }}: soojad soovid meie kõigi poolt!"
            "{% if points %} Teie kontol on kingitusena {{ points }} punkti: teie saldo on {{ balance }} punkti.{% endif %}",
            "{{ holiday|capfirst }}: parimad soovid!{% if points %} +{{ points }} kingipunkti, saldo {{ balance }}.{% endif %}",
        ),
        "fi": (
            "{{ holiday|capfirst }}: parhaat toivotukset meiltä",
            "Hyvä {{ customer.first_name }},\n\n{{ holiday|capfirst }}: lämpimät toivotukset meiltä kaikilta!"
            "{% if points %} Tililläsi on lahjana {{ points }} pistettä: saldosi on {{ balance }} pistettä.{% endif %}",
            "{{ holiday|capfirst }}: parhaat toivotukset!{% if points %} +{{ points }} lahjapistettä, "
            "saldo {{ balance }}.{% endif %}",
        ),
        "ru": (
            "{{ holiday|capfirst }}: наилучшие пожелания",
            "Здравствуйте, {{ customer.first_name }}!\n\n{{ holiday|capfirst }}: тёплые пожелания от всех нас!"
            "{% if points %} Подарочные баллы на вашем счёте: {{ points }}, ваш баланс: {{ balance }}.{% endif %}",
            "{{ holiday|capfirst }}: наилучшие пожелания!{% if points %} Подарочные баллы: +{{ points }}, "
            "баланс {{ balance }}.{% endif %}",
        ),
        "sv": (
            "{{ holiday|capfirst }}: varma hälsningar från oss",
            "Hej {{ customer.first_name }},\n\n{{ holiday|capfirst }}: varma hälsningar från oss alla!"
            "{% if points %} En gåva på {{ points }} poäng finns på ditt konto: ditt saldo är {{ balance }} poäng.{% endif %}",
            "{{ holiday|capfirst }}: varma hälsningar!{% if points %} +{{ points }} presentpoäng, "
            "saldo {{ balance }}.{% endif %}",
        ),
    },
}
# Greeted out of the box, in the shops' countries; staff add, change or switch them off in the admin.
HOLIDAYS = [("EE", "Christmas Eve"), ("FI", "Christmas Eve"), ("SE", "Midsummer Day")]


def install(apps, schema_editor):
    from notifications.defaults import install as install_defaults
    from notifications.defaults import install_written_translations

    topic_model = apps.get_model("notifications", "Topic")
    template_model = apps.get_model("notifications", "MessageTemplate")
    install_defaults(topic_model, template_model)
    install_written_translations(topic_model, template_model, TRANSLATED, channels=("email", "postal", "sms"))
    greeting_model = apps.get_model("notifications", "HolidayGreeting")
    for country, holiday in HOLIDAYS:
        greeting_model.objects.get_or_create(country=country, holiday=holiday)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0019_staff_cancel_reason")]

    operations = [
        migrations.CreateModel(
            name="HolidayGreeting",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("country", models.CharField(help_text="ISO 3166 code, e.g. EE", max_length=2, verbose_name="country")),
                (
                    "holiday",
                    models.CharField(
                        help_text="As the holiday calendar names it in English, e.g. Christmas Eve",
                        max_length=100,
                        verbose_name="holiday",
                    ),
                ),
                (
                    "with_gift",
                    models.BooleanField(
                        default=False,
                        help_text="Credit each customer the holiday gift of their tier",
                        verbose_name="with a gift",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
            ],
            options={
                "verbose_name": "holiday greeting",
                "verbose_name_plural": "holiday greetings",
                "ordering": ["country", "holiday"],
                "constraints": [
                    models.UniqueConstraint(fields=("country", "holiday"), name="notif_holiday_greeting_unique")
                ],
            },
        ),
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
