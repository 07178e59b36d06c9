"""`synthetic_trial_generate`: a realistic synthetic trial of any size, written by COPY in one audit context.

Safety: synthetic patients live only at synthetic sites (codes SYA, SYB, …, named "Synthetic site …").
The service refuses a database that holds patients of any other site unless forced, refuses a site code
already used by a real site, and refuses to add a second synthetic trial (study ids would collide).
Everything is one transaction: a failure leaves nothing behind.
"""

import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta

from django.db import connection

from core import roles
from core.audit import audited
from core.bulk_copy import entered_at, reserve_ids
from core.exceptions import DomainError
from core.models import Arm, EligibilityCriterion, Site, Trial
from labs import selectors as lab_selectors
from outcomes.models import Instrument
from patients import allocation
from patients.models import (
    AllocationList,
    AllocationSlot,
    ListGenerator,
    ListSource,
    ListStatus,
    Patient,
    SeedSource,
    StudyIdCounter,
)
from patients.rules import CriterionSpec
from sampledata.services import generator_account_ensure
from sampledata.synthetic import clinical, enrolment, writer

REASON = "synthetic data generation"
SITE_NAME = "Synthetic site {letter} (generated data, not patients)"
SITE_NAME_PREFIX = "Synthetic site "
STAFF_USERNAME = "synthetic_staff_{site}"
STATISTICIAN_USERNAME = "synthetic_statistician"
EMAIL_DOMAIN = "synthetic.invalid"
CHUNK = 5000  # women per round of COPYs: bounds memory, keeps each statement's transition table moderate


class SyntheticDataRefused(DomainError):
    """The database is not one to fill with synthetic data (real patients, or a synthetic trial already)."""

    status_code = 409


@dataclass
class Summary:
    patients: int
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)  # table → rows written


def synthetic_sites():
    return Site.objects.filter(code__regex=r"^SY[A-Z]$", name__startswith=SITE_NAME_PREFIX)


def refusal(codes: list[str], *, force: bool) -> str:
    """Why this database must not receive a synthetic trial, or an empty string."""
    synthetic = synthetic_sites()
    taken = Site.objects.filter(code__in=codes).exclude(pk__in=synthetic).values_list("code", flat=True)
    if taken:
        return f"Site code(s) {', '.join(sorted(taken))} belong to real sites; a synthetic trial cannot use them."
    if Patient.objects.filter(site__in=synthetic).exists():
        return "This database already holds a synthetic trial; generate into a fresh database."
    real = Patient.objects.exclude(site__in=synthetic).count()
    if real and not force:
        return (
            f"This database holds {real} real (non-synthetic) patients. Synthetic data belongs in a database of "
            "its own; use --force only on a copy you mean to fill."
        )
    return ""


def trial_design() -> enrolment.Design:
    instruments = Instrument.objects.prefetch_related("timepoints")
    trial = Trial.objects.get()
    return enrolment.Design(
        criteria=tuple(
            CriterionSpec(code=c.code, kind=c.kind, min_age=c.min_age, max_age=c.max_age)
            for c in EligibilityCriterion.objects.filter(active=True)
        ),
        arms=tuple(Arm.objects.order_by("order").values_list("code", flat=True)),
        ratio=tuple(int(part) for part in trial.allocation_ratio.split(":")),
        analytes=lab_selectors.analyte_specs(),
        windows={code: window for code, (_tp, window) in lab_selectors.timepoint_windows().items()},
        instruments={
            i.code: tuple(tp.code for tp in sorted(i.timepoints.all(), key=lambda tp: tp.order)) for i in instruments
        },
    )


def _sites_and_staff(codes: list[str]) -> tuple[dict[str, Site], dict[str, int]]:
    sites, staff = {}, {}
    for code in codes:
        name = SITE_NAME.format(letter=code[-1])
        sites[code] = Site.objects.get_or_create(code=code, defaults={"name": name})[0]
        username = STAFF_USERNAME.format(site=code.lower())
        staff[code] = generator_account_ensure(
            username=username, role=roles.SITE_STAFF, email_domain=EMAIL_DOMAIN, site=sites[code]
        ).pk
    return sites, staff


