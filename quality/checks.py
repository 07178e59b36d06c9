"""Automatic data checks that raise queries: range, window and cross-form consistency. Pure: no Django.

A finding names the form and field it is about and the value it judged (`evidence`). The service keeps
exactly one unresolved query per (patient, check code) and closes it when the finding disappears.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from labs.ranges import Window, window_warning

# β-hCG below this is not a positive test in any assay the sites use.
HCG_POSITIVE_CUTOFF_IU_L = Decimal("5")


@dataclass(frozen=True)
class Finding:
    patient_id: int
    form: str
    field: str
    check_code: str
    evidence: str
    message: str


@dataclass(frozen=True)
class LabResultFact:
    patient_id: int
    timepoint: str
    analyte: str
    flag: str  # normal / low / high
    shown_value: str  # e.g. "<0.5" or "120"
    unit: str


@dataclass(frozen=True)
class LabDrawFact:
    patient_id: int
    timepoint: str
    drawn_on: date
    transfer_date: date | None
    window: Window


@dataclass(frozen=True)
class OutcomeFact:
    patient_id: int
    beta_hcg_positive: bool
    beta_hcg_value: Decimal | None
    gestational_sacs: int | None
    embryos_transferred: int | None
    sacs_exceed_embryos_confirmed: bool
    fetal_heartbeat: bool | None
    ongoing_pregnancy: bool | None


def lab_range_findings(results: list[LabResultFact]) -> list[Finding]:
    return [
        Finding(
            r.patient_id,
            f"labs:{r.timepoint}",
            r.analyte,
            f"lab-range:{r.timepoint}:{r.analyte}",
            f"{r.shown_value} {r.unit}",
            f"{r.analyte} {r.shown_value} {r.unit} at {r.timepoint} is {r.flag} against the reference range: "
            "please confirm against the laboratory report or correct it.",
        )
        for r in results
        if r.flag != "normal"
    ]


def lab_window_findings(draws: list[LabDrawFact]) -> list[Finding]:
    findings = []
    for d in draws:
        # Without a transfer the window cannot be judged yet; the missing transfer is its own finding.
        if d.transfer_date is None:
            continue
        message = window_warning(d.drawn_on, d.transfer_date, d.window, d.timepoint)
        if message:
            findings.append(
                Finding(
                    d.patient_id,
                    f"labs:{d.timepoint}",
                    "drawn_at",
                    f"lab-window:{d.timepoint}",
                    f"{d.drawn_on:%Y-%m-%d} (ET {d.transfer_date:%Y-%m-%d})",
                    f"{message} Please confirm the draw date or correct it.",
                )
            )
    return findings


def outcome_findings(outcomes: list[OutcomeFact]) -> list[Finding]:
    findings = []
    for o in outcomes:
        sacs, embryos = o.gestational_sacs or 0, o.embryos_transferred
        if embryos is not None and sacs > embryos:
            findings.append(
                Finding(
                    o.patient_id,
                    "outcome",
                    "gestational_sacs",
                    "outcome-sacs-exceed-embryos",
                    f"{sacs} sacs / {embryos} embryos",
                    f"{sacs} gestational sacs after {embryos} embryo(s) transferred: please verify the ultrasound "
                    "report (monozygotic twinning is rare).",
                )
            )
        if o.beta_hcg_positive and o.beta_hcg_value is not None and o.beta_hcg_value < HCG_POSITIVE_CUTOFF_IU_L:
            findings.append(
                Finding(
                    o.patient_id,
                    "outcome",
                    "beta_hcg_value",
                    "outcome-hcg-positive-below-cutoff",
                    f"{o.beta_hcg_value} IU/L",
                    f"β-hCG recorded positive with {o.beta_hcg_value} IU/L, below the {HCG_POSITIVE_CUTOFF_IU_L} IU/L "
                    "cut-off: please check the value or the result.",
                )
            )
        if o.fetal_heartbeat is False and o.ongoing_pregnancy:
            findings.append(
                Finding(
                    o.patient_id,
                    "outcome",
                    "ongoing_pregnancy",
                    "outcome-ongoing-without-heartbeat",
                    "heartbeat no / ongoing yes",
                    "Ongoing pregnancy recorded although no fetal heartbeat was seen: please check both fields.",
                )
            )
    return findings
