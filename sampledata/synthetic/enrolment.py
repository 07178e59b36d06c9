"""Who is screened where and when, what screening found, and the allocation lists. Pure: no database.

Deterministic: one random stream per seed, consumed in screening order. Eligibility is always derived by
`patients.rules.evaluate_eligibility` from the answers, and each answer about age agrees with the age
computed from the date of birth, so every screening is one the screening form would accept.
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from patients import allocation, allocation_stream, rules
from patients.randomization import age_group_of

# The synthetic trial screened for four years, long enough ago that every follow-up date is in the past.
SCREENING_START = date(2021, 1, 4)
SCREENING_DAYS = 4 * 365
SCREEN_FAILURE = 0.10
NOT_CONSENTED = 0.03  # eligible women who did not sign
NOT_RANDOMIZED = 0.02  # consented women never randomized (half of them without a baseline form)
EDUCATION = {"junior_high_or_below": 2, "high_school_or_vocational": 4, "college_or_higher": 5}
FAILED_TRANSFERS = {2: 45, 3: 30, 4: 15, 5: 7, 6: 3}
MISCARRIAGES = {0: 55, 1: 30, 2: 11, 3: 4}


@dataclass(frozen=True)
class Design:
    """What the trial configuration says that the generator needs (read once from the database)."""

    criteria: tuple[rules.CriterionSpec, ...]
    arms: tuple[str, ...]  # allocation order
    ratio: tuple[int, ...]  # allocation ratio, one entry per arm
    analytes: dict  # code → labs.validation.AnalyteSpec
    windows: dict  # time point code → labs.ranges.Window, in visit order
    instruments: dict[str, tuple[str, ...]]  # code → its time points
    block_sizes: tuple[int, ...] = (2, 4)


@dataclass(frozen=True)
class Enrolment:
    index: int  # 0-based, in screening order across sites
    site: str
    number: int  # per site, gap-free
    screening_date: date
    date_of_birth: date
    age: int
    answers: dict[str, bool]
    failed: tuple[str, ...]
    fate: str  # "ineligible" | "eligible" | "consented" | "randomized" | "awaiting"
    baseline: dict | None

    @property
    def study_id(self) -> str:
        return f"{self.site}-{self.number:04d}"  # as patients.services.patient_screen numbers them

    @property
    def stratum(self) -> tuple[str, str]:
        return self.site, age_group_of(self.age)


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), list(weights.values()))[0]


def _answers(design: Design, age: int, failing: rules.CriterionSpec | None) -> dict[str, bool]:
    answers = {}
    for c in design.criteria:
        if c.min_age is not None or c.max_age is not None:
            met = (c.min_age is None or age >= c.min_age) and (c.max_age is None or age <= c.max_age)
        else:
            met = c is not failing
        answers[c.code] = met if c.kind == "inclusion" else not met
    return answers


def _target_age(rng: random.Random, failing: rules.CriterionSpec | None) -> int:
    if failing is not None and failing.max_age is not None:
        return failing.max_age + 1 + rng.randrange(4)
    return round(rng.triangular(21, 40, 33))


def _baseline(rng: random.Random) -> dict:
    height = Decimal(f"{min(max(rng.gauss(160, 5.5), 145), 180):.1f}")
    weight = Decimal(f"{min(max(rng.gauss(57, 8), 40), 95):.1f}")
    return {
        "height_cm": height,
        "weight_kg": weight,
        "bmi": rules.body_mass_index(height, weight),
        "previous_failed_transfers": _weighted(rng, FAILED_TRANSFERS),
        "prior_miscarriages": _weighted(rng, MISCARRIAGES),
        "infertility_type": "primary" if rng.random() < 0.6 else "secondary",
        "infertility_years": Decimal(f"{rng.uniform(1, 12):.1f}"),
        "education": _weighted(rng, EDUCATION),
        "amh_ng_ml": Decimal(f"{rng.uniform(0.4, 6):.2f}") if rng.random() < 0.9 else None,
    }


def _fate(rng: random.Random, eligible: bool) -> str:
    if not eligible:
        return "ineligible"
    draw = rng.random()
    if draw < NOT_CONSENTED:
        return "eligible"
    return "consented" if draw < NOT_CONSENTED + NOT_RANDOMIZED else "randomized"


def _enrolment(rng: random.Random, design: Design, index: int, site: str, number: int, on: date, fate: str | None):
    failing = rng.choice(design.criteria) if fate is None and rng.random() < SCREEN_FAILURE else None
    date_of_birth = on - timedelta(days=int(_target_age(rng, failing) * 365.25) + rng.randrange(365))
    age = rules.age_on(date_of_birth, on)
    answers = _answers(design, age, failing)
    result = rules.evaluate_eligibility(list(design.criteria), answers)
    fate = fate if fate is not None and result.eligible else _fate(rng, result.eligible)
    with_baseline = fate in ("randomized", "awaiting") or (fate == "consented" and rng.random() < 0.5)
    baseline = _baseline(rng) if with_baseline else None
    return Enrolment(index, site, number, on, date_of_birth, age, answers, result.failed, fate, baseline)


def site_codes(count: int) -> list[str]:
    """SYA, SYB, …: the synthetic sites (a prefix no real site is given, checked before writing)."""
    if not 1 <= count <= 26:
        raise ValueError("A synthetic trial has 1 to 26 sites.")
    return [f"SY{chr(ord('A') + i)}" for i in range(count)]


def enrolments(design: Design, *, patients: int, seed: int, sites: list[str], awaiting: int = 0) -> list[Enrolment]:
    """Every screened woman in screening order; larger sites first. The last `awaiting` women are eligible,
    consented and have a baseline but are not randomized yet (the randomization benchmark takes them)."""
    rng = random.Random(f"enrolment:{seed}")
    weights = [len(sites) - i / 2 for i in range(len(sites))]
    numbers: Counter = Counter()
    found = []
    total = patients + awaiting
    for index in range(total):
        site = rng.choices(sites, weights)[0]
        numbers[site] += 1
        on = SCREENING_START + timedelta(days=index * SCREENING_DAYS // total)
        fate = "awaiting" if index >= patients else None
        found.append(_enrolment(rng, design, index, site, numbers[site], on, fate))
    return found


@dataclass(frozen=True)
class Stratum:
    site: str
    age_group: str
    seed: str  # a fixed v2 seed (64 hex digits): synthetic data must be reproducible
    slots: list  # patients.allocation.AllocatedSlot


def allocation_lists(design: Design, women: list[Enrolment], *, seed: int, spare: int = 10) -> list[Stratum]:
    """One permuted-block list per stratum (site × age group) with room for its randomized and waiting
    women plus `spare` slots, generated as the statistician's service would but from a seed fixed by the
    command's `--seed` (the lists record that their seed was fixed)."""
    needed = Counter(w.stratum for w in women if w.fate in ("randomized", "awaiting"))
    lists = []
    for number, (site, age_group) in enumerate(sorted(needed)):
        list_seed = allocation_stream.fixed_seed(f"synthetic allocation list {seed} #{number}")
        slots = allocation.permuted_blocks(
            seed=list_seed,
            length=needed[site, age_group] + spare,
            block_sizes=design.block_sizes,
            arms=design.arms,
            ratio=design.ratio,
        )
        lists.append(Stratum(site, age_group, list_seed, slots))
    return lists


def allocate(women: list[Enrolment], lists: list[Stratum]) -> dict[int, tuple[Stratum, int]]:
    """Woman index → (stratum, slot position): randomized women take their stratum's slots in screening order."""
    position: Counter = Counter()
    by_stratum = {(s.site, s.age_group): s for s in lists}
    allocated = {}
    for woman in women:
        if woman.fate == "randomized":
            stratum = by_stratum[woman.stratum]
            allocated[woman.index] = (stratum, position[woman.stratum])
            position[woman.stratum] += 1
    return allocated
