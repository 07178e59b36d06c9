"""COPY helpers (core.bulk_copy): lines streamed to the server as they are formatted."""

import pytest
from django.db import connection

from core.bulk_copy import _LineReader


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 16, -1, None])
def test_the_line_reader_gives_every_line_once_in_order_whatever_the_chunk_size(size):
    lines = [f"{n}\tvalue {n}\n" for n in range(500)]
    reader = _LineReader(iter(lines))
    chunks = []
    while chunk := reader.read(size):
        assert size is None or size < 0 or len(chunk) <= size
        chunks.append(chunk)
    assert "".join(chunks) == "".join(lines)
    assert reader.lines == 500


@pytest.mark.django_db
def test_a_streamed_copy_stores_every_line():
    from core.bulk_copy import Table
    from core.models import Timepoint

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (LIKE core_timepoint INCLUDING DEFAULTS INCLUDING IDENTITY)")
    table = Table(Timepoint, ["code", "label", "day_offset", "window_before", "window_after", "order"], clinical=False)
    table.table = "copy_probe"
    lines = (f"T{n}\tPoint {n}\t{n}\t1\t1\t{n}\n" for n in range(3000))
    with connection.cursor() as cursor:
        table.stream(cursor, lines)
        cursor.execute("SELECT count(*), sum(day_offset) FROM copy_probe")
        assert cursor.fetchone() == (3000, sum(range(3000)))
    assert table.written == 3000
