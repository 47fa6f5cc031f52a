"""The .po files are the source of truth: `make messages` extracts and compiles and never writes a
translation, every catalogue is valid for msgfmt, and the compiled .mo serves what the .po says."""

import gettext
import re
import shlex
import shutil
import subprocess

import polib
import pytest
from django.core.management import call_command
from django.utils import translation

from config.settings.env import BASE_DIR

LANGUAGES = ["et", "fi", "ru", "sv"]
LOCALE = BASE_DIR / "locale"


def make_messages_commands() -> list[list[str]]:
    """The recipe of the Makefile's `messages` target, one argument list per line."""
    recipe = re.search(r"^messages:.*\n((?:\t.*\n)+)", (BASE_DIR / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has no `messages` target"
    return [shlex.split(line.strip()) for line in recipe.group(1).splitlines()]


def test_make_messages_only_extracts_and_compiles():
    commands = make_messages_commands()

    assert [command[:3] for command in commands] == [
        ["$(BIN)/python", "manage.py", "makemessages"],
        ["$(BIN)/python", "manage.py", "compilemessages"],
    ]
    assert {"-l", "et", "fi", "ru", "sv", "--no-obsolete"} <= set(commands[0])
    assert not (BASE_DIR / "bin" / "translations.py").exists()


@pytest.fixture
def project_copy(tmp_path, settings, monkeypatch):
    """A tiny project with a copy of the real catalogues, where makemessages may write."""
    shutil.copytree(LOCALE, tmp_path / "locale")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "pages.py").write_text(
        "from django.utils.translation import gettext as _, ngettext\n\n"
        "SKIP = _('Skip to content')\n"
        "NEW = _('A string no translator has seen yet')\n"
        "LEFT = ngettext('%(count)s point left', '%(count)s points left', 2)\n"
    )
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_translators_edit_survives_make_messages(project_copy):
    """A translator's own wording in a .po file is what customers get after `make messages`."""
    po_path = project_copy / "locale" / "et" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(po_path))
    catalogue.find("Skip to content").msgstr = "Otse sisu juurde"  # the translator's own wording
    catalogue.save()

    for command in make_messages_commands():  # exactly what the Makefile runs, in the copy
        call_command(*command[2:], verbosity=0)

    extracted = polib.pofile(str(po_path))
    assert extracted.find("Skip to content").msgstr == "Otse sisu juurde"
    new = extracted.find("A string no translator has seen yet")
    assert (new.msgstr, new.fuzzy) == ("", False)
    plural = extracted.find("%(count)s point left")
    assert plural.msgid_plural == "%(count)s points left"
    with open(po_path.with_suffix(".mo"), "rb") as compiled:
        served = gettext.GNUTranslations(compiled)
    assert served.gettext("Skip to content") == "Otse sisu juurde"
    russian = polib.pofile(str(project_copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    assert russian.find("Skip to content").msgstr == "Перейти к содержимому"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_passes_msgfmt_check(language):
    assert shutil.which("msgfmt"), "gettext's msgfmt is needed (apt-get install gettext)"
    po = LOCALE / language / "LC_MESSAGES" / "django.po"

    result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_serves_what_the_po_file_says(language):
    """A .po edited but not compiled (or compiled from another version) shows here, not to customers."""
    entries = [
        entry
        for entry in polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
        if entry.translated() and not entry.obsolete
    ]
    assert entries
    with translation.override(language):
        for entry in entries:
            if entry.msgid_plural:
                one = entry.msgstr_plural[0]
                if entry.msgctxt:
                    served = translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                else:
                    served = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
                assert served == one, entry.msgid
            elif entry.msgctxt:
                assert translation.pgettext(entry.msgctxt, entry.msgid) == entry.msgstr, entry.msgid
            else:
                assert translation.gettext(entry.msgid) == entry.msgstr, entry.msgid


# Which plural form each count takes: Estonian, Finnish and Swedish say "1 point" / "2 points";
# Russian has one form for 1, 21, 101, another for 2–4, 22–24 and a third for 0, 5–20, 25–30, 111.
PLURAL_CLASSES = {
    "et": {0: [1], 1: [0, 2, 5, 11, 21, 100]},
    "fi": {0: [1], 1: [0, 2, 5, 11, 21, 100]},
    "sv": {0: [1], 1: [0, 2, 5, 11, 21, 100]},
    "ru": {0: [1, 21, 31, 101], 1: [2, 3, 4, 22, 24, 102], 2: [0, 5, 11, 12, 14, 19, 20, 25, 111, 112]},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_declares_its_languages_plural_forms(language):
    header = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po")).metadata["Plural-Forms"]
    expression = re.search(r"plural=(.+?);?\s*$", header).group(1)
    plural = gettext.c2py(expression)

    assert {n: plural(n) for numbers in PLURAL_CLASSES[language].values() for n in numbers} == {
        n: form for form, numbers in PLURAL_CLASSES[language].items() for n in numbers
    }


def test_built_in_topics_templates_and_counts_are_extracted_for_translators(project_copy):
    """Topic names and templates with their contexts, and counted strings with a plural form."""
    for source in ["notifications/defaults.py", "notifications/delivery/rendering.py", "loyalty/services.py"]:
        (project_copy / "shop" / source.replace("/", "_")).write_text((BASE_DIR / source).read_text())
    (project_copy / "templates").mkdir()
    shutil.copy(BASE_DIR / "templates/admin/loyalty/adjust.html", project_copy / "templates")
    makemessages = make_messages_commands()[0]

    call_command(*makemessages[2:], verbosity=0)

    russian = polib.pofile(str(project_copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    assert russian.find("Promotion", msgctxt="topic")
    subject = russian.find("A gift of {{ points_text }}", msgctxt="email subject")
    assert "keep {{ … }} and {% … %} as they are" in subject.comment
    assert russian.find("{{ points_text }} will expire in {{ days_left_text }}.", msgctxt="sms")
    for singular, plural in [
        ("%(count)s point", "%(count)s points"),
        ("%(count)s day", "%(count)s days"),
        ("Only %(available)s point is available.", "Only %(available)s points are available."),
        ("Current balance: %(balance)s point.", "Current balance: %(balance)s points."),
    ]:
        entry = russian.find(singular)
        assert entry.msgid_plural == plural
        assert len(entry.msgstr_plural) == int(re.search(r"nplurals=(\d)", russian.metadata["Plural-Forms"])[1])
