"""Writes shared by the demo trial, the synthetic generator and the benchmarks (bench/).

Generated data is entered by accounts of its own, and women entered one by one go through the
application's services exactly as staff enter them, so their rows and audit events are the real ones.
"""

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.models import EligibilityCriterion, Site, SiteMembership
from patients import services
from patients.models import Patient
from patients.services import BaselineInput, IdentityInput

CONSENT_FORM = "v2.1"


def generator_account_ensure(*, username: str, role: str, email_domain: str, site: Site | None = None):
    """An account that only enters generated data: no usable password, exactly one role, a member of
    `site` if given. Returned fresh from the database, so no permissions cached before are kept."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@{email_domain}"}
    )
    if created:
        user.set_unusable_password()  # nobody logs in as a generator account
        user.save()
    user.groups.set([Group.objects.get(name=role)])
    if site is not None:
        SiteMembership.objects.get_or_create(user=user, site=site)
    return get_user_model().objects.get(pk=user.pk)


def eligible_answers() -> dict[str, bool]:
    """Screening answers of an eligible woman: every active inclusion criterion met, no exclusion."""
    return {c.code: c.kind == "inclusion" for c in EligibilityCriterion.objects.filter(active=True)}


def woman_enrol(*, site: Site, identity: IdentityInput, screening_date: date, baseline: BaselineInput, by) -> Patient:
    """Screen an eligible woman, record her consent (signed on the screening day) and her baseline, through
    the services as staff would; she is then ready for randomization."""
    patient = services.patient_screen(
        site=site, identity=identity, screening_date=screening_date, answers=eligible_answers(), by=by
    )
    services.consent_record(patient=patient, form_version=CONSENT_FORM, signed_on=screening_date, by=by)
    patient.refresh_from_db()
    services.baseline_record(patient=patient, data=baseline, by=by)
    return patient
