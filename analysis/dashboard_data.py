"""Reads for the dashboards that are not SPEC §5 statistics: CONSORT flow, enrollment, safety, completeness.

Computed by the snapshot job (never on a page request); each in a constant number of queries.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth

from core.models import Arm, EligibilityCriterion, Site, Timepoint, Trial
from labs.models import LabDraw, LabResult
from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from outcomes.selectors import questionnaire_slots
from patients.consort import annotate_for_consort, consort_box_filters
from patients.models import EmbryoTransfer, Patient, PatientStatus

ACTIVE = Q(voided_at__isnull=True)


def consort_counts() -> dict:
    """Counts of every CONSORT box (one query) and the exclusion reasons (one more)."""
    codes = list(Arm.objects.values_list("code", flat=True))
    filters = consort_box_filters(codes)
    counts = annotate_for_consort(Patient.objects.filter(ACTIVE)).aggregate(
        **{box: Count("pk", filter=q, distinct=True) for box, q in filters.items()}
    )
    reasons = Counter()
    for failed in Patient.objects.filter(ACTIVE, status=PatientStatus.INELIGIBLE).values_list(
        "screening__failed_criteria", flat=True
    ):
        reasons.update(failed or [])
    texts = dict(EligibilityCriterion.objects.values_list("code", "text"))
    return {
        "counts": counts,
        "arms": codes,
        "exclusion_reasons": [{"code": c, "text": texts.get(c, c), "n": n} for c, n in reasons.most_common()],
    }


def enrollment() -> dict:
    """Randomizations per month, cumulative overall and per site, against the target sample size."""
    per_month = (
        Patient.objects.filter(ACTIVE, randomization__isnull=False)
        .annotate(month=TruncMonth("randomization__randomized_at"))
        .values("month", "site__code")
        .annotate(n=Count("pk"))
        .order_by("month", "site__code")
    )
    overall: dict[str, int] = {}
    site_totals: dict[str, int] = defaultdict(int)
    by_site_series, total = [], 0
    for row in per_month:
        month = row["month"].strftime("%Y-%m")
        total += row["n"]
        overall[month] = total
        site_totals[row["site__code"]] += row["n"]
        by_site_series.append({"month": month, "site": row["site__code"], "cumulative": site_totals[row["site__code"]]})
    trial = Trial.objects.first()
    return {
        "target": trial.target_sample_size if trial else None,
        "randomized": total,
        "series": _every_month(overall),
        "by_site_series": by_site_series,
        "by_site": [
            {"site": code, "randomized": site_totals.get(code, 0)}
            for code in Site.objects.values_list("code", flat=True)
        ],
    }


def _every_month(cumulative: dict[str, int]) -> list[dict]:
    """The cumulative series with every month from the first to the last ("YYYY-MM"), a month without a
    randomization carrying the total before it: the chart's axis then has no jump across a gap in enrolment."""
    series: list[dict] = []
    if not cumulative:
        return series
    year, month = map(int, min(cumulative).split("-"))
    last = max(cumulative)
    while (key := f"{year:04d}-{month:02d}") <= last:
        series.append({"month": key, "cumulative": cumulative.get(key, series[-1]["cumulative"] if series else 0)})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return series


def safety() -> dict:
    """Adverse events by term and arm (patients and events), and the serious ones."""
    events = AdverseEvent.objects.filter(ACTIVE, patient__randomization__isnull=False).values_list(
        "term", "patient__randomization__arm__code", "patient_id", "serious", "grade", "patient__study_id"
    )
    table: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: {"events": 0, "patients": set()}))
    serious = []
    for term, arm, patient_id, is_serious, grade, study_id in events:
        cell = table[term][arm]
        cell["events"] += 1
        cell["patients"].add(patient_id)
        if is_serious:
            serious.append({"study_id": study_id, "arm": arm, "term": term, "grade": grade})
    terms = [
        {
            "term": term,
            "by_arm": {arm: {"events": c["events"], "patients": len(c["patients"])} for arm, c in arms.items()},
        }
        for term, arms in sorted(table.items())
    ]
    return {"terms": terms, "serious": serious}


def completeness() -> dict:
    """Per site: randomized patients missing each expected form, and lab values outside reference ranges.

    Set-based: one grouped count of the patients who have each kind of form (transfer, outcome, labs per
    time point, questionnaires per slot), subtracted from the randomized per site. Six queries; no
    per-patient subquery, so the cost grows with the rows read once, not with patients × forms. Plain
    counts, not DISTINCT: the database allows one active record of each form per patient (and time point).
    """
    randomized = Patient.objects.filter(ACTIVE, randomization__isnull=False)
    in_trial = {"patient__voided_at__isnull": True, "patient__randomization__isnull": False}
    site = "patient__site__code"
    having: dict[tuple[str, str], int] = {}
    for form, model in (("transfer", EmbryoTransfer), ("outcome", PregnancyOutcome)):
        for row in model.objects.filter(ACTIVE, **in_trial).values(site).annotate(n=Count("pk")):
            having[row[site], form] = row["n"]
    drawn = (
        LabDraw.objects.filter(ACTIVE, **in_trial)
        .filter(Exists(LabResult.objects.filter(ACTIVE, draw_id=OuterRef("pk"))))
        .values_list(site, "timepoint__code")
        .annotate(n=Count("pk"))
    )
    for code, timepoint, n in drawn:
        having[code, f"labs_{timepoint}"] = n
    answered = (
        QuestionnaireResponse.objects.filter(ACTIVE, **in_trial)
        .values_list(site, "instrument__code", "timepoint__code")
        .annotate(n=Count("pk"))
    )
    for code, instrument, timepoint, n in answered:
        having[code, f"{instrument}_{timepoint}"] = n
    forms = ["transfer", "outcome"]
    forms += [f"labs_{tp}" for tp in Timepoint.objects.values_list("code", flat=True)]
    forms += [f"{instrument}_{tp}" for instrument, tp in questionnaire_slots()]
    by_site = [
        {"site__code": code, "randomized": n, **{form: n - having.get((code, form), 0) for form in forms}}
        for code, n in randomized.values_list("site__code").annotate(n=Count("pk")).order_by("site__code")
    ]
    flagged = (
        LabResult.objects.filter(ACTIVE, draw__voided_at__isnull=True)
        .exclude(flag="normal")
        .values("analyte__code", "flag")
        .annotate(n=Count("pk"))
        .order_by("analyte__code", "flag")
    )
    return {
        "forms": forms,
        "by_site": by_site,
        "out_of_range": [{"analyte": r["analyte__code"], "flag": r["flag"], "n": r["n"]} for r in flagged],
    }


def education_table(arm_and_education: Iterable[tuple[str, str | None]], arm_codes: list[str]) -> list[dict]:
    """Table 1's categorical line: education level counts per arm (from each patient's arm and education)."""
    levels = ["junior_high_or_below", "high_school_or_vocational", "college_or_higher"]
    counts = Counter(arm_and_education)
    return [{"level": level, "by_arm": {code: counts[code, level] for code in arm_codes}} for level in levels]
