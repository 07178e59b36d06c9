"""Demo enrolment that reproduces the baseline table of the published trial the registry is modelled on.

Why: a reader who compares the demo's baseline table with the paper (80 women, 40 per arm) should see the
paper's numbers. Whole years and whole counts cannot reach every published mean and SD, so instead of
silently missing them the module works out, from the arithmetic alone, which values are unreachable, gets
as close as the data allow and says so in DEVIATIONS.

Pure Python on purpose (no Django, no numpy): the demo seeding and the tests use it without a database.
Every rounding decision uses exact Decimal arithmetic, because means such as 32.725 sit exactly on a
rounding boundary that binary floats would misplace.
"""

import random
import statistics
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from patients.rules import body_mass_index

ARMS = ("EXP", "CTRL")
ARM_SIZE = 40
EDUCATION_LEVELS = ("junior_high_or_below", "high_school_or_vocational", "college_or_higher")

PAPER_BASELINE: dict = {
    "EXP": {
        "age": (31.55, 2.95),
        "bmi": (21.92, 1.33),
        "prior_miscarriages": (4.12, 1.06),
        "previous_failed_transfers": (1.73, 0.28),
        "education": {"junior_high_or_below": 7, "high_school_or_vocational": 15, "college_or_higher": 18},
    },
    "CTRL": {
        "age": (32.74, 3.06),
        "bmi": (21.45, 1.18),
        "prior_miscarriages": (3.88, 1.02),
        "previous_failed_transfers": (1.69, 0.24),
        "education": {"junior_high_or_below": 8, "high_school_or_vocational": 16, "college_or_higher": 16},
    },
}

TENTH = Decimal("0.1")
HUNDREDTH = Decimal("0.01")
THOUSANDTH = Decimal("0.001")
HEIGHT_RANGE = (Decimal("150.0"), Decimal("175.0"))
# Demo plausibility bound on the drawn BMIs (about ±4.5 SD of the paper); not a trial criterion.
BMI_RANGE = (17.0, 28.0)
INFERTILITY_YEARS_RANGE = (Decimal("1.0"), Decimal("12.0"))
AMH_RANGE = (Decimal("0.50"), Decimal("6.00"))
# Nobody is counted as infertile before 18, so the years of trying cannot exceed the years since then.
INFERTILITY_START_AGE = 18
# Trials allocate in permuted blocks: arms interleave and the totals stay balanced at every fourth woman.
ALLOCATION_BLOCK = ("EXP", "EXP", "CTRL", "CTRL")
MAX_TUNING_STEPS = 2000


@dataclass(frozen=True)
class DemoProfile:
    index: int  # 1..80, order of enrolment
    arm: str  # "EXP" or "CTRL": the arm this woman is meant to be allocated to
    age: int  # completed years at screening, 20..40 (an inclusion criterion)
    height_cm: Decimal  # 1 decimal, 150.0..175.0
    weight_kg: Decimal  # 1 decimal
    previous_failed_transfers: int  # >= 1
    prior_miscarriages: int  # >= 0
    education: str  # one of EDUCATION_LEVELS
    infertility_type: str  # "primary" | "secondary"
    infertility_years: Decimal  # 1 decimal, 1.0..12.0 and no longer than the years since age 18
    amh_ng_ml: Decimal  # 2 decimals, 0.50..6.00


@dataclass(frozen=True)
class WholeVariable:
    key: str
    label: str
    unit: str
    grain: str
    lo: int
    hi: int


WHOLE_VARIABLES = (
    WholeVariable("age", "age", "years", "whole years", 20, 40),
    WholeVariable("prior_miscarriages", "prior miscarriages", "miscarriages", "whole counts", 0, 10),
    WholeVariable("previous_failed_transfers", "previous failed transfers", "transfers", "whole counts", 1, 10),
)


def demo_profiles(seed: int = 2026) -> list[DemoProfile]:
    """The 80 demo women in enrolment order, identical for the same seed."""
    rng = random.Random(seed)
    order = _allocation_order(rng)
    rows = {arm: iter(_arm_rows(rng, PAPER_BASELINE[arm])) for arm in ARMS}
    return [_profile(rng, index, arm, next(rows[arm])) for index, arm in enumerate(order, start=1)]


def bmi_of(profile) -> Decimal:
    """BMI exactly as the registry derives it from the recorded height and weight."""
    return body_mass_index(profile.height_cm, profile.weight_kg)


