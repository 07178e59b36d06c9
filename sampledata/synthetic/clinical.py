"""What happens to a randomized woman after allocation: treatment, labs, outcome, adverse events and
questionnaires. Pure: no database.

Each woman has a latent course (withdrawn or lost, transferred or not, pregnant or not) and every form is
drawn from it, so forms agree with one another and with `outcomes.rules`: β-hCG at ET14 is the outcome
form's value, a miscarriage follows a clinical pregnancy, dates run in order and lie in the past. Some
forms are missing on purpose (cancelled transfers, outcomes not entered, missed draws and questionnaires).
Lab values are checked by `labs.validation.check_result` (cached: values are printed at a lab's precision,
so they repeat) and questionnaire scores come from `outcomes.scoring.score` (answers are drawn from a
pre-scored pool, because scoring validates every item and would dominate the generation time).
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from labs.ranges import window_warning
from labs.validation import CheckedResult, check_result
from outcomes.instruments import INSTRUMENT_ITEMS
from outcomes.scoring import score

# The synthetic trial uses the demo's arm codes (core migration 0002): EXP is the non-control arm.
EXPERIMENTAL_ARM = "EXP"


TRANSFER_AFTER_RANDOMIZATION = (5, 9)  # days
CANCELLED_CYCLE = 0.04
WITHDRAWN, LOST = 0.03, 0.02
WITHDRAWN_BEFORE_TRANSFER = 0.6
OUTCOME_NOT_ENTERED = 0.05
BIOCHEMICAL = {"CTRL": 0.42, "EXP": 0.52}  # positive β-hCG given a transfer
CLINICAL_GIVEN_HCG = 0.82
MISCARRIAGE = {"CTRL": 0.14, "EXP": 0.10}
GESTATION_AT_TRANSFER = {"blastocyst": 19, "cleavage": 17}  # days since the last menstrual period
QUESTIONNAIRE_MISSED = {"BASELINE": 0.03, "ET28": 0.10}
DRAW_MISSED = 0.03
DRAW_LATE = 0.02
RESULT_MISSING = 0.01
POOL_SIZE = (100, 4000)  # answer sets per instrument: one per woman screened, within these bounds
DALTEPARIN_IU = 5000
LUTEAL = (("Progesterone vaginal gel 8%", "vaginal", "90 mg"), ("Progesterone in oil", "intramuscular", "60 mg"))
# (term, probability, arm restriction or None, relatedness to dalteparin in the EXP arm)
ADVERSE_EVENTS = (
    ("injection_site_bruising", 0.22, EXPERIMENTAL_ARM, "probable"),
    ("injection_site_haematoma", 0.04, EXPERIMENTAL_ARM, "probable"),
    ("bleeding", 0.03, None, "possible"),
    ("thrombocytopenia", 0.005, EXPERIMENTAL_ARM, "possible"),
    ("allergic_reaction", 0.006, EXPERIMENTAL_ARM, "possible"),
    ("ohss", 0.015, None, "unlikely"),
    ("other", 0.02, None, "unlikely"),
)


@dataclass
class Draw:
    timepoint: str
    drawn_on: date
    window_warning: str
    results: list[CheckedResult]


@dataclass
class Course:
    """One randomized woman's records, each a dict of model fields (dates, no database ids)."""

    status: str = "randomized"
    withdrawn_on: date | None = None
    transfer: dict | None = None
    luteal: dict | None = None
    deviations: list[dict] = field(default_factory=list)
    dalteparin: dict | None = None  # "deviation": index into deviations, or None
    draws: list[Draw] = field(default_factory=list)
    outcome: dict | None = None
    adverse_events: list[dict] = field(default_factory=list)
    questionnaires: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Pregnancy:
    """The latent truth the forms report: β-hCG, clinical pregnancy, sacs, miscarriage, birth."""

    hcg_value: float | None  # IU/L at ET14; None when negative
    clinical: bool
    ectopic: bool
    sacs: int
    miscarriage_day: int | None  # days after transfer
    birth_day: int | None


