"""Revocation of an account's API tokens by the database when its password, activity or roles change.

Why triggers and not Django signals: a password is changed by the password-change page, the set-password
link, `manage.py changepassword`, the admin and services; roles by the admin, services, `group.user_set`,
`QuerySet.update()`, a deleted group's cascade and raw SQL. Signals miss the last few (no `m2m_changed`
for a cascade, no `pre_save` for `update()`); a row trigger on `auth_user` and `auth_user_groups` sees
every one of them. Each revoked token becomes a TOKEN_REVOKED account event inserted by the same trigger,
so it joins the hash-chained trail under the audit context of whatever made the change (who and why).

Installed after every migrate (core/apps.py), like the audit chain: the tables belong to other apps.
A password *hash* upgrade on login (Django re-hashes after a hasher change) counts as a change, as it
does for Django's own session invalidation.
"""

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from knox.models import AuthToken

from core.models import AccountEvent, AccountEventKind

FUNCTION = "ivf_tokens_revoke"
USER_TRIGGER = "ivf_tokens_revoke_on_account_change"
ROLE_TRIGGER = "ivf_tokens_revoke_on_role_change"


def _sql() -> list[str]:
    user = get_user_model()
    users, membership = user._meta.db_table, user.groups.through._meta.db_table
    tokens, events = AuthToken._meta.db_table, AccountEvent._meta.db_table
    username = user._meta.get_field(user.USERNAME_FIELD).column
    return [
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}(account bigint, why text) RETURNS void AS $$
        BEGIN
            WITH gone AS (DELETE FROM {tokens} WHERE user_id = account RETURNING token_key, expiry)
            INSERT INTO {events} (kind, user_id, username, detail)
            SELECT '{AccountEventKind.TOKEN_REVOKED.value}', account, u.{username}, jsonb_build_object(
                'token_key', g.token_key,
                'expires_at', to_char(g.expiry AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                'reason', why)
            FROM gone g JOIN {users} u ON u.id = account;
        END $$ LANGUAGE plpgsql""",
        f"""
        CREATE OR REPLACE FUNCTION {USER_TRIGGER}() RETURNS trigger AS $$
        BEGIN
            IF NEW.password IS DISTINCT FROM OLD.password THEN
                PERFORM {FUNCTION}(NEW.id, 'password changed');
            ELSIF OLD.is_active AND NOT NEW.is_active THEN
                PERFORM {FUNCTION}(NEW.id, 'account deactivated');
            ELSIF NEW.is_superuser IS DISTINCT FROM OLD.is_superuser OR NEW.is_staff IS DISTINCT FROM OLD.is_staff THEN
                PERFORM {FUNCTION}(NEW.id, 'privileges changed');
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS {USER_TRIGGER} ON {users}",
        f"CREATE TRIGGER {USER_TRIGGER} AFTER UPDATE ON {users} FOR EACH ROW EXECUTE FUNCTION {USER_TRIGGER}()",
        f"""
        CREATE OR REPLACE FUNCTION {ROLE_TRIGGER}() RETURNS trigger AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                PERFORM {FUNCTION}(OLD.user_id, 'role changed');
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM {FUNCTION}(NEW.user_id, 'role changed');
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS {ROLE_TRIGGER} ON {membership}",
        f"CREATE TRIGGER {ROLE_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {membership} "
        f"FOR EACH ROW EXECUTE FUNCTION {ROLE_TRIGGER}()",
    ]


def install_token_triggers(using: str = DEFAULT_DB_ALIAS, **kwargs) -> bool:
    """post_migrate: (re)install the triggers once the token and event tables exist; True when installed."""
    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if not {AuthToken._meta.db_table, AccountEvent._meta.db_table} <= tables:
        return False  # migrated to a state before knox or the account events
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in _sql():
            cursor.execute(statement)
    return True
