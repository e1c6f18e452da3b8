"""The interface in French and English (Django i18n), and object texts in the visitor's language.

- The French catalogue is complete: Django's makemessages, run on a temporary copy of the project (the
  repository's locale/ is never touched), finds no string without a French translation and no fuzzy entry.
- The committed .mo files are compiled from the committed .po files (deployments need no gettext).
- Pages render in French for a French visitor, in English for an English one, with ``lang``/``dir`` set.
- The language switcher works without JavaScript (a form posting to Django's set_language view).
- Object texts follow the visitor's language with a fallback, each text block with its own ``lang``/``dir``.
"""

from __future__ import annotations

import ast
import gettext as gettext_module
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from archive.models import ObjectText
from tests.factories import make_object

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "locale"
# The same ignores and options as `make i18n` (Makefile: I18N_IGNORE, I18N_OPTIONS).
IGNORE = ["--ignore=.venv", "--ignore=media", "--ignore=test-artifacts", "--ignore=static/vendor"]
OPTIONS = ["--no-wrap", "--add-location=file", "--no-obsolete"]
# What the temporary copy leaves out: the ignored folders, caches and build output.
NOT_COPIED = {".git", ".venv", "media", "test-artifacts", "staticfiles", ".pytest_cache", ".ruff_cache", "build"}
HOW_TO_FIX = (
    "Run `make i18n` (Django's makemessages for fr and en, then compilemessages), translate the entries listed "
    "here in locale/fr/LC_MESSAGES/django.po (and delete their '#, fuzzy' line once checked), run `make i18n` "
    "again to compile, and commit both the .po and the .mo files."
)


@pytest.fixture(autouse=True)
def back_to_the_default_language():
    """LocaleMiddleware leaves the request's language active in this thread: never let it leak."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


# --- the catalogues -------------------------------------------------------------------------------------


def parse_po(text: str) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr ({index: text}), flags, obsolete."""
    entries: list[dict] = []
    entry: dict | None = None
    field: tuple[str, int | None] | None = None
    for raw in text.splitlines() + [""]:
        obsolete = raw.startswith("#~")
        line = raw[2:].strip() if obsolete else raw.strip()
        if not line:
            if entry is not None and "msgid" in entry:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"msgstr": {}, "flags": set(), "obsolete": False}
        entry["obsolete"] |= obsolete
        if line.startswith("#,") and not obsolete:
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$', line)
        if match:
            keyword, index, value = match.groups()
            field = (keyword, int(index) if index is not None else 0)
            if keyword == "msgstr":
                entry["msgstr"][field[1]] = ast.literal_eval(value)
            else:
                entry[keyword] = ast.literal_eval(value)
        elif line.startswith('"') and field is not None:
            keyword, index = field
            if keyword == "msgstr":
                entry["msgstr"][index] += ast.literal_eval(line)
            else:
                entry[keyword] += ast.literal_eval(line)
    return entries


def catalogue_problems(po_text: str) -> list[str]:
    """Entries without a translation or marked fuzzy (the header and obsolete entries aside)."""
    problems = []
    for entry in parse_po(po_text):
        if entry["obsolete"] or (entry["msgid"] == "" and "msgctxt" not in entry):
            continue
        label = repr(entry["msgid"]) + (f" (context {entry['msgctxt']!r})" if "msgctxt" in entry else "")
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {label}")
        elif not entry["msgstr"] or any(not text for text in entry["msgstr"].values()):
            problems.append(f"untranslated: {label}")
    return problems


def test_the_po_parser_sees_empty_plural_and_fuzzy_entries():
    sample = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Language: fr\\n"',
            "",
            "#: templates/x.html",
            'msgid "Map"',
            'msgstr "Carte"',
            "",
            'msgid "Search"',
            'msgstr ""',
            "",
            "#, fuzzy, python-format",
            'msgid "%(n)s object"',
            'msgid_plural "%(n)s objects"',
            'msgstr[0] "%(n)s objet"',
            'msgstr[1] "%(n)s objets"',
            "",
            'msgctxt "rows"',
            'msgid "Created"',
            'msgstr[0] ""',
            "",
            '#~ msgid "Old"',
            '#~ msgstr ""',
        ]
    )
    assert catalogue_problems(sample) == [
        "untranslated: 'Search'",
        "fuzzy: '%(n)s object'",
        "untranslated: 'Created' (context 'rows')",
    ]