class Generator:
    """Draws every randomized woman's course from one random stream, in allocation order."""

    def __init__(self, design, seed: int, women: int):
        self.design = design
        self.rng = random.Random(f"clinical:{seed}")
        specs = design.analytes
        self.check = lru_cache(maxsize=None)(lambda code, tp, text, unit: check_result(specs[code], tp, text, unit))
        pool_rng = random.Random(f"questionnaires:{seed}")
        size = min(max(women, POOL_SIZE[0]), POOL_SIZE[1])
        self.pools = {code: _answer_pool(pool_rng, code, size) for code in design.instruments}

    def course(self, *, randomized_on: date, arm: str) -> Course:
        rng = self.rng
        course = Course()
        fate = rng.random()
        if fate < WITHDRAWN + LOST:
            course.status = "withdrawn" if fate < WITHDRAWN else "lost_to_follow_up"
            if course.status == "withdrawn" and rng.random() < WITHDRAWN_BEFORE_TRANSFER:
                course.withdrawn_on = randomized_on + timedelta(days=rng.randrange(1, 5))
                return course
        if rng.random() < CANCELLED_CYCLE:
            return course  # cycle cancelled: no transfer, nothing after it
        transfer_on = randomized_on + timedelta(days=rng.randint(*TRANSFER_AFTER_RANDOMIZATION))
        course.transfer = transfer_draw(rng, transfer_on)
        pregnancy = pregnancy_draw(rng, arm, course.transfer)
        followed = 28 if course.status != "randomized" else None  # withdrawn or lost after the ET28 visit
        if course.status == "withdrawn":
            course.withdrawn_on = transfer_on + timedelta(days=rng.randint(15, 27))
            followed = 14
        self._treatment(course, arm, transfer_on, pregnancy)
        self._labs(course, transfer_on, pregnancy, followed)
        self._outcome(course, pregnancy, followed)
        self._adverse_events(course, arm, transfer_on, followed)
        self._questionnaires(course, transfer_on, followed)
        return course

    def _treatment(self, course: Course, arm: str, transfer_on: date, pregnancy: Pregnancy) -> None:
        rng = self.rng
        stop = transfer_on + timedelta(days=63 if pregnancy.clinical and not pregnancy.miscarriage_day else 14)
        drug, route, dose = LUTEAL[0] if rng.random() < 0.8 else LUTEAL[1]
        start = transfer_on - timedelta(days=3)
        course.luteal = {"drug": drug, "route": route, "daily_dose": dose, "start_date": start, "stop_date": stop}
        gets_dalteparin = rng.random() < 0.96 if arm == EXPERIMENTAL_ARM else rng.random() < 0.015
        if gets_dalteparin:
            deviation = None
            if arm != EXPERIMENTAL_ARM:
                deviation = self._deviation(
                    course, transfer_on, f"Dalteparin given to a {arm} patient: dispensing error"
                )
            days = (stop - transfer_on).days + 1
            course.dalteparin = {
                "daily_dose_iu": DALTEPARIN_IU,
                "start_date": transfer_on,
                "stop_date": stop,
                "missed_doses": min(rng.choices((0, 1, 2, 3), (70, 15, 10, 5))[0], days),
                "deviation": deviation,
            }
        if rng.random() < 0.01:
            self._deviation(course, transfer_on + timedelta(days=rng.randint(1, 14)), "Luteal support interrupted")
        if rng.random() < 0.02:
            self._deviation(course, transfer_on, "Visit outside its window", major=False)

    def _deviation(self, course: Course, on: date, description: str, major: bool = True) -> int:
        course.deviations.append({"occurred_on": on, "description": description, "major": major})
        return len(course.deviations) - 1

    def _labs(self, course: Course, transfer_on: date, pregnancy: Pregnancy, followed: int | None) -> None:
        rng = self.rng
        for tp, window in self.design.windows.items():
            if followed is not None and window.day_offset > followed:
                break
            if window.day_offset > 0 and rng.random() < DRAW_MISSED:
                continue
            late = rng.random() < DRAW_LATE  # outside the window: the draw keeps a warning
            offset = window.day_offset + (rng.choice((-1, 1)) * (max(window.before, window.after) + 2) if late else 0)
            drawn_on = transfer_on + timedelta(days=offset)
            results = [
                self._result(code, tp, lab_value(rng, self.design.analytes[code], window.day_offset, pregnancy))
                for code in self.design.analytes
                if rng.random() >= RESULT_MISSING
            ]
            course.draws.append(Draw(tp, drawn_on, window_warning(drawn_on, transfer_on, window, tp), results))

    def _result(self, code: str, timepoint: str, printed: tuple[str, str]) -> CheckedResult:
        checked = self.check(code, timepoint, *printed)
        if not isinstance(checked, CheckedResult):
            raise ValueError(f"Synthetic {code} value {printed} refused: {checked.message}")
        return checked

    def _outcome(self, course: Course, pregnancy: Pregnancy, followed: int | None) -> None:
        if self.rng.random() < OUTCOME_NOT_ENTERED:
            return
        course.outcome = outcome_form(course.transfer, pregnancy, followed)

    def _adverse_events(self, course: Course, arm: str, transfer_on: date, followed: int | None) -> None:
        rng = self.rng
        for term, probability, only_arm, related in ADVERSE_EVENTS:
            if only_arm is not None and (only_arm != arm or course.dalteparin is None):
                continue
            if rng.random() < probability:
                on_dalteparin = course.dalteparin is not None and arm == EXPERIMENTAL_ARM
                onset = transfer_on + timedelta(days=rng.randint(1, min(40, followed or 40)))
                course.adverse_events.append(_adverse_event(rng, term, onset, related if on_dalteparin else "not"))

    def _questionnaires(self, course: Course, transfer_on: date, followed: int | None) -> None:
        rng = self.rng
        for code, timepoints in self.design.instruments.items():
            for tp in timepoints:
                offset = self.design.windows[tp].day_offset
                if (followed is not None and offset > followed) or rng.random() < QUESTIONNAIRE_MISSED.get(tp, 0.05):
                    continue
                answers, scores = rng.choice(self.pools[code])
                completed_on = transfer_on + timedelta(days=offset)
                course.questionnaires.append(
                    {
                        "instrument": code,
                        "timepoint": tp,
                        "completed_on": completed_on,
                        "answers": answers,
                        "scores": scores,
                    }
                )


