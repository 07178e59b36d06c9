"""The file's AdminData: the trial's accounts (by name and role), its sites, and what a casebook signature means.

Users are the staff accounts the audit records and signatures point to: user name, name, role and sites,
never an e-mail or a phone, and never anything of a patient. An audit record may name an account that has
since been renamed or removed (the trail keeps the name it had), and automatic changes are the system's:
both are listed too when the file carries audit records, so every UserRef resolves.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Min
from django.utils.translation import override

from core import roles
from core.models import Site
from patients.models import Screening
from quality.models import SignatureMeaning

SYSTEM = "system"
# The ODM kind of each role's account (ODM 1.3.2 UserType: Sponsor | Investigator | Lab | Other).
USER_TYPES = {
    roles.SITE_STAFF: "Investigator",
    roles.INVESTIGATOR: "Investigator",
    roles.MONITOR: "Sponsor",
    roles.STATISTICIAN: "Sponsor",
    roles.ADMIN: "Other",
}
LEGAL_REASON = (
    "Electronic signature under 21 CFR Part 11: the signer re-entered user name and password (11.200(a)); "
    "the signature states its meaning (11.50) and is bound to the hash of the casebook content it signed (11.70)."
)


def user_oid(username: str) -> str:
    return f"USR.{username}"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def signature_oid(meaning: str) -> str:
    return f"SIG.{meaning}"


@dataclass(frozen=True)
class User:
    oid: str
    login: str
    display: str
    first_name: str = ""
    last_name: str = ""
    user_type: str = "Other"
    locations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Location:
    oid: str
    name: str
    effective: date  # from when the study's metadata applied at the site: its first screening


@dataclass(frozen=True)
class SignatureDef:
    oid: str
    meaning: str


@dataclass(frozen=True)
class AdminData:
    users: tuple[User, ...]
    locations: tuple[Location, ...]
    signatures: tuple[SignatureDef, ...]


def _account(user) -> User:
    names = sorted(group.name for group in user.groups.all() if group.name in USER_TYPES)
    name = user.get_full_name() or user.get_username()
    return User(
        oid=user_oid(user.get_username()),
        login=user.get_username(),
        display=f"{name} ({', '.join(names)})" if names else name,
        first_name=user.first_name,
        last_name=user.last_name,
        user_type=USER_TYPES[names[0]] if names else "Other",
        locations=tuple(sorted(location_oid(m.site.code) for m in user.site_memberships.all())),
    )


def _users(audit_usernames: set[str]) -> list[User]:
    accounts = get_user_model().objects.prefetch_related("groups", "site_memberships__site").order_by("username")
    users = [_account(user) for user in accounts]
    known = {user.login for user in users}
    for name in sorted(audit_usernames - known):
        label = "System (automatic change)" if name == SYSTEM else f"{name} (account no longer on record)"
        users.append(User(user_oid(name), name, label))
    return users


def admin_data(*, today: date, audit_usernames: set[str] = frozenset()) -> AdminData:
    """Every account, every site (a user's sites and a record's site must resolve), every signature meaning."""
    first = dict(Screening.objects.values_list("patient__site_id").annotate(first=Min("screening_date")).order_by())
    locations = tuple(
        Location(location_oid(site.code), site.name, first.get(site.pk, today))
        for site in Site.objects.order_by("code")
    )
    with override("en"):  # the file's own language; the meaning is plain text in ODM
        signatures = tuple(SignatureDef(signature_oid(value), str(label)) for value, label in SignatureMeaning.choices)
    return AdminData(tuple(_users(set(audit_usernames))), locations, signatures)
