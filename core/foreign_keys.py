"""Foreign keys checked once per statement, for the tables the bulk paths write.

A declared PostgreSQL foreign key checks every inserted row on its own (an index probe and a row lock,
through SPI): four checks per lab result, 2.5 s of storing a 100,000-row lab import, a third of it
(measured). `StatementForeignKeys` gives the same guarantee set-based: after each INSERT or UPDATE
statement, one query per referenced table locks the distinct keys the statement wrote FOR KEY SHARE
(the lock the per-row check takes, so a concurrent delete of a parent waits for this transaction as
it would) and refuses the statement, with SQLSTATE 23503 like a foreign key, if any is missing. The
other side, deleting a row still referenced, is refused by a trigger on each referenced table that
`install_referenced_triggers` (after every migrate) keeps in step with the models.

Which keys: every ForeignKey declared with `db_constraint=False` on a model whose Meta.triggers hold
`statement_foreign_keys()`; `unchecked_foreign_keys()` lists any that would be left unchecked
(a test keeps it empty). pghistory's event tables are unconstrained by design and are not included.

What differs from a declared key: the check runs at the end of each statement, not deferred to the
commit, so a child cannot be written before its parent within a transaction (nothing here does); the
referenced table's key is never updated (Django never changes a primary key), and TRUNCATE of a
referenced table alone is not refused.
"""

from collections import defaultdict

import pgtrigger
from django.apps import apps as django_apps
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

REFERENCED_TRIGGER = "ivf_fk_referenced"
TRANSITION = "fk_rows"


class StatementForeignKeys(pgtrigger.Trigger):
    """AFTER INSERT (or UPDATE) FOR EACH STATEMENT: every key the statement wrote exists, locked."""

    level = pgtrigger.Statement
    when = pgtrigger.After
    referencing = pgtrigger.Referencing(new=TRANSITION)
    declare = [("missing", "text")]

    def get_func(self, model) -> str:
        checks = [
            _check_sql(model._meta.db_table, parent, column, keys)
            for (parent, column), keys in checked_keys(model).items()
        ]
        return "".join(checks) + "RETURN NULL;"


def statement_foreign_keys() -> list[StatementForeignKeys]:
    # Transition tables allow one event per trigger: one for INSERT (COPY included), one for UPDATE.
    return [
        StatementForeignKeys(name="foreign_keys_on_insert", operation=pgtrigger.Insert),
        StatementForeignKeys(name="foreign_keys_on_update", operation=pgtrigger.Update),
    ]


def checked_keys(model) -> dict[tuple[str, str], list[str]]:
    """(referenced table, its key column) → this model's columns referring to it, unconstrained ones only."""
    groups = defaultdict(list)
    for field in model._meta.concrete_fields:
        if isinstance(field, models.ForeignKey) and not field.db_constraint:
            groups[(field.related_model._meta.db_table, field.target_field.column)].append(field.column)
    return dict(groups)


def _check_sql(table: str, parent: str, key: str, columns: list[str]) -> str:
    values = ", ".join(f'(n."{c}")' for c in columns)
    return (
        f"WITH keys AS (SELECT DISTINCT v.k FROM {TRANSITION} n CROSS JOIN LATERAL (VALUES {values}) v(k) "
        "WHERE v.k IS NOT NULL), "
        f'locked AS (SELECT p."{key}" AS k FROM "{parent}" p WHERE p."{key}" IN (SELECT k FROM keys) '
        "FOR KEY SHARE OF p) "
        "SELECT keys.k::text INTO missing FROM keys WHERE NOT EXISTS (SELECT 1 FROM locked WHERE locked.k = keys.k) "
        "LIMIT 1; "
        "IF missing IS NOT NULL THEN RAISE EXCEPTION "
        f"'insert or update on table \"{table}\" refers to {parent}.{key} = %, which does not exist', missing "
        "USING ERRCODE = 'foreign_key_violation'; END IF; "
    )


def _checked_models() -> list:
    return [
        model
        for model in django_apps.get_models()
        if any(isinstance(t, StatementForeignKeys) for t in getattr(model._meta, "triggers", []))
    ]


def unchecked_foreign_keys() -> list[str]:
    """Foreign keys without a database constraint and without statement checks ("app.Model.field")."""
    import pghistory.models  # not at import time: core.models imports this module

    checked = set(_checked_models())
    return [
        f"{model._meta.label}.{field.name}"
        for model in django_apps.get_models()
        if not issubclass(model, pghistory.models.Event) and model._meta.managed and model not in checked
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and not field.db_constraint
    ]


REFERENCED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {REFERENCED_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    i integer := 0;
    still text;
BEGIN
    -- Arguments: the referenced key column, then (referring table, column) pairs.
    WHILE i < (TG_NARGS - 1) / 2 LOOP
        EXECUTE format(
            'SELECT o.%1$I::text FROM old_rows o WHERE EXISTS (SELECT 1 FROM %2$I c WHERE c.%3$I = o.%1$I) LIMIT 1',
            TG_ARGV[0], TG_ARGV[1 + 2 * i], TG_ARGV[2 + 2 * i]
        ) INTO still;
        IF still IS NOT NULL THEN
            RAISE EXCEPTION 'delete on table "%" removes %.% = %, still referred to by %.%',
                TG_TABLE_NAME, TG_TABLE_NAME, TG_ARGV[0], still, TG_ARGV[1 + 2 * i], TG_ARGV[2 + 2 * i]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        i := i + 1;
    END LOOP;
    RETURN NULL;
END;
$$;
"""


def referring_columns() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(referenced table, key column) → the (table, column) pairs checked per statement that refer to it."""
    referring = defaultdict(list)
    for model in _checked_models():
        for (parent, key), columns in checked_keys(model).items():
            referring[(parent, key)] += [(model._meta.db_table, column) for column in columns]
    return {target: sorted(pairs) for target, pairs in sorted(referring.items())}


def install_referenced_triggers(using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """post_migrate: on each referenced table, a statement trigger refusing to delete a referred-to row."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(REFERENCED_FUNCTION)
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s",
            [REFERENCED_TRIGGER],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"DROP TRIGGER {REFERENCED_TRIGGER} ON {quote(table)}")
        for (parent, key), pairs in referring_columns().items():
            arguments = ", ".join(f"'{name}'" for name in [key, *(part for pair in pairs for part in pair)])
            cursor.execute(
                f"CREATE TRIGGER {REFERENCED_TRIGGER} AFTER DELETE ON {quote(parent)} REFERENCING OLD TABLE AS "
                f"old_rows FOR EACH STATEMENT EXECUTE FUNCTION {REFERENCED_TRIGGER}({arguments})"
            )
