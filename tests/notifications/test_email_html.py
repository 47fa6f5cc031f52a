"""E-mails go out as multipart: the plain text and the same words in the brand's HTML frame."""

from django.core import mail

from notifications.delivery.dispatch import drain
from tests.notifications.factories import due_notification


def test_an_email_has_an_html_part_saying_what_the_text_says_with_links_and_footer(customer_factory, settings):
    settings.BRAND_COLOR = "#123456"
    customer = customer_factory(language="et", first_name="<Mari>")
    due_notification(customer, context={"title": "Uus pood", "text": "Avame uue poe: https://shop.example/uus."})

    assert drain()["sent"] == 1

    [email] = mail.outbox
    [(html, mime)] = email.alternatives
    assert mime == "text/html"
    assert '<html lang="et">' in html
    assert f">{settings.BRAND_NAME}</td>" in html and "background:#123456" in html
    assert "&lt;Mari&gt;" in html and "<Mari>" not in html  # the customer's data is escaped
    # The address is a link; the full stop after it is not part of it.
    assert '<a href="https://shop.example/uus" style="color:#123456">https://shop.example/uus</a>.' in html
    # The footer (contacts, unsubscribe, choices) is there and its unsubscribe address is a link.
    unsubscribe = next(word for word in email.body.split() if "/u/" in word)
    assert f'<a href="{unsubscribe}"' in html
    assert settings.BRAND_CONTACT_EMAIL in html
    assert "Avame uue poe" in email.body  # the plain part is the same text
