"""What the paper claims, and where the statistics snapshot holds the demo's own value for each claim.

Pure: no Django. The "About this demo" page (sampledata.views) judges every claim against the latest snapshot
at request time; tests/sampledata/test_demo_paper.py checks the seeded demo's values printed here.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from sampledata.demo_profiles import ARM_SIZE, DEVIATIONS, HUNDREDTH, PAPER_BASELINE, THOUSANDTH, demo_profiles, summary
from sampledata.demo_solver import PAPER_HORMONES, PAPER_OUTCOMES, POST_TREATMENT

DEMO_DESCRIPTION = (
    "A demo of the trial summarised in docs/paper.md (Lei et al., J Med Biochem 2026): 80 women with repeated "
    "IVF failure, 40 per arm, with every form entered through the application. Where the paper prints numbers, "
    "the records are built so that the application's own statistics print the same, where whole-number data "
    "allow it. Where it prints none (β-hCG, CA-125, IL-6, quality of life, social support, adverse events by "
    "type), the values are invented, plausible and in the direction the paper claims. The application computes "
    "its own tests from the data; where they disagree with the paper's 'P < 0.05', the claim is listed as not "
    "reproduced."
)


@dataclass(frozen=True)
class PaperClaim:
    """One published number or statement, and where the statistics snapshot holds the demo's own value.

    rule: "equals" (the live value printed like `paper` reads the same), "p_below" / "p_at_least" (the
    application's p-value against 0.05), "negative" / "positive" (sign of an EXP − CTRL estimate).
    """

    id: str
    label: str
    paper: str  # exactly as printed
    path: tuple[str, ...]  # into StatisticsSnapshot.payload; in a list, the item whose key (or level) is the part
    rule: str
    demo: str  # the seeded demo's value, printed by claim_printed
    published: bool  # False: the paper prints no data here and the demo's values are invented
    note: str = ""

    @property
    def reproducible(self) -> bool:
        """The seeded demo shows what the paper prints, from data the paper published."""
        return self.published and claim_holds(self, self.demo)


def snapshot_value(payload: dict, path: tuple[str, ...]):
    """The value at `path` in a snapshot payload (a list is entered at the item whose key or level matches)."""
    node = payload
    for part in path:
        if isinstance(node, list):
            node = next(item for item in node if part in (item.get("key"), item.get("level")))
        else:
            node = node[part]
    return node


def claim_printed(claim: PaperClaim, value) -> str:
    """A value printed as the claim compares it: like the paper's figure (half up), a p-value, or an estimate."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if claim.rule in ("p_below", "p_at_least"):
        return "<0.001" if exact < Decimal("0.001") else f"{exact.quantize(THOUSANDTH, ROUND_HALF_UP)}"
    if claim.rule != "equals":
        return f"{exact.quantize(HUNDREDTH, ROUND_HALF_UP)}"
    number = claim.paper.rstrip("%")
    quantum = Decimal(1).scaleb(-len(number.partition(".")[2]))
    if claim.paper.endswith("%"):
        return f"{(exact * 100).quantize(quantum, ROUND_HALF_UP)}%"
    return f"{exact.quantize(quantum, ROUND_HALF_UP)}"


def claim_holds(claim: PaperClaim, printed: str) -> bool:
    """Whether a value printed by claim_printed supports the paper's claim."""
    if claim.rule == "equals":
        return printed == claim.paper
    number = Decimal(printed.lstrip("<"))
    return {
        "p_below": number < SIGNIFICANCE,
        "p_at_least": number >= SIGNIFICANCE,
        "negative": number < 0,
        "positive": number > 0,
    }[claim.rule]


def claim_live(claim: PaperClaim, payload: dict) -> str:
    """The claim's value in a snapshot payload, printed like `demo`."""
    return claim_printed(claim, snapshot_value(payload, claim.path))


SIGNIFICANCE = Decimal("0.05")
INVENTED = "The paper prints no data here: the demo's values are invented in the claimed direction."
UNIT_NOTES = {
    "FSH": "Printed in pg/L; FSH is measured in IU/L, as the demo records it.",
    "LH": "Printed in nmol/L; LH is measured in IU/L. 110–170 IU/L is far above the reference range, so every "
    "value is flagged high and raises an automatic query: the system working as intended.",
}
TABLE1_LABELS = {
    "age": "Age, years",
    "bmi": "BMI, kg/m²",
    "prior_miscarriages": "Prior miscarriages",
    "previous_failed_transfers": "Previous embryo transfers",
}
# The rates as printed; the counts behind them are demo_solver.PAPER_OUTCOMES.
PAPER_RATES = {
    "clinical_pregnancy": ("Clinical pregnancy rate", {"EXP": "40%", "CTRL": "30%"}),
    "implantation": ("Embryo implantation rate", {"EXP": "41.25%", "CTRL": "22.62%"}),
    "miscarriage": ("Miscarriage rate", {"EXP": "6.25%", "CTRL": "8.33%"}),
}
RATE_COUNTS = {
    "clinical_pregnancy": ("clinical_pregnancies", None, "women"),
    "implantation": ("sacs", "embryos", "embryos"),
    "miscarriage": ("miscarriages", "clinical_pregnancies", "clinical pregnancies"),
}
# The paper's domain names → RAND-36 scale, with the demo's EXP − CTRL difference in change and its Welch P.
QOL_DOMAINS = {
    "physiological function": ("physical_functioning", "6.38", "0.087"),
    "physiological role": ("role_physical", "13.75", "0.015"),
    "social function": ("social_functioning", "10.31", "0.035"),
    "emotional function": ("role_emotional", "10.83", "0.158"),
    "mental health": ("emotional_wellbeing", "10.20", "0.006"),
}


def _printed(value: Decimal) -> str:
    return f"{value.quantize(HUNDREDTH, ROUND_HALF_UP)}"


def _table1_claims() -> list[PaperClaim]:
    """The baseline table: means and SDs (the demo's from demo_profiles, notes from DEVIATIONS) and education."""
    achieved, claims = summary(demo_profiles()), []
    for arm, published in PAPER_BASELINE.items():
        for key, label in TABLE1_LABELS.items():
            for stat, paper, demo in zip(("mean", "sd"), published[key], achieved[arm][key], strict=True):
                what = "mean" if stat == "mean" else "SD of"
                prefix = f"{arm} {what} {key.replace('_', ' ')} {paper} "
                note = next((line for line in DEVIATIONS if line.startswith(prefix)), "")
                path = ("itt", "continuous", f"baseline.{key}", "by_arm", arm, stat)
                text = f"{label}, {arm} {stat.upper() if stat == 'sd' else stat}"
                claims.append(
                    PaperClaim(
                        f"baseline.{key}.{arm}.{stat}", text, f"{paper}", path, "equals", _printed(demo), True, note
                    )
                )
        for level, count in published["education"].items():
            path = ("dashboard", "education", level, "by_arm", arm)
            label = f"Education {level.replace('_', ' ')}, {arm}"
            claims.append(PaperClaim(f"education.{level}.{arm}", label, f"{count}", path, "equals", f"{count}", True))
    return claims


def _outcome_claims() -> list[PaperClaim]:
    """CPR, EIR and MCR per arm (demo: the solver's counts) and post-treatment FSH, E2, LH (solved to print so)."""
    claims = []
    for key, (label, printed) in PAPER_RATES.items():
        events, of, unit = RATE_COUNTS[key]
        for arm, paper in printed.items():
            counts = PAPER_OUTCOMES[arm]
            n = counts[of] if of else ARM_SIZE
            path = ("itt", "binary", key, "by_arm", arm, "proportion")
            claim = PaperClaim(
                f"{key}.{arm}", f"{label}, {arm}", paper, path, "equals", "", True, f"{counts[events]} of {n} {unit}."
            )
            claims.append(replace(claim, demo=claim_printed(claim, Decimal(counts[events]) / n)))
    for analyte, arms in PAPER_HORMONES.items():
        for arm, pair in arms.items():
            for stat, paper in zip(("mean", "sd"), pair, strict=True):
                path = ("itt", "continuous", f"lab.{analyte}.{POST_TREATMENT}", "by_arm", arm, stat)
                label = f"Post-treatment {analyte}, {arm} {stat.upper() if stat == 'sd' else stat}"
                note = UNIT_NOTES.get(analyte, "")
                claims.append(
                    PaperClaim(
                        f"lab.{analyte}.{POST_TREATMENT}.{arm}.{stat}", label, paper, path, "equals", paper, True, note
                    )
                )
    return claims


def _p_claim(key: str, label: str, demo: str, note: str, kind: str = "continuous", published: bool = False):
    path = ("itt", kind, key, "p_value")
    return PaperClaim(f"{key}.p", f"{label}: P < 0.05", "P < 0.05", path, "p_below", demo, published, note)


def _direction_claim(key: str, label: str, rule: str, demo: str) -> PaperClaim:
    path = ("itt", "continuous", key, "mean_difference", "estimate")
    printed = "lower in Exp" if rule == "negative" else "higher in Exp"
    return PaperClaim(f"{key}.direction", label, printed, path, rule, demo, False, INVENTED)


def _claimed_effects() -> list[PaperClaim]:
    """The paper's 'P < 0.05' statements, judged by the application's own tests on the demo's data."""
    claims = [
        _p_claim(
            "clinical_pregnancy",
            "Clinical pregnancy rate higher in Exp",
            "0.348",
            "16/40 vs 12/40 gives Pearson χ² P = 0.35: not significant in the paper's own counts.",
            "binary",
            True,
        ),
        _p_claim(
            "implantation", "Embryo implantation rate higher in Exp", "0.010", "33/80 vs 19/84, χ².", "binary", True
        ),
        _p_claim(
            "miscarriage",
            "Miscarriage rate lower in Exp",
            "1.000",
            "1/16 vs 1/12, Fisher's exact test (expected counts below 5): no difference.",
            "binary",
            True,
        ),
    ]
    for analyte, label, difference in (("CA125", "CA-125", "-5.87"), ("IL6", "IL-6", "-1.94")):
        key = f"lab.{analyte}.{POST_TREATMENT}"
        claims += [
            _direction_claim(key, f"Post-treatment {label} lower in Exp", "negative", difference),
            _p_claim(key, f"Post-treatment {label} lower in Exp", "<0.001", INVENTED),
        ]
    for domain, (scale, difference, p) in QOL_DOMAINS.items():
        key, label = f"qol.RAND36.{scale}.ET28-BASELINE", f'QOL "{domain}" improved more in Exp'
        claims += [_direction_claim(key, label, "positive", difference), _p_claim(key, label, p, INVENTED)]
    path = ("itt", "binary", "any_adverse_event", "p_value")
    note = (
        "The paper reports no counts: the demo invents 5 women with events in Exp (injection-site bruising or "
        "haematoma, bleeding) and 3 in Ctrl, none serious; Fisher's exact test."
    )
    label = "Adverse reactions not different between arms"
    return [
        *claims,
        PaperClaim("any_adverse_event.p", label, "not different", path, "p_at_least", "0.712", False, note),
    ]


PAPER_CLAIMS: tuple[PaperClaim, ...] = (*_table1_claims(), *_outcome_claims(), *_claimed_effects())
