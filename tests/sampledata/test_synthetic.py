"""The fast statistics path gives exactly the reference figures, on a synthetic trial with every kind of
record (missing forms, censored labs, unscored scales, per-protocol exclusions).

The reference is the straightforward form the statistics started from, kept here: rows built from
`derived_outcomes()` model instances and one iteration per lab result and questionnaire, and statistics
computed row by row. The fast path (`analysis_rows`, `analysis_table`, columnar `population_statistics`)
must give the same rows and the same JSON to the last bit.
"""

import json
from collections import defaultdict

import numpy as np
import pytest
from django.db import transaction

from analysis import selectors, services, stats
from analysis.models import StatisticsJob
from analysis.snapshot import BINARY_LABELS, Table, continuous_keys, population_statistics
from labs.models import LabResult
from outcomes.models import QuestionnaireResponse
from outcomes.selectors import derived_outcomes
from patients.models import Baseline
from sampledata.synthetic.service import synthetic_trial_generate
from tests.factories import ensure_trial_configuration

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def trial_once(django_db_setup, django_db_blocker):
    """One synthetic trial for the module, rolled back when it ends (each test runs in a savepoint)."""
    with django_db_blocker.unblock(), transaction.atomic():
        ensure_trial_configuration()
        synthetic_trial_generate(patients=400, seed=21, sites=3)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def trial(trial_once, db):
    return services.trial_design()


# --- The reference ---------------------------------------------------------------------------------------------


def reference_rows() -> list[dict]:
    labs: dict[int, dict] = defaultdict(dict)
    results = LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True).values_list(
        "draw__patient_id", "analyte__code", "draw__timepoint__code", "canonical_value", "censoring"
    )
    for patient_id, analyte, timepoint, value, censoring in results:
        labs[patient_id][f"lab.{analyte}.{timepoint}"] = float(value) / 2 if censoring == "<" else float(value)
        if censoring:
            labs[patient_id][f"censored.{analyte}.{timepoint}"] = True
    scores: dict[int, dict] = defaultdict(dict)
    responses = QuestionnaireResponse.objects.filter(voided_at__isnull=True).values_list(
        "patient_id", "instrument__code", "timepoint__code", "scores"
    )
    for patient_id, instrument, timepoint, values in responses:
        for scale, value in values.items():
            scores[patient_id][f"qol.{instrument}.{scale}.{timepoint}"] = value
    baselines = {
        pid: {
            "baseline.age": age,
            "baseline.bmi": float(bmi),
            "baseline.previous_failed_transfers": transfers,
            "baseline.prior_miscarriages": miscarriages,
            "education": education,
        }
        for pid, age, bmi, transfers, miscarriages, education in Baseline.objects.filter(
            voided_at__isnull=True
        ).values_list(
            "patient_id",
            "patient__age_at_enrolment",
            "bmi",
            "previous_failed_transfers",
            "prior_miscarriages",
            "education",
        )
    }
    return [
        {**o.__dict__, **baselines.get(o.patient_id, {}), **labs.get(o.patient_id, {}), **scores.get(o.patient_id, {})}
        for o in derived_outcomes()
    ]


def _count(rows, field):
    return sum(1 for r in rows if r.get(field) is True), len(rows)


def _implantation(rows):
    with_transfer = [r for r in rows if r.get("embryos_transferred")]
    sacs = sum(min(r.get("gestational_sacs") or 0, r["embryos_transferred"]) for r in with_transfer)
    return sacs, sum(r["embryos_transferred"] for r in with_transfer)


def _miscarriage(rows):
    pregnant = [r for r in rows if r.get("clinical_pregnancy") is True]
    return _count(pregnant, "miscarriage")[0], len(pregnant)


REFERENCE_COUNTS = {
    "clinical_pregnancy": lambda rows: _count(rows, "clinical_pregnancy"),
    "implantation": _implantation,
    "miscarriage": _miscarriage,
    **{
        key: (lambda k: lambda rows: _count(rows, k))(key)
        for key in BINARY_LABELS
        if key not in ("implantation", "miscarriage", "clinical_pregnancy")
    },
}


def _value(row, key):
    if key.count(".") == 3 and "-" in key.rsplit(".", 1)[1]:
        head, span = key.rsplit(".", 1)
        last, first = span.split("-")
        later, earlier = row.get(f"{head}.{last}"), row.get(f"{head}.{first}")
        return None if later is None or earlier is None else later - earlier
    return row.get(key)


