"""The data dictionary: the columns of each export data set, read from the trial configuration.

Each layout pairs a column with the key its value has in the rows it is built from
(`analysis.selectors.analysis_rows()` for patients, the values_list sources for lab-results), so the
columns and the row builders (`analysis.exports.builders`) cannot drift apart.
"""

from dataclasses import dataclass

from core.models import Arm, Site, Timepoint
from labs.models import Analyte, Flag
from outcomes.instruments import INSTRUMENT_ITEMS, INSTRUMENT_NAMES, Item
from outcomes.models import ActionTaken, AdverseEventTerm, AeOutcome, Instrument, Relatedness
from outcomes.scoring import RAND36_SCALES, SSRS_SUBSCALES
from patients.models import Education

# Scales exported per instrument, in the order of SPEC §7 (`rand36_*` before `ssrs_*`).
SCALES: dict[str, tuple[str, ...]] = {"RAND36": tuple(RAND36_SCALES), "SSRS": tuple(SSRS_SUBSCALES)}


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # "string" | "integer" | "number" | "boolean" | "date" | "datetime"
    unit: str = ""
    allowed_values: list | None = None


BOOLEAN = [0, 1]


def _choices(choices) -> list[str]:
    return [value for value, _ in choices.choices]


def _subject_columns() -> list[Column]:
    return [
        Column("study_id", "Study id (<SITE>-<4-digit sequence>)", "string"),
        Column("site", "Site code", "string", "", list(Site.objects.values_list("code", flat=True))),
        Column(
            "arm",
            "Allocated arm (ITT); empty if not randomized or results are blinded for this user",
            "string",
            "",
            list(Arm.objects.order_by("order", "code").values_list("code", flat=True)),
        ),
    ]


# --- patients ---------------------------------------------------------------------------------------

# (column, key in analysis_rows()) of the SPEC §7 contract columns, in contract order.
_PATIENT_CONTRACT: list[tuple[Column, str]] = [
    (Column("randomized_at", "Randomized at (UTC)", "datetime"), "randomized_at"),
    (Column("in_error", "Randomized in error (stays in ITT, leaves per-protocol)", "boolean", "", BOOLEAN), "in_error"),
    (
        Column(
            "per_protocol", "Per-protocol population: allocated treatment, no major deviation", "boolean", "", BOOLEAN
        ),
        "per_protocol",
    ),
    (Column("age", "Age at enrolment", "integer", "years"), "baseline.age"),
    (Column("bmi", "Body-mass index at baseline", "number", "kg/m²"), "baseline.bmi"),
    (
        Column("previous_failed_transfers", "Previous failed embryo transfers", "integer"),
        "baseline.previous_failed_transfers",
    ),
    (Column("prior_miscarriages", "Prior miscarriages", "integer"), "baseline.prior_miscarriages"),
    (Column("education", "Education", "string", "", _choices(Education)), "education"),
    (Column("embryos_transferred", "Embryos transferred", "integer", "", [1, 2, 3]), "embryos_transferred"),
    (Column("biochemical_pregnancy", "Positive β-hCG", "boolean", "", BOOLEAN), "biochemical_pregnancy"),
    (Column("clinical_pregnancy", "Clinical pregnancy (ultrasound)", "boolean", "", BOOLEAN), "clinical_pregnancy"),
    (Column("gestational_sacs", "Gestational sacs (0 when no clinical pregnancy)", "integer"), "gestational_sacs"),
    (Column("miscarriage", "Miscarriage", "boolean", "", BOOLEAN), "miscarriage"),
    (Column("ongoing_pregnancy", "Ongoing pregnancy at 12 weeks", "boolean", "", BOOLEAN), "ongoing_pregnancy"),
    (Column("live_birth", "Live birth", "boolean", "", BOOLEAN), "live_birth"),
    (Column("any_adverse_event", "At least one adverse event", "boolean", "", BOOLEAN), "any_adverse_event"),
    (
        Column("serious_adverse_event", "At least one serious adverse event", "boolean", "", BOOLEAN),
        "serious_adverse_event",
    ),
]


def instrument_timepoints() -> dict[str, list[str]]:
    """Instrument code → its time points in visit order, for instruments whose scales are known."""
    found = {
        i.code: [tp.code for tp in sorted(i.timepoints.all(), key=lambda tp: tp.order)]
        for i in Instrument.objects.prefetch_related("timepoints")
    }
    return {code: found[code] for code in SCALES if code in found}


