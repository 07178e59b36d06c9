"""Synthetic trial data for benchmarks: site BN, its users, randomized patients and a lab CSV.

Built on sampledata: patients are entered as the demo enters them, through the real services (screen,
consent, baseline, then randomize), so every row, audit event and counter is what the app itself would
have written; lab values are printed by the synthetic generator. Idempotent: a second call reuses what
exists and only adds the patients still missing.
"""

import csv
import io
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from django.db import transaction

from core import roles
from core.models import Site
from labs import selectors as lab_selectors
from patients import randomization
from patients.models import AgeGroup, AllocationList, Patient, PatientStatus
from patients.services import BaselineInput, IdentityInput
from sampledata.services import generator_account_ensure, woman_enrol
from sampledata.synthetic import clinical

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
EMAIL_DOMAIN = "bench.invalid"


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
    return generator_account_ensure(username=username, role=role, email_domain=EMAIL_DOMAIN, site=site)


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
    first = Patient.objects.filter(site=site).count() + 1
    for start in range(first, first + count, CHUNK):
        with transaction.atomic():
            for n in range(start, min(start + CHUNK, first + count)):
                _enrol_one(site, staff, n)


def _enrol_one(site: Site, staff, n: int) -> None:
    identity = IdentityInput(
        full_name=f"Bench Patient {n}",
        medical_record_number=f"BENCH-{n:07d}",
        date_of_birth=date(1990 + n % 10, 1 + n % 12, 1 + n % 28),
    )
    screening_date = SCREENING_START + timedelta(days=n % 28)
    patient = woman_enrol(site=site, identity=identity, screening_date=screening_date, baseline=BASELINE, by=staff)
    randomization.patient_randomize(patient=patient, by=staff)


def _rows(study_ids: list[str], rng: random.Random) -> Iterator[list[str]]:
    """Every analyte at every time point per patient, a day apart per patient, in file order. Each woman's
    values follow her course as the synthetic generator draws it (a nominal transfer on the baseline day,
    not recorded), printed as a lab would: some censored, some in an alternative accepted unit."""
    specs = lab_selectors.analyte_specs()
    arms = dict(Patient.objects.filter(study_id__in=study_ids).values_list("study_id", "randomization__arm__code"))
    for index, study_id in enumerate(study_ids):
        baseline_draw = FIRST_DRAW + timedelta(days=index % 300)
        transfer = clinical.transfer_draw(rng, baseline_draw.date())
        pregnancy = clinical.pregnancy_draw(rng, arms[study_id], transfer)
        for timepoint in TIMEPOINTS:
            day = DAYS_AFTER_BASELINE[timepoint]
            drawn_at = (baseline_draw + timedelta(days=day)).isoformat()
            for analyte in ANALYTES:
                yield [study_id, timepoint, drawn_at, analyte, *clinical.lab_value(rng, specs[analyte], day, pregnancy)]


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
