"""The demo trial of docs/paper.md, built through the real services so audit, rules, statuses and automatic
checks are real: enrolment here, treatment, labs and outcomes in sampledata.demo_clinical. What the paper
claims, and the demo's value for each claim, is sampledata.paper_claims.

Idempotent: users are updated in place, a woman whose demo record number already exists is skipped, and
so is every clinical record already present; a second run writes nothing, leaves no audit event and does
not move the data version.

The demo's calendar is relative to the day it is first seeded: enrolment began two years before, so that
every record of the trial, to the last birth, lies in the past. A later run reads that start back from the
first woman's screening date and finds every date where it left it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from core.access_grants import access_grant_system
from core.audit import audited
from core.models import Site
from core.roles import roles_sync
from patients import allocation, allocation_stream, randomization, services
from patients.models import AgeGroup, AllocationList, Patient, PatientIdentity, PatientStatus, Screening
from patients.services import BaselineInput, IdentityInput
from sampledata.demo_clinical import DemoWoman, demo_clinical_seed, randomizations_backdate
from sampledata.demo_profiles import DemoProfile, demo_profiles
from sampledata.services import eligible_answers, woman_enrol

DEFAULT_PASSWORD = "demo-password-1"
# The last woman is screened 430 days after enrolment starts and her child could be born 255 days later.
STARTED_BEFORE_FIRST_SEED = timedelta(days=730)
SCREENING_INTERVAL = timedelta(days=5)
REGISTERED_AT = time(9, 0)
# Women screened but not eligible (CONSORT "excluded"): enrolment index after which each appears,
# and the criterion that excluded her. Invented for the demo; the paper reports no screening log.
SCREEN_FAILURES = [
    (9, "FAILED_TRANSFERS_2PLUS"),
    (23, "THROMBOPHILIA_ANTICOAG"),
    (37, "UTERINE_ANOMALY"),
    (51, "PLATELETS_100PLUS"),
    (66, "HIT_OR_LMWH_ALLERGY"),
    (74, "AGE_20_40"),
]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu"]
GIVEN_NAMES = ["Fang", "Min", "Jing", "Li", "Yan", "Xiu", "Hua", "Ying", "Hong", "Lan", "Mei", "Juan", "Xia", "Ping"]
# (username, role, site codes, is Django staff, first name, last name): invented people, named as a signature
# prints them (given name first, as they would write it in English).
DEMO_USERS = [
    ("staff", "site_staff", ["SZ"], False, "Min", "Wang"),
    ("investigator", "investigator", ["SZ"], False, "Jing", "Chen"),
    ("monitor", "monitor", [], False, "Hui", "Zhou"),
    ("statistician", "statistician", [], False, "Yan", "Zhao"),
    ("admin", "admin", [], True, "Qiang", "Sun"),
    ("staff_bj", "site_staff", ["BJ"], False, "Fang", "Liu"),
]


LIST_LENGTH = 200
# Demo data must be reproducible, so its lists' seeds are fixed (derived from this label and the stratum's
# number by patients.allocation_stream.fixed_seed) and the lists say so; real lists get server seeds.
LIST_SEED = "ivf-demo allocation list 20230301"
# The allocation lists went live before the first woman was screened.
LISTS_LIVE_BEFORE = timedelta(days=3)
LISTS_LIVE_AT = time(9, 0)
REASON_DEMO_ACCOUNTS = "Demo accounts: one per role, given by seed_demo on the server"
REASON_LISTS_BACKDATED = "Demo trial: the lists went live before enrolment began in the historical trial"
REASON_REGISTRATIONS_BACKDATED = "Demo trial: each woman was registered on her screening day; entered later"


@dataclass(frozen=True)
class DemoSummary:
    users: list[tuple[str, str]]  # (username, full name)
    created_patients: int
    existing_patients: int
    randomized_patients: int
    backdated_randomizations: int = 0
    clinical_records: dict[str, int] | None = None


def _sites() -> dict[str, Site]:
    sz = Site.objects.get_or_create(code="SZ", defaults={"name": "Trial centre (Shenzhen)"})[0]
    bj = Site.objects.get_or_create(code="BJ", defaults={"name": "Second site (Beijing)"})[0]
    return {"SZ": sz, "BJ": bj}


def _users(password: str, sites: dict[str, Site]) -> dict:
    users = {}
    for username, role, site_codes, is_staff, first_name, last_name in DEMO_USERS:
        # Accounts are not the trial's data: they neither mark the statistics stale nor move the data version.
        with audited(by=None, reason=REASON_DEMO_ACCOUNTS, data_change=False):
            user, created = get_user_model().objects.get_or_create(
                username=username, defaults={"is_staff": is_staff, "email": f"{username}@demo.invalid"}
            )
            wanted = {"is_staff": is_staff, "first_name": first_name, "last_name": last_name}
            # Only touch the row when something differs, so a second run changes nothing.
            if created or not user.check_password(password) or any(getattr(user, k) != v for k, v in wanted.items()):
                for field, value in wanted.items():
                    setattr(user, field, value)
                user.set_password(password)
                user.save()
            group = Group.objects.get(name=role)
            user.groups.remove(*user.groups.exclude(pk=group.pk))
        # Seeding runs on the server: the demo's roles and sites are granted by the system, approved and
        # recorded as such, not through the four-eyes requests of the administration.
        access_grant_system(user=user, group=group, reason=REASON_DEMO_ACCOUNTS)
        for code in site_codes:
            access_grant_system(user=user, site=sites[code], reason=REASON_DEMO_ACCOUNTS)
        users[username] = user
    return users


def _name(n: int) -> str:
    return f"{SURNAMES[n % len(SURNAMES)]} {GIVEN_NAMES[(n * 5) % len(GIVEN_NAMES)]}{GIVEN_NAMES[(n * 3 + 1) % 14]}"


def _birth_date(age: int, screening_date: date, n: int) -> date:
    """A date of birth giving `age` completed years on the screening date."""
    return date(screening_date.year - age - 1, 1, 1) + timedelta(days=(screening_date.timetuple().tm_yday + n % 300))


def _recorded(site: Site, n: int) -> bool:
    """Whether demo woman `n` is already on the site's screening log (her record number is)."""
    return PatientIdentity.objects.filter(medical_record_number=_record_number(n), patient__site=site).exists()


