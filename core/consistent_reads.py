"""Read-only queries run side by side on several connections, all seeing one database snapshot.

The statistics job reads ~10 large aggregates (seconds each at 100,000 women). Run one after another
they leave a core idle while Python decodes each result; run on two connections they overlap. Each
connection still sees exactly the same data: this one opens a REPEATABLE READ transaction and exports
its snapshot (`pg_export_snapshot()`); every read runs in a transaction of a helper thread's own
connection that adopts it (`SET TRANSACTION SNAPSHOT`) before its first query. So the figures and the
data version stored with them describe one moment, even with writers committing meanwhile (a plain
sequence of autocommit reads would see each commit as it lands).

Inside an open transaction (a request, a test case) there is no snapshot other connections could
share, so the reads run one after another on the current connection instead.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection, transaction

# Two cores here: more connections would only queue behind each other (and PostgreSQL's own work).
DEFAULT_WORKERS = 2


def read_consistently(reads: dict[str, Callable[[], Any]], *, workers: int = DEFAULT_WORKERS) -> dict[str, Any]:
    """Each read's result by name. Reads start in the order given: put the longest first."""
    if connection.in_atomic_block:
        return {name: read() for name, read in reads.items()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="consistent-read") as pool:
            futures = {name: pool.submit(_in_snapshot, snapshot, read) for name, read in reads.items()}
            return {name: future.result() for name, future in futures.items()}


def _in_snapshot(snapshot: str, read: Callable[[], Any]) -> Any:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            return read()
    finally:
        connection.close()  # the thread's own connection; a new one costs milliseconds beside the reads
