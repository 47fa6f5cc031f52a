"""The HTML part of an e-mail: the plain text the customer would read, set in the brand's frame.

One source of truth: the template's text (and the footer render() adds: contacts, unsubscribe,
choices) becomes paragraphs, its addresses become links, and the footer is set apart. So the two
parts of a multipart message always say the same thing, and staff edit one text per language.
"""

import re

from django.conf import settings
from django.template.loader import get_template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from notifications.delivery.channels.base import Message

FOOTER_RULE = "—"  # render() separates the message from its footer with a paragraph of its own
LINK = re.compile(r"(https?://[^\s<>\"]+[^\s<>\".,;:!?)\]])")


def _linked(text: str) -> str:
    """Escaped text whose http(s) addresses are links; each newline a line break."""
    parts = LINK.split(text)
    html = [
        f'<a href="{escape(part)}" style="color:{settings.BRAND_COLOR}">{escape(part)}</a>'
        if index % 2
        else escape(part)
        for index, part in enumerate(parts)
    ]
    return "".join(html).replace("\n", "<br>\n")


def email_html(message: Message, *, language: str) -> str:
    """The HTML alternative of an e-mail ``message`` whose plain body render() has completed."""
    paragraphs = [paragraph.strip() for paragraph in message.body.split("\n\n") if paragraph.strip()]
    if FOOTER_RULE in paragraphs:
        split = paragraphs.index(FOOTER_RULE)
        content, footer = paragraphs[:split], paragraphs[split + 1 :]
    else:
        content, footer = paragraphs, []
    return get_template("notifications/email/message.html").render(
        {
            "language": language,
            "subject": message.subject,
            "brand": settings.BRAND_NAME,
            "color": settings.BRAND_COLOR,
            "paragraphs": [mark_safe(_linked(paragraph)) for paragraph in content],  # escaped in _linked
            "footer": [mark_safe(_linked(paragraph)) for paragraph in footer],
        }
    )
