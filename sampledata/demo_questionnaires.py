"""The demo women's questionnaire answers (RAND-36, SSRS). Pure: no Django.

The paper publishes no questionnaire data, so the answers are invented: each woman has a latent quality of
life and social support, answers are drawn around them, and after treatment both shift by her arm's amount
(quality of life more with dalteparin, in the direction the paper claims).
"""

import math
import random
from functools import cache

from outcomes.instruments import INSTRUMENT_ITEMS, Item
from outcomes.scoring import RAND36_SCALES, score
from sampledata.demo_profiles import standard_normal

# Latent quality-of-life shift from baseline to ET28 (invented, in the direction the paper claims).
QOL_SHIFT = {"EXP": 0.55, "CTRL": 0.1}
SUPPORT_SHIFT = {"EXP": 0.15, "CTRL": 0.05}
# Where women with repeated IVF failure sit on each RAND-36 scale (latent units): physically well, emotionally less so.
RAND36_LEVEL = {
    "physical_functioning": 1.4,
    "role_physical": 0.6,
    "role_emotional": 0.0,
    "energy_fatigue": -0.1,
    "emotional_wellbeing": -0.2,
    "social_functioning": 0.4,
    "pain": 0.9,
    "general_health": 0.2,
}


def questionnaire_plan(rng, arms, instruments: dict[str, list[str]], infertility: list[str]) -> list[dict]:
    """Item answers per woman, instrument and configured time point (the first is before treatment)."""
    plans: list[dict] = [{} for _ in arms]
    # Standardised within each arm, so that the arms start alike, as randomization intends.
    latents = {}
    for arm in QOL_SHIFT:  # EXP, then CTRL: the order the random stream has always been drawn in
        women = [i for i, a in enumerate(arms) if a == arm]
        pairs = zip(standard_normal(rng, len(women)), standard_normal(rng, len(women)), strict=True)
        latents.update(zip(women, pairs, strict=True))
    for i, arm in enumerate(arms):
        qol, support = latents[i]
        for instrument, timepoints in instruments.items():
            for step, tp in enumerate(timepoints):
                if instrument == "RAND36":
                    latent = qol + (QOL_SHIFT[arm] + rng.gauss(0, 0.45) if step else 0)
                    plans[i][(instrument, tp)] = rand36_answers(rng, latent)
                elif instrument == "SSRS":
                    latent = support + (SUPPORT_SHIFT[arm] + rng.gauss(0, 0.3) if step else 0)
                    plans[i][(instrument, tp)] = ssrs_answers(rng, latent, primary=infertility[i] == "primary")
    return plans


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _rank(rng: random.Random, latent: float, choices: int, noise: float = 0.6) -> int:
    """0 (worst) .. choices - 1 (best) for a woman at `latent` on the scale."""
    return min(choices - 1, int(_phi(latent + rng.gauss(0, noise)) * choices))


@cache
def rand36_better_when_higher() -> dict[str, bool]:
    """Per RAND-36 item in a scale: does a higher answer number score better? Read from the scoring itself."""
    items = {item.key: item for item in INSTRUMENT_ITEMS["RAND36"]}
    better = {}
    for scale, keys in RAND36_SCALES.items():
        lowest = dict.fromkeys(keys, 1)
        base = score("RAND36", lowest)[scale]
        for key in keys:
            better[key] = score("RAND36", {**lowest, key: len(items[key].options)})[scale] > base
    return better


def rand36_answers(rng: random.Random, latent: float) -> dict[str, int]:
    better = rand36_better_when_higher()
    level = {key: RAND36_LEVEL[scale] for scale, keys in RAND36_SCALES.items() for key in keys}
    answers = {}
    for item in INSTRUMENT_ITEMS["RAND36"]:
        choices = len(item.options)
        if item.key not in better:  # item 2, health compared with a year ago: mostly "about the same"
            answers[item.key] = min(choices, max(1, round(3 + rng.gauss(0, 0.8))))
            continue
        rank = _rank(rng, latent + level[item.key], choices)
        answers[item.key] = rank + 1 if better[item.key] else choices - rank
    return answers


def ssrs_answers(rng: random.Random, latent: float, *, primary: bool) -> dict[str, int]:
    """Higher answers are more support; a woman with primary infertility has no children to ask (item 5c)."""
    answers = {}
    for item in INSTRUMENT_ITEMS["SSRS"]:
        answers[item.key] = _ssrs_answer(rng, item, latent)
    if primary and "5c" in answers:
        answers["5c"] = 1
    return answers


def _ssrs_answer(rng: random.Random, item: Item, latent: float) -> int:
    if item.count_range is not None:
        low, high = item.count_range
        return min(high, max(low, round(2.5 + 1.3 * (latent + rng.gauss(0, 0.6)))))
    lift = 1.5 if item.key == "2" else 0.3  # most women live with their family
    return _rank(rng, latent + lift, len(item.options)) + 1
