"""From planned women and their courses to COPY rows: database ids resolved, one buffer per table."""

from dataclasses import dataclass
from datetime import time, timedelta

from core.bulk_copy import Table, bind_audit_context, clinical_head, entered_at, reserve_ids
from core.models import Arm, Timepoint
from labs import copy_rows
from labs.models import Analyte, LabDraw
from outcomes.models import AdverseEvent, Instrument, PregnancyOutcome, QuestionnaireResponse
from outcomes.services import AE_FIELDS
from outcomes.services import OUTCOME_FIELDS as OUTCOME_FORM_FIELDS
from patients.models import (
    AllocationSlot,
    Baseline,
    Consent,
    DalteparinCourse,
    EmbryoTransfer,
    LutealSupport,
    Patient,
    PatientIdentity,
    ProtocolDeviation,
    Randomization,
    Screening,
)
from sampledata.services import CONSENT_FORM

WITHDRAWAL_REASON = "Withdrew consent (synthetic)"
RANDOMIZED_AT = time(10)
DRAWN_AT = time(8)
SAE_NOTIFIED_AT = time(18)
STATUS = {"ineligible": "ineligible", "eligible": "eligible", "consented": "consented", "awaiting": "consented"}
BASELINE_FIELDS = [
    "height_cm",
    "weight_kg",
    "bmi",
    "previous_failed_transfers",
    "prior_miscarriages",
    "infertility_type",
    "infertility_years",
    "education",
    "amh_ng_ml",
]
# The forms' own field lists; the writer also stores the sacs confirmation the form asks for.
OUTCOME_FIELDS = [*OUTCOME_FORM_FIELDS, "sacs_exceed_embryos_confirmed"]
TREATMENT_FIELDS = {
    "transfer": ["transfer_date", "cycle_type", "embryo_stage", "embryos_transferred"],
    "luteal": ["drug", "route", "daily_dose", "start_date", "stop_date"],
}


def slot_table() -> Table:
    return Table(
        AllocationSlot,
        ["allocation_list", "sequence", "arm", "block_number", "block_size"],
        clinical=False,
        with_id=True,
    )


class Tables:
    """One COPY buffer per clinical table, flushed parents first."""

    def __init__(self):
        self.patient = Table(
            Patient, ["study_id", "site", "sequence_number", "status", "age_at_enrolment"], with_id=True
        )
        self.identity = Table(
            PatientIdentity, ["patient", "full_name", "medical_record_number", "date_of_birth", "phone"]
        )
        self.screening = Table(
            Screening, ["patient", "screening_date", "screened_by", "answers", "eligible", "failed_criteria"]
        )
        self.consent = Table(
            Consent, ["patient", "form_version", "signed_on", "obtained_by", "withdrawn_on", "withdrawal_reason"]
        )
        self.baseline = Table(Baseline, ["patient", *BASELINE_FIELDS])
        self.randomization = Table(
            Randomization, ["patient", "slot", "arm", "randomized_at", "randomized_by", "in_error", "in_error_reason"]
        )
        self.transfer = Table(EmbryoTransfer, ["patient", *TREATMENT_FIELDS["transfer"]])
        self.luteal = Table(LutealSupport, ["patient", *TREATMENT_FIELDS["luteal"]])
        self.deviation = Table(ProtocolDeviation, ["patient", "occurred_on", "description", "major"], with_id=True)
        self.dalteparin = Table(
            DalteparinCourse, ["patient", "daily_dose_iu", "start_date", "stop_date", "missed_doses", "deviation"]
        )
        self.draw = copy_rows.draw_table()
        self.result = copy_rows.result_table()
        self.outcome = Table(PregnancyOutcome, ["patient", *OUTCOME_FIELDS])
        self.adverse_event = Table(AdverseEvent, ["patient", *AE_FIELDS, "sae_notified_at"])
        self.questionnaire = Table(
            QuestionnaireResponse, ["patient", "instrument", "timepoint", "completed_on", "answers", "scores"]
        )

    def in_order(self) -> list[Table]:
        return list(self.__dict__.values())  # declared parents first

    def flush(self, cursor) -> None:
        for table in self.in_order():
            table.flush(cursor)

    def written(self) -> dict[str, int]:
        return {table.table: table.written for table in self.in_order()}


@dataclass(frozen=True)
class Ids:
    """Database ids the rows refer to."""

    sites: dict[str, int]
    staff: dict[str, int]  # site code → the site's generator account
    slots: dict[tuple[str, str], list[int]]  # stratum → slot ids in sequence
    arms: dict[str, int]
    timepoints: dict[str, int]
    analytes: dict[str, int]
    instruments: dict[str, int]

    @classmethod
    def read(cls, sites, staff, slots) -> "Ids":
        return cls(
            sites={code: site.pk for code, site in sites.items()},
            staff=staff,
            slots=slots,
            arms=dict(Arm.objects.values_list("code", "pk")),
            timepoints=dict(Timepoint.objects.values_list("code", "pk")),
            analytes=dict(Analyte.objects.values_list("code", "pk")),
            instruments=dict(Instrument.objects.values_list("code", "pk")),
        )


