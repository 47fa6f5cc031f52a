"""Built-in topics and templates in the customer's language from the gettext catalogues, with plural
forms; English where a language's template is missing; staff's edits never overwritten.

The tests compile the project's catalogues without their templates and topic names, plus a small
Russian and Estonian set of their own, so that what is and is not translated is known here.
"""

from importlib import import_module

import polib
import pytest
from django.apps import apps
from django.utils import translation

from notifications.defaults import TEMPLATES, TOPICS, english, has_words, install_translations
from notifications.delivery.rendering import counted, pick_template, preferences_url, render
from notifications.models import MessageTemplate, Notification, Topic
from tests.notifications.factories import due_notification
from tests.notifications.test_customer_pages import path_of

GIFT_SUBJECT, GIFT_EMAIL, GIFT_SMS = (english(text) for text in TEMPLATES["gift"])
RUSSIAN = {
    ("topic", "Gift bonus"): "Подарочные баллы",
    ("topic", "Promotion"): "Акции",
    ("email subject", GIFT_SUBJECT): "Подарок: {{ points_text }}",
    ("email body", GIFT_EMAIL): "Здравствуйте, {{ customer.first_name }}!\n\nДарим вам {{ points_text }}.",
    ("sms", GIFT_SMS): "Подарок: +{{ points_text }}, баланс {{ balance }}.",
    # Half a message: the bonus-expired e-mail has its subject but not its body translated.
    ("email subject", english(TEMPLATES["bonus-expired"][0])): "Сгорело: {{ points_text }}",
}
ESTONIAN = {
    ("topic", "Promotion"): "Kampaaniad",
    ("email subject", GIFT_SUBJECT): "Kingitus: {{ points_text }}",
    ("email body", GIFT_EMAIL): "Tere, {{ customer.first_name }}!\n\nKingime teile {{ points_text }}.",
}
PLURALS = {
    "ru": (
        "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
        ["%(count)s балл", "%(count)s балла", "%(count)s баллов"],
    ),
    "et": ("nplurals=2; plural=(n != 1);", ["%(count)s punkt", "%(count)s punkti"]),
}


TEMPLATE_CONTEXTS = {"email subject", "email body", "sms", "topic"}


@pytest.fixture
def catalogues(db, tmp_path, settings):
    """The project's catalogues without their message templates and topic names, plus Russian and
    Estonian translations of the gift message, two topic names and "N points" (as a translator's
    pass would add): what a language has not translated yet reads in English."""
    for language in ("et", "fi", "ru", "sv"):
        po = polib.pofile(str(settings.LOCALE_PATHS[0] / language / "LC_MESSAGES" / "django.po"))
        for entry in [entry for entry in po if entry.msgctxt in TEMPLATE_CONTEXTS]:
            po.remove(entry)
        own = {"ru": RUSSIAN, "et": ESTONIAN}.get(language, {})
        for (context, msgid), msgstr in own.items():
            po.append(polib.POEntry(msgctxt=context, msgid=msgid, msgstr=msgstr))
        if language in PLURALS:
            po.metadata["Plural-Forms"] = PLURALS[language][0]
            for entry in po:
                if entry.msgid == "%(count)s point" and entry.msgid_plural:
                    entry.msgstr_plural = dict(enumerate(PLURALS[language][1]))
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        po.save_as_mofile(str(folder / "django.mo"))
    settings.LOCALE_PATHS = [tmp_path]  # resets Django's loaded catalogues
    MessageTemplate.objects.exclude(language="en").delete()  # as before the catalogues had these
    return tmp_path


def rendered(customer, topic_code, channel, context):
    notification = Notification(
        pk=0, customer=customer, topic=Topic.objects.get(code=topic_code), channel=channel, context=context
    )
    templates = {(t.topic_id, t.channel, t.language): t for t in MessageTemplate.objects.all()}
    language = customer.language
    with translation.override(language):
        return render(notification, template=pick_template(templates, notification, language), language=language)


def test_the_migration_creates_each_language_from_its_catalogue(catalogues):
    migration = import_module("notifications.migrations.0024_counted_and_translated_templates")

    migration.counted_and_translated_templates(apps, None)

    gift = {(t.channel, t.language): (t.subject, t.body) for t in MessageTemplate.objects.filter(topic__code="gift")}
    assert gift[("email", "ru")] == (RUSSIAN[("email subject", GIFT_SUBJECT)], RUSSIAN[("email body", GIFT_EMAIL)])
    assert gift[("sms", "ru")] == ("", RUSSIAN[("sms", GIFT_SMS)])
    assert gift[("email", "et")][0] == "Kingitus: {{ points_text }}"
    assert ("sms", "et") not in gift  # the Estonian catalogue has no SMS text yet: English until it does
    assert ("email", "fi") not in gift
    half = MessageTemplate.objects.filter(topic__code="bonus-expired", channel="email", language="ru")
    assert not half.exists()  # never a Russian subject over an English body
    # A message with no words of its own reads the same in every language.
    assert MessageTemplate.objects.get(topic__code="opening-hours", channel="sms", language="sv").body == "{{ text }}"


