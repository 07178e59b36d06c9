"""The five roles of SPEC §1, declared once here and synced to Django groups by `manage.py setup_roles`."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

SITE_STAFF = "site_staff"
INVESTIGATOR = "investigator"
MONITOR = "monitor"
STATISTICIAN = "statistician"
ADMIN = "admin"

_STAFF = {"core.enter_clinical_data", "core.view_identity"}
_CONFIGURATION_MODELS = [
    "auth.user",
    "core.site",
    "core.sitemembership",
    "core.trial",
    "core.arm",
    "core.eligibilitycriterion",
    "core.timepoint",
    "labs.analyte",
    "labs.referencerange",
    "outcomes.instrument",
]

ROLE_PERMISSIONS: dict[str, set[str]] = {
    SITE_STAFF: _STAFF,
    # Investigators approve who may see identity at their sites (the site's delegation log).
    INVESTIGATOR: _STAFF | {"core.view_dashboards", "core.sign_casebook", "core.approve_site_access"},
    MONITOR: {"core.view_all_sites", "core.raise_query", "core.verify_source_data"},
    STATISTICIAN: {
        "core.view_all_sites",
        "core.view_dashboards",
        "core.view_allocation",
        "core.manage_allocation",
        "core.flag_randomization_error",
        "core.view_unblinded_results",
        "core.export_data",
        "core.recompute_statistics",
        "core.lock_database",
        "core.approve_unblinded_access",
        "core.view_account_audit",
    },
    ADMIN: {
        f"{model.split('.')[0]}.{action}_{model.split('.')[1]}"
        for model in _CONFIGURATION_MODELS
        for action in ("view", "add", "change")
    }
    | {"core.view_account_audit", "core.review_access"},
}


# What makes a role or a site membership need a second person's approval (core/access_grants.py).
SEES_IDENTITY = "core.view_identity"
SEES_UNBLINDED = "core.view_unblinded_results"


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups and set exactly their declared permissions; safe to run repeatedly."""
    counts = {}
    for role, dotted_permissions in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([_permission(p) for p in sorted(dotted_permissions)])
        counts[role] = len(dotted_permissions)
    return counts
