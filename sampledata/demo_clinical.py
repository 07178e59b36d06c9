"""Treatment, laboratory and outcome records of the demo women, written through the real services.

sampledata.demo_solver decides what each woman's forms say; this module dates the records, enters them as staff
would and skips whatever is already there, so a second run writes nothing. The trial ran in the past, but
the randomization service stamps the moment it runs: each randomization is first moved to its historical
date by an audited update with a reason, since no transfer may precede its randomization.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from core.models import Timepoint
from core.services import record_update
from labs import selectors as lab_selectors
from labs.models import LabDraw
from labs.services import lab_draw_record
from outcomes import services as outcome_services
from outcomes.models import AdverseEvent, Instrument, PregnancyOutcome, QuestionnaireResponse
from patients import treatment
from patients.models import DalteparinCourse, EmbryoTransfer, LutealSupport, Patient
from sampledata.demo_profiles import DemoProfile
from sampledata.demo_solver import HCG, AnalyteHint, WomanPlan, clinical_plan

# Days after screening (consent is signed on the screening day).
RANDOMIZED_AFTER = timedelta(days=1)
RANDOMIZED_AT = time(10, 0)
TRANSFER_AFTER = timedelta(days=7)
LUTEAL_LEAD_DAYS = 3  # progesterone starts before a (mostly frozen) transfer
HCG_TEST_DAY = 14
BIOCHEMICAL_STOP_DAY = 21
ULTRASOUND_DAY = 28
MISCARRIAGE_DAY = 45
TREATMENT_STOP_DAY = 63  # dalteparin and progesterone to about ten weeks' gestation
GESTATION_AT_TRANSFER = {"blastocyst": 19, "cleavage": 17}  # days since the last menstrual period
BIRTH_DAY = {1: 247, 2: 231}  # after transfer: about 38 weeks for one infant, 35½ for twins
DALTEPARIN_IU = 5000
LUTEAL = {"vaginal": ("Progesterone vaginal gel 8%", "90 mg"), "intramuscular": ("Progesterone in oil", "60 mg")}
DRAWN_AT = {"BASELINE": time(7, 40), "ET14": time(8, 5), "ET28": time(8, 20)}
# Two draws taken late, as happens: the automatic window check raises a query for each.
LATE_DRAWS = {(23, "ET14"): 3, (57, "ET28"): 4}


@dataclass(frozen=True)
class DemoWoman:
    profile: DemoProfile
    patient_id: int
    screening_date: date


def backdate_reason(day: date) -> str:
    return f"Demo trial: she was randomized on {day:%Y-%m-%d} in the historical trial; entered later"


def _local(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def randomizations_backdate(women: list[DemoWoman], by) -> int:
    """Move each randomization to its historical date (audited, with a reason); already there: untouched."""
    patients = Patient.objects.select_related("randomization").in_bulk([w.patient_id for w in women])
    moved = 0
    for woman in women:
        randomization = patients[woman.patient_id].randomization
        day = woman.screening_date + RANDOMIZED_AFTER
        when = _local(day, RANDOMIZED_AT)
        if randomization.randomized_at != when:
            reason = backdate_reason(day)
            record_update(randomization, changes={"randomized_at": when}, by=by, reason=reason, expected_version=None)
            moved += 1
    return moved


def _design() -> tuple[dict[str, AnalyteHint], list[Timepoint], dict[str, list[str]]]:
    timepoints = list(Timepoint.objects.order_by("order"))
    specs = lab_selectors.analyte_specs()
    analytes = {}
    for code, spec in specs.items():
        ranges = {}
        for tp in timepoints:
            reference = spec.reference_for(tp.code)
            if reference is not None:
                ranges[tp.code] = (_float(reference.low), _float(reference.high))
        analytes[code] = AnalyteHint(spec.canonical_unit, spec.accepted_units, ranges)
    instruments = {
        i.code: [tp.code for tp in sorted(i.timepoints.all(), key=lambda tp: tp.order)]
        for i in Instrument.objects.prefetch_related("timepoints")
    }
    return analytes, timepoints, instruments


def _float(value) -> float | None:
    return None if value is None else float(value)


def _existing(patient_ids: list[int]) -> dict[str, set]:
    """What is already recorded for the demo women (a constant number of queries)."""
    mine = {"patient_id__in": patient_ids, "voided_at__isnull": True}
    return {
        "transfer": set(EmbryoTransfer.objects.filter(**mine).values_list("patient_id", flat=True)),
        "luteal": set(LutealSupport.objects.filter(**mine).values_list("patient_id", flat=True)),
        "dalteparin": set(DalteparinCourse.objects.filter(**mine).values_list("patient_id", flat=True)),
        "draw": set(LabDraw.objects.filter(**mine).values_list("patient_id", "timepoint__code")),
        "outcome": set(PregnancyOutcome.objects.filter(**mine).values_list("patient_id", flat=True)),
        "adverse_event": set(AdverseEvent.objects.filter(**mine).values_list("patient_id", "term", "onset_date")),
        "questionnaire": set(
            QuestionnaireResponse.objects.filter(**mine).values_list(
                "patient_id", "instrument__code", "timepoint__code"
            )
        ),
    }


def demo_clinical_seed(*, women: list[DemoWoman], by) -> dict[str, int]:
    """Transfers, luteal support, dalteparin, labs, outcomes, adverse events and questionnaires of the demo
    women; returns how many records of each kind were entered now."""
    analytes, timepoints, instruments = _design()
    plans = clinical_plan(
        [w.profile.arm for w in women],
        analytes,
        [tp.code for tp in timepoints],
        instruments,
        [w.profile.infertility_type for w in women],
    )
    patients = Patient.objects.select_related("site", "screening", "randomization__arm").in_bulk(
        [w.patient_id for w in women]
    )
    existing = _existing(list(patients))
    entered = dict.fromkeys(existing, 0)
    writer = _Writer(by, existing, entered, {tp.code: tp.day_offset for tp in timepoints})
    for woman, plan in zip(women, plans, strict=True):
        patient = patients[woman.patient_id]
        if patient.randomization.arm.code != plan.arm:
            raise RuntimeError(
                f"{patient} was allocated {patient.randomization.arm.code}, the demo expects {plan.arm}."
            )
        writer.woman(patient, plan, woman.screening_date + TRANSFER_AFTER)
    return entered


class _Writer:
    """One woman's records after her transfer day `et`, each entered only when missing."""

    def __init__(self, by, existing: dict[str, set], entered: dict[str, int], offsets: dict[str, int]):
        self.by, self.existing, self.entered, self.offsets = by, existing, entered, offsets

    def _needed(self, kind: str, key) -> bool:
        if key in self.existing[kind]:
            return False
        self.entered[kind] += 1
        return True

    def woman(self, patient: Patient, plan: WomanPlan, et: date) -> None:
        self.treatment(patient, plan, et)
        for tp in self.offsets:
            self.draw(patient, plan, et, tp)
        self.outcome(patient, plan, et)
        for event in plan.adverse_events:
            self.adverse_event(patient, event, et)
        for instrument, tp in plan.questionnaires:
            self.questionnaire(patient, plan, et, instrument, tp)

    def treatment(self, patient: Patient, plan: WomanPlan, et: date) -> None:
        if self._needed("transfer", patient.pk):
            data = treatment.TransferInput(et, plan.cycle_type, plan.embryo_stage, plan.pregnancy.embryos)
            treatment.transfer_record(patient=patient, data=data, by=self.by)
        stop = et + timedelta(days=_treatment_days(plan))
        if self._needed("luteal", patient.pk):
            drug, dose = LUTEAL[plan.luteal_route]
            treatment.luteal_support_record(
                patient=patient,
                drug=drug,
                route=plan.luteal_route,
                daily_dose=dose,
                start_date=et - timedelta(days=LUTEAL_LEAD_DAYS),
                stop_date=stop,
                by=self.by,
            )
        if plan.arm == "EXP" and self._needed("dalteparin", patient.pk):
            treatment.dalteparin_course_record(
                patient=patient,
                daily_dose_iu=DALTEPARIN_IU,
                start_date=et,
                stop_date=stop,
                missed_doses=plan.missed_doses,
                by=self.by,
            )

    def draw(self, patient: Patient, plan: WomanPlan, et: date, tp: str) -> None:
        entries = [(code, e.value, e.unit) for (code, at), e in plan.labs.items() if at == tp]
        if not entries or not self._needed("draw", (patient.pk, tp)):
            return
        day = et + timedelta(days=self.offsets[tp] + LATE_DRAWS.get((plan.index, tp), 0))
        drawn_at = _local(day, DRAWN_AT.get(tp, time(8, 0)))
        lab_draw_record(patient=patient, timepoint=tp, drawn_at=drawn_at, entries=entries, by=self.by)

    def outcome(self, patient: Patient, plan: WomanPlan, et: date) -> None:
        if self._needed("outcome", patient.pk):
            data = outcome_form(plan, et)
            outcome_services.outcome_record(patient=patient, data=data, by=self.by)

    def adverse_event(self, patient: Patient, event, et: date) -> None:
        onset = et + timedelta(days=event.onset_day)
        if not self._needed("adverse_event", (patient.pk, event.term, onset)):
            return
        data = {
            "term": event.term,
            "term_other": event.term_other,
            "onset_date": onset,
            "resolution_date": onset + timedelta(days=event.days_to_resolve),
            "grade": event.grade,
            "serious": False,
            "related_to_dalteparin": event.related,
            "action_taken": "none",
            "outcome": "recovered",
        }
        outcome_services.adverse_event_record(patient=patient, data=data, by=self.by)

    def questionnaire(self, patient: Patient, plan: WomanPlan, et: date, instrument: str, tp: str) -> None:
        if self._needed("questionnaire", (patient.pk, instrument, tp)):
            outcome_services.questionnaire_record(
                patient=patient,
                instrument=instrument,
                timepoint=tp,
                completed_on=et + timedelta(days=self.offsets[tp]),
                answers=plan.questionnaires[(instrument, tp)],
                by=self.by,
            )


