"""The HTML part of an e-mail: the plain text the customer would read, set in the brand's frame.

One source of truth: the template's text (and the footer render() adds: contacts, unsubscribe,
choices) becomes paragraphs, its addresses become links, and the footer is set apart. So the two
parts of a multipart message always say the same thing, and staff edit one text per language.
"""

import re
from functools import lru_cache
from html import escape  # the standard library's: Django's lazy-aware one costs 3× per call

from django.conf import settings
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from notifications.delivery.channels.base import Message

FOOTER_RULE = "—"  # render() separates the message from its footer with a paragraph of its own
LINK = re.compile(r"(https?://[^\s<>\"]+[^\s<>\".,;:!?)\]])")


def _linked(text: str, color: str) -> str:
    """Escaped text whose http(s) addresses are links; each newline a line break."""
    if "http" not in text:
        return escape(text).replace("\n", "<br>\n")
    parts = LINK.split(text)
    html = [
        f'<a href="{escape(part)}" style="color:{color}">{escape(part)}</a>' if index % 2 else escape(part)
        for index, part in enumerate(parts)
    ]
    return "".join(html).replace("\n", "<br>\n")


@lru_cache(maxsize=64)
def _frame(language: str, brand: str, color: str) -> tuple[str, str, str, str]:
    """The template cut at its three slots (title, paragraphs, footer), once per language and brand.

    Rendering the whole template per message cost ~80 µs; the dispatcher renders thousands a
    second, so the frame is rendered once with markers and filled by joining strings.
    """
    marks = ("\x00title\x00", "\x00paragraphs\x00", "\x00footer\x00")
    page = get_template("notifications/email/message.html").render(
        {
            "language": language,
            "brand": brand,
            "color": color,
            "subject": mark_safe(marks[0]),
            "paragraphs": mark_safe(marks[1]),
            "footer": mark_safe(marks[2]),
        }
    )
    head, rest = page.split(marks[0])
    middle, rest = rest.split(marks[1])
    before_footer, tail = rest.split(marks[2])
    return head, middle, before_footer, tail


def email_html(message: Message, *, language: str) -> str:
    """The HTML alternative of an e-mail ``message`` whose plain body render() has completed."""
    paragraphs = [paragraph.strip() for paragraph in message.body.split("\n\n") if paragraph.strip()]
    if FOOTER_RULE in paragraphs:
        split = paragraphs.index(FOOTER_RULE)
        content, footer = paragraphs[:split], paragraphs[split + 1 :]
    else:
        content, footer = paragraphs, []
    color = settings.BRAND_COLOR
    head, middle, before_footer, tail = _frame(language, settings.BRAND_NAME, color)
    return "".join(
        [
            head,
            escape(message.subject),
            middle,
            *(f'<p style="margin:0 0 16px;">{_linked(paragraph, color)}</p>\n' for paragraph in content),
            before_footer,
            *(f'<p style="margin:0 0 8px;">{_linked(paragraph, color)}</p>\n' for paragraph in footer),
            tail,
        ]
    )