def test_a_row_staff_edited_stays_and_an_edited_english_text_is_not_replaced_by_a_translation(catalogues):
    gift = Topic.objects.get(code="gift")
    MessageTemplate.objects.create(topic=gift, channel="email", language="ru", subject="Ваш подарок", body="Staff")
    MessageTemplate.objects.filter(topic=gift, channel="sms", language="en").update(body="Staff's own English")

    created = install_translations(Topic, MessageTemplate, languages=["ru"])

    ru = {t.channel: (t.subject, t.body) for t in MessageTemplate.objects.filter(topic=gift, language="ru")}
    assert ru == {"email": ("Ваш подарок", "Staff")}
    assert created == MessageTemplate.objects.filter(language="ru").count() - 1
    assert install_translations(Topic, MessageTemplate, languages=["ru"]) == 0  # and again: nothing new


@pytest.mark.parametrize(
    ("points", "subject", "sms"),
    [
        (1, "Подарок: 1 балл", "+1 балл, баланс 1."),
        (3, "Подарок: 3 балла", "+3 балла, баланс 3."),
        (5, "Подарок: 5 баллов", "+5 баллов, баланс 5."),
        (11, "Подарок: 11 баллов", "+11 баллов, баланс 11."),
        (21, "Подарок: 21 балл", "+21 балл, баланс 21."),
    ],
)
def test_a_russian_customer_gets_the_russian_template_with_its_plural_forms(
    catalogues, customer_factory, points, subject, sms
):
    install_translations(Topic, MessageTemplate)
    customer = customer_factory(language="ru", first_name="Ольга")

    email = rendered(customer, "gift", "email", {"points": points, "balance": points})
    text = rendered(customer, "gift", "sms", {"points": points, "balance": points})

    assert email.subject.endswith(subject)
    assert email.body.startswith(f"Здравствуйте, Ольга!\n\nДарим вам {subject.removeprefix('Подарок: ')}.")
    assert sms in text.body


def test_without_a_template_in_the_language_the_english_one_reads_in_english(catalogues, customer_factory):
    install_translations(Topic, MessageTemplate)
    customer = customer_factory(language="ru", first_name="Ольга")

    email = rendered(customer, "bonus-expired", "email", {"points": 1, "balance": 5})

    # English words and English counts, not "1 балл expired"; the footer in the customer's language.
    assert email.subject.endswith(": 1 point expired")
    assert "1 point of your bonus expired. Your balance: 5 points." in email.body
    with translation.override("ru"):
        assert translation.gettext("All your choices: %(url)s").split("%")[0] in email.body


@pytest.mark.parametrize(("language", "first_name"), [("ru", "Ольга"), ("et", "Mari"), ("fi", "Aino")])
def test_each_language_gets_its_own_template_or_english(catalogues, customer_factory, language, first_name):
    install_translations(Topic, MessageTemplate)
    customer = customer_factory(language=language, first_name=first_name)

    email = rendered(customer, "gift", "email", {"points": 2, "balance": 2})

    expected = {"ru": "Подарок: 2 балла", "et": "Kingitus: 2 punkti", "fi": "A gift of 2 points"}[language]
    assert email.subject.endswith(expected)


@pytest.mark.parametrize(("number", "points"), [(0, "0 points"), (1, "1 point"), (5, "5 points")])
def test_counted_phrases_in_english(number, points):
    with translation.override("en"):
        phrases = counted({"points": number, "days_left": number, "count": number, "balance": number})

    assert phrases["points_text"] == phrases["balance_text"] == points
    assert phrases["days_left_text"] == points.replace("point", "day")
    assert phrases["purchases_text"] == points.replace("point", "purchase")
    assert phrases["deductions_text"] == points.replace("point", "deduction")


@pytest.mark.parametrize("code", [code for code, *_rest in TOPICS])
def test_every_built_in_english_template_reads_its_counts_right(customer_factory, code):
    customer = customer_factory(language="en", first_name="Ann")
    context = {"points": 1, "balance": 1, "days_left": 1, "receipt_id": "R-1", "text": "News", "title": "Hi"}

    for channel in ("email", "sms"):
        message = rendered(customer, code, channel, context)
        text = f"{message.subject}\n{message.body}"
        assert "1 points" not in text and "1 days" not in text and "{{" not in text
        if code.startswith("bonus") or code == "gift":
            assert "1 point" in text


