"""The demo enrolment reproduces the paper's baseline table, or says exactly where whole numbers cannot.

Reachability is recomputed here by brute force over every possible total, independently of the module.
SD tolerance: where some whole-number data set can show the published SD (age and BMI in both arms, CTRL
prior miscarriages) the demo's SD must round to it, i.e. lie within 0.005; elsewhere it must be the closest
SD any whole-number data set with the demo's total can have (EXP prior miscarriages: 1.067 for 1.06; transfers:
the minimum possible spread, 0.452 for 0.28 and 0.464 for 0.24).
"""

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from itertools import groupby

import pytest

from patients.rules import body_mass_index
from sampledata.demo_profiles import DEVIATIONS, PAPER_BASELINE, bmi_of, demo_profiles, summary

SEEDS = (2026, 1, 99)
N = 40
WHOLE = {  # key -> (label used in DEVIATIONS, inclusive range the counts may take)
    "age": ("age", range(20, 41)),
    "prior_miscarriages": ("prior miscarriages", range(0, 11)),
    "previous_failed_transfers": ("previous failed transfers", range(1, 11)),
}
EDUCATION = {"junior_high_or_below", "high_school_or_vocational", "college_or_higher"}


@cache
def profiles(seed: int) -> tuple:
    return tuple(demo_profiles(seed))


