"""Synthetic trial data for benchmarks: site BN, its users, randomized patients and a lab CSV.

Patients are made through the real services (screen, consent, baseline, randomize) so every row,
audit event and counter is what the app itself would have written. Idempotent: a second call reuses
what exists and only adds the patients still missing.
"""

import csv
import io
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from core import roles
from core.models import EligibilityCriterion, Site, SiteMembership
from patients import randomization, services
from patients.models import AgeGroup, AllocationList, Patient, PatientStatus
from patients.services import BaselineInput, IdentityInput

SITE_CODE = "BN"
STAFF_USERNAME = "bench_staff"
STATISTICIAN_USERNAME = "bench_statistician"
TIMEPOINTS = ("BASELINE", "ET14", "ET28")
ANALYTES = ("BHCG", "FSH", "LH", "E2", "CA125", "IL6")
ROWS_PER_PATIENT = len(TIMEPOINTS) * len(ANALYTES)
# Every bench patient is under 35, so one stratum (and one allocation list) serves them all.
AGE_GROUP = AgeGroup.UNDER_35
BLOCK_SIZES = [2, 4]
# One commit per chunk: per-patient commits would make setup wait on fsync thousands of times.
CHUNK = 250
SCREENING_START = date(2024, 1, 8)
FIRST_DRAW = datetime(2024, 2, 5, 8, 30, tzinfo=timezone(timedelta(hours=8)))
DAYS_AFTER_BASELINE = {"BASELINE": 0, "ET14": 14, "ET28": 28}
BASELINE = BaselineInput(
    height_cm=Decimal("160.0"),
    weight_kg=Decimal("56.0"),
    previous_failed_transfers=2,
    prior_miscarriages=0,
    infertility_type="primary",
    infertility_years=Decimal("3.0"),
    education="college_or_higher",
    amh_ng_ml=Decimal("2.10"),
)
# Plausible luteal-phase values in each analyte's canonical unit (some fall outside the reference range).
VALUE_RANGES = {
    "FSH": (1.0, 14.0, "IU/L"),
    "LH": (0.5, 18.0, "IU/L"),
    "E2": (150.0, 2500.0, "pmol/L"),
    "CA125": (4.0, 45.0, "U/mL"),
    "IL6": (0.5, 9.0, "pg/mL"),
}


@dataclass(frozen=True)
class BenchTrial:
    site: Site
    staff: object
    study_ids: list[str]
    created_patients: int


def patients_for(rows: int) -> int:
    return -(-rows // ROWS_PER_PATIENT)


def ensure_trial(patients: int) -> BenchTrial:
    """Site BN with a staff user and at least `patients` randomized patients; the first `patients` returned."""
    roles.roles_sync()
    site = Site.objects.get_or_create(code=SITE_CODE, defaults={"name": "Benchmark site (synthetic data)"})[0]
    staff = _user(STAFF_USERNAME, roles.SITE_STAFF, site)
    missing = patients - _randomized(site).count()
    if missing > 0:
        statistician = _user(STATISTICIAN_USERNAME, roles.STATISTICIAN, None)
        _ensure_list(site, statistician, slots=patients)
        _enrol(site, staff, missing)
    study_ids = list(_randomized(site).order_by("sequence_number").values_list("study_id", flat=True)[:patients])
    return BenchTrial(site, staff, study_ids, max(missing, 0))


def _randomized(site: Site):
    return Patient.objects.filter(site=site, status=PatientStatus.RANDOMIZED, voided_at__isnull=True)


def _user(username: str, role: str, site: Site | None):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@bench.invalid"}
    )
    if created:
        user.set_unusable_password()  # nobody logs in as a benchmark user
        user.save()
    user.groups.set([Group.objects.get(name=role)])
    if site is not None:
        SiteMembership.objects.get_or_create(user=user, site=site)
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


def _ensure_list(site: Site, statistician, slots: int) -> None:
    """A live list for the stratum with at least `slots` slots (generated, or extended from its seed)."""
    existing = AllocationList.objects.filter(site=site, age_group=AGE_GROUP).first()
    if existing is None:
        draft = randomization.allocation_list_generate(
            site=site, age_group=AGE_GROUP, length=slots, block_sizes=BLOCK_SIZES, by=statistician
        )
        randomization.allocation_list_go_live(allocation_list=draft, by=statistician)
    elif existing.slots.count() < slots:
        randomization.allocation_list_extend(allocation_list=existing, length=slots, by=statistician)


def _enrol(site: Site, staff, count: int) -> None:
    answers = {c.code: c.kind == "inclusion" for c in EligibilityCriterion.objects.filter(active=True)}
    first = Patient.objects.filter(site=site).count() + 1
    for start in range(first, first + count, CHUNK):
        with transaction.atomic():
            for n in range(start, min(start + CHUNK, first + count)):
                _enrol_one(site, staff, n, answers)


def _enrol_one(site: Site, staff, n: int, answers: dict[str, bool]) -> None:
    screening_date = SCREENING_START + timedelta(days=n % 28)
    identity = IdentityInput(
        full_name=f"Bench Patient {n}",
        medical_record_number=f"BENCH-{n:07d}",
        date_of_birth=date(1990 + n % 10, 1 + n % 12, 1 + n % 28),
    )
    patient = services.patient_screen(
        site=site, identity=identity, screening_date=screening_date, answers=answers, by=staff
    )
    services.consent_record(patient=patient, form_version="v2.1", signed_on=screening_date, by=staff)
    patient.refresh_from_db()
    services.baseline_record(patient=patient, data=BASELINE, by=staff)
    randomization.patient_randomize(patient=patient, by=staff)


def _value(rng: random.Random, analyte: str, timepoint: str) -> tuple[str, str]:
    """A value as a lab would print it, sometimes censored or in an alternative accepted unit."""
    if analyte == "BHCG":
        if timepoint == "BASELINE" or rng.random() < 0.5:  # before transfer, or not pregnant
            return "<2", "IU/L"
        high = 3000.0 if timepoint == "ET14" else 60000.0
        return f"{rng.uniform(25.0, high):.1f}", rng.choice(("IU/L", "mIU/mL"))
    if analyte == "E2" and rng.random() < 0.3:  # some labs report estradiol in pg/mL
        return f"{rng.uniform(40.0, 680.0):.1f}", "pg/mL"
    low, high, unit = VALUE_RANGES[analyte]
    return f"{rng.uniform(low, high):.2f}", unit


def _rows(study_ids: list[str], rng: random.Random) -> Iterator[list[str]]:
    """Every analyte at every time point per patient, a day apart per patient, in file order."""
    for index, study_id in enumerate(study_ids):
        baseline_draw = FIRST_DRAW + timedelta(days=index % 300)
        for timepoint in TIMEPOINTS:
            drawn_at = (baseline_draw + timedelta(days=DAYS_AFTER_BASELINE[timepoint])).isoformat()
            for analyte in ANALYTES:
                yield [study_id, timepoint, drawn_at, analyte, *_value(rng, analyte, timepoint)]


def lab_csv(study_ids: list[str], rows: int, seed: int = 1) -> bytes:
    """A lab CSV of exactly `rows` data rows (the last patient's last draw may be partial)."""
    data = list(itertools.islice(_rows(study_ids, random.Random(seed)), rows))
    if len(data) < rows:
        raise ValueError(f"{len(study_ids)} patients give only {len(data)} rows, not {rows}.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["study_id", "timepoint", "drawn_at", "analyte", "value", "unit"])
    writer.writerows(data)
    return out.getvalue().encode()
