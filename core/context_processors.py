from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.roles import ADMIN, INVESTIGATOR, MONITOR, ROLE_PERMISSIONS, SITE_STAFF, STATISTICIAN
from core.selectors import current_trial

ROLE_LABELS = {
    SITE_STAFF: pgettext_lazy("role", "Site staff"),
    INVESTIGATOR: pgettext_lazy("role", "Investigator"),
    MONITOR: pgettext_lazy("role", "Monitor"),
    STATISTICIAN: pgettext_lazy("role", "Statistician"),
    ADMIN: pgettext_lazy("role", "Administrator"),
}


def trial(request):
    """For every logged-in page header: the trial's name (one small query) and the user's role names."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    user = request.user
    return {"trial": current_trial(request), "user_roles": lambda: role_labels(user)}


def role_labels(user) -> list[str]:
    """The translated names of the user's roles, read from the permissions the navigation has already loaded
    (no query of its own): every role whose permissions she holds, less a role another of hers contains (an
    investigator holds site staff's rights too)."""
    if user.is_superuser:
        return [str(_("Superuser"))]
    held = user.get_all_permissions()
    roles = [role for role, needed in ROLE_PERMISSIONS.items() if needed <= held]
    widest = [role for role in roles if not any(ROLE_PERMISSIONS[role] < ROLE_PERMISSIONS[other] for other in roles)]
    return [str(ROLE_LABELS[role]) for role in widest]
