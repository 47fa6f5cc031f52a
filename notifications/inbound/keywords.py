"""Reading keyword replies (STOP, START, HELP) in any case, punctuation and our customers' languages."""

import re
import unicodedata

STOP = {
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
    "стоп", "отписаться", "отписка", "lopeta", "avsluta", "stopp", "loobu",
}  # fmt: skip
START = {"start", "unstop", "старт", "aloita", "starta", "alusta"}
HELP = {"help", "info", "помощь", "apua", "hjälp", "hjalp", "abi"}
# Words after STOP that name a topic ("STOP PROMO" withdraws only promotions).
TOPIC_WORDS = {
    "promo": "promotion",
    "promos": "promotion",
    "promotion": "promotion",
    "promotions": "promotion",
    "offers": "promotion",
    "news": "new-products",
    "new": "new-products",
    "survey": "survey-invitation",
    "surveys": "survey-invitation",
    "events": "company-event",
    "event": "company-event",
    "greetings": "greeting",
    "stores": "store-opening",
}


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    words = text.split()
    if len(words) >= 2 and words[0] == "opt" and words[1] == "out":
        words = ["optout", *words[2:]]
    return words


def parse(text: str) -> tuple[str, str | None]:
    """(action, topic code or None): action is "stop", "start", "help" or "other"."""
    words = _words(text)
    if not words:
        return "other", None
    first = words[0]
    if first in STOP:
        topic = TOPIC_WORDS.get(words[1]) if len(words) > 1 else None
        return "stop", topic
    if first in START:
        return "start", None
    if first in HELP:
        return "help", None
    return "other", None
