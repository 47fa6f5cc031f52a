"""Behaviour triggers (purchase cycle, re-engagement, regular contact): topics and templates in every language."""

from django.db import migrations

TRANSLATED = {
    "purchase-cycle": {
        "et": (
            "Kas on aeg tavapäraseks külastuseks?",
            "Tere, {{ customer.first_name }}!\n\nOn peaaegu aeg teie tavapäraseks külastuseks: ootame teid hea meelega."
            "{% if balance %} Teie saldo on {{ balance }} punkti.{% endif %}",
            "Kas on aeg tavapäraseks külastuseks?{% if balance %} Saldo {{ balance }} punkti.{% endif %}",
        ),
        "fi": (
            "Olisiko aika tavalliselle käynnille?",
            "Hei {{ customer.first_name }},\n\non pian aika tavalliselle käynnillesi: olet lämpimästi tervetullut."
            "{% if balance %} Saldosi on {{ balance }} pistettä.{% endif %}",
            "Olisiko aika tavalliselle käynnille?{% if balance %} Saldo {{ balance }} pistettä.{% endif %}",
        ),
        "ru": (
            "Пора за привычными покупками?",
            "Здравствуйте, {{ customer.first_name }}!\n\nСкоро время вашего привычного визита: будем рады вас видеть."
            "{% if balance %} Ваш баланс: {{ balance }}.{% endif %}",
            "Пора за привычными покупками?{% if balance %} Баланс: {{ balance }}.{% endif %}",
        ),
        "sv": (
            "Dags för ditt vanliga besök?",
            "Hej {{ customer.first_name }},\n\nsnart är det dags för ditt vanliga besök: vi ser fram emot att träffa dig."
            "{% if balance %} Ditt saldo är {{ balance }} poäng.{% endif %}",
            "Dags för ditt vanliga besök?{% if balance %} Saldo {{ balance }} poäng.{% endif %}",
        ),
    },
    "we-miss-you": {
        "et": (
            "Oleme teid igatsenud, {{ customer.first_name }}",
            "Tere, {{ customer.first_name }}!\n\nTeie viimasest külastusest on möödas tükk aega."
            "{% if balance %} Teid ootab {{ balance }} boonuspunkti.{% endif %} Oleme rõõmsad teid taas näha.",
            "Oleme teid igatsenud!{% if balance %} Teid ootab {{ balance }} punkti.{% endif %}",
        ),
        "fi": (
            "Olemme kaivanneet sinua, {{ customer.first_name }}",
            "Hei {{ customer.first_name }},\n\nviimeisestä käynnistäsi on jo tovi."
            "{% if balance %} Sinua odottaa {{ balance }} bonuspistettä.{% endif %} Olet lämpimästi tervetullut takaisin.",
            "Olemme kaivanneet sinua!{% if balance %} Sinua odottaa {{ balance }} pistettä.{% endif %}",
        ),
        "ru": (
            "Мы скучаем по вам, {{ customer.first_name }}",
            "Здравствуйте, {{ customer.first_name }}!\n\nВы давно у нас не были."
            "{% if balance %} Бонусные баллы на вашем счёте: {{ balance }}.{% endif %} Будем рады видеть вас снова.",
            "Мы скучаем по вам!{% if balance %} Бонусные баллы на счёте: {{ balance }}.{% endif %}",
        ),
        "sv": (
            "Vi saknar dig, {{ customer.first_name }}",
            "Hej {{ customer.first_name }},\n\ndet var ett tag sedan ditt senaste besök."
            "{% if balance %} {{ balance }} bonuspoäng väntar på dig.{% endif %} Välkommen tillbaka!",
            "Vi saknar dig!{% if balance %} {{ balance }} poäng väntar på dig.{% endif %}",
        ),
    },
    "account-summary": {
        "et": (
            "Teie boonuskonto: {{ balance }} punkti",
            "Tere, {{ customer.first_name }}!\n\nTeie saldo on {{ balance }} punkti{% if tier %} ({{ tier }}){% endif %}."
            "{% if expiring %} {{ expiring }} punkti aegub 30 päeva jooksul: kasutage need järgmisel külastusel.{% endif %}"
            "\n\nAitäh, et olete meie klient.",
            "Saldo {{ balance }} punkti.{% if expiring %} 30 päeva jooksul aegub {{ expiring }}.{% endif %}",
        ),
        "fi": (
            "Bonustilisi: {{ balance }} pistettä",
            "Hei {{ customer.first_name }},\n\nsaldosi on {{ balance }} pistettä{% if tier %} ({{ tier }}){% endif %}."
            "{% if expiring %} {{ expiring }} pistettä vanhenee 30 päivän kuluessa: käytä ne seuraavalla käynnilläsi."
            "{% endif %}\n\nKiitos, että asioit kanssamme.",
            "Saldo {{ balance }} pistettä.{% if expiring %} 30 päivässä vanhenee {{ expiring }}.{% endif %}",
        ),
        "ru": (
            "Ваш бонусный счёт: {{ balance }}",
            "Здравствуйте, {{ customer.first_name }}!\n\nВаш баланс: {{ balance }}{% if tier %} ({{ tier }}){% endif %}."
            "{% if expiring %} В течение 30 дней сгорит баллов: {{ expiring }}. Используйте их при следующем визите."
            "{% endif %}\n\nСпасибо, что вы с нами.",
            "Баланс: {{ balance }}.{% if expiring %} Сгорит в течение 30 дней: {{ expiring }}.{% endif %}",
        ),
        "sv": (
            "Ditt bonuskonto: {{ balance }} poäng",
            "Hej {{ customer.first_name }},\n\nditt saldo är {{ balance }} poäng{% if tier %} ({{ tier }}){% endif %}."
            "{% if expiring %} {{ expiring }} poäng går ut inom 30 dagar: använd dem vid ditt nästa besök.{% endif %}"
            "\n\nTack för att du handlar hos oss.",
            "Saldo {{ balance }} poäng.{% if expiring %} {{ expiring }} går ut inom 30 dagar.{% endif %}",
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
    dependencies = [("notifications", "0021_store_reminders")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
