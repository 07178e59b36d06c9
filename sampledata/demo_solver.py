"""What the demo women's clinical forms say, solved from the published trial (docs/paper.md). Pure: no Django.

Why: the application computes its own statistics from per-patient records (SPEC §5), so the demo can only
show the paper's numbers if the records are built to produce them. Counts are exact (CPR 16/40 vs 12/40,
sacs 33 of 80 vs 19 of 84 embryos, one miscarriage per arm); post-treatment FSH, E2 and LH are solved on
the grid of their reporting precision so their arm means and SDs print as the paper's. Where the paper
publishes no numbers (β-hCG, CA-125, IL-6, questionnaires, adverse events by type) the values are invented,
plausible and in the direction the paper claims; sampledata.paper_claims says which is which.
Questionnaire answers are drawn in sampledata.demo_questionnaires.
"""

import math
import random
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from sampledata.demo_profiles import standard_normal
from sampledata.demo_questionnaires import questionnaire_plan

CLINICAL_SEED = 36
POST_TREATMENT = "ET28"
PAPER_OUTCOMES: dict[str, dict[str, int]] = {
    "EXP": {"clinical_pregnancies": 16, "embryos": 80, "sacs": 33, "miscarriages": 1},
    "CTRL": {"clinical_pregnancies": 12, "embryos": 84, "sacs": 19, "miscarriages": 1},
}
# Post-treatment (ET28) means ± SDs as printed, in canonical units (the paper prints FSH in "pg/L" and LH
# in "nmol/L"; both are measured in IU/L). Grid: the precision a laboratory reports them with.
PAPER_HORMONES: dict[str, dict[str, tuple[str, str]]] = {
    "FSH": {"EXP": ("5.81", "0.76"), "CTRL": ("7.93", "0.82")},
    "E2": {"EXP": ("120.75", "9.81"), "CTRL": ("191.14", "13.46")},
    "LH": {"EXP": ("109.48", "11.52"), "CTRL": ("169.22", "10.05")},
}
HORMONE_GRID = {"FSH": Decimal("0.01"), "E2": Decimal("0.1"), "LH": Decimal("0.01")}
# Invented, not published: positive β-hCG without a clinical pregnancy.
BIOCHEMICAL_ONLY = {"EXP": 2, "CTRL": 3}
# Invented (analyte, time point) → EXP (mean, SD), CTRL (mean, SD), decimals. Before treatment the arms are
# alike; afterwards CA-125 and IL-6 are lower with dalteparin, as the paper claims.
INVENTED_LABS: dict[tuple[str, str], tuple[tuple[float, float], tuple[float, float], int]] = {
    ("FSH", "BASELINE"): ((4.6, 1.6), (4.6, 1.6), 2),
    ("FSH", "ET14"): ((4.9, 1.5), (5.0, 1.5), 2),
    ("LH", "BASELINE"): ((5.2, 2.4), (5.2, 2.4), 2),
    ("LH", "ET14"): ((4.8, 2.2), (4.9, 2.2), 2),
    ("E2", "BASELINE"): ((780.0, 260.0), (780.0, 260.0), 1),
    ("E2", "ET14"): ((905.0, 340.0), (890.0, 340.0), 1),
    ("CA125", "BASELINE"): ((17.5, 7.5), (17.5, 7.5), 1),
    ("CA125", "ET14"): ((16.4, 6.6), (19.2, 7.6), 1),
    ("CA125", "ET28"): ((14.9, 5.6), (20.8, 7.4), 1),
    ("IL6", "BASELINE"): ((3.6, 1.6), (3.6, 1.6), 2),
    ("IL6", "ET14"): ((3.1, 1.3), (4.2, 1.7), 2),
    ("IL6", "ET28"): ((2.8, 1.1), (4.7, 1.8), 2),
}
HCG = "BHCG"
HCG_DETECTION_LIMIT = 2.0
HCG_UNDETECTABLE = f"<{HCG_DETECTION_LIMIT}"
# Every fourth woman's baseline draw went to a laboratory reporting in the analyte's other unit (E2 pg/mL).
OTHER_UNIT_EVERY = 4


