"""Who may see and change which site's data: the one place site scoping and PHI visibility are decided."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from core.locks import ensure_database_unlocked


def member_site_ids(user) -> frozenset[int]:
    """Sites the user belongs to (cached on the user object for the request)."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_member_site_ids", None)
    if cached is None:
        cached = frozenset(user.site_memberships.values_list("site_id", flat=True))
        user._member_site_ids = cached
    return cached


def sees_all_sites(user) -> bool:
    return user.is_authenticated and user.has_perm("core.view_all_sites")


def site_filter(user, field: str = "site_id") -> Q:
    """A Q object limiting a queryset to the sites whose clinical data the user may read."""
    if sees_all_sites(user):
        return Q()
    return Q(**{f"{field}__in": member_site_ids(user)})


def can_read_site(user, site_id: int) -> bool:
    return sees_all_sites(user) or site_id in member_site_ids(user)


def can_view_identity(user, site_id: int) -> bool:
    """PHI only for staff and investigators of the patient's own site, never by role alone."""
    return user.is_authenticated and user.has_perm("core.view_identity") and site_id in member_site_ids(user)


def can_enter_data(user, site_id: int) -> bool:
    return user.is_authenticated and user.has_perm("core.enter_clinical_data") and site_id in member_site_ids(user)


def data_entry_site_ids(user) -> frozenset[int]:
    if not (user.is_authenticated and user.has_perm("core.enter_clinical_data")):
        return frozenset()
    return member_site_ids(user)


def require_data_entry(user, site_id: int) -> None:
    if not can_enter_data(user, site_id):
        raise PermissionDenied(_("You may not enter data for this site."))


def require_new_patient_entry(user, site_id: int) -> None:
    """Registering a patient: site rights, and the trial database not locked."""
    require_data_entry(user, site_id)
    ensure_database_unlocked()