def _record_number(n: int) -> str:
    return f"DEMO-{n:04d}"


def _identity(n: int, age: int, screening_date: date) -> IdentityInput:
    return IdentityInput(
        full_name=_name(n),
        medical_record_number=_record_number(n),
        date_of_birth=_birth_date(age, screening_date, n),
        phone=f"+86 755 {8000_0000 + n:08d}",
    )


def _enrol(site, staff, n: int, profile: DemoProfile, screening_date: date) -> bool:
    if _recorded(site, n):
        return False
    baseline = BaselineInput(
        height_cm=profile.height_cm,
        weight_kg=profile.weight_kg,
        previous_failed_transfers=profile.previous_failed_transfers,
        prior_miscarriages=profile.prior_miscarriages,
        infertility_type=profile.infertility_type,
        infertility_years=profile.infertility_years,
        education=profile.education,
        amh_ng_ml=profile.amh_ng_ml,
    )
    identity = _identity(n, profile.age, screening_date)
    woman_enrol(site=site, identity=identity, screening_date=screening_date, baseline=baseline, by=staff)
    return True


def _screen_failure(site, staff, n: int, criterion: str, screening_date: date) -> bool:
    if _recorded(site, n):
        return False
    answers = eligible_answers()
    answers[criterion] = not answers[criterion]
    identity = _identity(n, 42 if criterion == "AGE_20_40" else 33, screening_date)
    services.patient_screen(site=site, identity=identity, screening_date=screening_date, answers=answers, by=staff)
    return True


def _demo_list_seed(offset: int) -> str:
    return allocation_stream.fixed_seed(f"{LIST_SEED} #{offset}")


def _demo_list_csv(arms_in_order: list[str], seed: str) -> bytes:
    """The SZ lists: the paper's allocations of the stratum's women in enrolment order, then permuted
    blocks. In the real trial the statistician's list came first; the demo works back from the paper."""
    tail = allocation.permuted_blocks(seed=seed, length=LIST_LENGTH, arms=("CTRL", "EXP"))
    tail = tail[: LIST_LENGTH - len(arms_in_order)]
    rows = [*arms_in_order, *(slot.arm for slot in tail)]
    return ("sequence,arm\n" + "".join(f"{n},{arm}\n" for n, arm in enumerate(rows, start=1))).encode()


def _allocation_lists(sites: dict[str, Site], statistician, profiles: list[DemoProfile]) -> None:
    """Live lists for every site and stratum, 200 slots each (idempotent)."""
    for offset, (code, age_group) in enumerate((c, g) for c in sites for g in AgeGroup.values):
        if AllocationList.objects.filter(site=sites[code], age_group=age_group).exists():
            continue
        seed = _demo_list_seed(offset)
        if code == "SZ":
            arms = [p.arm for p in profiles if randomization.age_group_of(p.age) == age_group]
            draft = randomization.allocation_list_import(
                site=sites[code],
                age_group=age_group,
                content=_demo_list_csv(arms, seed),
                filename=f"demo-{code}-{age_group}.csv",
                by=statistician,
            )
        else:
            draft = randomization.allocation_list_generate_fixed_seed(
                site=sites[code],
                age_group=age_group,
                seed=seed,
                length=LIST_LENGTH,
                block_sizes=[2, 4],
                by=statistician,
            )
        randomization.allocation_list_go_live(allocation_list=draft, by=statistician)