@dataclass(frozen=True)
class Pregnancy:
    embryos: int
    beta_hcg_positive: bool = False
    sacs: int = 0  # gestational sacs on ultrasound; one or more is a clinical pregnancy
    miscarriage: bool = False

    @property
    def clinical(self) -> bool:
        return self.sacs > 0

    @property
    def ongoing(self) -> bool:
        return self.clinical and not self.miscarriage

    @property
    def infants(self) -> int:
        # Higher-order pregnancies were reduced to twins, as is usual practice.
        return min(self.sacs, 2) if self.ongoing else 0


@dataclass(frozen=True)
class LabEntry:
    value: str  # as entered, e.g. "5.81" or "<2.0"
    unit: str


@dataclass(frozen=True)
class AnalyteHint:
    """What the plan needs of an analyte's configuration: units and its reference range per time point."""

    unit: str
    accepted_units: dict[str, float]
    ranges: dict[str, tuple[float | None, float | None]]  # time point → (low, high)


@dataclass(frozen=True)
class AdversePlan:
    term: str
    term_other: str
    onset_day: int  # days after the embryo transfer
    days_to_resolve: int
    grade: int
    related: str  # relatedness to dalteparin


@dataclass(frozen=True)
class WomanPlan:
    index: int
    arm: str
    cycle_type: str
    embryo_stage: str
    luteal_route: str
    missed_doses: int
    pregnancy: Pregnancy
    labs: dict[tuple[str, str], LabEntry]
    questionnaires: dict[tuple[str, str], dict[str, int]]
    adverse_events: tuple[AdversePlan, ...]


# Invented: the paper says only that adverse reactions did not differ. Dalteparin brings injection-site
# events; progesterone alone brings the rest. None is serious.
ADVERSE_EVENTS: dict[str, tuple[AdversePlan, ...]] = {
    "EXP": (
        AdversePlan("injection_site_bruising", "", 3, 6, 1, "probable"),
        AdversePlan("injection_site_bruising", "", 5, 7, 1, "probable"),
        AdversePlan("injection_site_bruising", "", 9, 5, 1, "definite"),
        AdversePlan("injection_site_haematoma", "", 6, 10, 2, "definite"),
        AdversePlan("bleeding", "", 12, 3, 1, "possible"),
    ),
    "CTRL": (
        AdversePlan("bleeding", "", 11, 3, 1, "not"),
        AdversePlan("allergic_reaction", "", 2, 5, 1, "not"),
        AdversePlan("other", "Headache", 4, 2, 1, "not"),
    ),
}


def clinical_plan(
    arms: list[str],
    analytes: dict[str, AnalyteHint],
    timepoints: list[str],
    instruments: dict[str, list[str]],
    infertility: list[str],
    seed: int = CLINICAL_SEED,
) -> list[WomanPlan]:
    """One plan per woman, in the order of `arms` (her allocated arm) and `infertility` (primary/secondary)."""
    rng = random.Random(seed)
    members = {arm: [i for i, a in enumerate(arms) if a == arm] for arm in PAPER_OUTCOMES}
    pregnancy: dict[int, Pregnancy] = {}
    events: dict[int, tuple[AdversePlan, ...]] = {}
    for arm, women in members.items():
        pregnancy.update(zip(women, arm_pregnancies(rng, arm, len(women)), strict=True))
        chosen = rng.sample(women, len(ADVERSE_EVENTS[arm]))
        events.update((woman, (event,)) for woman, event in zip(chosen, ADVERSE_EVENTS[arm], strict=True))
    cycles = [rng.random() < 0.7 for _ in arms]
    pregnancies = [pregnancy[i] for i in range(len(arms))]
    labs = lab_plan(rng, arms, pregnancies, cycles, analytes, timepoints)
    answers = questionnaire_plan(rng, arms, instruments, infertility)
    return [
        WomanPlan(
            index=i + 1,
            arm=arm,
            cycle_type="frozen" if cycles[i] else "fresh",
            embryo_stage="blastocyst" if rng.random() < 0.65 else "cleavage",
            luteal_route="intramuscular" if i % 5 == 4 else "vaginal",
            missed_doses=rng.choice((0, 0, 0, 0, 0, 0, 1, 1, 2)) if arm == "EXP" else 0,
            pregnancy=pregnancies[i],
            labs=labs[i],
            questionnaires=answers[i],
            adverse_events=events.get(i, ()),
        )
        for i, arm in enumerate(arms)
    ]


