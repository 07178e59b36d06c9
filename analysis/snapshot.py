"""The statistics JSON of SPEC §5 built from plain rows. Pure: no Django, no database.

Entries carry both the by-arm figures with comparisons and the pooled figures; `population_view`
then serves one or the other depending on whether the user may see results by arm.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analysis import stats

BINARY_LABELS = {
    "clinical_pregnancy": "Clinical pregnancy rate (CPR)",
    "implantation": "Embryo implantation rate (EIR, per embryo)",
    "miscarriage": "Miscarriage rate (MCR, per clinical pregnancy)",
    "biochemical_pregnancy": "Biochemical pregnancy (positive β-hCG)",
    "ongoing_pregnancy": "Ongoing pregnancy at 12 weeks",
    "live_birth": "Live birth",
    "any_adverse_event": "Any adverse event",
    "serious_adverse_event": "Serious adverse event",
}
BASELINE_LABELS = {
    "baseline.age": "Age, years",
    "baseline.bmi": "BMI, kg/m²",
    "baseline.previous_failed_transfers": "Previous failed embryo transfers",
    "baseline.prior_miscarriages": "Prior miscarriages",
}


@dataclass(frozen=True)
class Arm:
    code: str
    label: str
    is_control: bool


@dataclass(frozen=True)
class Design:
    """What the trial measures: arms, analytes (code → unit), time points, questionnaire scales."""

    arms: tuple[Arm, ...]
    analytes: dict[str, str]
    timepoints: tuple[str, ...]
    scales: dict[str, tuple[str, ...]]  # instrument → scale keys
    questionnaire_timepoints: dict[str, tuple[str, ...]]  # instrument → time points

    @property
    def exp(self) -> Arm:
        return next(a for a in self.arms if not a.is_control)

    @property
    def ctrl(self) -> Arm:
        return next(a for a in self.arms if a.is_control)


def _count(rows, field: str) -> tuple[int, int]:
    return sum(1 for r in rows if r.get(field) is True), len(rows)


def _implantation(rows) -> tuple[int, int]:
    # Embryo level: sacs over embryos, a patient's sacs capped at her embryos (twins from one embryo
    # would otherwise make the 2×2 table impossible).
    with_transfer = [r for r in rows if r.get("embryos_transferred")]
    sacs = sum(min(r.get("gestational_sacs") or 0, r["embryos_transferred"]) for r in with_transfer)
    return sacs, sum(r["embryos_transferred"] for r in with_transfer)


def _miscarriage(rows) -> tuple[int, int]:
    pregnant = [r for r in rows if r.get("clinical_pregnancy") is True]
    return _count(pregnant, "miscarriage")[0], len(pregnant)


BINARY_COUNTS: dict[str, Callable[[Sequence[dict]], tuple[int, int]]] = {
    "clinical_pregnancy": lambda rows: _count(rows, "clinical_pregnancy"),
    "implantation": _implantation,
    "miscarriage": _miscarriage,
    "biochemical_pregnancy": lambda rows: _count(rows, "biochemical_pregnancy"),
    "ongoing_pregnancy": lambda rows: _count(rows, "ongoing_pregnancy"),
    "live_birth": lambda rows: _count(rows, "live_birth"),
    "any_adverse_event": lambda rows: _count(rows, "any_adverse_event"),
    "serious_adverse_event": lambda rows: _count(rows, "serious_adverse_event"),
}


def _binary_entry(key: str, by_arm_rows: dict[str, list], design: Design, all_rows: list) -> dict:
    counts = {code: BINARY_COUNTS[key](rows) for code, rows in by_arm_rows.items()}
    (e_exp, n_exp), (e_ctrl, n_ctrl) = counts[design.exp.code], counts[design.ctrl.code]
    comparison = stats.compare_proportions(e_exp, n_exp, e_ctrl, n_ctrl).as_dict()
    return {
        "key": key,
        "label": BINARY_LABELS[key],
        "by_arm": {code: stats.proportion_summary(*c).as_dict() for code, c in counts.items()},
        **comparison,
        "pooled": stats.proportion_summary(*BINARY_COUNTS[key](all_rows)).as_dict(),
    }


def continuous_keys(design: Design) -> list[tuple[str, str]]:
    """(key, label) of every continuous variable, in SPEC §5 order."""
    keys = list(BASELINE_LABELS.items())
    for analyte, unit in design.analytes.items():
        keys += [(f"lab.{analyte}.{tp}", f"{analyte} ({unit}) at {tp}") for tp in design.timepoints]
    for instrument, scales in design.scales.items():
        timepoints = design.questionnaire_timepoints.get(instrument, ())
        for scale in scales:
            keys += [(f"qol.{instrument}.{scale}.{tp}", f"{instrument} {scale} at {tp}") for tp in timepoints]
            if len(timepoints) >= 2:
                first, last = timepoints[0], timepoints[-1]
                keys.append(
                    (f"qol.{instrument}.{scale}.{last}-{first}", f"{instrument} {scale}: change {first}→{last}")
                )
    return keys


def _value(row: dict, key: str):
    if key.count(".") == 3 and "-" in key.rsplit(".", 1)[1]:
        head, span = key.rsplit(".", 1)
        last, first = span.split("-")
        later, earlier = row.get(f"{head}.{last}"), row.get(f"{head}.{first}")
        return None if later is None or earlier is None else later - earlier
    return row.get(key)


def _continuous_entry(key: str, label: str, by_arm_rows: dict[str, list], design: Design, all_rows) -> dict:
    values = {code: [_value(r, key) for r in rows] for code, rows in by_arm_rows.items()}
    by_arm = {code: stats.describe(v).as_dict() for code, v in values.items()}
    if key.startswith("lab."):
        censored_key = "censored." + key.removeprefix("lab.")
        for code, rows in by_arm_rows.items():
            by_arm[code]["censored"] = sum(1 for r in rows if r.get(censored_key))
    present = {code: [x for x in v if x is not None] for code, v in values.items()}
    comparison = stats.compare_means(present[design.exp.code], present[design.ctrl.code]).as_dict()
    pooled = stats.describe([_value(r, key) for r in all_rows]).as_dict()
    return {"key": key, "label": label, "by_arm": by_arm, **comparison, "pooled": pooled}


def population_statistics(rows: list[dict], design: Design, population: str) -> dict:
    """SPEC §5 statistics for one population ("itt": every row; "per_protocol": rows flagged so)."""
    chosen = rows if population == "itt" else [r for r in rows if r.get("per_protocol")]
    by_arm_rows = {arm.code: [r for r in chosen if r["arm"] == arm.code] for arm in design.arms}
    return {
        "population": population,
        "arms": [{"code": a.code, "label": a.label, "n": len(by_arm_rows[a.code])} for a in design.arms],
        "binary": [_binary_entry(key, by_arm_rows, design, chosen) for key in BINARY_COUNTS],
        "continuous": [
            _continuous_entry(key, label, by_arm_rows, design, chosen) for key, label in continuous_keys(design)
        ],
    }


COMPARISON_KEYS = (
    "risk_difference",
    "risk_ratio",
    "odds_ratio",
    "mean_difference",
    "test",
    "p_value",
    "mann_whitney_p",
)


def population_view(block: dict, *, by_arm: bool) -> dict:
    """What a user sees: by arm with comparisons, or (blinded) pooled figures and no comparison."""

    def entry(item: dict) -> dict:
        if by_arm:
            return {k: v for k, v in item.items() if k != "pooled"}
        return {k: v for k, v in item.items() if k not in COMPARISON_KEYS and k != "by_arm"}

    arms = (
        block["arms"] if by_arm else [{"code": "POOLED", "label": "All arms", "n": sum(a["n"] for a in block["arms"])}]
    )
    return {
        "population": block["population"],
        "arms": arms,
        "binary": [entry(item) for item in block["binary"]],
        "continuous": [entry(item) for item in block["continuous"]],
    }