def _copy_project(target: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
        if Path(folder).resolve() == ROOT:
            skipped |= NOT_COPIED & set(names)
        if Path(folder).resolve() == ROOT / "static":
            skipped |= {"vendor"} & set(names)
        return skipped

    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msguniq", "msgattrib")),
    reason="GNU gettext (xgettext, msgmerge, msguniq, msgattrib) is not installed; `make system-deps` installs it",
)
def test_makemessages_finds_no_untranslated_french_entry(tmp_path):
    """Every template and Python string marked for translation has a French translation, none fuzzy."""
    assert (LOCALE / "fr" / "LC_MESSAGES" / "django.po").exists(), HOW_TO_FIX
    copy = tmp_path / "project"
    _copy_project(copy)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ARCHIVE_MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", *IGNORE, *OPTIONS],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    problems = catalogue_problems((copy / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text("utf-8"))
    assert not problems, (
        f"{len(problems)} French entries need a translation:\n  " + "\n  ".join(problems) + ("\n" + HOW_TO_FIX)
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalogues_are_complete_and_compiled(language, tmp_path):
    """The committed .po has no empty or fuzzy entry, and the committed .mo holds exactly its translations."""
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = LOCALE / language / "LC_MESSAGES" / "django.mo"
    assert po.exists() and mo.exists(), HOW_TO_FIX
    problems = catalogue_problems(po.read_text("utf-8"))
    assert not problems, "\n  ".join([f"{po.relative_to(ROOT)}:", *problems]) + "\n" + HOW_TO_FIX
    if not shutil.which("msgfmt"):
        pytest.skip("msgfmt (GNU gettext) is not installed: cannot check that the .mo matches the .po")
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(po)], check=True, capture_output=True, timeout=60)
    with mo.open("rb") as committed, fresh.open("rb") as compiled:
        committed_catalog = gettext_module.GNUTranslations(committed)._catalog
        compiled_catalog = gettext_module.GNUTranslations(compiled)._catalog
    differing = sorted(str(key) for key in set(committed_catalog) ^ set(compiled_catalog))
    differing += sorted(
        str(key)
        for key in set(committed_catalog) & set(compiled_catalog)
        if key != "" and committed_catalog[key] != compiled_catalog[key]
    )
    assert not differing, f"{mo.relative_to(ROOT)} is not compiled from its .po ({differing[:10]}). " + HOW_TO_FIX


# --- pages in the visitor's language --------------------------------------------------------------------