def transfer_draw(rng: random.Random, on: date) -> dict:
    """The embryo transfer form for a transfer on `on`: mostly frozen cycles, one or two embryos."""
    embryos = rng.choices((1, 2, 3), (55, 43, 2))[0]
    return {
        "transfer_date": on,
        "cycle_type": "frozen" if rng.random() < 0.85 else "fresh",
        "embryo_stage": "blastocyst" if rng.random() < 0.6 else "cleavage",
        "embryos_transferred": embryos,
    }


def pregnancy_draw(rng: random.Random, arm: str, transfer: dict) -> Pregnancy:
    """What follows the transfer: β-hCG, clinical pregnancy and its sacs, miscarriage or birth (rates per arm)."""
    if rng.random() >= BIOCHEMICAL.get(arm, BIOCHEMICAL["CTRL"]):
        return Pregnancy(None, False, False, 0, None, None)
    hcg = round(rng.uniform(25, 3000), 1)
    if rng.random() >= CLINICAL_GIVEN_HCG:
        return Pregnancy(hcg, False, rng.random() < 0.05, 0, None, None)
    embryos = transfer["embryos_transferred"]
    sacs = 2 if embryos >= 2 and rng.random() < 0.18 else 1
    if rng.random() < 0.005:
        sacs += 1  # monozygotic twins: more sacs than embryos, confirmed on the form
    if rng.random() < MISCARRIAGE.get(arm, MISCARRIAGE["CTRL"]):
        week = rng.randint(7, 12)
        day = week * 7 + rng.randrange(7) - GESTATION_AT_TRANSFER[transfer["embryo_stage"]]
        return Pregnancy(hcg, True, False, sacs, day, None)
    return Pregnancy(hcg, True, False, sacs, None, (247 if sacs == 1 else 231) + rng.randint(-10, 7))


