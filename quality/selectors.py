"""Reads for data quality: form states, the casebook manifest, missing forms, queries, locks.

Form facts are gathered for many patients at once with one query per table, so the per-site lists
cost the same number of queries for 3 patients as for 3,000.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Prefetch, QuerySet
from django.db.models.functions import Coalesce, ExtractDay, Now
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import access
from core.models import DatabaseLock, Site, Timepoint, Trial, TrialStatus
from labs.models import Analyte, LabDraw, LabResult
from outcomes.models import AdverseEvent, Instrument, PregnancyOutcome, QuestionnaireResponse
from patients.models import (
    Baseline,
    CasebookLock,
    Consent,
    DalteparinCourse,
    EmbryoTransfer,
    LutealSupport,
    Patient,
    ProtocolDeviation,
    Randomization,
    Screening,
)
from quality import catalogue
from quality.catalogue import FormRecords, FormStatus, PatientFacts, TimepointWindow
from quality.models import (
    CasebookSignature,
    DataQuery,
    QueryMessage,
    QueryStatus,
    SourceVerification,
)

# Forms whose records are part of the signed casebook although none is required.
UNSCHEDULED_FORMS = {"adverse_events": _("Adverse events"), "deviations": _("Protocol deviations")}


def _add(forms: dict, key: str, label: str, pk: int, version: int, voided) -> None:
    stored = forms.setdefault(key, FormRecords())
    stored.records.append((label, pk, version))
    if voided is None:
        stored.active += 1


def _gather(patient_ids: list[int]) -> dict[int, dict[str, FormRecords]]:
    forms: dict[int, dict[str, FormRecords]] = defaultdict(dict)
    # Her registration is part of the screening form by its clinical state only: a version bump for an
    # identity correction (identity is not signed clinical data) must not invalidate a signature.
    for pk, status, age, voided in Patient.objects.filter(pk__in=patient_ids).values_list(
        "pk", "status", "age_at_enrolment", "voided_at"
    ):
        state = f"{status}|{age}|{voided.isoformat() if voided else ''}"
        forms[pk].setdefault("screening", FormRecords()).records.append(("patients.Patient", pk, state))
    simple = [
        (Screening, "screening", {"patient_id__in": patient_ids}, "patient_id"),
        (Consent, "consent", {"patient_id__in": patient_ids}, "patient_id"),
        (Baseline, "baseline", {"patient_id__in": patient_ids}, "patient_id"),
        (Randomization, "randomization", {"patient_id__in": patient_ids}, "patient_id"),
        (EmbryoTransfer, "transfer", {"patient_id__in": patient_ids}, "patient_id"),
        (LutealSupport, "luteal_support", {"patient_id__in": patient_ids}, "patient_id"),
        (DalteparinCourse, "dalteparin", {"patient_id__in": patient_ids}, "patient_id"),
        (ProtocolDeviation, "deviations", {"patient_id__in": patient_ids}, "patient_id"),
        (AdverseEvent, "adverse_events", {"patient_id__in": patient_ids}, "patient_id"),
    ]
    for model, key, filters, owner in simple:
        label = model._meta.label
        for patient_id, pk, version, voided in model.objects.filter(**filters).values_list(
            owner, "pk", "version", "voided_at"
        ):
            _add(forms[patient_id], key, label, pk, version, voided)
    for patient_id, pk, version, voided, ongoing, pregnant in PregnancyOutcome.objects.filter(
        patient_id__in=patient_ids
    ).values_list("patient_id", "pk", "version", "voided_at", "ongoing_pregnancy", "clinical_pregnancy"):
        _add(forms[patient_id], "outcome", "outcomes.PregnancyOutcome", pk, version, voided)
        if voided is None and pregnant and ongoing is None:
            forms[patient_id]["outcome"].complete = False  # follow-up to 12 weeks still to come
    for patient_id, pk, version, voided, instrument, tp in QuestionnaireResponse.objects.filter(
        patient_id__in=patient_ids
    ).values_list("patient_id", "pk", "version", "voided_at", "instrument__code", "timepoint__code"):
        _add(
            forms[patient_id], f"questionnaire:{instrument}:{tp}", "outcomes.QuestionnaireResponse", pk, version, voided
        )
    _gather_labs(forms, patient_ids)
    return forms


def _gather_labs(forms: dict, patient_ids: list[int]) -> None:
    """A time point's lab form is its draw and results; complete when every analyte has a result."""
    analytes = Analyte.objects.count()
    draw_keys = {}
    for patient_id, pk, version, voided, tp in LabDraw.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "pk", "version", "voided_at", "timepoint__code"
    ):
        draw_keys[pk] = (patient_id, f"labs:{tp}", voided is None)
        _add(forms[patient_id], f"labs:{tp}", "labs.LabDraw", pk, version, voided)
    active_results: dict[int, int] = defaultdict(int)
    for draw_id, pk, version, voided in LabResult.objects.filter(draw__patient_id__in=patient_ids).values_list(
        "draw_id", "pk", "version", "voided_at"
    ):
        patient_id, key, draw_active = draw_keys[draw_id]
        forms[patient_id][key].records.append(("labs.LabResult", pk, version))
        if voided is None and draw_active:
            active_results[draw_id] += 1
    for draw_id, (patient_id, key, draw_active) in draw_keys.items():
        if draw_active and active_results[draw_id] < analytes:
            forms[patient_id][key].complete = False


