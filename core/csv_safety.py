"""Spreadsheet formula injection (OWASP "CSV injection"): text cells a spreadsheet would run, defused.

Excel, LibreOffice and Google Sheets read a cell that starts with `=`, `+`, `-` or `@` as a formula
(`=HYPERLINK(...)` typed as an adverse event's description would run on the statistician's machine),
and a leading tab or carriage return can hide such a start. Every CSV this application writes puts a
`'` before a text cell that starts with one of these: spreadsheets show the cell as text and run
nothing. Only text is touched: a column is text by its declared type (the data dictionary's
"string"), never by guessing from its content, so a number such as -0.5 is written as it is. JSON
keeps values exactly as entered.

Pure: no Django. The SQL of the exports that PostgreSQL encodes itself (`COPY ... TO STDOUT`) applies
the same rule, built from the constants below.
"""

from collections.abc import Iterable, Iterator, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
TEXT_TYPE = "string"  # the data dictionary's type of a text column


def csv_text(value):
    """A cell as written to CSV: a text value starting like a formula gets a leading `'`; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return ESCAPE + value
    return value


def text_columns(types: Iterable[str]) -> tuple[int, ...]:
    """Positions of the text columns, from the columns' declared types in order."""
    return tuple(index for index, kind in enumerate(types) if kind == TEXT_TYPE)


def csv_rows(rows: Iterable[list], text_positions: Sequence[int]) -> Iterator[list]:
    """The rows with their text cells (at `text_positions`) defused; each row list is changed in place."""
    for row in rows:
        for index in text_positions:
            row[index] = csv_text(row[index])
        yield row


def csv_cells(rows: Iterable[Sequence]) -> list[list]:
    """Rows whose cells carry their own types (str is text, numbers are numbers), every text cell defused."""
    return [[csv_text(cell) for cell in row] for row in rows]
