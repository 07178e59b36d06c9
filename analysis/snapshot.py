"""The statistics JSON of SPEC §5 built from plain rows, or the same as columns (`Table`). Pure: no Django, no database.

Entries carry both the by-arm figures with comparisons and the pooled figures; `population_view`
then serves one or the other depending on whether the user may see results by arm. Labels stay English
(the statistics API returns them); they are marked for the catalogue, and the dashboard translates them.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from analysis import stats
from core.markers import gettext_noop

BINARY_LABELS = {
    "clinical_pregnancy": gettext_noop("Clinical pregnancy rate (CPR)"),
    "implantation": gettext_noop("Embryo implantation rate (EIR, per embryo)"),
    "miscarriage": gettext_noop("Miscarriage rate (MCR, per clinical pregnancy)"),
    "biochemical_pregnancy": gettext_noop("Biochemical pregnancy (positive β-hCG)"),
    "ongoing_pregnancy": gettext_noop("Ongoing pregnancy at 12 weeks"),
    "live_birth": gettext_noop("Live birth"),
    "any_adverse_event": gettext_noop("Any adverse event"),
    "serious_adverse_event": gettext_noop("Serious adverse event"),
}
BASELINE_LABELS = {
    "baseline.age": gettext_noop("Age, years"),
    "baseline.bmi": gettext_noop("BMI, kg/m²"),
    "baseline.previous_failed_transfers": gettext_noop("Previous failed embryo transfers"),
    "baseline.prior_miscarriages": gettext_noop("Prior miscarriages"),
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


FIELDS = (
    "arm",
    "per_protocol",
    "embryos_transferred",
    "gestational_sacs",
    "biochemical_pregnancy",
    "clinical_pregnancy",
    "miscarriage",
    "ongoing_pregnancy",
    "live_birth",
    "any_adverse_event",
    "serious_adverse_event",
)


@dataclass(frozen=True)
class Table:
    """The analysis rows as columns, one position per randomized patient in a fixed order.

    `fields` hold per-patient values as the rows do (True/False/None, counts, arm codes); `values` hold
    each continuous variable as float64 with NaN where it is missing; `censored` marks lab values
    beyond a detection limit (key `<analyte>.<timepoint>`). Statistics over columns cost a mask per arm
    instead of a pass over every row's dict per variable.
    """

    fields: dict[str, list]
    values: dict[str, np.ndarray]
    censored: dict[str, np.ndarray]
    _derived: dict = field(default_factory=dict, compare=False, repr=False)  # arrays made from `fields`

    def __len__(self) -> int:
        return len(self.fields["arm"])

    @classmethod
    def from_rows(cls, rows: Sequence[dict], design: "Design") -> "Table":
        keys = [key for key, _label in continuous_keys(design) if not _is_change(key)]
        lab_keys = [key.removeprefix("lab.") for key in keys if key.startswith("lab.")]
        return cls(
            fields={name: [r.get(name) for r in rows] for name in FIELDS},
            values={key: np.array([r.get(key) for r in rows], dtype=float) for key in keys},  # None → NaN
            censored={key: np.array([bool(r.get(f"censored.{key}")) for r in rows], dtype=bool) for key in lab_keys},
        )

    def fingerprint(self) -> str:
        """SHA-256 of everything in the table (fields as JSON, columns as their float64 bytes): equal tables,
        equal fingerprints, at a fraction of the cost of serialising a dict per patient."""
        digest = hashlib.sha256(json.dumps(self.fields, sort_keys=True, default=str).encode())
        for group in (self.values, self.censored):
            for key in sorted(group):
                digest.update(key.encode() + b"\0" + np.ascontiguousarray(group[key]).tobytes())
        return digest.hexdigest()

    def is_true(self, name: str) -> np.ndarray:
        if ("true", name) not in self._derived:
            self._derived["true", name] = np.array([value is True for value in self.fields[name]], dtype=bool)
        return self._derived["true", name]

    def counts(self, name: str) -> np.ndarray:
        """A count column (embryos, sacs) with missing as 0."""
        if ("count", name) not in self._derived:
            self._derived["count", name] = np.array([value or 0 for value in self.fields[name]], dtype=np.int64)
        return self._derived["count", name]


def _count(table: Table, name: str, mask: np.ndarray) -> tuple[int, int]:
    return int(np.count_nonzero(table.is_true(name) & mask)), int(np.count_nonzero(mask))


def _implantation(table: Table, mask: np.ndarray) -> tuple[int, int]:
    # Embryo level: sacs over embryos, a patient's sacs capped at her embryos (twins from one embryo
    # would otherwise make the 2×2 table impossible).
    embryos = table.counts("embryos_transferred")
    with_transfer = mask & (embryos > 0)
    sacs = np.minimum(table.counts("gestational_sacs"), embryos)
    return int(sacs[with_transfer].sum()), int(embryos[with_transfer].sum())


def _miscarriage(table: Table, mask: np.ndarray) -> tuple[int, int]:
    pregnant = mask & table.is_true("clinical_pregnancy")
    return _count(table, "miscarriage", pregnant)[0], int(np.count_nonzero(pregnant))


def _counter(name: str) -> Callable[[Table, np.ndarray], tuple[int, int]]:
    return lambda table, mask: _count(table, name, mask)


BINARY_COUNTS: dict[str, Callable[[Table, np.ndarray], tuple[int, int]]] = {
    "clinical_pregnancy": _counter("clinical_pregnancy"),
    "implantation": _implantation,
    "miscarriage": _miscarriage,
    "biochemical_pregnancy": _counter("biochemical_pregnancy"),
    "ongoing_pregnancy": _counter("ongoing_pregnancy"),
    "live_birth": _counter("live_birth"),
    "any_adverse_event": _counter("any_adverse_event"),
    "serious_adverse_event": _counter("serious_adverse_event"),
}


def _binary_entry(key: str, table: Table, arms: dict[str, np.ndarray], design: Design, chosen: np.ndarray) -> dict:
    counts = {code: BINARY_COUNTS[key](table, mask) for code, mask in arms.items()}
    (e_exp, n_exp), (e_ctrl, n_ctrl) = counts[design.exp.code], counts[design.ctrl.code]
    comparison = stats.compare_proportions(e_exp, n_exp, e_ctrl, n_ctrl).as_dict()
    return {
        "key": key,
        "label": BINARY_LABELS[key],
        "by_arm": {code: stats.proportion_summary(*c).as_dict() for code, c in counts.items()},
        **comparison,
        "pooled": stats.proportion_summary(*BINARY_COUNTS[key](table, chosen)).as_dict(),
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


def _is_change(key: str) -> bool:
    return key.count(".") == 3 and "-" in key.rsplit(".", 1)[1]


def _column(table: Table, key: str) -> np.ndarray:
    """One continuous variable; a change key (`qol.<instrument>.<scale>.<last>-<first>`) is the later value
    minus the earlier one, missing when either is (NaN propagates as None did)."""
    if _is_change(key):
        head, span = key.rsplit(".", 1)
        last, first = span.split("-")
        return _column(table, f"{head}.{last}") - _column(table, f"{head}.{first}")
    column = table.values.get(key)
    return np.full(len(table), np.nan) if column is None else column


def _continuous_entry(key: str, label: str, table: Table, arms: dict, design: Design, chosen: np.ndarray) -> dict:
    column = _column(table, key)
    # Boolean masks keep row order, so every arm's values (and the pooled ones) are in the order the
    # rows are: the sums behind means and SDs add up in the same order, to the same last bit.
    values = {code: column[mask] for code, mask in arms.items()}
    by_arm = {code: stats.describe(v).as_dict() for code, v in values.items()}
    if key.startswith("lab."):
        censored = table.censored.get(key.removeprefix("lab."), np.zeros(len(table), dtype=bool))
        for code, mask in arms.items():
            by_arm[code]["censored"] = int(np.count_nonzero(censored & mask))
    comparison = stats.compare_means(values[design.exp.code], values[design.ctrl.code]).as_dict()
    pooled = stats.describe(column[chosen]).as_dict()
    return {"key": key, "label": label, "by_arm": by_arm, **comparison, "pooled": pooled}


def population_statistics(rows: "Sequence[dict] | Table", design: Design, population: str) -> dict:
    """SPEC §5 statistics for one population ("itt": every row; "per_protocol": rows flagged so).

    `rows` are the analysis rows, or the same as a `Table` (cheaper: built once from the database).
    """
    table = rows if isinstance(rows, Table) else Table.from_rows(rows, design)
    everyone = np.ones(len(table), dtype=bool)
    chosen = everyone if population == "itt" else np.array([bool(p) for p in table.fields["per_protocol"]], dtype=bool)
    arm_of = np.array(table.fields["arm"], dtype=object)
    arms = {arm.code: chosen & (arm_of == arm.code) for arm in design.arms}
    return {
        "population": population,
        "arms": [{"code": a.code, "label": a.label, "n": int(np.count_nonzero(arms[a.code]))} for a in design.arms],
        "binary": [_binary_entry(key, table, arms, design, chosen) for key in BINARY_COUNTS],
        "continuous": [
            _continuous_entry(key, label, table, arms, design, chosen) for key, label in continuous_keys(design)
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
        block["arms"]
        if by_arm
        else [{"code": "POOLED", "label": gettext_noop("All arms"), "n": sum(a["n"] for a in block["arms"])}]
    )
    return {
        "population": block["population"],
        "arms": arms,
        "binary": [entry(item) for item in block["binary"]],
        "continuous": [entry(item) for item in block["continuous"]],
    }