def _allocation_lists(lists, sites: dict[str, Site], design, cursor) -> tuple[dict[tuple[str, str], list[int]], int]:
    """Live lists (recorded seed, SHA-256) and their slots; returns each stratum's slot ids in sequence and
    the number of slots written."""
    statistician = generator_account_ensure(
        username=STATISTICIAN_USERNAME, role=roles.STATISTICIAN, email_domain=EMAIL_DOMAIN
    )
    arm_ids = dict(Arm.objects.values_list("code", "pk"))
    went_live = entered_at(enrolment.SCREENING_START - timedelta(days=1), time(9))
    slot_ids = {}
    slots = writer.slot_table()
    for stratum in lists:
        row = AllocationList.objects.create(
            site=sites[stratum.site],
            age_group=stratum.age_group,
            status=ListStatus.LIVE,
            source=ListSource.GENERATED,
            generator=ListGenerator.HMAC_SHA256_V2,
            seed_hex=stratum.seed,
            seed_source=SeedSource.FIXED,
            block_sizes=sorted(design.block_sizes),
            ratio=":".join(map(str, design.ratio)),
            sha256=allocation.sequence_sha256(stratum.slots),
            went_live_at=went_live,
            went_live_by=statistician,
            created_by=statistician,
        )
        ids = reserve_ids(cursor, AllocationSlot, len(stratum.slots))
        for pk, slot in zip(ids, stratum.slots, strict=True):
            slots.add((row.pk, slot.sequence, arm_ids[slot.arm], slot.block_number, slot.block_size), pk=pk)
        slot_ids[stratum.site, stratum.age_group] = ids
    slots.flush(cursor)
    return slot_ids, slots.written


def _study_counters(women, sites: dict[str, Site]) -> None:
    last = Counter()
    for woman in women:
        last[woman.site] = max(last[woman.site], woman.number)
    for code, number in last.items():
        StudyIdCounter.objects.update_or_create(site=sites[code], defaults={"last_number": number})


def synthetic_trial_generate(
    *,
    patients: int,
    seed: int,
    sites: int = 4,
    force: bool = False,
    awaiting: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Screen `patients` women (plus `awaiting` consented ones left for randomization) at `sites` synthetic
    sites, with every form their course calls for; deterministic for a seed. Returns what was written."""
    started = clock.perf_counter()
    codes = enrolment.site_codes(sites)
    design = trial_design()
    women = enrolment.enrolments(design, patients=patients, seed=seed, sites=codes, awaiting=awaiting)
    lists = enrolment.allocation_lists(design, women, seed=seed)
    allocated = enrolment.allocate(women, lists)
    generator = clinical.Generator(design, seed, len(women))
    with audited(by=None, reason=REASON), connection.cursor() as cursor:
        reason = refusal(codes, force=force)
        if reason:
            raise SyntheticDataRefused(reason)
        roles.roles_sync()
        sites_by_code, staff = _sites_and_staff(codes)
        slot_ids, slots = _allocation_lists(lists, sites_by_code, design, cursor)
        _study_counters(women, sites_by_code)
        tables = writer.Tables()
        ids = writer.Ids.read(sites_by_code, staff, slot_ids)
        for start in range(0, len(women), CHUNK):
            batch = women[start : start + CHUNK]
            writer.write_batch(cursor, tables, ids, batch, allocated, generator)
            if progress:
                progress(start + len(batch), len(women))
        summary = Summary(patients=len(women), rows={AllocationSlot._meta.db_table: slots, **tables.written()})
    _analyze(list(summary.rows))
    summary.seconds = clock.perf_counter() - started
    return summary


def _analyze(tables: list[str]) -> None:
    """Fresh planner statistics for the tables written (and their audit tables), as autovacuum would give
    them a little later: plans made on the statistics of empty tables read millions of rows badly."""
    if connection.in_atomic_block:
        return  # inside a test's transaction: nothing was committed to analyse
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables + [f'{table}event' for table in tables])}")
