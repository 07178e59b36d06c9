"""Django's `{# … #}` comment ends on its own line: one spread over lines is printed to every user (the
dashboard showed one). Longer comments use {% comment %}."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def unclosed_comments(text: str) -> list[int]:
    """Line numbers where a `{#` comment is not closed on the same line."""
    lines = enumerate(text.splitlines(), start=1)
    return [n for n, line in lines if "{#" in line and "#}" not in line.split("{#", 1)[1]]


def test_the_reader_finds_a_comment_spread_over_lines():
    assert unclosed_comments("{% load i18n %}\n{# one\n   two #}\n{# fine #}") == [2]


def test_no_template_spreads_a_short_comment_over_lines():
    found = {
        str(path.relative_to(TEMPLATES)): lines
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (lines := unclosed_comments(path.read_text(encoding="utf-8")))
    }
    assert found == {}
