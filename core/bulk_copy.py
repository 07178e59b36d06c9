"""COPY in bulk. Writing (the synthetic trial, the lab import): rows formatted as COPY text and sent with
psycopg2's `copy_expert`. Reading (the statistics): fixed-width rows by binary COPY into numpy.

COPY fires pghistory's statement-level triggers like an INSERT does (one event per row, read from the
statement's transition table), but it bypasses Django's cursor wrappers, and with them pghistory's
injection of the audit context. `bind_audit_context` therefore sets the context's transaction-local
variables once per transaction before the first COPY, so the events carry the same context (user,
reason) as the ORM writes around them.
"""

import io
import json
from collections.abc import Iterable
from datetime import date, datetime, time
from functools import lru_cache

import numpy as np
import pghistory.config
from django.utils import timezone
from pghistory import runtime

NULL = "\\N"
# The columns every clinical record starts with (core.models.ClinicalRecord), after the id.
CLINICAL_HEAD = [
    "version",
    "created_at",
    "created_by_id",
    "updated_at",
    "updated_by_id",
    "voided_at",
    "voided_by_id",
    "void_reason",
]
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES) if ("\\" in value or "\t" in value or "\n" in value) else value
    if isinstance(value, dict | list):
        return json.dumps(value).translate(_ESCAPES)
    return str(value)  # int, Decimal, date, aware datetime: PostgreSQL reads str() of each


@lru_cache(maxsize=4096)
def entered_at(day: date, at: time = time(12)) -> datetime:
    """A record's entry moment: its clinical date at `at`, local time (the data reads as entered on the day)."""
    return timezone.make_aware(datetime.combine(day, at))


def record_head(moment: datetime, user_id: int) -> str:
    """The ClinicalRecord columns of a first version entered at `moment` by `user_id`, as COPY text."""
    return f"1\t{moment}\t{user_id}\t{moment}\t{user_id}\t{NULL}\t{NULL}\t\t"


@lru_cache(maxsize=65536)
def clinical_head(day: date, user_id: int) -> str:
    """`record_head` of a record entered on `day` (the synthetic trial's back-dated entries)."""
    return record_head(entered_at(day), user_id)


class Table:
    """Rows for one table, buffered as COPY text until `flush`."""

    def __init__(self, model, fields: list[str], *, clinical: bool = True, with_id: bool = False):
        meta = model._meta
        self.table = meta.db_table
        specific = [meta.get_field(name).column for name in fields]
        self.columns = (["id"] if with_id else []) + (CLINICAL_HEAD if clinical else []) + specific
        self.lines: list[str] = []
        self.written = 0

    def add(self, values, *, head: str = "", pk: int | None = None) -> None:
        prefix = "" if pk is None else f"{pk}\t"
        self.lines.append(prefix + head + "\t".join(map(text, values)) + "\n")

    def add_line(self, line: str) -> None:
        """A row already in COPY text (the hot path for lab results)."""
        self.lines.append(line)

    def flush(self, cursor) -> None:
        if not self.lines:
            return
        self.stream(cursor, self.lines)
        self.lines = []

    def stream(self, cursor, lines: Iterable[str]) -> None:
        """COPY rows formatted as the server reads them: PostgreSQL stores the first rows (on the other
        core) while later ones are still being formatted, instead of after the last one."""
        columns = ", ".join(f'"{c}"' for c in self.columns)
        reader = _LineReader(lines)
        cursor.copy_expert(f'COPY "{self.table}" ({columns}) FROM STDIN', reader, COPY_CHUNK)
        self.written += reader.lines


COPY_CHUNK = 1 << 16


class _LineReader(io.TextIOBase):
    """A text file over an iterable of COPY lines, read in chunks of at least `size` characters."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self._rest = ""
        self.lines = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        parts, length = [self._rest], len(self._rest)
        for line in self._lines:
            parts.append(line)
            length += len(line)
            self.lines += 1
            if size is not None and 0 <= size <= length:
                break
        data = "".join(parts)
        if size is None or size < 0 or len(data) <= size:
            self._rest = ""
            return data
        self._rest = data[size:]
        return data[:size]


def reserve_ids(cursor, model, count: int) -> list[int]:
    """`count` primary keys taken from the table's own sequence (safe beside concurrent writers)."""
    if count == 0:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [model._meta.db_table, count]
    )
    return [row[0] for row in cursor.fetchall()]


def bind_audit_context(cursor) -> None:
    """Give COPY statements the audit context the ORM statements of this transaction carry."""
    current = runtime._tracker.value  # core.audit.audited opened it
    metadata = json.dumps(current.metadata, cls=pghistory.config.json_encoder())
    cursor.execute(
        "SELECT set_config('pghistory.context_id', %s, true), set_config('pghistory.context_metadata', %s, true)",
        [str(current.id), metadata],
    )


# --- Reading: fixed-width rows by binary COPY, straight into numpy ---------------------------------------

_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags 0, no header extension
_PGCOPY_TRAILER = b"\xff\xff"


def copy_out_columns(cursor, sql: str, params: list, fields: list[tuple[str, str]]) -> np.ndarray:
    """The rows of `sql` as a numpy structured array, by `COPY (…) TO STDOUT (FORMAT binary)`.

    `fields` name each column and its numpy type: "i4" (int4), "i8" (int8), "f8" (float8) or "?" (bool),
    in the query's order. Every value must be non-NULL (COALESCE a float to 'NaN'): then every row has
    the same bytes, and one `frombuffer` decodes a million rows in milliseconds, where fetching tuples or
    text arrays costs seconds. A row that does not have that layout raises rather than being misread.
    """
    layout = [("columns", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_length", ">i4"), (name, ">" + kind if kind != "?" else "?")]
    dtype = np.dtype(layout)
    buffer = io.BytesIO()
    cursor.copy_expert(f"COPY ({cursor.mogrify(sql, params).decode()}) TO STDOUT (FORMAT binary)", buffer)
    data = buffer.getvalue()
    if not (data.startswith(_PGCOPY_HEADER) and data.endswith(_PGCOPY_TRAILER)):
        raise ValueError("Not a binary COPY stream with the expected header and trailer.")
    body = memoryview(data)[len(_PGCOPY_HEADER) : -len(_PGCOPY_TRAILER)]
    if len(body) % dtype.itemsize:
        raise ValueError("Binary COPY rows are not fixed width: a NULL or a column of another type?")
    rows = np.frombuffer(body, dtype=dtype)
    sizes = {name: dtype.fields[name][0].itemsize for name, _kind in fields}
    if (rows["columns"] != len(fields)).any() or any((rows[f"{n}_length"] != s).any() for n, s in sizes.items()):
        raise ValueError("Binary COPY rows do not have the expected columns (a NULL value?).")
    return rows