def _page(client: Client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    assert response["Content-Language"] == language, url
    return html.unescape(response.content.decode())


@pytest.fixture
def catalogue(personas):
    obj = make_object(personas.collection, "Carved lintel", latitude=10.0, longitude=20.0)
    ObjectText.objects.filter(object=obj, language="fr").update(title="Linteau sculpté", description="En bois.")
    ObjectText.objects.create(object=obj, language="ar", title="عتبة منحوتة", description="عتبة خشبية منحوتة")
    return obj


FRENCH = {
    "/": ["Archive du patrimoine", "Publiés récemment", "Rechercher dans l'archive", "Changer de langue"],
    "/search/?q=lintel": ["Rechercher", "Affiner", "1 objet"],
    "/map/": ["Carte des objets", "Zoom avant", "localisation approximative"],
    "OBJECT": ["Linteau sculpté", "Citer comme", "Droits", "Carte"],
}
ENGLISH = {
    "/": ["Heritage Archive", "Recently published", "Search the archive", "Change language"],
    "/search/?q=lintel": ["Search", "Refine", "1 object"],
    "/map/": ["Map of the objects", "Zoom in", "approximate location"],
    "OBJECT": ["Carved lintel", "Cite as", "Rights", "Map"],
}


@pytest.mark.parametrize(("language", "expected"), [("fr", FRENCH), ("en", ENGLISH)])
def test_portal_pages_speak_the_visitors_language(catalogue, language, expected):
    client = Client()
    for url, strings in expected.items():
        url = catalogue.get_absolute_url() if url == "OBJECT" else url
        page = _page(client, url, language)
        assert f'<html lang="{language}" dir="ltr">' in page, url
        missing = [text for text in strings if text not in page]
        assert not missing, (url, language, missing)


@pytest.mark.parametrize(
    ("language", "strings"),
    [
        ("fr", ["Gestion des collections", "Nouvel objet", "Vos collections", "Identifiant", "Statut"]),
        ("en", ["Curation", "New object", "Your collections", "Identifier", "Status"]),
    ],
)
def test_curation_dashboard_speaks_the_curators_language(catalogue, personas, language, strings):
    client = Client()
    client.force_login(personas.curator)
    page = _page(client, "/curate/", language)
    assert f'<html lang="{language}"' in page
    assert not [text for text in strings if text not in page], strings


def test_french_page_has_no_english_interface_left_on_the_home_page(catalogue):
    page = _page(Client(), "/", "fr")
    for english in ("Recently published", "Search the archive", "Browse everything", "Log in"):
        assert english not in page, english


def test_the_language_switcher_works_without_javascript(catalogue):
    client = Client()
    home = _page(client, "/", "en")
    form = re.search(r'<form action="/i18n/setlang/" method="post"[^>]*>(.*?)</form>', home, re.S)
    assert form, "no language switcher posting to set_language"
    switcher = form.group(1)
    assert 'name="csrfmiddlewaretoken"' in switcher
    assert '<input name="next" type="hidden" value="/">' in switcher
    assert re.search(r'<label for="site-language"[^>]*>Language</label>', switcher)
    assert re.search(r'<select id="site-language" name="language">', switcher)
    assert '<option value="fr" lang="fr">Français</option>' in switcher
    assert '<button type="submit">Change language</button>' in switcher
    assert "onchange" not in switcher  # no change of context on selection alone (WCAG 3.2.2)

    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/map/"})
    assert response.status_code == 302 and response["Location"] == "/map/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = html.unescape(client.get("/").content.decode())  # the cookie wins over the browser's language
    assert '<html lang="fr" dir="ltr">' in page and "Publiés récemment" in page
    assert '<option value="fr" lang="fr" selected>Français</option>' in page

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = html.unescape(client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode())
    assert '<html lang="en" dir="ltr">' in page and "Recently published" in page


def test_a_language_outside_the_interface_falls_back_to_english(catalogue):
    response = Client().get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert response["Content-Language"] == "en"
    assert '<html lang="en" dir="ltr">' in response.content.decode()


# --- object texts ---------------------------------------------------------------------------------------


def _heading(page: str) -> str:
    match = re.search(r"<h1([^>]*)>(.*?)</h1>", page, re.S)
    assert match, "no h1"
    return match.group(1).strip() + " | " + match.group(2).strip()


def test_object_page_shows_the_visitors_language_and_every_text_with_its_own_direction(catalogue):
    client = Client()
    french = _page(client, catalogue.get_absolute_url(), "fr")
    assert _heading(french) == 'lang="fr" dir="ltr" | Linteau sculpté'
    english = _page(client, catalogue.get_absolute_url(), "en")
    assert _heading(english) == 'lang="en" dir="ltr" | Carved lintel'
    for page in (french, english):
        # Every text block carries its own language and direction, the Arabic one right to left.
        assert re.search(r'<section class="text" lang="ar" dir="rtl">\s*<h2>عتبة منحوتة</h2>', page)
        assert '<section class="text" lang="en" dir="ltr">' in page
        assert '<section class="text" lang="fr" dir="ltr">' in page
    # The result card of a search carries the language of the title it shows.
    card = _page(client, "/search/?q=lintel", "fr")
    assert re.search(r'<span class="title"\s+lang="fr" dir="ltr">Linteau sculpté</span>', card)


def test_object_text_falls_back_sensibly(personas):
    obj = make_object(personas.collection, "Carved lintel")  # texts in en (original) and fr
    ObjectText.objects.create(object=obj, language="ar", title="عتبة منحوتة")
    assert obj.text("fr").title == "Carved lintel (fr)"
    assert obj.text("fr-CA").title == "Carved lintel (fr)"  # a regional code uses its language
    assert obj.text("ar").direction == "rtl"
    assert obj.text("de").language == "en"  # a language without a text: English
    with translation.override("fr"):
        assert obj.title == "Carved lintel (fr)"  # no argument: the active language
    with translation.override("en"):
        assert obj.title == "Carved lintel"

    no_english = make_object(personas.collection, "Water jar")
    no_english.texts.filter(language="en").delete()
    assert no_english.text("de").language == "fr"  # then French

    only_arabic = make_object(personas.collection, "Minbar")
    only_arabic.texts.all().delete()
    ObjectText.objects.create(object=only_arabic, language="es", title="Minbar tallado")
    ObjectText.objects.create(object=only_arabic, language="ar", title="منبر", is_original=True)
    assert only_arabic.text("fr").language == "ar"  # then the original text
    page = _page(Client(), only_arabic.get_absolute_url(), "fr")
    assert _heading(page) == 'lang="ar" dir="rtl" | منبر'
