"""Factories and helpers that build data through the real services (so audit and rules apply)."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.models import EligibilityCriterion, Site, SiteMembership
from patients import services
from patients.allocation_stream import fixed_seed
from patients.services import BaselineInput, IdentityInput

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)


SEED_MIGRATIONS = (
    "core.migrations.0002_seed_trial_configuration",
    "labs.migrations.0002_seed_analytes",
    "labs.migrations.0006_analyte_display_decimals",
    "outcomes.migrations.0002_seed_instruments",
)


def ensure_trial_configuration() -> None:
    """The configuration the migrations seed (arms, criteria, time points, analytes, instruments), seeded
    again when a transactional test's flush emptied every table."""
    import importlib

    from django.apps import apps

    if not apps.get_model("core", "Arm").objects.exists():
        for module in SEED_MIGRATIONS:
            importlib.import_module(module).seed(apps, None)


def make_user(username: str, role: str, *sites: Site, **extra):
    user = UserFactory(username=username, **extra)
    user.save()
    user.groups.add(Group.objects.get(name=role))
    for site in sites:
        SiteMembership.objects.get_or_create(user=user, site=site)
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


def site(code: str, name: str | None = None) -> Site:
    return Site.objects.get_or_create(code=code, defaults={"name": name or f"Site {code}"})[0]


def all_met_answers(**overrides: bool) -> dict[str, bool]:
    """Answers that make a woman eligible: inclusions met, exclusions absent."""
    answers = {c.code: c.kind == "inclusion" for c in EligibilityCriterion.objects.filter(active=True)}
    answers.update(overrides)
    return answers


_identity_counter = iter(range(1, 1_000_000))


def identity(**overrides) -> IdentityInput:
    n = next(_identity_counter)
    values = {
        "full_name": f"Test Patient {n}",
        "medical_record_number": f"MRN{n:07d}",
        "date_of_birth": date(1992, 3, 15),
        "phone": "+86 755 0000 0000",
    }
    values.update(overrides)
    return IdentityInput(**values)


def screen(site: Site, by, *, eligible: bool = True, screening_date: date = date(2025, 3, 1), **identity_overrides):
    answers = all_met_answers() if eligible else all_met_answers(BLEEDING_DISORDER=True)
    return services.patient_screen(
        site=site, identity=identity(**identity_overrides), screening_date=screening_date, answers=answers, by=by
    )


def baseline_input(**overrides) -> BaselineInput:
    values = {
        "height_cm": Decimal("160.0"),
        "weight_kg": Decimal("56.0"),
        "previous_failed_transfers": 2,
        "prior_miscarriages": 1,
        "infertility_type": "primary",
        "infertility_years": Decimal("3.5"),
        "education": "college_or_higher",
        "amh_ng_ml": Decimal("2.10"),
    }
    values.update(overrides)
    return BaselineInput(**values)


def consented_patient(site: Site, by, **identity_overrides):
    patient = screen(site, by, **identity_overrides)
    services.consent_record(patient=patient, form_version="v2.1", signed_on=date(2025, 3, 2), by=by)
    patient.refresh_from_db()
    return patient


def randomizable_patient(site: Site, by, **identity_overrides):
    """Eligible, consented, with baseline: every precondition of randomization met."""
    patient = consented_patient(site, by, **identity_overrides)
    services.baseline_record(patient=patient, data=baseline_input(), by=by)
    patient.refresh_from_db()
    return patient


def live_list(site: Site, statistician, *, age_group: str = "<35", length: int = 200, seed: int = 12345):
    """A live generated list; its v2 seed is fixed (`seed_for_tests(seed)`) so tests' allocations are reproducible."""
    from patients import randomization

    draft = randomization.allocation_list_generate_fixed_seed(
        site=site, age_group=age_group, seed=seed_for_tests(seed), length=length, block_sizes=[2, 4], by=statistician
    )
    return randomization.allocation_list_go_live(allocation_list=draft, by=statistician)


def seed_for_tests(number: int) -> str:
    """The fixed v2 seed `live_list` uses for a test's number."""
    return fixed_seed(f"tests:{number}")


def randomized_patient(site: Site, by, statistician, **identity_overrides):
    """A randomized patient (creating the stratum's live list when there is none)."""
    from patients.models import AllocationList
    from patients.randomization import age_group_of, patient_randomize

    patient = randomizable_patient(site, by, **identity_overrides)
    group = age_group_of(patient.age_at_enrolment)
    if not AllocationList.objects.filter(site=site, age_group=group, status="live").exists():
        live_list(site, statistician, age_group=group)
    patient_randomize(patient=patient, by=by)
    patient.refresh_from_db()
    return patient


