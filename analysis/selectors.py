"""Plain rows for the statistics: one per randomized patient, in a constant number of queries."""

from collections import defaultdict
from decimal import Decimal

from analysis.models import DataVersion, StatisticsJob, StatisticsSnapshot
from labs.models import LabResult
from outcomes.models import QuestionnaireResponse
from outcomes.selectors import derived_outcomes
from patients.models import Baseline


def data_version() -> tuple[int, object]:
    """(counter, time) of the last committed audited change (every write runs in an audit context)."""
    current = DataVersion.objects.filter(pk=1).values_list("version", "changed_at").first()
    return current or (0, None)


def _lab_value(canonical: Decimal, censoring: str) -> float:
    # SPEC §5: a value below the detection limit enters as half the limit; above, as the limit.
    return float(canonical) / 2 if censoring == "<" else float(canonical)


def _labs_by_patient() -> dict[int, dict]:
    found: dict[int, dict] = defaultdict(dict)
    rows = LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True).values_list(
        "draw__patient_id", "analyte__code", "draw__timepoint__code", "canonical_value", "censoring"
    )
    for patient_id, analyte, timepoint, value, censoring in rows:
        found[patient_id][f"lab.{analyte}.{timepoint}"] = _lab_value(value, censoring)
        if censoring:
            found[patient_id][f"censored.{analyte}.{timepoint}"] = True
    return found


def _scores_by_patient() -> dict[int, dict]:
    found: dict[int, dict] = defaultdict(dict)
    rows = QuestionnaireResponse.objects.filter(voided_at__isnull=True).values_list(
        "patient_id", "instrument__code", "timepoint__code", "scores"
    )
    for patient_id, instrument, timepoint, scores in rows:
        for scale, value in scores.items():
            found[patient_id][f"qol.{instrument}.{scale}.{timepoint}"] = value
    return found


def _baselines_by_patient() -> dict[int, dict]:
    rows = Baseline.objects.filter(voided_at__isnull=True).values_list(
        "patient_id",
        "patient__age_at_enrolment",
        "bmi",
        "previous_failed_transfers",
        "prior_miscarriages",
        "education",
    )
    return {
        pid: {
            "baseline.age": age,
            "baseline.bmi": float(bmi),
            "baseline.previous_failed_transfers": transfers,
            "baseline.prior_miscarriages": miscarriages,
            "education": education,
        }
        for pid, age, bmi, transfers, miscarriages, education in rows
    }


def analysis_rows() -> list[dict]:
    """One plain dict per randomized patient (ITT, allocated arm): outcomes, baseline, labs, scores.

    Six queries whatever the number of patients; the statistics and the `patients` export read these.
    """
    baselines, labs, scores = _baselines_by_patient(), _labs_by_patient(), _scores_by_patient()
    return [
        {**o.__dict__, **baselines.get(o.patient_id, {}), **labs.get(o.patient_id, {}), **scores.get(o.patient_id, {})}
        for o in derived_outcomes()
    ]


def latest_snapshot() -> StatisticsSnapshot | None:
    return StatisticsSnapshot.objects.order_by("-computed_at").first()


def job_get(pk: int) -> StatisticsJob | None:
    return StatisticsJob.objects.filter(pk=pk).first()
