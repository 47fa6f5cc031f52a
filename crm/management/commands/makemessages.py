from django.core.management.commands import makemessages


class Command(makemessages.Command):
    """Django's makemessages without msgmerge's fuzzy matching.

    Fuzzy matching guesses a translation for a new string from a similar old one and marks it
    fuzzy, and compilemessages leaves fuzzy entries out: a new string would show in English while
    its .po entry looks translated. Exact or nothing: a translator fills the new entries in the .po
    files, which are the source of truth (``make messages`` never writes a msgstr).
    """

    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