def test_a_coalesced_message_counts_each_event(customer_factory):
    customer = customer_factory(language="en", first_name="Ann")
    context = {
        "count": 2,
        "points": 11,
        "balance": 40,
        "events": [{"points": 1, "receipt_id": "R-1"}, {"points": 10, "receipt_id": "R-2"}],
    }

    message = rendered(customer, "bonus-credited", "email", context)

    assert message.subject.endswith("2 purchases, +11 points, balance 40")
    assert "\n+1 point (receipt R-1)." in message.body and "\n+10 points (receipt R-2)." in message.body


def test_template_words_are_found_outside_tags_and_in_quoted_defaults():
    assert has_words("Hello {{ customer.first_name }}")
    assert has_words("{{ title|default:'An offer for you' }}")
    assert not has_words("{{ teaser|default:text }}")
    assert not has_words("{% if count %}{{ points_text }}{% endif %}, +{{ balance }}.")


def test_the_preference_centre_names_built_in_topics_in_the_customers_language(catalogues, client, customer_factory):
    Topic.objects.create(code="wine-club", name="Wine club", kind="marketing", channels=["email"])
    customer = customer_factory(language="ru", email="olga@example.com")

    page = client.get(path_of(preferences_url(customer))).content.decode()

    assert "Акции" in page and ">Promotion<" not in page
    assert "Wine club" in page  # staff's own topic, as staff named it


def test_a_built_in_topic_staff_renamed_shows_the_new_name(catalogues, client, customer_factory):
    Topic.objects.filter(code="promotion").update(name="Offers of the week")
    customer = customer_factory(language="ru", email="olga@example.com")
    promotion = Topic.objects.get(code="promotion")

    with translation.override("ru"):
        assert promotion.display_name == "Offers of the week"
        assert Topic.objects.get(code="gift").display_name == "Подарочные баллы"
    assert Topic.objects.get(code="gift").display_name == "Gift bonus"
    page = client.get(path_of(preferences_url(customer))).content.decode()
    assert "Offers of the week" in page and "Акции" not in page


def test_the_unsubscribe_page_names_the_topic_in_the_customers_language(catalogues, client, customer_factory):
    from tests.notifications.test_customer_pages import unsubscribe_path

    customer = customer_factory(language="et", email="mari@example.ee")
    promo = due_notification(customer, "promotion", context={"text": "x"})

    page = client.get(unsubscribe_path(promo)).content.decode()

    assert "„Kampaaniad”" in page and "Promotion" not in page  # in the heading and the choices
    assert page.count("Kampaaniad") == 3


def test_the_migration_gives_unedited_english_bonus_templates_their_counted_phrases(db):
    migration = import_module("notifications.migrations.0024_counted_and_translated_templates")
    for code, (subject, email_body, sms_body) in migration.BEFORE.items():  # as an existing installation has them
        MessageTemplate.objects.filter(topic__code=code, language="en", channel="email").update(
            subject=subject, body=email_body
        )
        MessageTemplate.objects.filter(topic__code=code, language="en", channel="sms").update(body=sms_body)
    MessageTemplate.objects.filter(topic__code="gift", language="en", channel="sms").update(body="Edited by staff")

    migration.counted_and_translated_templates(apps, None)

    english_rows = {
        (t.topic.code, t.channel): (t.subject, t.body)
        for t in MessageTemplate.objects.filter(language="en").select_related("topic")
    }
    for code in migration.BEFORE:
        subject, email_body, sms_body = (english(text) for text in TEMPLATES[code])
        assert english_rows[(code, "email")] == (subject, email_body)
        if code != "gift":
            assert english_rows[(code, "sms")] == ("", sms_body)
    assert english_rows[("gift", "sms")] == ("", "Edited by staff")


def test_a_survey_offers_built_in_topics_by_their_name_in_the_customers_language(catalogues, customer_factory):
    from surveys.forms import field_for
    from surveys.models import Question, Survey

    survey = Survey.objects.create(slug="interests", kind=Survey.Kind.PREFERENCE, title="Interests")
    question = Question.objects.create(
        survey=survey, position=0, kind=Question.Kind.MULTIPLE, text="Topics?", binding=Question.Binding.TOPICS
    )

    field = field_for(question, "ru", customer_factory(language="ru"))

    assert ("promotion", "Акции") in field.choices
