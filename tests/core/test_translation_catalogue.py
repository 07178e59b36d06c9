"""The Chinese catalogue: every string of the sources is in the committed .po and translated, nothing in it
is stale or doubtful, translations keep their placeholders, and the committed .mo is compiled from it."""

import gettext as gnu_gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.core.po_catalogue import COMMITTED, MO_FILE, PLACEHOLDER, PO_FILE, read_po

# What makemessages reads (the same as `manage.py makemessages --ignore=.venv --ignore=var --ignore=tests
# --ignore=bench`): the project's own Python and templates.
SOURCE_SUFFIXES = {".py", ".html", ".txt"}
NOT_SOURCES = {".venv", "var", "tests", "bench", "locale"}

needs_gettext = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgfmt") is None,
    reason="GNU gettext (xgettext, msgfmt) is not installed: apt-get install gettext",
)


HTML_TAG = re.compile(r"</?(?:strong|code|span|time|br)\b[^>]*>")


def _extracted_msgids(tmp_path, settings, monkeypatch) -> set[tuple[str | None, str]]:
    """Run makemessages over a copy of the current sources; the keys of the catalogue it makes."""
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "src"
    for item in base.iterdir():
        if item.name in NOT_SOURCES or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(
                item,
                copy / item.name,
                ignore=lambda folder, names: [
                    n for n in names if not (Path(folder, n).is_dir() or Path(n).suffix in SOURCE_SUFFIXES)
                ],
            )
        elif item.suffix in SOURCE_SUFFIXES:
            copy.mkdir(exist_ok=True)
            shutil.copy2(item, copy / item.name)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["zh_Hans"], verbosity=0)
    return {key for key, entry in read_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").items()}


@needs_gettext
def test_every_string_of_the_sources_has_a_chinese_translation(tmp_path, settings, monkeypatch):
    extracted = _extracted_msgids(tmp_path, settings, monkeypatch)
    assert len(extracted) > 800  # the whole application, not an empty extraction
    missing = sorted(extracted - {key for key, entry in COMMITTED.items() if not entry["obsolete"]}, key=str)
    assert not missing, f"not in locale/zh_Hans/LC_MESSAGES/django.po (run makemessages, translate): {missing}"
    untranslated = sorted(
        (key for key in extracted if not all(COMMITTED[key]["msgstr"]) or "fuzzy" in COMMITTED[key]["flags"]),
        key=str,
    )
    assert not untranslated, f"empty or fuzzy translations: {untranslated}"


def test_the_catalogue_has_no_stale_or_doubtful_entries():
    assert COMMITTED, "locale/zh_Hans/LC_MESSAGES/django.po is empty"
    assert not [key for key, entry in COMMITTED.items() if entry["obsolete"]], "obsolete (#~) entries: run makemessages"
    assert not [key for key, entry in COMMITTED.items() if "fuzzy" in entry["flags"]]
    header = PO_FILE.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "#, fuzzy" not in header and "Plural-Forms: nplurals=1; plural=0;" in header


def test_translations_keep_every_placeholder():
    for (context, msgid), entry in COMMITTED.items():
        wanted = sorted(PLACEHOLDER.findall(msgid))
        for translated in entry["msgstr"]:
            assert sorted(PLACEHOLDER.findall(translated)) == wanted, (context, msgid, translated)
            assert sorted(HTML_TAG.findall(translated)) == sorted(HTML_TAG.findall(msgid)), (msgid, translated)


@needs_gettext
def test_the_committed_mo_file_is_compiled_from_the_committed_po(tmp_path):
    # A fresh machine without gettext serves Chinese from the committed .mo: it must say what the .po says.
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO_FILE)], check=True, capture_output=True)
    with compiled.open("rb") as fresh, MO_FILE.open("rb") as committed:
        assert gnu_gettext.GNUTranslations(committed)._catalog == gnu_gettext.GNUTranslations(fresh)._catalog