def summary(profiles) -> dict:
    """Per arm: n, exact (mean, sample SD) of each table variable, and the education counts."""
    table = {}
    for arm in ARMS:
        group = [p for p in profiles if p.arm == arm]
        row: dict = {"n": len(group)}
        row["age"] = _mean_sd([Decimal(p.age) for p in group])
        row["bmi"] = _mean_sd([bmi_of(p) for p in group])
        for key in ("prior_miscarriages", "previous_failed_transfers"):
            row[key] = _mean_sd([Decimal(getattr(p, key)) for p in group])
        row["education"] = {level: sum(p.education == level for p in group) for level in EDUCATION_LEVELS}
        table[arm] = row
    return table


def _mean_sd(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    """Mean and sample SD (n - 1), computed exactly by statistics on Decimals."""
    return statistics.mean(values), statistics.stdev(values)


# --- arithmetic of whole-number data: which totals and spreads exist at all -------------------------------


def _half_up(value: Decimal, places: Decimal = HUNDREDTH) -> Decimal:
    """Round as the paper's table does."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    """A Decimal without trailing zeros or exponent, for prose."""
    return f"{value.normalize():f}"


def _targets(pair: tuple[float, float]) -> tuple[Decimal, Decimal]:
    """Published (mean, SD) as the exact decimals printed in the paper."""
    return Decimal(str(pair[0])), Decimal(str(pair[1]))


def _sd_from(n: int, total: int, square_sum: int) -> Decimal:
    """Sample SD of n numbers known only by their sum and sum of squares."""
    return ((Decimal(square_sum) - Decimal(total) ** 2 / n) / (n - 1)).sqrt()


def _least_square_sum(n: int, total: int) -> int:
    """Smallest sum of squares n whole numbers with this total can have: all at floor or ceiling of the mean."""
    base, extra = divmod(total, n)
    return (n - extra) * base**2 + extra * (base + 1) ** 2


def _total_options(n: int, mean: Decimal) -> tuple[int, int]:
    """The two whole totals around n times the published mean."""
    below = int((mean * n).to_integral_value(ROUND_FLOOR))
    return below, below + 1


def _closest_total(n: int, mean: Decimal, variable: WholeVariable) -> int:
    """Total whose mean rounds to the published one, else the total with the nearest mean."""
    options = [t for t in _total_options(n, mean) if n * variable.lo <= t <= n * variable.hi]
    return min(options, key=lambda t: (_half_up(Decimal(t) / n) != mean, abs(Decimal(t) / n - mean), t))


def _square_sum_options(n: int, total: int, sd: Decimal) -> list[int]:
    """The reachable sums of squares either side of the one the published SD needs."""
    ideal = Decimal(total) ** 2 / n + sd**2 * (n - 1)
    below = int(ideal.to_integral_value(ROUND_FLOOR))
    below -= (below - total) % 2  # x² has the parity of x, so the sum of squares has the parity of the total
    least = _least_square_sum(n, total)
    return sorted({max(least, below), max(least, below + 2)})


def _closest_square_sum(n: int, total: int, sd: Decimal) -> int:
    """Sum of squares whose SD rounds to the published one, else the one with the nearest SD."""
    return min(
        _square_sum_options(n, total, sd),
        key=lambda ss: (_half_up(_sd_from(n, total, ss)) != sd, abs(_sd_from(n, total, ss) - sd), ss),
    )


def _whole_plan(variable: WholeVariable, mean: Decimal, sd: Decimal) -> tuple[int, int]:
    """(total, sum of squares) the demo aims at for one arm and variable."""
    total = _closest_total(ARM_SIZE, mean, variable)
    return total, _closest_square_sum(ARM_SIZE, total, sd)


# --- DEVIATIONS: published values no whole-number data set can show ------------------------------------


def _mean_notes(arm: str, variable: WholeVariable, mean: Decimal) -> list[str]:
    """A note when no whole-number total gives a mean rounding to the published one."""
    n = ARM_SIZE
    total = _closest_total(n, mean, variable)
    achieved = Decimal(total) / n
    if _half_up(achieved) == mean:
        return []
    low, high = (Decimal(t) / n for t in _total_options(n, mean))
    return [
        f"{arm} mean {variable.label} {mean} needs a sum of {_plain(mean * n)} {variable.unit} over {n} women; "
        f"{variable.grain} give {_plain(low)} or {_plain(high)} (shown as {_half_up(low)} or {_half_up(high)}); "
        f"the demo uses the closer, {_plain(achieved)} (sum {total})."
    ]


def _sd_notes(arm: str, variable: WholeVariable, mean: Decimal, sd: Decimal) -> list[str]:
    """A note when, with the planned total, no whole-number data set has an SD rounding to the published one."""
    n = ARM_SIZE
    total, square_sum = _whole_plan(variable, mean, sd)
    achieved = _sd_from(n, total, square_sum)
    if _half_up(achieved) == sd:
        return []
    head = f"{arm} SD of {variable.label} {sd}"
    if square_sum == _least_square_sum(n, total):
        base, extra = divmod(total, n)
        return [
            f"{head} is impossible: the least spread {variable.grain} summing to {total} allow "
            f"({n - extra} women with {base}, {extra} with {base + 1}) is SD {_half_up(achieved, THOUSANDTH)}; "
            "the demo uses that minimum."
        ]
    parity = "odd" if total % 2 else "even"
    low, high = (_half_up(_sd_from(n, total, ss), THOUSANDTH) for ss in _square_sum_options(n, total, sd))
    return [
        f"{head} cannot be met with the sum fixed at {total}: the sum of squares must be {parity} like the sum, "
        f"so {variable.grain} give SD {low} or {high}; the demo uses the closer, {_half_up(achieved, THOUSANDTH)}."
    ]


def _deviations() -> list[str]:
    """Every published mean or SD the whole-number demo data cannot reproduce, in table order."""
    notes = []
    for arm in ARMS:
        for variable in WHOLE_VARIABLES:
            mean, sd = _targets(PAPER_BASELINE[arm][variable.key])
            notes += _mean_notes(arm, variable, mean) + _sd_notes(arm, variable, mean, sd)
    return notes


DEVIATIONS: list[str] = _deviations()


# --- generation -------------------------------------------------------------------------------------------


def _allocation_order(rng: random.Random) -> list[str]:
    """Arm of each woman in enrolment order: shuffled blocks of four, so exactly 40 per arm."""
    order = []
    for _ in range(len(ARMS) * ARM_SIZE // len(ALLOCATION_BLOCK)):
        block = list(ALLOCATION_BLOCK)
        rng.shuffle(block)
        order += block
    return order


def _arm_rows(rng: random.Random, baseline: dict) -> list[dict]:
    """The table variables of one arm's 40 women, one dict per woman."""
    columns: dict[str, list] = {}
    for variable in WHOLE_VARIABLES:
        columns[variable.key] = _whole_column(rng, variable, *_targets(baseline[variable.key]))
    columns["height_cm"], columns["weight_kg"] = _bmi_columns(rng, *_targets(baseline["bmi"]))
    columns["education"] = _education_column(rng, baseline["education"])
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _profile(rng: random.Random, index: int, arm: str, row: dict) -> DemoProfile:
    """One woman: the table variables plus the baseline fields the paper does not tabulate."""
    # A miscarriage is a clinical pregnancy, so any woman with one has secondary infertility by definition.
    infertility_type = "secondary" if row["prior_miscarriages"] else "primary"
    return DemoProfile(
        index=index,
        arm=arm,
        infertility_type=infertility_type,
        infertility_years=_infertility_years(rng, row["age"]),
        amh_ng_ml=_amh(rng, row["age"]),
        **row,
    )


def standard_normal(rng: random.Random, n: int) -> list[float]:
    """n draws rescaled to mean exactly 0 and SD exactly 1, so only rounding is left to repair."""
    draws = [rng.gauss(0.0, 1.0) for _ in range(n)]
    centre, spread = statistics.fmean(draws), statistics.stdev(draws)
    return [(d - centre) / spread for d in draws]


def _draw_within(draw, lo: Decimal, hi: Decimal, places: Decimal) -> Decimal:
    """Redraw until the rounded value is in range: clamping would pile women up on the limits."""
    while not lo <= (value := Decimal(draw()).quantize(places, rounding=ROUND_HALF_UP)) <= hi:
        pass
    return value


def _education_column(rng: random.Random, counts: dict[str, int]) -> list[str]:
    """Exactly the published education counts, in random order."""
    column = [level for level in EDUCATION_LEVELS for _ in range(counts[level])]
    rng.shuffle(column)
    return column


def _infertility_years(rng: random.Random, age: int) -> Decimal:
    """Years of trying, median about 3.5, never longer than the years since age 18."""
    ceiling = min(INFERTILITY_YEARS_RANGE[1], Decimal(age - INFERTILITY_START_AGE))
    return _draw_within(lambda: rng.lognormvariate(1.25, 0.45), INFERTILITY_YEARS_RANGE[0], ceiling, TENTH)


def _amh(rng: random.Random, age: int) -> Decimal:
    """AMH in ng/mL, median about 3 at 31 and falling with age as ovarian reserve does."""
    return _draw_within(lambda: rng.lognormvariate(1.1 - 0.07 * (age - 31), 0.45), *AMH_RANGE, HUNDREDTH)


# --- whole numbers: standardise, round, then repair the total and the spread --------------------------------


def _whole_column(rng: random.Random, variable: WholeVariable, mean: Decimal, sd: Decimal) -> list[int]:
    """40 whole numbers in range whose total and sum of squares are the planned ones."""
    total, square_sum = _whole_plan(variable, mean, sd)
    wanted = [float(mean) + float(sd) * z for z in standard_normal(rng, ARM_SIZE)]
    values = [min(variable.hi, max(variable.lo, round(w))) for w in wanted]
    _repair_total(values, wanted, total, variable)
    _repair_spread(values, square_sum, variable)
    return values


def _repair_total(values: list[int], wanted: list[float], total: int, variable: WholeVariable) -> None:
    """Step single values by one until the total is met, each time the value whose draw leaned most that way."""
    while (gap := total - sum(values)) != 0:
        step = 1 if gap > 0 else -1
        movable = [i for i, v in enumerate(values) if variable.lo <= v + step <= variable.hi]
        chosen = max(movable, key=lambda i: step * (wanted[i] - values[i]))
        values[chosen] += step


def _repair_spread(values: list[int], square_sum: int, variable: WholeVariable) -> None:
    """Move units between pairs (total kept) until the sum of squares is met or no move gets closer."""
    while gap := square_sum - sum(v * v for v in values):
        move = _smallest_move(values, gap, variable)
        if move is None:
            return
        giver, taker = move
        values[giver] -= 1
        values[taker] += 1


def _smallest_move(values: list[int], gap: int, variable: WholeVariable) -> tuple[int, int] | None:
    """(giver, taker) of the unit move that changes the sum of squares least towards the gap, near the centre."""
    where: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        where.setdefault(v, []).append(i)
    centre = sum(values) / len(values)
    # Moving one unit from a value a to a value b changes the sum of squares by 2 * (b - a + 1).
    moves = [
        (abs(b - a + 1), abs(a - centre) + abs(b - centre), a, b)
        for a in where
        for b in where
        if (a != b or len(where[a]) > 1)
        and a - 1 >= variable.lo
        and b + 1 <= variable.hi
        and 0 < 2 * (b - a + 1) * gap <= gap * gap
    ]
    if not moves:
        return None
    *_, a, b = min(moves)
    return where[a][0], where[b][-1]


# --- BMI: heights first, then weights in 0.1 kg steps -------------------------------------------------------


def _bmi_columns(rng: random.Random, mean: Decimal, sd: Decimal) -> tuple[list[Decimal], list[Decimal]]:
    """Heights and weights whose derived BMIs have a mean and SD rounding to the published ones."""
    heights = [_draw_within(lambda: rng.gauss(160.5, 5.0), *HEIGHT_RANGE, TENTH) for _ in range(ARM_SIZE)]
    wanted = [min(BMI_RANGE[1], max(BMI_RANGE[0], float(mean) + float(sd) * z)) for z in standard_normal(rng, ARM_SIZE)]
    weights = [(Decimal(b) * (h / 100) ** 2).quantize(TENTH) for b, h in zip(wanted, heights, strict=True)]
    _tune_weights(heights, weights, mean, sd)
    return heights, weights


def _tune_weights(heights: list[Decimal], weights: list[Decimal], mean: Decimal, sd: Decimal) -> None:
    """Nudge weights by 0.1 kg until the mean and SD of the derived BMIs round to the targets."""
    for _ in range(MAX_TUNING_STEPS):
        bmis = [body_mass_index(h, w) for h, w in zip(heights, weights, strict=True)]
        centre, spread = _mean_sd(bmis)
        if _half_up(centre) != mean:
            # The woman nearest the mean: moving her shifts the mean while barely touching the SD.
            nearest = min(range(len(bmis)), key=lambda i: abs(bmis[i] - centre))
            weights[nearest] += TENTH if centre < mean else -TENTH
        elif _half_up(spread) != sd:
            outward = TENTH if spread < sd else -TENTH
            weights[_nearest(bmis, centre + spread)] += outward
            weights[_nearest(bmis, centre - spread)] -= outward
        else:
            return
    raise RuntimeError("BMI tuning did not converge")


def _nearest(values: list[Decimal], target: Decimal) -> int:
    """Index of the value closest to target."""
    return min(range(len(values)), key=lambda i: abs(values[i] - target))