# --- pregnancies: exact counts per arm ----------------------------------------------------------------------


def embryo_counts(n: int, total: int) -> list[int]:
    """n transfers of 1–3 embryos summing to `total`: mostly two, with some single and triple transfers."""
    extra = total - 2 * n
    threes = max(0, extra) + n // 5
    ones = threes - extra
    return [1] * ones + [3] * threes + [2] * (n - ones - threes)


def sac_counts(pregnancies: int, sacs: int) -> list[int]:
    """Sacs per clinical pregnancy, as even as the total allows (the fewest higher-order pregnancies)."""
    base, extra = divmod(sacs, pregnancies)
    return [base + 1] * extra + [base] * (pregnancies - extra)


def arm_pregnancies(rng: random.Random, arm: str, n: int) -> list[Pregnancy]:
    """The arm's transfers and outcomes with the paper's counts, in random order over its women."""
    target = PAPER_OUTCOMES[arm]
    embryos = embryo_counts(n, target["embryos"])
    rng.shuffle(embryos)
    sacs = [0] * n
    order = rng.sample(range(n), n)
    for wanted in sorted(sac_counts(target["clinical_pregnancies"], target["sacs"]), reverse=True):
        sacs[next(i for i in order if not sacs[i] and embryos[i] >= wanted)] = wanted
    miscarried = set(rng.sample([i for i in range(n) if sacs[i]], target["miscarriages"]))
    biochemical = set(rng.sample([i for i in range(n) if not sacs[i]], BIOCHEMICAL_ONLY[arm]))
    return [Pregnancy(embryos[i], bool(sacs[i]) or i in biochemical, sacs[i], i in miscarried) for i in range(n)]


# --- continuous values solved on a grid ---------------------------------------------------------------------


def solve_column(
    rng: random.Random, n: int, mean: Decimal, sd: Decimal, grid: Decimal, lo: Decimal, hi: Decimal
) -> list[Decimal]:
    """n values on `grid` within [lo, hi]: total n × mean on the grid and sample SD (n − 1) as close to `sd`
    as the grid allows; normal in shape, in random order."""
    lo_u, hi_u = int(lo / grid), int(hi / grid)
    total = int((mean * n / grid).to_integral_value(ROUND_HALF_UP))
    mean_u, sd_u = mean / grid, sd / grid
    wanted = [float(mean_u) + float(sd_u) * z for z in standard_normal(rng, n)]
    units = [min(hi_u, max(lo_u, round(w))) for w in wanted]
    while (gap := total - sum(units)) != 0:
        step = 1 if gap > 0 else -1
        movable = [i for i, u in enumerate(units) if lo_u <= u + step <= hi_u]
        units[max(movable, key=lambda i: step * (wanted[i] - units[i]))] += step
    _repair_square_sum(units, _square_sum_target(n, total, sd_u), lo_u, hi_u)
    return [u * grid for u in units]


def grid_sd(n: int, total: int, square_sum: int) -> Decimal:
    """Sample SD of n grid units known by their sum and sum of squares."""
    return ((Decimal(square_sum) - Decimal(total) ** 2 / n) / (n - 1)).sqrt()


def _square_sum_target(n: int, total: int, sd_u: Decimal) -> int:
    ideal = Decimal(total) ** 2 / n + sd_u**2 * (n - 1)
    below = int(ideal.to_integral_value(ROUND_FLOOR))
    below -= (below - total) % 2  # x² has the parity of x, so the sum of squares has the parity of the total
    return min((below, below + 2), key=lambda ss: abs(grid_sd(n, total, ss) - sd_u))


def _repair_square_sum(units: list[int], target: int, lo_u: int, hi_u: int) -> None:
    """Move one unit at a time between two values (total kept), each move the largest that does not overshoot."""
    while gap := target - sum(u * u for u in units):
        centre = sum(units) / len(units)
        # Moving one unit from a to b changes the sum of squares by 2 * (b - a + 1).
        moves = [
            (abs(gap - 2 * (units[b] - units[a] + 1)), abs(units[a] - centre) + abs(units[b] - centre), a, b)
            for a in range(len(units))
            for b in range(len(units))
            if a != b
            and units[a] - 1 >= lo_u
            and units[b] + 1 <= hi_u
            and 0 < 2 * (units[b] - units[a] + 1) * gap <= gap * gap
        ]
        if not moves:
            return
        *_, a, b = min(moves)
        units[a] -= 1
        units[b] += 1


