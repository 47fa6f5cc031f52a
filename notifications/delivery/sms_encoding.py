"""SMS length in segments: GSM-7 when every character fits, UCS-2 otherwise (e.g. Cyrillic).

One GSM-7 segment holds 160 characters (153 when split), extension characters count twice;
UCS-2 holds 70 (67 when split), counted in UTF-16 code units. Providers bill per segment.
"""

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, segments) for ``text``: ("gsm7" or "ucs2", how many SMS it takes)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, part, encoding = 160, 153, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "ucs2"
    if units <= single:
        return encoding, 1
    return encoding, -(-units // part)