def _binary(key, by_arm_rows, design, chosen):
    counts = {code: REFERENCE_COUNTS[key](rows) for code, rows in by_arm_rows.items()}
    (e_exp, n_exp), (e_ctrl, n_ctrl) = counts[design.exp.code], counts[design.ctrl.code]
    return {
        "key": key,
        "label": BINARY_LABELS[key],
        "by_arm": {code: stats.proportion_summary(*c).as_dict() for code, c in counts.items()},
        **stats.compare_proportions(e_exp, n_exp, e_ctrl, n_ctrl).as_dict(),
        "pooled": stats.proportion_summary(*REFERENCE_COUNTS[key](chosen)).as_dict(),
    }


def _continuous(key, label, by_arm_rows, design, chosen):
    values = {code: [_value(r, key) for r in rows] for code, rows in by_arm_rows.items()}
    by_arm = {code: stats.describe(v).as_dict() for code, v in values.items()}
    if key.startswith("lab."):
        censored_key = "censored." + key.removeprefix("lab.")
        for code, rows in by_arm_rows.items():
            by_arm[code]["censored"] = sum(1 for r in rows if r.get(censored_key))
    present = {code: [x for x in v if x is not None] for code, v in values.items()}
    comparison = stats.compare_means(present[design.exp.code], present[design.ctrl.code]).as_dict()
    pooled = stats.describe([_value(r, key) for r in chosen]).as_dict()
    return {"key": key, "label": label, "by_arm": by_arm, **comparison, "pooled": pooled}


def reference_statistics(rows, design, population):
    chosen = rows if population == "itt" else [r for r in rows if r.get("per_protocol")]
    by_arm_rows = {arm.code: [r for r in chosen if r["arm"] == arm.code] for arm in design.arms}
    return {
        "population": population,
        "arms": [{"code": a.code, "label": a.label, "n": len(by_arm_rows[a.code])} for a in design.arms],
        "binary": [_binary(key, by_arm_rows, design, chosen) for key in REFERENCE_COUNTS],
        "continuous": [_continuous(k, label, by_arm_rows, design, chosen) for k, label in continuous_keys(design)],
    }


def _json(document) -> str:
    return json.dumps(document, sort_keys=True, allow_nan=False)


# --- The tests -------------------------------------------------------------------------------------------------


def test_analysis_rows_equal_the_reference_rows_value_for_value_and_type_for_type(trial):
    fast, reference = selectors.analysis_rows(), reference_rows()
    assert len(fast) > 300
    assert fast == reference
    assert all(type(f[key]) is type(r[key]) for f, r in zip(fast, reference, strict=True) for key in r)


@pytest.mark.parametrize("population", ["itt", "per_protocol"])
def test_statistics_from_rows_and_from_the_table_equal_the_reference_to_the_last_bit(trial, population):
    rows = reference_rows()
    expected = _json(reference_statistics(rows, trial, population))
    assert _json(population_statistics(rows, trial, population)) == expected
    assert _json(population_statistics(selectors.analysis_table(trial.scales), trial, population)) == expected


def test_the_synthetic_trial_exercises_every_kind_of_value(trial):
    document = reference_statistics(reference_rows(), trial, "per_protocol")
    continuous = {c["key"]: c for c in document["continuous"]}
    assert document["arms"][0]["n"] > 100 and document["arms"][1]["n"] > 100
    assert continuous["lab.BHCG.ET14"]["by_arm"]["EXP"]["censored"] > 0
    assert continuous["lab.IL6.ET28"]["by_arm"]["CTRL"]["missing"] > 0
    assert continuous["qol.RAND36.pain.ET28-BASELINE"]["by_arm"]["EXP"]["n"] > 50
    assert all(c["p_value"] is not None for c in document["continuous"][:4])


def test_the_snapshot_job_stores_the_reference_figures(trial):
    job = StatisticsJob.objects.create()
    snapshot = services.statistics_compute(job_id=job.pk)
    rows = reference_rows()
    for population in services.POPULATIONS:
        assert _json(snapshot.payload[population]) == _json(reference_statistics(rows, trial, population))
    assert snapshot.patients == len(rows)


