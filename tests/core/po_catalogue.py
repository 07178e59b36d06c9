"""The committed Chinese catalogue (locale/zh_Hans/LC_MESSAGES), read once for the translation tests: its
entries by (msgctxt, msgid), and the placeholders a translation must keep."""

import ast
import re
from pathlib import Path

from django.conf import settings

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"


def _po_entry(block: list[str]) -> dict:
    """One entry of a .po file: its strings by keyword (msgstr[n] as "msgstr[n]"), flags, obsolete."""
    entry, keyword = {"flags": set(), "obsolete": all(line.startswith("#~") for line in block if line)}, None
    for line in (line.removeprefix("#~ ") for line in block):
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (\".*\")$", line):
            keyword = match.group(1)
            entry[keyword] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and keyword:
            entry[keyword] += ast.literal_eval(line)
    entry["msgstr"] = [value for name, value in entry.items() if name.startswith("msgstr")]
    return entry


def read_po(path: Path) -> dict[tuple[str | None, str], dict]:
    """(msgctxt, msgid) → entry, for every entry but the header; obsolete (#~) entries are kept, marked."""
    blocks = [block.splitlines() for block in path.read_text(encoding="utf-8").split("\n\n")]
    entries = [_po_entry(block) for block in blocks]
    return {(e.get("msgctxt"), e["msgid"]): e for e in entries if e.get("msgid")}


COMMITTED = read_po(PO_FILE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}")
