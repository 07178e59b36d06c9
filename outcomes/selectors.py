"""Reads of outcomes, and the one selector of derived outcomes that dashboards and statistics use."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from outcomes.models import AdverseEvent, Instrument, PregnancyOutcome, QuestionnaireResponse
from outcomes.scoring import SCALE_LABELS
from patients.models import DalteparinCourse, EmbryoTransfer, ProtocolDeviation, Randomization
from patients.rules import received_allocated_treatment


@dataclass(frozen=True)
class DerivedOutcomes:
    """One randomized patient (ITT, by allocated arm). None means not (yet) known.

    SPEC definitions: CPR = clinical_pregnancy / randomized; EIR = gestational_sacs / embryos_transferred;
    MCR = miscarriage / clinical pregnancies; biochemical = positive β-hCG / randomized; AE rates per
    randomized patient.
    """

    patient_id: int
    study_id: str
    site: str
    arm: str
    randomized_at: object
    in_error: bool
    per_protocol: bool
    embryos_transferred: int | None
    biochemical_pregnancy: bool | None
    clinical_pregnancy: bool | None
    gestational_sacs: int | None
    miscarriage: bool | None
    ongoing_pregnancy: bool | None
    live_birth: bool | None
    any_adverse_event: bool
    serious_adverse_event: bool


def flagged_randomizations() -> QuerySet[Randomization]:
    """Active randomizations in study order, each with what the derived outcomes and the per-protocol rule
    need beyond the row: had_dalteparin, major_deviation, any_ae, any_sae."""
    active = {"voided_at__isnull": True}
    patient_ref = OuterRef("patient_id")
    return (
        Randomization.objects.filter(**active)
        .annotate(
            had_dalteparin=Exists(DalteparinCourse.objects.filter(patient_id=patient_ref, **active)),
            major_deviation=Exists(ProtocolDeviation.objects.filter(patient_id=patient_ref, major=True, **active)),
            any_ae=Exists(AdverseEvent.objects.filter(patient_id=patient_ref, **active)),
            any_sae=Exists(AdverseEvent.objects.filter(patient_id=patient_ref, serious=True, **active)),
        )
        .order_by("patient__site__code", "patient__sequence_number")
    )


def derived_outcomes() -> list[DerivedOutcomes]:
    """Every randomized patient's derived outcomes in three queries, whatever the trial size."""
    active = {"voided_at__isnull": True}
    randomizations = flagged_randomizations().select_related("patient__site", "arm")
    outcomes = {o.patient_id: o for o in PregnancyOutcome.objects.filter(**active)}
    embryos = dict(EmbryoTransfer.objects.filter(**active).values_list("patient_id", "embryos_transferred"))
    return [_row(r, outcomes.get(r.patient_id), embryos.get(r.patient_id)) for r in randomizations]


def _row(randomization, outcome, embryos) -> DerivedOutcomes:
    arm = randomization.arm.code
    per_protocol = (
        not randomization.in_error
        and not randomization.major_deviation
        and received_allocated_treatment(randomization.arm.is_control, randomization.had_dalteparin)
    )
    return DerivedOutcomes(
        patient_id=randomization.patient_id,
        study_id=randomization.patient.study_id,
        site=randomization.patient.site.code,
        arm=arm,
        randomized_at=randomization.randomized_at,
        in_error=randomization.in_error,
        per_protocol=per_protocol,
        embryos_transferred=embryos,
        biochemical_pregnancy=outcome.beta_hcg_positive if outcome else None,
        clinical_pregnancy=outcome.clinical_pregnancy if outcome else None,
        gestational_sacs=(outcome.gestational_sacs or 0) if outcome else None,
        miscarriage=outcome.miscarriage if outcome else None,
        ongoing_pregnancy=outcome.ongoing_pregnancy if outcome else None,
        live_birth=outcome.live_birth if outcome else None,
        any_adverse_event=randomization.any_ae,
        serious_adverse_event=randomization.any_sae,
    )


@dataclass(frozen=True)
class ScaleScore:
    key: str  # the stored key (role_physical)
    label: str  # English, for {% translate %} (Role limitations due to physical health)
    value: float | None  # None: too few items answered to score it


@dataclass(frozen=True)
class QuestionnaireSummary:
    response: QuestionnaireResponse
    scores: list[ScaleScore]


@dataclass(frozen=True)
class QuestionnaireSlot:
    instrument: str
    timepoint: str
    timepoint_label: str  # English, for {% translate %}


def _summary(response: QuestionnaireResponse) -> QuestionnaireSummary:
    scores = [ScaleScore(key, SCALE_LABELS.get(key, key), value) for key, value in response.scores.items()]
    return QuestionnaireSummary(response, scores)


def patient_outcomes(*, patient) -> dict:
    """What the patient page shows of outcomes: the outcome form, adverse events, questionnaires with their
    scales named, and the questionnaires the trial collects (to enter one)."""
    responses = (
        QuestionnaireResponse.objects.filter(patient=patient, voided_at__isnull=True)
        .select_related("instrument", "timepoint")
        .order_by("instrument__code", "timepoint__order")
    )
    return {
        "outcome": patient.pregnancy_outcomes.filter(voided_at__isnull=True).first(),
        "adverse_events": list(patient.adverse_events.filter(voided_at__isnull=True)),
        "questionnaires": [_summary(response) for response in responses],
        "questionnaire_entries": [
            QuestionnaireSlot(instrument.code, timepoint.code, timepoint.label)
            for instrument, timepoint in _collected()
        ],
    }


def _collected():
    """(instrument, time point) rows the trial collects, in display order (two queries)."""
    for instrument in Instrument.objects.prefetch_related("timepoints"):
        for timepoint in sorted(instrument.timepoints.all(), key=lambda tp: tp.order):
            yield instrument, timepoint


def questionnaire_slots() -> list[tuple[str, str]]:
    """(instrument, time point) pairs the trial collects, in display order."""
    return [(instrument.code, timepoint.code) for instrument, timepoint in _collected()]