def write_batch(cursor, tables: Tables, ids: Ids, batch, allocated, generator) -> None:
    """Rows for a batch of women (in screening order, so the clinical random stream is consumed in order)."""
    courses = {}
    for woman in batch:
        if woman.index in allocated:
            stratum, position = allocated[woman.index]
            randomized_on = woman.screening_date + timedelta(days=1)
            courses[woman.index] = generator.course(randomized_on=randomized_on, arm=stratum.slots[position].arm)
    patient_ids = reserve_ids(cursor, Patient, len(batch))
    draw_ids = iter(reserve_ids(cursor, LabDraw, sum(len(c.draws) for c in courses.values())))
    deviation_ids = iter(reserve_ids(cursor, ProtocolDeviation, sum(len(c.deviations) for c in courses.values())))
    for woman, pk in zip(batch, patient_ids, strict=True):
        course = courses.get(woman.index)
        _registry(tables, ids, woman, pk, course)
        if course is not None:
            _randomization(tables, ids, woman, pk, allocated[woman.index])
            _treatment(tables, ids, woman, pk, course, deviation_ids)
            _labs(tables, ids, woman, pk, course, draw_ids)
            _outcomes(tables, ids, woman, pk, course)
    bind_audit_context(cursor)
    tables.flush(cursor)


def _registry(tables: Tables, ids: Ids, woman, pk: int, course) -> None:
    staff, screened = ids.staff[woman.site], woman.screening_date
    head = clinical_head(screened, staff)
    status = course.status if course is not None else STATUS[woman.fate]
    tables.patient.add((woman.study_id, ids.sites[woman.site], woman.number, status, woman.age), head=head, pk=pk)
    identity = (f"Synthetic Patient {woman.study_id}", f"{woman.site}-MRN-{woman.number:06d}", woman.date_of_birth, "")
    tables.identity.add((pk, *identity), head=head)
    tables.screening.add((pk, screened, staff, woman.answers, not woman.failed, list(woman.failed)), head=head)
    if woman.fate in ("ineligible", "eligible"):
        return
    withdrawn_on = course.withdrawn_on if course is not None else None
    reason = WITHDRAWAL_REASON if withdrawn_on else ""
    tables.consent.add((pk, CONSENT_FORM, screened, staff, withdrawn_on, reason), head=head)
    if woman.baseline is not None:
        tables.baseline.add((pk, *(woman.baseline[f] for f in BASELINE_FIELDS)), head=head)


def _randomization(tables: Tables, ids: Ids, woman, pk: int, allocation) -> None:
    stratum, position = allocation
    staff, on = ids.staff[woman.site], woman.screening_date + timedelta(days=1)
    slot_id, arm = ids.slots[stratum.site, stratum.age_group][position], stratum.slots[position].arm
    values = (pk, slot_id, ids.arms[arm], entered_at(on, RANDOMIZED_AT), staff, False, "")
    tables.randomization.add(values, head=clinical_head(on, staff))


def _treatment(tables: Tables, ids: Ids, woman, pk: int, course, deviation_ids) -> None:
    staff = ids.staff[woman.site]
    if course.transfer is not None:
        on = course.transfer["transfer_date"]
        tables.transfer.add(
            (pk, *(course.transfer[f] for f in TREATMENT_FIELDS["transfer"])), head=clinical_head(on, staff)
        )
        tables.luteal.add((pk, *(course.luteal[f] for f in TREATMENT_FIELDS["luteal"])), head=clinical_head(on, staff))
    deviation_pks = []
    for deviation in course.deviations:
        deviation_pks.append(next(deviation_ids))
        values = (pk, deviation["occurred_on"], deviation["description"], deviation["major"])
        tables.deviation.add(values, head=clinical_head(deviation["occurred_on"], staff), pk=deviation_pks[-1])
    if course.dalteparin is not None:
        d = course.dalteparin
        deviation = None if d["deviation"] is None else deviation_pks[d["deviation"]]
        values = (pk, d["daily_dose_iu"], d["start_date"], d["stop_date"], d["missed_doses"], deviation)
        tables.dalteparin.add(values, head=clinical_head(d["start_date"], staff))


def _labs(tables: Tables, ids: Ids, woman, pk: int, course, draw_ids) -> None:
    staff = ids.staff[woman.site]
    for draw in course.draws:
        draw_pk, head = next(draw_ids), clinical_head(draw.drawn_on, staff)
        tables.draw.add(
            (pk, ids.timepoints[draw.timepoint], entered_at(draw.drawn_on, DRAWN_AT), draw.window_warning),
            head=head,
            pk=draw_pk,
        )
        for r in draw.results:
            tables.result.add_line(copy_rows.result_line(head, draw_pk, ids.analytes[r.analyte], r))


def _outcomes(tables: Tables, ids: Ids, woman, pk: int, course) -> None:
    staff = ids.staff[woman.site]
    if course.outcome is not None:
        form = course.outcome
        entered = max(value for key, value in form.items() if key.endswith("_date") and value is not None)
        tables.outcome.add((pk, *(form[f] for f in OUTCOME_FIELDS)), head=clinical_head(entered, staff))
    for event in course.adverse_events:
        notified = entered_at(event["onset_date"], SAE_NOTIFIED_AT) if event["sae_notified"] else None
        values = (pk, *(event[f] for f in AE_FIELDS), notified)
        tables.adverse_event.add(values, head=clinical_head(event["resolution_date"] or event["onset_date"], staff))
    for q in course.questionnaires:
        values = (pk, ids.instruments[q["instrument"]], ids.timepoints[q["timepoint"]], q["completed_on"])
        tables.questionnaire.add((*values, q["answers"], q["scores"]), head=clinical_head(q["completed_on"], staff))