# --- laboratory values --------------------------------------------------------------------------------------


def lab_plan(rng, arms, pregnancies, frozen, analytes: dict[str, AnalyteHint], timepoints) -> list[dict]:
    """Every configured analyte at every configured time point, per woman."""
    plans: list[dict] = [{} for _ in arms]
    for code, hint in analytes.items():
        for tp in timepoints:
            for arm in PAPER_OUTCOMES:
                women = [i for i, a in enumerate(arms) if a == arm]
                values = _column(rng, code, tp, arm, hint, [pregnancies[i] for i in women], [frozen[i] for i in women])
                for woman, value in zip(women, values or (), strict=False):
                    plans[woman][(code, tp)] = value
    return plans


def _column(rng, code, tp, arm, hint: AnalyteHint, pregnancies, frozen) -> list[LabEntry] | None:
    if code == HCG:
        return [LabEntry(_hcg(rng, tp, p, f), hint.unit) for p, f in zip(pregnancies, frozen, strict=True)]
    if code in PAPER_HORMONES and tp == POST_TREATMENT:
        mean, sd = (Decimal(x) for x in PAPER_HORMONES[code][arm])
        grid = HORMONE_GRID[code]
        values = solve_column(rng, len(pregnancies), mean, sd, grid, max(grid, mean - 4 * sd), mean + 4 * sd)
        return [LabEntry(f"{v}", hint.unit) for v in values]
    invented = INVENTED_LABS.get((code, tp)) or _from_reference_range(hint.ranges.get(tp))
    if invented is None:
        return None  # an analyte the demo knows nothing about: left empty rather than made up blindly
    exp, ctrl, places = invented
    mean, sd = exp if arm == "EXP" else ctrl
    entries = [LabEntry(_plausible(rng, mean, sd, places), hint.unit) for _ in pregnancies]
    other = next((u for u, f in hint.accepted_units.items() if f != 1), None)
    if other and tp == "BASELINE":
        factor = Decimal(str(hint.accepted_units[other]))
        for i in range(0, len(entries), OTHER_UNIT_EVERY):
            entries[i] = LabEntry(f"{(Decimal(entries[i].value) / factor).quantize(Decimal('0.1'))}", other)
    return entries


def _from_reference_range(bounds) -> tuple | None:
    if not bounds or bounds[0] is None or bounds[1] is None:
        return None
    low, high = bounds
    centre = ((low + high) / 2, (high - low) / 6)
    return centre, centre, 2


def _plausible(rng: random.Random, mean: float, sd: float, places: int) -> str:
    """A normal draw, redrawn until above a fifth of the mean: concentrations are never near zero here."""
    while (value := rng.gauss(mean, sd)) < mean / 5:
        pass
    return f"{value:.{places}f}"


def _hcg(rng: random.Random, tp: str, pregnancy: Pregnancy, frozen: bool) -> str:
    """β-hCG in IU/L: residual trigger hCG on the day of a fresh transfer, then the pregnancy's course."""
    if tp == "BASELINE":
        residual = rng.lognormvariate(math.log(4.0), 0.45)
        return HCG_UNDETECTABLE if frozen or residual < HCG_DETECTION_LIMIT else f"{residual:.1f}"
    multiple = 1 + 0.5 * (pregnancy.sacs - 1) if pregnancy.clinical else 1
    if tp == "ET14" and pregnancy.clinical:
        return f"{rng.lognormvariate(math.log(330 * multiple), 0.45):.1f}"
    if tp == "ET14" and pregnancy.beta_hcg_positive:
        return f"{rng.uniform(11, 48):.1f}"
    if tp == POST_TREATMENT and pregnancy.clinical:
        level = 2400 if pregnancy.miscarriage else 16000 * multiple
        return f"{rng.lognormvariate(math.log(level), 0.4):.0f}"
    return HCG_UNDETECTABLE