def _windows() -> list[TimepointWindow]:
    return [TimepointWindow(t.code, t.label, t.day_offset, t.window_after) for t in Timepoint.objects.all()]


def _questionnaire_slots(windows: list[TimepointWindow]) -> list[tuple[str, TimepointWindow]]:
    by_code = {w.code: w for w in windows}
    return [
        (instrument.code, by_code[tp.code])
        for instrument in Instrument.objects.prefetch_related("timepoints").order_by("code")
        for tp in instrument.timepoints.all()
    ]


def trial_get() -> Trial | None:
    return Trial.objects.order_by("pk").first()


def database_lock_history(limit: int = 20) -> list[DatabaseLock]:
    return list(DatabaseLock.objects.select_related("locked_by", "unlocked_by")[:limit])


def trial_locked() -> bool:
    return Trial.objects.filter(status=TrialStatus.LOCKED).exists()


@dataclass
class Casebook:
    """One patient's forms with their states, the signed-content manifest, signature and lock."""

    patient: Patient
    forms: list[FormStatus]
    manifest: dict[str, str]
    content_hash: str
    signature: CasebookSignature | None
    signature_valid: bool
    lock: CasebookLock | None
    trial_locked: bool
    verifications: dict[str, SourceVerification] = field(default_factory=dict)

    @property
    def locked(self) -> bool:
        return self.lock is not None or self.trial_locked

    @property
    def incomplete_forms(self) -> list[FormStatus]:
        return [f for f in self.forms if f.state in catalogue.NOT_DONE]


def casebooks(patients: list[Patient], *, today=None) -> dict[int, Casebook]:
    """Casebooks of many patients in a fixed number of queries."""
    today = today or timezone.localdate()
    ids = [p.pk for p in patients]
    stored = _gather(ids)
    windows = _windows()
    questionnaires = _questionnaire_slots(windows)
    arms = dict(Randomization.objects.filter(patient_id__in=ids).values_list("patient_id", "arm__is_control"))
    transfers = dict(
        EmbryoTransfer.objects.filter(patient_id__in=ids, voided_at__isnull=True).values_list(
            "patient_id", "transfer_date"
        )
    )
    verified: dict[int, dict[str, SourceVerification]] = defaultdict(dict)
    for v in (
        SourceVerification.objects.filter(patient_id__in=ids)
        .select_related("verified_by")
        .order_by("verified_at", "pk")
    ):
        verified[v.patient_id][v.form] = v  # the latest wins
    signatures: dict[int, CasebookSignature] = {}
    for s in CasebookSignature.objects.filter(patient_id__in=ids).select_related("signer").order_by("signed_at", "pk"):
        signatures[s.patient_id] = s
    locks = {
        lock.patient_id: lock
        for lock in CasebookLock.objects.filter(patient_id__in=ids, unlocked_at__isnull=True).select_related(
            "locked_by"
        )
    }
    locked_trial = trial_locked()
    result = {}
    for patient in patients:
        forms = stored.get(patient.pk, {})
        status = "voided" if patient.voided_at else patient.status
        facts = PatientFacts(status, arms.get(patient.pk), transfers.get(patient.pk), forms)
        expected = catalogue.expected_forms(facts, lab_timepoints=windows, questionnaires=questionnaires)
        manifest = {key: catalogue.content_hash(f.records) for key, f in sorted(forms.items())}
        digest = catalogue.casebook_hash(manifest)
        signature = signatures.get(patient.pk)
        valid = signature is not None and signature.content_hash == digest
        lock = locks.get(patient.pk)
        checks = verified.get(patient.pk, {})
        # Adverse events and deviations are signed with the casebook but never due.
        unscheduled = [catalogue.ExpectedForm(k, label) for k, label in UNSCHEDULED_FORMS.items() if k in forms]
        statuses = [
            catalogue.form_status(
                form,
                forms.get(form.key),
                verified_hash=checks[form.key].content_hash if form.key in checks else None,
                signed=valid,
                locked=lock is not None or locked_trial,
                today=today,
            )
            for form in [*expected, *unscheduled]
        ]
        result[patient.pk] = Casebook(patient, statuses, manifest, digest, signature, valid, lock, locked_trial, checks)
    return result