def test_table_columns_equal_the_rows_converted(trial):
    table, converted = selectors.analysis_table(trial.scales), Table.from_rows(selectors.analysis_rows(), trial)
    assert {k: table.fields[k] for k in converted.fields} == converted.fields
    for key, column in converted.values.items():
        assert np.array_equal(column, table.values[key], equal_nan=True), key
    for key, flags in converted.censored.items():
        assert (flags == table.censored[key]).all(), key


def test_the_fast_selectors_run_a_constant_number_of_queries(trial, django_assert_num_queries):
    # rows: baselines, labs pivoted per patient, questionnaire scores, randomizations (with their
    # EXISTS flags), pregnancy outcomes, transfers
    with django_assert_num_queries(6):
        selectors.analysis_rows()
    # table: randomizations, outcomes, transfers, baselines, the labs' COPY with analyte and time point names,
    # one COPY per instrument with the time point names (each read may run on a connection of its own)
    with django_assert_num_queries(8 + len(trial.scales)):
        selectors.analysis_table(trial.scales)


def test_a_table_fingerprint_follows_its_content(trial):
    first, again = selectors.analysis_table(trial.scales), selectors.analysis_table(trial.scales)
    assert first.fingerprint() == again.fingerprint()
    changed = {**again.values, "baseline.bmi": again.values["baseline.bmi"].copy()}
    changed["baseline.bmi"][0] += 0.01
    assert Table(fields=again.fields, values=changed, censored=again.censored).fingerprint() != first.fingerprint()
    rows = selectors.analysis_rows()
    assert first.fields["education"] == [r.get("education") for r in rows]
    assert first.fields["arm"] == [r["arm"] for r in rows]


def reference_completeness() -> dict[str, dict]:
    """Per site, per form, randomized women without it: one patient at a time (what the set-based
    `dashboard_data.completeness` must equal)."""
    from core.models import Timepoint
    from outcomes.models import PregnancyOutcome
    from outcomes.selectors import questionnaire_slots
    from patients.models import EmbryoTransfer, Patient

    active = {"voided_at__isnull": True}
    timepoints = list(Timepoint.objects.values_list("code", flat=True))
    slots = questionnaire_slots()
    by_site: dict[str, dict] = {}
    for patient in Patient.objects.filter(randomization__isnull=False, **active).select_related("site"):
        site = by_site.setdefault(patient.site.code, defaultdict(int))
        site["randomized"] += 1
        drawn = set(
            LabResult.objects.filter(draw__patient=patient, draw__voided_at__isnull=True, **active).values_list(
                "draw__timepoint__code", flat=True
            )
        )
        answered = set(
            QuestionnaireResponse.objects.filter(patient=patient, **active).values_list(
                "instrument__code", "timepoint__code"
            )
        )
        has = {
            "transfer": EmbryoTransfer.objects.filter(patient=patient, **active).exists(),
            "outcome": PregnancyOutcome.objects.filter(patient=patient, **active).exists(),
            **{f"labs_{tp}": tp in drawn for tp in timepoints},
            **{f"{i}_{tp}": (i, tp) in answered for i, tp in slots},
        }
        for form, present in has.items():
            site[form] += 0 if present else 1
    return {code: dict(counts) for code, counts in by_site.items()}


def test_completeness_counts_equal_a_patient_by_patient_count(trial):
    from analysis import dashboard_data
    from core.audit import audited

    # Voiding a draw's only results makes that time point missing again for its patient.
    voided_draw = LabResult.objects.filter(voided_at__isnull=True).values_list("draw_id", flat=True).first()
    with audited(by=None, reason="test: void a draw's results"):
        LabResult.objects.filter(draw_id=voided_draw).update(voided_at="2025-06-01T00:00:00Z")
    table = dashboard_data.completeness()
    reference = reference_completeness()
    assert {row["site__code"]: {k: v for k, v in row.items() if k != "site__code"} for row in table["by_site"]} == (
        reference
    )
    assert set(table["forms"]) == set(next(iter(reference.values()))) - {"randomized"}
    missing = {form: sum(site[form] for site in reference.values()) for form in table["forms"]}
    assert missing["labs_ET28"] > 0 and missing["outcome"] > 0 and missing["RAND36_ET28"] > 0
    assert min(missing.values()) < max(missing.values()) < sum(s["randomized"] for s in reference.values())