def _randomize_enrolled(site: Site, staff) -> int:
    """Randomize the consented demo women in enrolment order, so each takes her stratum's next slot."""
    # Only the demo's own women (DEMO- record numbers): other patients entered meanwhile are left alone.
    waiting = Patient.objects.filter(
        site=site, status=PatientStatus.CONSENTED, identity__medical_record_number__startswith="DEMO-"
    ).order_by("sequence_number")
    for patient in waiting:
        randomization.patient_randomize(patient=patient, by=staff)
    return len(waiting)


def _local(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def enrolment_start(site: Site) -> date:
    """The demo's first day: read back from its first woman's screening once seeded, else two years ago."""
    first = Screening.objects.filter(
        patient__site=site, patient__identity__medical_record_number=_record_number(1)
    ).values_list("screening_date", flat=True)
    return first[0] - SCREENING_INTERVAL if first else timezone.localdate() - STARTED_BEFORE_FIRST_SEED


def _lists_backdate(sites: dict[str, Site], statistician, start: date) -> None:
    """The demo's lists went live before enrolment (audited, with a reason); already so: untouched."""
    when = _local(start - LISTS_LIVE_BEFORE, LISTS_LIVE_AT)
    stale = AllocationList.objects.filter(site__in=sites.values(), status="live").exclude(went_live_at=when)
    if stale.exists():
        with audited(by=statistician, reason=REASON_LISTS_BACKDATED):
            stale.update(went_live_at=when)


def _registrations_backdate(site: Site, staff) -> int:
    """Each demo woman registered on her screening day, as the patient list shows (audited, with a reason); the
    service stamps the moment it runs. Already so: untouched."""
    women = Patient.objects.filter(site=site, identity__medical_record_number__startswith="DEMO-")
    moved = {
        pk: _local(day, REGISTERED_AT)
        for pk, day, registered in women.values_list("pk", "screening__screening_date", "created_at")
        if registered != _local(day, REGISTERED_AT)
    }
    if moved:
        with audited(by=staff, reason=REASON_REGISTRATIONS_BACKDATED):
            for pk, when in moved.items():
                Patient.objects.filter(pk=pk).update(created_at=when)
    return len(moved)


def enrolment_schedule(profiles: list[DemoProfile], start: date) -> list[tuple[int, date, DemoProfile | None, str]]:
    """(demo number, screening date, profile or None, excluding criterion) in order of screening."""
    failures_after = dict(SCREEN_FAILURES)
    schedule, n = [], 0
    for profile in profiles:
        n += 1
        screening_date = start + SCREENING_INTERVAL * n
        schedule.append((n, screening_date, profile, ""))
        if profile.index in failures_after:
            n += 1
            schedule.append((n, screening_date, None, failures_after[profile.index]))
    return schedule


def _demo_women(site: Site, schedule) -> list[DemoWoman]:
    numbers = {_record_number(n): (profile, day) for n, day, profile, _ in schedule if profile is not None}
    identities = PatientIdentity.objects.filter(patient__site=site, medical_record_number__in=numbers)
    found = dict(identities.values_list("medical_record_number", "patient_id"))
    return [DemoWoman(profile, found[mrn], day) for mrn, (profile, day) in numbers.items() if mrn in found]


@transaction.atomic
def demo_trial_seed(*, password: str = DEFAULT_PASSWORD) -> DemoSummary:
    """Sites, one user per role, and the demo trial at SZ: 80 women (plus screen failures) from screening
    to pregnancy outcome, questionnaires and adverse events."""
    roles_sync()
    sites = _sites()
    users = _users(password, sites)
    profiles = demo_profiles()
    start = enrolment_start(sites["SZ"])
    _allocation_lists(sites, users["statistician"], profiles)
    _lists_backdate(sites, users["statistician"], start)
    created = existing = 0
    schedule = enrolment_schedule(profiles, start)
    for n, screening_date, profile, criterion in schedule:
        if profile is None:
            _screen_failure(sites["SZ"], users["staff"], n, criterion, screening_date)
            continue
        done = _enrol(sites["SZ"], users["staff"], n, profile, screening_date)
        created, existing = created + done, existing + (not done)
    _registrations_backdate(sites["SZ"], users["staff"])
    randomized = _randomize_enrolled(sites["SZ"], users["staff"])
    women = _demo_women(sites["SZ"], schedule)
    backdated = randomizations_backdate(women, users["staff"])
    clinical = demo_clinical_seed(women=women, by=users["staff"])
    return DemoSummary(
        users=[(u, f"{first} {last}") for u, *_, first, last in DEMO_USERS],
        created_patients=created,
        existing_patients=existing,
        randomized_patients=randomized,
        backdated_randomizations=backdated,
        clinical_records=clinical,
    )