def outcome_form(transfer: dict, pregnancy: Pregnancy, followed: int | None) -> dict:
    """The pregnancy outcome form as staff complete it from the latent course; what happened after the
    woman left (`followed` days after transfer) stays empty."""
    p, on = pregnancy, transfer["transfer_date"]
    known = followed if followed is not None else 10**6
    form = {
        "beta_hcg_positive": p.hcg_value is not None,
        "beta_hcg_date": on + timedelta(days=14),
        "beta_hcg_value": f"{p.hcg_value:.2f}" if p.hcg_value is not None else None,
        "clinical_pregnancy": False,
        "ultrasound_date": None,
        "gestational_sacs": None,
        "fetal_heartbeat": None,
        "ectopic": p.ectopic,
        "miscarriage": False,
        "miscarriage_date": None,
        "miscarriage_week": None,
        "ongoing_pregnancy": None,
        "live_birth": None,
        "live_birth_date": None,
        "infants": None,
        "sacs_exceed_embryos_confirmed": False,
    }
    if p.hcg_value is None or (known >= 28 and not p.clinical):
        return {**form, "ongoing_pregnancy": False, "live_birth": False}
    if known < 28:
        return form
    form.update(clinical_pregnancy=True, ultrasound_date=on + timedelta(days=28), gestational_sacs=p.sacs)
    form.update(fetal_heartbeat=True, sacs_exceed_embryos_confirmed=p.sacs > transfer["embryos_transferred"])
    if p.miscarriage_day is not None and p.miscarriage_day <= known:
        week = (GESTATION_AT_TRANSFER[transfer["embryo_stage"]] + p.miscarriage_day) // 7
        form.update(miscarriage=True, miscarriage_date=on + timedelta(days=p.miscarriage_day), miscarriage_week=week)
        return {**form, "ongoing_pregnancy": False, "live_birth": False}
    if followed is None:
        form.update(ongoing_pregnancy=True, live_birth=True, infants=p.sacs)
        form.update(live_birth_date=on + timedelta(days=p.birth_day))
    return form


def _adverse_event(rng: random.Random, term: str, onset: date, related: str) -> dict:
    grade = rng.choices((1, 2, 3), (75, 20, 5))[0]
    serious = grade == 3 and (term in ("ohss", "bleeding", "thrombocytopenia") or rng.random() < 0.3)
    outcome = rng.choices(("recovered", "recovering", "not_recovered"), (85, 10, 5))[0]
    return {
        "term": term,
        "term_other": "Headache" if term == "other" else "",
        "onset_date": onset,
        "resolution_date": onset + timedelta(days=rng.randint(1, 14)) if outcome == "recovered" else None,
        "grade": grade,
        "serious": serious,
        "related_to_dalteparin": related,
        "action_taken": "interrupted" if serious and related != "not" else "none",
        "outcome": outcome,
        "sae_notified": serious,
    }


def lab_value(rng: random.Random, spec, day: int, pregnancy: Pregnancy) -> tuple[str, str]:
    """A value as the lab prints it (precision, sometimes censored or in an alternative unit)."""
    code = spec.code
    if code == "BHCG":
        if day == 0 or pregnancy.hcg_value is None:
            return "<2", "IU/L"
        if day <= 14:
            return f"{pregnancy.hcg_value:.1f}", "IU/L"
        ongoing = pregnancy.clinical and (pregnancy.miscarriage_day is None or pregnancy.miscarriage_day > day)
        return (f"{rng.randint(2000, 60000)}", "mIU/mL") if ongoing else ("<2", "IU/L")
    if code == "E2":
        if rng.random() < 0.3:
            return f"{rng.randint(40, 680)}", "pg/mL"
        return f"{rng.randint(150, 2500)}", "pmol/L"
    if code == "IL6" and rng.random() < 0.05:
        return "<0.5", "pg/mL"
    reference = spec.general_range
    fallback = (float(reference.low or 0) or 1.0, float(reference.high or 10) * 1.2) if reference else (1.0, 10.0)
    low, high, places = LAB_RANGES.get(code, (*fallback, 2))
    return f"{rng.uniform(low, high):.{places}f}", spec.canonical_unit


LAB_RANGES = {  # in the canonical unit, at the printed precision; some fall outside the reference ranges
    "FSH": (1.0, 14.0, 1),
    "LH": (0.5, 18.0, 1),
    "CA125": (4.0, 45.0, 1),
    "IL6": (0.5, 9.0, 2),
}


def _answer_pool(rng: random.Random, instrument: str, size: int) -> list[tuple[dict, dict]]:
    """Answer sets with their scores; about one in fifty items left unanswered, as on paper forms."""
    items = INSTRUMENT_ITEMS[instrument]
    pool = []
    for _ in range(size):
        answers = {}
        for item in items:
            if rng.random() < 0.02:
                continue
            low, high = item.count_range if item.count_range else (1, len(item.options))
            answers[item.key] = rng.randint(low, high)
        pool.append((answers, score(instrument, answers)))
    return pool
