"""Tamper-evident audit: one SHA-256 hash chain over every audit row (pghistory events and contexts).

What is chained: each row of every pghistory event table (one per tracked model, found in the app
registry, so tables added later are covered) and each `pghistory_context` row (who, why, request id).
Link n stores `hash_n = sha256(hash_{n-1} || leaf_n)` with `leaf_n = sha256("<table>\\n<doc>")` (UTF-8);
the first link starts from 32 zero bytes. `doc` is the row's text form as PostgreSQL prints a row
(`(12,"2026-01-01 08:00:00+00",insert,...)`) under CANONICAL_SETTINGS, limited to the table's first
`ncols` columns (a column added later, e.g. a new field on a tracked model, is left out of older rows)
and, for contexts, without `updated_at` (pghistory's bookkeeping).

Why PostgreSQL prints the document, also for verification: each type's output function under fixed
settings gives one text per stored value (numerics with their scale, timestamps ISO in UTC); a Python
re-serialisation of every column type would be a second definition free to drift. The row text costs
about a third of `to_jsonb(row)::text` (measured), which matters at tens of thousands of rows per
statement. The hashing and the chaining are redone independently in Python by `verify_chain`.

How it is written (migration 0006): a statement-level AFTER INSERT trigger on each event table (row-
level on the context table) hashes the new rows into a pending row; a constraint trigger deferred to
commit takes a transaction-level advisory lock, continues the chain from the latest committed link and
writes one link per audit row. The lock is held only from there to the end of the commit, so writers
never wait on each other while they still hold or wait for row locks. Audited transactions must run at
READ COMMITTED (the default): the chain continues from the latest committed link, which an older
snapshot would not see, so the trigger refuses other isolation levels rather than fork the chain.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import sha256

import pghistory.models
from django.apps import apps as django_apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction

TRIGGER = "ivf_audit_chain"
LINK_TABLE = "core_auditchainlink"
GENESIS = bytes(32)
# Must equal the SET clauses of the trigger functions in core/migrations/0006_audit_hash_chain.py.
CANONICAL_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}


@dataclass(frozen=True)
class AuditTable:
    name: str
    key: str  # primary key column
    is_context: bool = False

    @property
    def link_key(self) -> str:
        return "context_id" if self.is_context else "event_id"

    @property
    def excluded(self) -> list[str]:
        return ["updated_at"] if self.is_context else []


@dataclass(frozen=True)
class Broken:
    """Why verification stopped, at the first problem found."""

    message: str
    seq: int | None = None


@dataclass(frozen=True)
class Verified:
    links: int
    head_seq: int | None
    head_hash: str


def audit_tables() -> list[AuditTable]:
    """Every table whose rows are chained: pghistory's context table and each event model's table."""
    context = pghistory.models.Context._meta
    tables = [AuditTable(context.db_table, context.pk.column, is_context=True)]
    for model in django_apps.get_models():
        meta = model._meta
        if issubclass(model, pghistory.models.Event) and meta.managed and not meta.proxy:
            tables.append(AuditTable(meta.db_table, meta.pk.column))
    return tables


def leaf_digest(table: str, doc: str) -> bytes:
    return sha256(f"{table}\n{doc}".encode()).digest()


def link_digest(prev: bytes, leaf: bytes) -> bytes:
    return sha256(prev + leaf).digest()


def _set_canonical(cursor) -> None:
    for name, value in CANONICAL_SETTINGS.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def _trigger_states(cursor) -> dict[str, str]:
    """Audit table → tgenabled of its chain trigger ('O' = enabled, 'D' = disabled)."""
    cursor.execute(
        "SELECT c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = %s AND c.relnamespace = 'public'::regnamespace",
        [TRIGGER],
    )
    return dict(cursor.fetchall())


def _existing(cursor, tables: list[AuditTable]) -> list[AuditTable]:
    cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
    names = {row[0] for row in cursor.fetchall()}
    return [t for t in tables if t.name in names]


def document_sql(table: AuditTable, columns: list[str], ncols: int, quote, alias: str = "e") -> str:
    """SQL printing the document of row `alias` as it was hashed when the table had `ncols` columns."""
    kept = [c for c in columns[:ncols] if c not in table.excluded]
    if len(kept) == len(columns):
        return f"{alias}::text"
    return "ROW(" + ", ".join(f"{alias}.{quote(c)}" for c in kept) + ")::text"


def install_chain_triggers(using: str = DEFAULT_DB_ALIAS, **kwargs) -> list[str]:
    """post_migrate: attach the chain trigger to every audit table lacking it; returns those tables.

    Rows a table already holds (e.g. written by a data migration before this ran) join the chain
    first, in key order, in the same transaction: CREATE TRIGGER locks out concurrent inserts.
    """
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('ivf_audit_chain_pending') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []  # migrated to before 0006 (e.g. `migrate core 0005`)
        installed = _trigger_states(cursor)
        missing = [t for t in _existing(cursor, audit_tables()) if t.name not in installed]
        _set_canonical(cursor)
        for table in missing:
            _install(cursor, connection.ops.quote_name, table)
    return [t.name for t in missing]


def _install(cursor, quote, table: AuditTable) -> None:
    name, key = quote(table.name), quote(table.key)
    if table.is_context:
        arguments = ", ".join(f"'{c}'" for c in [table.key, *table.excluded])
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION ivf_audit_chain_queue_context({arguments})"
        )
        order = f"e.created_at, e.{key}"
    else:
        cursor.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON {name} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION ivf_audit_chain_queue('{table.key}')"
        )
        order = f"e.{key}"
    columns = _columns(cursor, table.name)
    cursor.execute(
        f"INSERT INTO ivf_audit_chain_pending (table_name, ncols, {table.link_key}s, leaves) "
        "SELECT %s, %s, array_agg(s.k), array_agg(s.leaf) FROM ("
        f"  SELECT e.{key} AS k, ivf_audit_chain_leaf(%s, {document_sql(table, columns, len(columns), quote)}) AS leaf"
        f"  FROM {name} e WHERE NOT EXISTS (SELECT 1 FROM {LINK_TABLE} l"
        f"    WHERE l.table_name = %s AND l.{table.link_key} = e.{key}) ORDER BY {order}"
        ") s HAVING count(*) > 0",
        [table.name, len(columns), table.name, table.name],
    )


def verify_chain(using: str = DEFAULT_DB_ALIAS) -> Verified | Broken:
    """Recompute every link from the audit rows, in chain order, streaming; stop at the first problem."""
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if outermost:  # one snapshot for the walk and the counts, whoever commits meanwhile
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            _set_canonical(cursor)
            # The walk's plan (one index probe per link and audit table) looks costly enough to JIT-compile,
            # which takes seconds and saves nothing.
            cursor.execute("SELECT set_config('jit', 'off', true)")
            tables = _existing(cursor, audit_tables())
            problem = _check_triggers(cursor, tables)
            if problem:
                return problem
            columns = {t.name: _columns(cursor, t.name) for t in tables}
            cursor.execute(f"SELECT table_name, array_agg(DISTINCT ncols) FROM {LINK_TABLE} GROUP BY table_name")
            layouts = dict(cursor.fetchall())
        result = _walk(connection, tables, columns, layouts)
        if isinstance(result, Broken):
            return result
        with connection.cursor() as cursor:
            problem = _unlinked(cursor, connection.ops.quote_name, tables, result.counts)
    return problem or Verified(result.links, result.head_seq, result.head_hash)


def _check_triggers(cursor, tables: list[AuditTable]) -> Broken | None:
    states = _trigger_states(cursor)
    for table in tables:
        if table.name not in states:
            return Broken(f"audit table {table.name} has no chain trigger (run `manage.py migrate`)")
        if states[table.name] == "D":
            return Broken(f"the chain trigger of audit table {table.name} is disabled")
    return None


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


@dataclass
class _Walk:
    links: int = 0
    head_seq: int | None = None
    head_hash: str = GENESIS.hex()
    counts: dict[str, int] = field(default_factory=dict)


def _walk(connection, tables: list[AuditTable], columns: dict, layouts: dict) -> _Walk | Broken:
    walk = _Walk(counts=dict.fromkeys((t.name for t in tables), 0))
    expected_prev = GENESIS
    for seq, table, key, prev_hash, stored, doc in _links(connection, tables, columns, layouts):
        where = f"link {seq} ({table} {key})"
        if prev_hash != expected_prev:
            return Broken(
                f"{where}: its previous hash {prev_hash.hex()} is not the hash of the link before it "
                f"({expected_prev.hex()}): a link was deleted, inserted or altered",
                seq,
            )
        problem = _unreadable(table, doc, walk.counts)
        if problem:
            return Broken(f"{where}: {problem}", seq)
        computed = link_digest(expected_prev, leaf_digest(table, doc))
        if computed != stored:
            return Broken(
                f"{where}: expected hash {computed.hex()}, stored {stored.hex()}: "
                "the audit row or the link was altered",
                seq,
            )
        expected_prev = stored
        walk.links += 1
        walk.counts[table] += 1
        walk.head_seq, walk.head_hash = seq, stored.hex()
    return walk


def _unreadable(table: str, doc: str | None, counts: dict[str, int]) -> str:
    if table not in counts:
        return f"{table} is not an audit table"
    if doc is None:
        return "the audit row is missing (deleted)"
    if doc == "":
        return "the table has fewer columns than when the row was hashed (a column was dropped)"
    return ""


def _links(connection, tables: list[AuditTable], columns: dict, layouts: dict) -> Iterator[tuple]:
    """Every link in seq order beside its audit row's document (None: row gone; "": cannot be rebuilt)."""
    quote = connection.ops.quote_name
    branches, params = ["SELECT NULL::text AS doc WHERE false"], []  # the column's name, whatever follows
    for table in tables:
        cols = columns[table.name]
        cases = " ".join(
            f"WHEN {n} THEN {document_sql(table, cols, n, quote)}"
            for n in sorted(layouts.get(table.name, ()))
            if n <= len(cols)
        )
        if cases:
            branches.append(
                f"SELECT CASE l.ncols {cases} ELSE '' END FROM {quote(table.name)} e "
                f"WHERE l.table_name = %s AND e.{quote(table.key)} = l.{table.link_key}"
            )
            params.append(table.name)
    sql = (
        "SELECT l.seq, l.table_name, coalesce(l.event_id::text, l.context_id::text), l.prev_hash, l.hash, d.doc "
        f"FROM {LINK_TABLE} l LEFT JOIN LATERAL ({' UNION ALL '.join(branches)}) d ON true ORDER BY l.seq"
    )
    with connection.chunked_cursor() as cursor:  # server-side: constant memory, 2,000 rows a fetch
        cursor.execute(sql, params)
        for seq, table, key, prev_hash, stored, doc in cursor:
            yield seq, table, key, bytes(prev_hash), bytes(stored), doc


def _unlinked(cursor, quote, tables: list[AuditTable], counts: dict[str, int]) -> Broken | None:
    """An audit row without a link was written past the triggers (or its link deleted at the chain's end)."""
    for table in tables:
        cursor.execute(f"SELECT count(*) FROM {quote(table.name)}")
        if cursor.fetchone()[0] == counts[table.name]:
            continue
        cursor.execute(
            f"SELECT e.{quote(table.key)}::text FROM {quote(table.name)} e WHERE NOT EXISTS (SELECT 1 FROM "
            f"{LINK_TABLE} l WHERE l.table_name = %s AND l.{table.link_key} = e.{quote(table.key)}) "
            f"ORDER BY e.{quote(table.key)} LIMIT 1",
            [table.name],
        )
        row = cursor.fetchone()
        key = row[0] if row else "?"
        return Broken(f"audit row {table.name} {key} has no link in the chain: it was written past the triggers")
    return None
