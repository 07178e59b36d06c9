"""Several read-only queries at once, on two connections, all seeing one database snapshot.

The statistics job reads ~10 large aggregates (seconds each at 100,000 women). Run one after another
they leave a core idle while Python decodes each result; run on two connections they overlap. Each
connection still sees exactly the same data: the first opens a REPEATABLE READ transaction and exports
its snapshot (`pg_export_snapshot()`), the helper adopts it (`SET TRANSACTION SNAPSHOT`) before its first
query. So the figures and the data version stored with them describe one moment, even with writers
committing meanwhile (a plain sequence of autocommit reads would see each commit as it lands).

Inside an open transaction (a request, a test case) there is no snapshot to share that other
connections could see, so the reads run one after another on the current connection instead.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection, transaction


def read_consistently(main: Callable[[], Any], helper: Callable[[], Any]) -> tuple[Any, Any]:
    """(main(), helper()), run side by side on one snapshot: `main` here, `helper` on a second connection."""
    if connection.in_atomic_block:
        return main(), helper()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="consistent-read") as pool:
            helped = pool.submit(_in_snapshot, snapshot, helper)
            first = main()
            return first, helped.result()


def _in_snapshot(snapshot: str, read: Callable[[], Any]) -> Any:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            return read()
    finally:
        connection.close()  # this thread's own connection: it ends with the thread