def casebook_get(patient: Patient) -> Casebook:
    return casebooks([patient])[patient.pk]


@dataclass(frozen=True)
class MissingForm:
    patient: Patient
    form: FormStatus


def missing_forms(*, user, site_code: str = "", overdue_only: bool = False) -> list[MissingForm]:
    """Expected forms not started or not finished, for the sites the user reads, most overdue first."""
    patients = Patient.objects.filter(access.site_filter(user), voided_at__isnull=True).select_related("site")
    if site_code:
        patients = patients.filter(site__code=site_code)
    patients = list(patients.order_by("site__code", "sequence_number"))
    books = casebooks(patients)
    rows = [
        MissingForm(p, f)
        for p in patients
        for f in books[p.pk].forms
        if f.state in catalogue.NOT_DONE and (f.overdue or not overdue_only)
    ]
    far_future = timezone.localdate().replace(year=9999)
    return sorted(rows, key=lambda r: (not r.form.overdue, r.form.due or far_future, r.patient.study_id))


# --- Queries -----------------------------------------------------------------------------------


# A query's age in whole days: to today while it is unresolved, to its closing once closed (as query_age_days).
_AGE_DAYS = ExtractDay(Coalesce("closed_at", Now()) - F("opened_at"))


def query_list(
    *,
    user,
    status: str = "",
    study_id: str = "",
    site_code: str = "",
    origin: str = "",
    form: str = "",
    field: str = "",
    min_age: int | None = None,
) -> QuerySet:
    """Data queries of the sites the user reads (monitors: all sites), with their age in days (`age_days`)
    and their thread prefetched; each filter given narrows the list."""
    queries = (
        DataQuery.objects.filter(access.site_filter(user, "patient__site_id"))
        .select_related("patient__site", "raised_by", "closed_by")
        .annotate(age_days=_AGE_DAYS)
    )
    given = {
        "status": status,
        "patient__study_id": study_id,
        "patient__site__code": site_code,
        "origin": origin,
        "form": form,
        "field__iexact": field,
    }
    queries = queries.filter(**{lookup: value for lookup, value in given.items() if value})
    if min_age is not None:
        queries = queries.filter(age_days__gte=min_age)
    return queries.prefetch_related(Prefetch("messages", queryset=_messages()))


def query_filter_choices(*, user) -> tuple[list[str], list[str]]:
    """The query list's choices for this user: codes of the sites they read, form keys their queries name."""
    sites = list(Site.objects.filter(access.site_filter(user, "pk")).values_list("code", flat=True))
    forms = list(
        DataQuery.objects.filter(access.site_filter(user, "patient__site_id"))
        .order_by("form")
        .values_list("form", flat=True)
        .distinct()
    )
    return sites, forms


def query_batch(*, user, ids: list[int]) -> QuerySet:
    """The queries among `ids` that the user reads (others' ids simply are not there), with their patient."""
    return (
        DataQuery.objects.filter(access.site_filter(user, "patient__site_id"), pk__in=ids)
        .select_related("patient")
        .order_by("pk")
    )


def _messages():
    return QueryMessage.objects.order_by("at", "pk")


def query_get(*, user, pk: int) -> DataQuery:
    query = query_list(user=user).filter(pk=pk).first()
    if query is None:
        raise Http404("No such query.")
    return query


def open_query_counts(patient_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for patient_id in (
        DataQuery.objects.filter(patient_id__in=patient_ids)
        .exclude(status=QueryStatus.CLOSED)
        .values_list("patient_id", flat=True)
    ):
        counts[patient_id] += 1
    return counts


def query_age_days(query: DataQuery, *, now=None) -> int:
    end = query.closed_at or now or timezone.now()
    return (end - query.opened_at).days
