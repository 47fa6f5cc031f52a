"""Reading keyword replies (STOP, START, HELP) in any case, punctuation and our customers' languages."""

import re
import unicodedata

# Compared without diacritics ("lõpeta" reads as "lopeta"), in any case; Cyrillic is kept as it is.
STOP = {
    # English, and what people really type
    "stop", "stopall", "unsubscribe", "unsub", "unsubscibe", "unsuscribe", "cancel", "end", "quit", "revoke",
    "optout", "stp", "sotp", "stopp", "stopit",
    # Estonian, Finnish, Swedish, Russian
    "lopeta", "loobu", "lopetage", "lopettaa", "avsluta", "sluta", "avregistrera",
    "стоп", "отписаться", "отписка", "отпишите", "хватит", "прекратить",
}  # fmt: skip
START = {"start", "unstop", "resume", "старт", "aloita", "starta", "alusta", "jatka", "возобновить"}
HELP = {"help", "info", "помощь", "apua", "hjälp", "hjalp", "abi", "справка", "ohje"}
# Politeness before or after the keyword ("please stop", "STOP palun") does not hide it.
FILLER = {"please", "pls", "plz", "palun", "ole", "hyvä", "hyva", "kiitos", "snälla", "snalla", "tack", "пожалуйста"}
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


def _plain(word: str) -> str:
    """The word without Latin diacritics (õ → o, ä → a); Cyrillic letters such as й stay whole."""
    if not word.isascii() and any("\u0400" <= char <= "\u04ff" for char in word):
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    words = [_plain(word) for word in text.split()]
    words = [word for word in words if word not in FILLER]
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
