"""`manage.py generate_synthetic`: deterministic, realistic (every form passes the app's rules), written by
COPY with every row audited under the generation's reason, and refused where it does not belong."""

from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from pghistory.models import Context

from labs.models import LabResult
from outcomes.models import AdverseEvent, PregnancyOutcome, QuestionnaireResponse
from outcomes.rules import adverse_event_errors, pregnancy_outcome_findings
from outcomes.scoring import score
from patients import rules
from patients.models import (
    AllocationSlot,
    Baseline,
    Consent,
    DalteparinCourse,
    EmbryoTransfer,
    LutealSupport,
    Patient,
    Randomization,
    Screening,
)
from patients.randomization import age_group_of, patient_randomize
from sampledata.synthetic import clinical, enrolment
from sampledata.synthetic.service import REASON, synthetic_trial_generate, trial_design
from tests.factories import screen, site

pytestmark = pytest.mark.django_db

CLINICAL_MODELS = [
    "patients.Patient",
    "patients.PatientIdentity",
    "patients.Screening",
    "patients.Consent",
    "patients.Baseline",
    "patients.AllocationSlot",
    "patients.Randomization",
    "patients.EmbryoTransfer",
    "patients.LutealSupport",
    "patients.ProtocolDeviation",
    "patients.DalteparinCourse",
    "labs.LabDraw",
    "labs.LabResult",
    "outcomes.PregnancyOutcome",
    "outcomes.AdverseEvent",
    "outcomes.QuestionnaireResponse",
]


