"""Preparation and checks in this process, through the services: the load site, its users, what it holds."""

from dataclasses import dataclass

from load.common import PASSWORD, SITE


@dataclass
class Plan:
    tokens: dict[str, str]
    criteria: dict[str, bool]
    analytes: list[tuple[str, str]]  # (code, canonical unit)


def prepare(slots: int) -> Plan:
    """Site, users and tokens, live allocation lists of `slots` per stratum; what the clients need."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    from core.models import EligibilityCriterion, Site, SiteMembership
    from core.roles import roles_sync
    from labs.models import Analyte
    from patients import randomization
    from patients.models import AgeGroup, AllocationList

    roles_sync()
    site, _ = Site.objects.get_or_create(code=SITE, defaults={"name": "Load run"})
    users = {}
    for username, role, member in (
        ("load_staff", "site_staff", True),
        ("load_investigator", "investigator", True),
        ("load_statistician", "statistician", False),
    ):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=role))
        if member:
            SiteMembership.objects.get_or_create(user=user, site=site)
        users[username] = user
    statistician = get_user_model().objects.get(username="load_statistician")  # fresh permissions
    for group in AgeGroup.values:
        if not AllocationList.objects.filter(site=site, age_group=group, status="live").exists():
            draft = randomization.allocation_list_generate(
                site=site, age_group=group, length=slots, block_sizes=[2, 4], by=statistician
            )
            randomization.allocation_list_go_live(allocation_list=draft, by=statistician)
    return Plan(
        tokens={name: AuthToken.objects.create(user=user)[1] for name, user in users.items()},
        criteria={c.code: c.kind == "inclusion" for c in EligibilityCriterion.objects.filter(active=True)},
        analytes=list(Analyte.objects.order_by("code").values_list("code", "canonical_unit"))[:3],
    )


def database_rows() -> dict[str, object]:
    """What the database holds for the load site: study ids and row counts per write kind."""
    from labs.models import LabResult
    from patients.models import Baseline, Consent, Patient, Randomization

    return {
        "register": set(Patient.objects.filter(site__code=SITE).values_list("study_id", flat=True)),
        "consent": Consent.objects.filter(patient__site__code=SITE).count(),
        "baseline": Baseline.objects.filter(patient__site__code=SITE).count(),
        "randomize": Randomization.objects.filter(patient__site__code=SITE).count(),
        "lab_result": LabResult.objects.filter(draw__patient__site__code=SITE).count(),
    }


def verify_audit() -> bool:
    """The audit hash chain still verifies after the concurrent writes."""
    from django.core.management import CommandError, call_command

    try:
        call_command("verify_audit", verbosity=0)
    except CommandError as error:
        print(f"  ! {error}")
        return False
    return True
