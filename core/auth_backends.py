"""Django's ModelBackend with a user's permissions read in one small query.

Every page and API call checks a role permission (`has_perm`), and ModelBackend reads the user's own
permissions and her groups' in two queries on each request's fresh user object. One query gives the
same set (tested against ModelBackend). It is written as SQL rather than as the ORM's UNION of two
four-table joins: that form took 0.45 ms to plan and run on a warm connection and ~1 ms of Python to
compile on every request; this one (the permission ids first, then one join for their names) 0.19 ms
and no compilation (measured with EXPLAIN ANALYZE and cProfile on the dashboard, session 6).
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


@cache
def _permissions_sql() -> str:
    """The query, with table names from the models (built once: they cannot change while running)."""
    user_model = get_user_model()
    own = user_model.user_permissions.through._meta.db_table
    membership = user_model.groups.through._meta.db_table
    granted = Group.permissions.through._meta.db_table
    return (
        f"SELECT ct.app_label, p.codename FROM {Permission._meta.db_table} p "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE p.id IN (SELECT permission_id FROM {own} WHERE user_id = %s "
        f"UNION ALL SELECT gp.permission_id FROM {granted} gp "
        f"JOIN {membership} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)"
    )


class ModelBackendOneQuery(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(_permissions_sql(), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}
        return user_obj._perm_cache