def _generate(patients: int, seed: int, **options):
    out = StringIO()
    call_command("generate_synthetic", patients=patients, seed=seed, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _content() -> dict[str, list]:
    """What the trial says, without database ids or entry times."""
    return {
        "patients": list(Patient.objects.order_by("study_id").values_list("study_id", "status", "age_at_enrolment")),
        "screening": list(Screening.objects.order_by("patient__study_id").values_list("answers", "failed_criteria")),
        "baselines": list(Baseline.objects.order_by("patient__study_id").values_list("patient__study_id", "bmi")),
        "arms": list(
            Randomization.objects.order_by("patient__study_id").values_list(
                "patient__study_id", "arm__code", "slot__sequence", "randomized_at"
            )
        ),
        "labs": list(
            LabResult.objects.order_by(
                "draw__patient__study_id", "draw__timepoint__order", "analyte__code"
            ).values_list(
                "draw__patient__study_id", "draw__timepoint__code", "analyte__code", "value_as_entered", "flag"
            )
        ),
        "outcomes": list(
            PregnancyOutcome.objects.order_by("patient__study_id").values_list(
                "patient__study_id", "beta_hcg_value", "clinical_pregnancy", "live_birth"
            )
        ),
        "adverse_events": list(
            AdverseEvent.objects.order_by("patient__study_id", "term").values_list("patient__study_id", "term", "grade")
        ),
        "questionnaires": list(
            QuestionnaireResponse.objects.order_by(
                "patient__study_id", "instrument__code", "timepoint__order"
            ).values_list("patient__study_id", "answers", "scores")
        ),
    }


def _generated_then_rolled_back(patients: int, seed: int) -> dict[str, list]:
    with transaction.atomic():
        _generate(patients, seed)
        content = _content()
        transaction.set_rollback(True)
    return content


def test_the_same_seed_gives_the_same_trial_and_another_seed_another():
    first = _generated_then_rolled_back(120, seed=5)
    again = _generated_then_rolled_back(120, seed=5)
    other = _generated_then_rolled_back(120, seed=6)
    assert first == again
    assert len(first["labs"]) > 1000 and len(first["questionnaires"]) > 200
    assert first["labs"] != other["labs"] and first["arms"] != other["arms"]


def test_the_plan_does_not_depend_on_the_database():
    design = trial_design()
    plan = [enrolment.enrolments(design, patients=50, seed=9, sites=["SYA", "SYB"]) for _ in range(2)]
    assert plan[0] == plan[1]
    courses = []
    for _ in range(2):
        generator = clinical.Generator(design, 9, 50)
        courses.append([generator.course(randomized_on=w.screening_date, arm="EXP") for w in plan[0]])
    assert courses[0] == courses[1]


def test_counts_are_reported_and_the_trial_has_complete_and_incomplete_records():
    summary = synthetic_trial_generate(patients=400, seed=3, sites=3)
    for label in CLINICAL_MODELS:
        model = apps.get_model(label)
        assert summary.rows[model._meta.db_table] == model.objects.count(), label
    patients = Patient.objects.filter(site__code__startswith="SY")
    assert patients.count() == 400
    assert set(patients.values_list("site__code", flat=True)) == {"SYA", "SYB", "SYC"}
    statuses = Counter(patients.values_list("status", flat=True))
    assert {"ineligible", "eligible", "consented", "randomized", "withdrawn"} <= set(statuses)
    randomized = Randomization.objects.count()
    assert 0.8 * 400 < randomized < 0.95 * 400
    arms = Counter(Randomization.objects.values_list("arm__code", flat=True))
    assert abs(arms["EXP"] - arms["CTRL"]) <= 0.1 * randomized  # permuted blocks per stratum
    assert EmbryoTransfer.objects.count() < randomized  # cancelled cycles, early withdrawals
    assert PregnancyOutcome.objects.count() < EmbryoTransfer.objects.count()  # outcomes not (yet) entered
    assert DalteparinCourse.objects.filter(deviation__isnull=False).count() < DalteparinCourse.objects.count()
    assert QuestionnaireResponse.objects.values("instrument", "timepoint").distinct().count() == 4
    assert LabResult.objects.exclude(censoring="").exists() and LabResult.objects.exclude(flag="normal").exists()


def test_every_form_passes_the_rules_the_app_applies_on_entry():
    synthetic_trial_generate(patients=300, seed=4, sites=2)
    today, criteria = timezone.localdate(), list(trial_design().criteria)
    for s in Screening.objects.select_related("patient__identity"):
        dob = s.patient.identity.date_of_birth
        assert not rules.screening_errors(
            criteria, s.answers, date_of_birth=dob, screening_date=s.screening_date, today=today
        )
        assert rules.evaluate_eligibility(criteria, s.answers).eligible == s.eligible
        assert rules.age_on(dob, s.screening_date) == s.patient.age_at_enrolment
    for b in Baseline.objects.all():
        values = {name: getattr(b, name) for name in [*rules.BASELINE_LIMITS, "height_cm", "weight_kg"]}
        assert not rules.baseline_errors(values)
        assert b.bmi == rules.body_mass_index(b.height_cm, b.weight_kg)
    transfers = {t.patient_id: t for t in EmbryoTransfer.objects.select_related("patient__randomization")}
    for t in transfers.values():
        randomized_on = timezone.localdate(t.patient.randomization.randomized_at)
        errors = rules.transfer_errors(
            transfer_date=t.transfer_date, randomized_on=randomized_on, today=today, embryos=t.embryos_transferred
        )
        assert not errors
    _check_outcomes(transfers, today)
    _check_treatment(today)
    for q in QuestionnaireResponse.objects.select_related("instrument"):
        assert q.scores == score(q.instrument.code, q.answers)


def _check_outcomes(transfers: dict, today) -> None:
    for o in PregnancyOutcome.objects.all():
        t = transfers[o.patient_id]
        values = {f.name: getattr(o, f.name) for f in PregnancyOutcome._meta.concrete_fields}
        found = pregnancy_outcome_findings(
            values, transfer_date=t.transfer_date, embryos_transferred=t.embryos_transferred, today=today
        )
        assert not found.errors, (o.patient_id, found.errors)
        assert not found.warnings or o.sacs_exceed_embryos_confirmed
    consent_on = dict(Consent.objects.values_list("patient_id", "signed_on"))
    for event in AdverseEvent.objects.all():
        values = {f.name: getattr(event, f.name) for f in AdverseEvent._meta.concrete_fields}
        assert not adverse_event_errors(values, earliest=consent_on[event.patient_id], today=today)


def _check_treatment(today) -> None:
    screened = dict(Screening.objects.values_list("patient_id", "screening_date"))
    arms = dict(Randomization.objects.values_list("patient_id", "arm__code"))
    for d in DalteparinCourse.objects.all():
        errors = rules.dalteparin_errors(
            dose_iu=d.daily_dose_iu,
            start=d.start_date,
            stop=d.stop_date,
            missed_doses=d.missed_doses,
            earliest=screened[d.patient_id],
            today=today,
        )
        assert not errors
        assert (arms[d.patient_id] != "EXP") == (d.deviation_id is not None)  # outside EXP only as a deviation
    for course in LutealSupport.objects.all():
        assert not rules.course_date_errors(
            start=course.start_date, stop=course.stop_date, earliest=screened[course.patient_id], today=today
        )


def test_every_row_written_by_copy_has_its_audit_event_with_the_reason():
    summary = synthetic_trial_generate(patients=80, seed=8, sites=2)
    context = Context.objects.get(metadata__reason=REASON)
    assert context.metadata["username"] == "system"
    for label in CLINICAL_MODELS:
        model = apps.get_model(label)
        events = apps.get_model(model._meta.app_label, f"{model.__name__}Event")
        assert events.objects.filter(pgh_label="insert").count() == summary.rows[model._meta.db_table], label
        assert set(events.objects.values_list("pgh_context_id", flat=True)) == {context.pk}, label


def test_refuses_a_database_with_real_patients_unless_forced(staff_site_a):
    screen(site("SZ"), staff_site_a)
    with pytest.raises(CommandError, match="1 real"):
        _generate(30, seed=1)
    assert not Patient.objects.filter(site__code__startswith="SY").exists()
    _generate(30, seed=1, force=True)
    assert Patient.objects.filter(site__code__startswith="SY").count() == 30
    assert Patient.objects.filter(site__code="SZ").count() == 1  # untouched


def test_refuses_a_second_synthetic_trial_and_a_real_site_with_a_synthetic_code():
    _generate(20, seed=1, sites=1)
    with pytest.raises(CommandError, match="already holds a synthetic trial"):
        _generate(20, seed=2, sites=1)
    site("SYB", "Sydney (a real site)")
    with pytest.raises(CommandError, match="SYB"):
        _generate(20, seed=2, sites=2)


def test_women_awaiting_randomization_can_be_randomized_into_the_next_slots():
    synthetic_trial_generate(patients=60, seed=2, sites=1, awaiting=3)
    waiting = Patient.objects.filter(status="consented", baselines__isnull=False).order_by("sequence_number")
    assert waiting.count() >= 3
    staff = apps.get_model("auth", "User").objects.get(username="synthetic_staff_sya")
    for patient in waiting[:3]:
        stratum = Randomization.objects.filter(slot__allocation_list__age_group=age_group_of(patient.age_at_enrolment))
        used = sorted(stratum.values_list("slot__sequence", flat=True))
        assert used == list(range(1, len(used) + 1))
        assert patient_randomize(patient=patient, by=staff).slot.sequence == len(used) + 1
    assert AllocationSlot.objects.filter(randomization__isnull=True).exists()  # spare slots remain