def _treatment_days(plan: WomanPlan) -> int:
    """Luteal support and dalteparin stop at a negative test, a biochemical loss, a miscarriage or ~10 weeks."""
    pregnancy = plan.pregnancy
    if pregnancy.miscarriage:
        return MISCARRIAGE_DAY
    if pregnancy.clinical:
        return TREATMENT_STOP_DAY
    return BIOCHEMICAL_STOP_DAY if pregnancy.beta_hcg_positive else HCG_TEST_DAY


def outcome_form(plan: WomanPlan, et: date) -> dict:
    """The pregnancy outcome form as staff would fill it in once the follow-up is complete."""
    pregnancy = plan.pregnancy

    def day(n: int) -> date:
        return et + timedelta(days=n)

    hcg = plan.labs.get((HCG, "ET14"))
    data = {
        "beta_hcg_positive": pregnancy.beta_hcg_positive,
        "beta_hcg_date": day(HCG_TEST_DAY),
        "beta_hcg_value": Decimal(hcg.value) if pregnancy.beta_hcg_positive and hcg else None,
        "clinical_pregnancy": pregnancy.clinical,
        "ongoing_pregnancy": pregnancy.ongoing,
        "live_birth": pregnancy.ongoing,
    }
    if pregnancy.clinical:
        data |= {"ultrasound_date": day(ULTRASOUND_DAY), "gestational_sacs": pregnancy.sacs, "fetal_heartbeat": True}
    if pregnancy.miscarriage:
        weeks = (GESTATION_AT_TRANSFER[plan.embryo_stage] + MISCARRIAGE_DAY) // 7
        data |= {"miscarriage": True, "miscarriage_date": day(MISCARRIAGE_DAY), "miscarriage_week": weeks}
    if pregnancy.ongoing:
        data |= {"live_birth_date": day(BIRTH_DAY[pregnancy.infants]), "infants": pregnancy.infants}
    return data