def pregnancy_data(transfer, **overrides) -> dict:
    """A clinical pregnancy after this transfer, as the outcome form or service takes it (dates in the past
    when the transfer is backdated)."""
    et = transfer.transfer_date
    values = {
        "beta_hcg_positive": True,
        "beta_hcg_date": et + timedelta(days=14),
        "beta_hcg_value": 850,
        "clinical_pregnancy": True,
        "ultrasound_date": et + timedelta(days=28),
        "gestational_sacs": 1,
        "fetal_heartbeat": True,
        "ectopic": False,
        "miscarriage": False,
    }
    return values | overrides


def with_transfer(patient, by, transfer_date: date | None = None, embryos: int = 2):
    from django.utils import timezone

    from patients.treatment import TransferInput, transfer_record

    transfer_record(
        patient=patient,
        data=TransferInput(transfer_date or timezone.localdate(), "fresh", "blastocyst", embryos),
        by=by,
    )
    return patient


def backdated_transfer(patient, by, *, days_ago: int = 35, embryos: int = 2):
    """A transfer `days_ago` days back, so outcome dates after it are in the past.

    Randomization happens "now" in tests and a transfer cannot precede it, so both are moved back
    through the ORM, inside an audit context with a reason as the database requires.
    """
    from datetime import timedelta

    from django.utils import timezone

    from core.audit import audited
    from patients.models import EmbryoTransfer, Randomization

    with_transfer(patient, by, embryos=embryos)
    with audited(by=by, reason="test setup: back-date the treatment timeline"):
        Randomization.objects.filter(patient=patient).update(
            randomized_at=timezone.now() - timedelta(days=days_ago + 5)
        )
        EmbryoTransfer.objects.filter(patient=patient).update(
            transfer_date=timezone.localdate() - timedelta(days=days_ago)
        )
    return EmbryoTransfer.objects.get(patient=patient, voided_at__isnull=True)


def adverse_event_form(**overrides) -> dict:
    """The adverse event form's fields: a grade 1 injection-site bruise of yesterday, resolved."""
    from datetime import timedelta

    from django.utils import timezone

    yesterday = timezone.localdate() - timedelta(days=1)
    return {
        "term": "injection_site_bruising",
        "term_other": "",
        "onset_date": yesterday,
        "resolution_date": yesterday,
        "grade": 1,
        "serious": False,
        "related_to_dalteparin": "probable",
        "action_taken": "none",
        "outcome": "recovered",
    } | overrides


def clinical_records(patient, by) -> dict:
    """One lab result (drawn two hours ago), a negative outcome, an adverse event and a questionnaire for a
    randomized patient with a transfer: a record behind every clinical detail URL."""
    from datetime import timedelta

    from django.utils import timezone

    from labs.services import lab_result_add
    from outcomes import services as outcomes

    today = timezone.localdate()
    drawn_at = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    return {
        "drawn_at": drawn_at,
        "lab_result": lab_result_add(
            patient=patient, timepoint="BASELINE", drawn_at=drawn_at, analyte="E2", value="50", unit="pg/mL", by=by
        ),
        "outcome": outcomes.outcome_record(patient=patient, data={"beta_hcg_positive": False}, by=by),
        "adverse_event": outcomes.adverse_event_record(
            patient=patient,
            data=adverse_event_form(onset_date=today - timedelta(days=3), resolution_date=None, outcome="recovering"),
            by=by,
        ),
        "questionnaire": outcomes.questionnaire_record(
            patient=patient,
            instrument="RAND36",
            timepoint="BASELINE",
            completed_on=today,
            answers={str(k): 3 for k in range(3, 13)},
            by=by,
        ),
    }


def rand36_entered_then_corrected(patient, *, by):
    """A baseline RAND-36 entered (every item 3) and item 3 corrected to 1, with a reason: an audited change
    of a questionnaire's answers."""
    from django.utils import timezone

    from outcomes import services as outcomes

    answers = {str(item): 3 for item in range(3, 13)}
    answered = outcomes.questionnaire_record(
        patient=patient,
        instrument="RAND36",
        timepoint="BASELINE",
        completed_on=timezone.localdate() - timedelta(days=30),
        answers=answers,
        by=by,
    )
    return outcomes.questionnaire_update(
        response=answered,
        completed_on=answered.completed_on,
        answers={**answers, "3": 1},
        by=by,
        reason="Item 3 transcribed wrongly",
        expected_version=answered.version,
    )