def patient_layout() -> list[tuple[Column, str]]:
    layout = [(column, column.name) for column in _subject_columns()] + _PATIENT_CONTRACT
    timepoints = list(Timepoint.objects.order_by("order").values_list("code", flat=True))
    note = "below the detection limit: half the limit; above the measuring range: the limit"
    for analyte in Analyte.objects.order_by("order", "code"):
        for tp in timepoints:
            label = f"{analyte.name} at {tp} ({note})"
            column = Column(f"lab_{analyte.code}_{tp}", label, "number", analyte.canonical_unit)
            layout.append((column, f"lab.{analyte.code}.{tp}"))
    for instrument, visits in instrument_timepoints().items():
        for scale in SCALES[instrument]:
            for tp in visits:
                label = f"{INSTRUMENT_NAMES.get(instrument, instrument)}: {scale.replace('_', ' ')} at {tp}"
                column = Column(f"{instrument.lower()}_{scale}_{tp}", label, "number")
                layout.append((column, f"qol.{instrument}.{scale}.{tp}"))
    return layout


def patient_columns() -> list[Column]:
    return [column for column, _ in patient_layout()]


# --- lab-results, adverse-events, questionnaires ----------------------------------------------------


def lab_columns() -> list[Column]:
    return [
        *_subject_columns(),
        Column("timepoint", "Time point", "string", "", list(Timepoint.objects.values_list("code", flat=True))),
        Column("analyte", "Analyte", "string", "", list(Analyte.objects.values_list("code", flat=True))),
        Column("drawn_at", "Blood drawn at (UTC)", "datetime"),
        Column("value_as_entered", "Value as entered ('<0.5' for a censored value)", "string"),
        Column("unit_as_entered", "Unit as entered", "string"),
        Column("canonical_value", "Value in the canonical unit (a censored value: its limit)", "number"),
        Column("canonical_unit", "Canonical unit of the analyte", "string"),
        Column(
            "censored",
            "'<' below the detection limit, '>' above the measuring range; empty when measured",
            "string",
            "",
            ["<", ">"],
        ),
        Column("flag", "Against the reference range", "string", "", _choices(Flag)),
    ]


# Each lab-results column and its source, in column order ("arm" is annotated).
LAB_SOURCES = {
    "study_id": "draw__patient__study_id",
    "site": "draw__patient__site__code",
    "arm": "arm",
    "timepoint": "draw__timepoint__code",
    "analyte": "analyte__code",
    "drawn_at": "draw__drawn_at",
    "value_as_entered": "value_as_entered",
    "unit_as_entered": "unit_as_entered",
    "canonical_value": "canonical_value",
    "canonical_unit": "analyte__canonical_unit",
    "censored": "censoring",
    "flag": "flag",
}


def ae_columns() -> list[Column]:
    return [
        *_subject_columns(),
        Column("event_id", "Adverse event id (as in /api/v1/adverse-events/{id}/)", "integer"),
        Column("term", "Term (controlled list)", "string", "", _choices(AdverseEventTerm)),
        Column("term_other", "Description when the term is 'other'", "string"),
        Column("onset_date", "Onset date", "date"),
        Column("resolution_date", "Resolution date", "date"),
        Column("grade", "Severity grade (CTCAE)", "integer", "", [1, 2, 3, 4, 5]),
        Column("serious", "Serious adverse event (SAE)", "boolean", "", BOOLEAN),
        Column("related_to_dalteparin", "Relatedness to dalteparin", "string", "", _choices(Relatedness)),
        Column("action_taken", "Action taken with dalteparin", "string", "", _choices(ActionTaken)),
        Column("outcome", "Outcome of the event", "string", "", _choices(AeOutcome)),
    ]


def _allowed_answers(item: Item) -> list[int]:
    if item.count_range is not None:
        return list(range(item.count_range[0], item.count_range[1] + 1))
    return [option.value for option in item.options]


def questionnaire_layout() -> list[tuple[Column, str, str, str]]:
    """(column, instrument, "scores" | "answers", key) of each score and item column."""
    instruments = list(instrument_timepoints())
    layout = []
    for instrument in instruments:
        for scale in SCALES[instrument]:
            label = f"{INSTRUMENT_NAMES.get(instrument, instrument)}: {scale.replace('_', ' ')} score"
            layout.append((Column(f"{instrument.lower()}_{scale}", label, "number"), instrument, "scores", scale))
    for instrument in instruments:
        for item in INSTRUMENT_ITEMS.get(instrument, ()):
            name, label = f"{instrument.lower()}_item_{item.key}", f"{instrument} item {item.key}: {item.text}"
            column = Column(name, label, "integer", "", _allowed_answers(item))
            layout.append((column, instrument, "answers", item.key))
    return layout


def questionnaire_columns() -> list[Column]:
    instruments = list(instrument_timepoints())
    timepoints = sorted({tp for tps in instrument_timepoints().values() for tp in tps})
    return [
        *_subject_columns(),
        Column("instrument", "Questionnaire", "string", "", instruments),
        Column("timepoint", "Time point", "string", "", timepoints),
        Column("completed_on", "Completed on", "date"),
        *(column for column, *_ in questionnaire_layout()),
    ]