def half_up(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def published(arm: str, key: str) -> tuple[Decimal, Decimal]:
    mean, sd = PAPER_BASELINE[arm][key]
    return Decimal(str(mean)), Decimal(str(sd))


def mean_reachable(target: Decimal, counts: range) -> bool:
    return any(half_up(Decimal(total) / N) == target for total in range(N * counts[0], N * counts[-1] + 1))


def closest_mean_gap(target: Decimal, counts: range) -> Decimal:
    return min(abs(Decimal(total) / N - target) for total in range(N * counts[0], N * counts[-1] + 1))


def closest_sd_gap(target: Decimal, total: int) -> Decimal:
    """Smallest |SD - target| over every sum of squares 40 whole numbers with this total can have."""
    base, extra = divmod(total, N)
    least = (N - extra) * base**2 + extra * (base + 1) ** 2
    square_sums = range(least, least + 4000, 2)  # x² has the parity of x, so steps of 2 from the minimum
    return min(abs(((Decimal(ss) - Decimal(total) ** 2 / N) / (N - 1)).sqrt() - target) for ss in square_sums)


def longest_run(arms: list[str]) -> int:
    return max(len(list(run)) for _, run in groupby(arms))


def test_same_seed_gives_same_profiles_and_another_seed_differs():
    assert demo_profiles(2026) == demo_profiles(2026) == demo_profiles()
    assert demo_profiles(2027) != demo_profiles(2026)


@pytest.mark.parametrize("seed", SEEDS)
def test_forty_per_arm_interleaved_in_enrolment_order(seed):
    arms = [p.arm for p in profiles(seed)]
    assert [p.index for p in profiles(seed)] == list(range(1, 81))
    assert arms.count("EXP") == arms.count("CTRL") == N
    assert longest_run(arms) <= 6
    assert 15 <= arms[:N].count("EXP") <= 25


@pytest.mark.parametrize("seed", SEEDS)
def test_every_value_is_in_its_allowed_range(seed):
    for p in profiles(seed):
        assert isinstance(p.age, int) and 20 <= p.age <= 40
        assert p.height_cm.as_tuple().exponent == -1 and Decimal("150.0") <= p.height_cm <= Decimal("175.0")
        assert p.weight_kg.as_tuple().exponent == -1 and Decimal("16") < bmi_of(p) < Decimal("30")
        assert isinstance(p.previous_failed_transfers, int) and p.previous_failed_transfers >= 1
        assert isinstance(p.prior_miscarriages, int) and p.prior_miscarriages >= 0
        assert p.education in EDUCATION
        # A miscarriage is a prior clinical pregnancy, so only women without one can have primary infertility.
        assert p.infertility_type == ("secondary" if p.prior_miscarriages else "primary")
        assert p.infertility_years.as_tuple().exponent == -1
        assert Decimal("1.0") <= p.infertility_years <= min(Decimal("12.0"), Decimal(p.age - 18))
        assert p.amh_ng_ml.as_tuple().exponent == -2 and Decimal("0.50") <= p.amh_ng_ml <= Decimal("6.00")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("arm", ["EXP", "CTRL"])
def test_means_round_to_the_paper_or_are_the_closest_possible_and_named(seed, arm):
    achieved = summary(profiles(seed))[arm]
    assert achieved["n"] == N
    assert half_up(achieved["bmi"][0]) == published(arm, "bmi")[0]
    for key, (label, counts) in WHOLE.items():
        target, mean = published(arm, key)[0], achieved[key][0]
        named = any(line.startswith(f"{arm} mean {label} {target} ") for line in DEVIATIONS)
        if mean_reachable(target, counts):
            assert half_up(mean) == target and not named, key
        else:
            assert named and abs(mean - target) == closest_mean_gap(target, counts), key


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("arm", ["EXP", "CTRL"])
def test_sds_round_to_the_paper_where_whole_numbers_allow_else_are_the_closest_and_named(seed, arm):
    achieved = summary(profiles(seed))[arm]
    assert half_up(achieved["bmi"][1]) == published(arm, "bmi")[1]
    for key, (label, _) in WHOLE.items():
        target, (mean, sd) = published(arm, key)[1], achieved[key]
        gap = closest_sd_gap(target, int(mean * N))
        assert abs(abs(sd - target) - gap) < Decimal("1e-12"), key
        named = [line for line in DEVIATIONS if line.startswith(f"{arm} SD of {label} {target} ")]
        if gap <= Decimal("0.005"):
            assert half_up(sd) == target and not named, key
        else:
            assert len(named) == 1 and f" {half_up(sd, '0.001')}" in named[0], key


def test_the_reachable_sds_are_the_ones_the_docstring_promises():
    achieved = summary(profiles(2026))
    for arm, key in [("EXP", "age"), ("CTRL", "age"), ("CTRL", "prior_miscarriages")]:
        assert half_up(achieved[arm][key][1]) == published(arm, key)[1]
    assert half_up(achieved["EXP"]["prior_miscarriages"][1], "0.001") == Decimal("1.067")


def test_deviations_name_exactly_the_unreachable_means():
    expected = {
        f"{arm} mean {label} {published(arm, key)[0]} "
        for arm in ("EXP", "CTRL")
        for key, (label, counts) in WHOLE.items()
        if not mean_reachable(published(arm, key)[0], counts)
    }
    named = {line.split("needs")[0] for line in DEVIATIONS if " mean " in line}
    assert (
        named
        == expected
        == {
            "CTRL mean age 32.74 ",
            "EXP mean prior miscarriages 4.12 ",
            "CTRL mean previous failed transfers 1.69 ",
        }
    )
    assert any(
        line.startswith(
            "CTRL mean age 32.74 needs a sum of 1309.6 years over 40 women; whole years give 32.725 or 32.75"
        )
        for line in DEVIATIONS
    )


def test_deviations_mention_the_impossible_transfer_sds_and_what_the_demo_shows():
    transfer_notes = [line for line in DEVIATIONS if "SD of previous failed transfers" in line]
    assert any(
        line.startswith("EXP SD of previous failed transfers 0.28 ") and "0.452" in line for line in transfer_notes
    )
    assert any(
        line.startswith("CTRL SD of previous failed transfers 0.24 ") and "0.464" in line for line in transfer_notes
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_education_counts_are_exact(seed):
    achieved = summary(profiles(seed))
    for arm in ("EXP", "CTRL"):
        assert achieved[arm]["education"] == PAPER_BASELINE[arm]["education"]


def test_bmi_of_is_the_registry_rule():
    for p in profiles(2026):
        assert bmi_of(p) == body_mass_index(p.height_cm, p.weight_kg)
    # 52.8 kg at 160.0 cm is exactly 20.625: the registry rounds half up, not to even.
    halfway = replace(profiles(2026)[0], height_cm=Decimal("160.0"), weight_kg=Decimal("52.8"))
    assert bmi_of(halfway) == Decimal("20.63")
