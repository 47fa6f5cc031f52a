"""The till's reminders (order ready, appointment): their topics and templates in every customer language."""

from django.db import migrations

TRANSLATED = {
    "order-ready": {
        "et": (
            "Teie tellimus {{ reference }} on valmis",
            "Tere, {{ customer.first_name }}!\n\nTeie tellimus {{ reference }} ootab teid kaupluses {{ store }}."
            "{% if until %} Palun võtke see ära hiljemalt {{ until }}.{% endif %}{% if note %}\n\n{{ note }}{% endif %}",
            "Tellimus {{ reference }} ootab teid: {{ store }}.{% if until %} Kuni {{ until }}.{% endif %}"
            "{% if note %} {{ note }}{% endif %}",
        ),
        "fi": (
            "Tilauksesi {{ reference }} on valmis",
            "Hei {{ customer.first_name }},\n\ntilauksesi {{ reference }} on noudettavissa: {{ store }}."
            "{% if until %} Noudathan sen viimeistään {{ until }}.{% endif %}{% if note %}\n\n{{ note }}{% endif %}",
            "Tilaus {{ reference }} on noudettavissa: {{ store }}.{% if until %} Viimeistään {{ until }}.{% endif %}"
            "{% if note %} {{ note }}{% endif %}",
        ),
        "ru": (
            "Ваш заказ {{ reference }} готов",
            "Здравствуйте, {{ customer.first_name }}!\n\nВаш заказ {{ reference }} готов к выдаче: {{ store }}."
            "{% if until %} Пожалуйста, заберите его до {{ until }}.{% endif %}{% if note %}\n\n{{ note }}{% endif %}",
            "Заказ {{ reference }} готов к выдаче: {{ store }}.{% if until %} До {{ until }}.{% endif %}"
            "{% if note %} {{ note }}{% endif %}",
        ),
        "sv": (
            "Din beställning {{ reference }} är klar",
            "Hej {{ customer.first_name }},\n\ndin beställning {{ reference }} kan hämtas i {{ store }}."
            "{% if until %} Hämta den senast {{ until }}.{% endif %}{% if note %}\n\n{{ note }}{% endif %}",
            "Beställning {{ reference }} kan hämtas: {{ store }}.{% if until %} Senast {{ until }}.{% endif %}"
            "{% if note %} {{ note }}{% endif %}",
        ),
    },
    "appointment-reminder": {
        "et": (
            "Meeldetuletus: {{ store }}, {{ day }} kell {{ time }}",
            "Tere, {{ customer.first_name }}!\n\nTuletame meelde teie aega: {{ store }}, {{ day }} kell {{ time }}."
            "{% if note %}\n\n{{ note }}{% endif %}\n\nEi saa tulla? Helistage {{ contact_phone }}.",
            "Meeldetuletus: {{ store }}, {{ day }} kell {{ time }}.{% if note %} {{ note }}{% endif %} "
            "Ei saa tulla? {{ contact_phone }}",
        ),
        "fi": (
            "Muistutus: {{ store }}, {{ day }} klo {{ time }}",
            "Hei {{ customer.first_name }},\n\nmuistutamme ajastasi: {{ store }}, {{ day }} klo {{ time }}."
            "{% if note %}\n\n{{ note }}{% endif %}\n\nEtkö pääse? Soita {{ contact_phone }}.",
            "Muistutus: {{ store }}, {{ day }} klo {{ time }}.{% if note %} {{ note }}{% endif %} "
            "Etkö pääse? {{ contact_phone }}",
        ),
        "ru": (
            "Напоминание: {{ store }}, {{ day }} в {{ time }}",
            "Здравствуйте, {{ customer.first_name }}!\n\nНапоминаем о вашей записи: {{ store }}, {{ day }} в {{ time }}."
            "{% if note %}\n\n{{ note }}{% endif %}\n\nНе сможете прийти? Позвоните {{ contact_phone }}.",
            "Напоминание: {{ store }}, {{ day }} в {{ time }}.{% if note %} {{ note }}{% endif %} "
            "Не сможете прийти? {{ contact_phone }}",
        ),
        "sv": (
            "Påminnelse: {{ store }}, {{ day }} kl. {{ time }}",
            "Hej {{ customer.first_name }},\n\nen påminnelse om din tid: {{ store }}, {{ day }} kl. {{ time }}."
            "{% if note %}\n\n{{ note }}{% endif %}\n\nKan du inte komma? Ring {{ contact_phone }}.",
            "Påminnelse: {{ store }}, {{ day }} kl. {{ time }}.{% if note %} {{ note }}{% endif %} "
            "Kan du inte komma? {{ contact_phone }}",
        ),
    },
}


def install(apps, schema_editor):
    from notifications.defaults import install as install_defaults
    from notifications.defaults import install_written_translations

    topic_model = apps.get_model("notifications", "Topic")
    template_model = apps.get_model("notifications", "MessageTemplate")
    install_defaults(topic_model, template_model)
    install_written_translations(topic_model, template_model, TRANSLATED)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0020_greetings")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
