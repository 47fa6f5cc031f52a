"""A day's letters as one printable PDF: one page per letter, then sheets of address labels."""

import io
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from notifications.models import LetterBatch, Notification

LABELS_PER_ROW, LABEL_ROWS = 3, 8


def _font() -> str:
    """A font with Cyrillic and Estonian letters when the machine has one (DejaVu Sans)."""
    path = Path(settings.LETTER_FONT_PATH)
    if path.exists():
        if "LetterFont" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("LetterFont", str(path)))
        return "LetterFont"
    return "Helvetica"


def _address_lines(customer) -> list[str]:
    lines = [customer.full_name or str(customer), customer.address_line]
    lines.append(f"{customer.postal_code} {customer.city}".strip())
    if customer.country:
        lines.append(customer.country)
    return [line for line in lines if line]


def batch_pdf(batch: LetterBatch) -> bytes:
    letters = list(batch.letters.select_related("customer").order_by("id"))
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=15)
    small = ParagraphStyle("small", fontName=font, fontSize=9, leading=11)
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=20)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm, bottomMargin=20 * mm
    )
    story = []
    for letter in letters:
        story.append(Paragraph(escape(settings.BRAND_NAME), heading))
        story.append(Paragraph(escape(f"{settings.BRAND_CONTACT_PHONE} · {settings.BRAND_CONTACT_EMAIL}"), small))
        story.append(Spacer(1, 18 * mm))
        for line in _address_lines(letter.customer):
            story.append(Paragraph(escape(line), body))
        story.append(Spacer(1, 12 * mm))
        story.append(Paragraph(escape(date_format(batch.day, "DATE_FORMAT")), body))
        story.append(Spacer(1, 6 * mm))
        if letter.subject:
            story.append(Paragraph(f"<b>{escape(letter.subject)}</b>", body))
            story.append(Spacer(1, 4 * mm))
        for paragraph in letter.body.split("\n\n"):
            story.append(Paragraph(escape(paragraph).replace("\n", "<br/>"), body))
            story.append(Spacer(1, 3 * mm))
        story.append(PageBreak())
    labels = [
        Paragraph("<br/>".join(escape(line) for line in _address_lines(letter.customer)), small) for letter in letters
    ]
    per_page = LABELS_PER_ROW * LABEL_ROWS
    for start in range(0, len(labels), per_page):
        page = labels[start : start + per_page]
        rows = [page[i : i + LABELS_PER_ROW] for i in range(0, len(page), LABELS_PER_ROW)]
        rows[-1] += [""] * (LABELS_PER_ROW - len(rows[-1]))
        table = Table(rows, colWidths=[56 * mm] * LABELS_PER_ROW, rowHeights=[31 * mm] * len(rows))
        table.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("GRID", (0, 0), (-1, -1), 0.25, "#cccccc")])
        )
        story.append(table)
        story.append(PageBreak())
    if not story:
        story.append(Paragraph("—", body))
    doc.build(story)
    return buffer.getvalue()


def letter_batch_mark_posted(*, batch: LetterBatch, staff) -> int:
    """Staff posted the batch: its letters are now sent. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        locked = LetterBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.posted_at:
            return 0
        count = Notification.objects.filter(letter_batch=locked, status=Notification.Status.PRINTING).update(
            status=Notification.Status.SENT, sent_at=now, updated_at=now
        )
        locked.posted_at, locked.posted_by = now, staff
        locked.save(update_fields=["posted_at", "posted_by"])
    return count
