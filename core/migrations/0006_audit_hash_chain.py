"""Tamper-evident audit: every pghistory event and context row is hashed into one chain at commit.

The functions and the pending table live here; `core.audit_chain.install_chain_triggers` (run after
every `migrate`) attaches the queueing triggers to every audit table, including ones added later.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

# The session settings that change how a row prints as text (timestamptz offset and style, floats,
# bytea, intervals). Fixed on the functions so a hash does not depend on the writer's session;
# core.audit_chain.CANONICAL_SETTINGS must stay equal (tested).
CANONICAL = (
    "SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' "
    "SET extra_float_digits = 1 SET bytea_output = 'hex'"
)

SQL = f"""
CREATE UNLOGGED TABLE ivf_audit_chain_pending (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    ncols smallint NOT NULL,
    event_ids bigint[],
    context_ids uuid[],
    leaves bytea[] NOT NULL
);
ALTER TABLE ivf_audit_chain_pending ALTER COLUMN leaves SET STORAGE EXTERNAL;

-- STABLE like convert_to(), so that it is inlined into the calling query (no call per row).
CREATE FUNCTION ivf_audit_chain_leaf(table_name text, doc text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT sha256(convert_to(table_name || E'\\n' || doc, 'UTF8')) $$;

CREATE FUNCTION ivf_audit_chain_ncols(rel oid) RETURNS smallint
LANGUAGE sql STABLE
AS $$ SELECT count(*)::smallint FROM pg_attribute WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped $$;

-- AFTER INSERT FOR EACH STATEMENT on every pghistory event table (argument: its key column). The
-- document of a row is its text form, e.g. (12,"2026-01-01 08:00:00+00",insert,...).
CREATE FUNCTION ivf_audit_chain_queue() RETURNS trigger
LANGUAGE plpgsql {CANONICAL}
AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO ivf_audit_chain_pending (table_name, ncols, event_ids, leaves) '
        'SELECT $1, $2, array_agg(s.k), array_agg(s.leaf) FROM ('
        '  SELECT n.%1$I AS k, ivf_audit_chain_leaf($1, n::text) AS leaf FROM new_rows n'
        ') s HAVING count(*) > 0',
        TG_ARGV[0]
    ) USING TG_TABLE_NAME::text, ivf_audit_chain_ncols(TG_RELID);
    RETURN NULL;
END;
$$;

-- AFTER INSERT FOR EACH ROW on pghistory_context, i.e. once per audited block (pghistory's upserts of
-- an existing context insert nothing). Arguments: the key column, then columns left out of the
-- document (updated_at: pghistory's bookkeeping, which may change).
CREATE FUNCTION ivf_audit_chain_queue_context() RETURNS trigger
LANGUAGE plpgsql {CANONICAL}
AS $$
DECLARE
    doc text;
    key uuid;
BEGIN
    EXECUTE format(
        'SELECT ROW(%s)::text, ($1).%I FROM (SELECT ($1).*) n',
        (SELECT string_agg(format('n.%I', attname), ', ' ORDER BY attnum) FROM pg_attribute
         WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped AND attname <> ALL (TG_ARGV[1:])),
        TG_ARGV[0]
    ) INTO doc, key USING NEW;
    INSERT INTO ivf_audit_chain_pending (table_name, ncols, context_ids, leaves)
    VALUES (TG_TABLE_NAME, ivf_audit_chain_ncols(TG_RELID), ARRAY[key], ARRAY[ivf_audit_chain_leaf(TG_TABLE_NAME, doc)]);
    RETURN NULL;
END;
$$;

-- Deferred to commit: the chain lock is then held only from here to the end of the commit, never
-- while the transaction still waits for row locks (which would deadlock concurrent writers).
CREATE FUNCTION ivf_audit_chain_append() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    prev bytea;
    first_prev bytea;
    leaf bytea;
    hashes bytea[] := '{{}}';
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'audited changes must run at READ COMMITTED: the audit hash chain continues from the latest committed link'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('ivf_audit_chain', 0));
    SELECT l.hash INTO prev FROM core_auditchainlink l ORDER BY l.seq DESC LIMIT 1;
    prev := coalesce(prev, decode(repeat('00', 32), 'hex'));
    first_prev := prev;
    FOREACH leaf IN ARRAY NEW.leaves LOOP
        prev := sha256(prev || leaf);
        hashes := hashes || prev;
    END LOOP;
    INSERT INTO core_auditchainlink (table_name, event_id, context_id, ncols, prev_hash, hash)
    SELECT NEW.table_name, u.event_id, u.context_id, NEW.ncols,
           coalesce(lag(u.hash) OVER (ORDER BY u.ord), first_prev), u.hash
    FROM unnest(NEW.event_ids, NEW.context_ids, hashes) WITH ORDINALITY AS u(event_id, context_id, hash, ord)
    ORDER BY u.ord;
    DELETE FROM ivf_audit_chain_pending WHERE id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ivf_audit_chain_append
    AFTER INSERT ON ivf_audit_chain_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ivf_audit_chain_append();

CREATE FUNCTION ivf_audit_chain_refuse_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'audit chain links cannot be changed or deleted' USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER ivf_audit_chain_append_only
    BEFORE UPDATE OR DELETE ON core_auditchainlink
    FOR EACH ROW EXECUTE FUNCTION ivf_audit_chain_refuse_change();
"""

REVERSE = """
DROP TABLE IF EXISTS ivf_audit_chain_pending;
DROP FUNCTION IF EXISTS ivf_audit_chain_append();
DROP FUNCTION IF EXISTS ivf_audit_chain_queue() CASCADE;
DROP FUNCTION IF EXISTS ivf_audit_chain_queue_context() CASCADE;
DROP FUNCTION IF EXISTS ivf_audit_chain_ncols(oid);
DROP FUNCTION IF EXISTS ivf_audit_chain_leaf(text, text);
DROP TRIGGER IF EXISTS ivf_audit_chain_append_only ON core_auditchainlink;
DROP FUNCTION IF EXISTS ivf_audit_chain_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_statement_level_audit_triggers"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainLink",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("table_name", models.CharField(max_length=63)),
                ("event_id", models.BigIntegerField(null=True)),
                ("context_id", models.UUIDField(null=True)),
                ("ncols", models.SmallIntegerField()),
                ("prev_hash", models.BinaryField()),
                ("hash", models.BinaryField()),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "ordering": ["seq"],
            },
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
