"""Statistics recomputation at scale: `analysis.services.statistics_compute` against PostgreSQL's own aggregate.

For 10,000 women and for `--scale` women (default 100,000), each in a database of its own holding
`manage.py generate_synthetic --patients N --seed 1` (made once, minutes at 100,000, then reused), per repeat:
  1. floor: one SQL statement computing, per arm and per-protocol flag, the count, sum and sum of squares
     (so each population's mean and variance) of every analysis variable over the same rows (baseline,
     outcomes, each lab analyte × time point, each questionnaire scale × time point), without JIT: what
     reading and aggregating the data costs at least;
  2. compute: `statistics_compute` of a new job in a fresh process, as a worker runs it (stored snapshots
     are removed first, so the job computes instead of reusing a snapshot of identical input): wall time
     and the process's peak RSS.
Then once per size, in another fresh process, where the time goes: each step of the job timed alone and in
turn (the job itself runs its reads two at a time on one snapshot, `core.consistent_reads`), and the
columnar path the job takes (`analysis_table` → `population_statistics`) checked to give the payload of the
row-by-row path (`analysis_rows`).
"""

import json
import subprocess
import sys
from time import perf_counter

from django.db import connection

from bench.harness import PROJECT_DIR, child_env, figure, synthetic_database, using_database

SIZES = (10_000,)
SEED = 1
MEMORY_TARGET_MB = 1024
# Per arm, per-protocol flag and variable: count, sum and sum of squares, from which each population's
# mean and variance follow (ITT = both flags). Grouped on ids, with names joined only to the groups. Per
# protocol as patients.rules says: dalteparin given exactly when the arm is not the control one.
FLOOR_SQL = """
WITH allocated AS MATERIALIZED (
    SELECT r.patient_id, r.arm_id,
           NOT r.in_error
           AND NOT EXISTS (SELECT 1 FROM patients_protocoldeviation v
                           WHERE v.patient_id = r.patient_id AND v.major AND v.voided_at IS NULL)
           AND (NOT a.is_control) = EXISTS (SELECT 1 FROM patients_dalteparincourse c
                                          WHERE c.patient_id = r.patient_id AND c.voided_at IS NULL) AS pp
    FROM patients_randomization r JOIN core_arm a ON a.id = r.arm_id
    WHERE r.voided_at IS NULL
)
SELECT s.arm_id, s.pp, v.name, count(v.value), sum(v.value), sum(v.value * v.value)
FROM allocated s
JOIN patients_patient pt ON pt.id = s.patient_id
LEFT JOIN patients_baseline b ON b.patient_id = s.patient_id AND b.voided_at IS NULL
LEFT JOIN outcomes_pregnancyoutcome o ON o.patient_id = s.patient_id AND o.voided_at IS NULL
CROSS JOIN LATERAL (VALUES
    ('age', pt.age_at_enrolment::float8), ('bmi', b.bmi::float8),
    ('transfers', b.previous_failed_transfers::float8), ('miscarriages', b.prior_miscarriages::float8),
    ('clinical_pregnancy', o.clinical_pregnancy::int::float8), ('miscarriage', o.miscarriage::int::float8),
    ('biochemical', o.beta_hcg_positive::int::float8), ('ongoing', o.ongoing_pregnancy::int::float8),
    ('live_birth', o.live_birth::int::float8), ('sacs', o.gestational_sacs::float8)
) v(name, value)
GROUP BY 1, 2, 3
UNION ALL
SELECT g.arm_id, g.pp, an.code || '.' || t.code, g.n, g.total, g.squares
FROM (SELECT s.arm_id, s.pp, r.analyte_id, d.timepoint_id, count(*) AS n, sum(x.v) AS total, sum(x.v * x.v) AS squares
      FROM allocated s
      JOIN labs_labdraw d ON d.patient_id = s.patient_id AND d.voided_at IS NULL
      JOIN labs_labresult r ON r.draw_id = d.id AND r.voided_at IS NULL
      CROSS JOIN LATERAL (SELECT CASE WHEN r.censoring = '<' THEN r.canonical_value::float8 / 2
                                      ELSE r.canonical_value::float8 END) x(v)
      GROUP BY 1, 2, 3, 4) g
JOIN labs_analyte an ON an.id = g.analyte_id
JOIN core_timepoint t ON t.id = g.timepoint_id
UNION ALL
SELECT g.arm_id, g.pp, i.code || '.' || g.scale || '.' || t.code, g.n, g.total, g.squares
FROM (SELECT s.arm_id, s.pp, q.instrument_id, q.timepoint_id, k.key AS scale, count(*) AS n,
             sum(x.v) AS total, sum(x.v * x.v) AS squares
      FROM allocated s
      JOIN outcomes_questionnaireresponse q ON q.patient_id = s.patient_id AND q.voided_at IS NULL
      CROSS JOIN LATERAL jsonb_each(q.scores) k
      CROSS JOIN LATERAL (SELECT (k.value #>> '{}')::float8) x(v)
      WHERE jsonb_typeof(k.value) = 'number'
      GROUP BY 1, 2, 3, 4, 5) g
JOIN outcomes_instrument i ON i.id = g.instrument_id
JOIN core_timepoint t ON t.id = g.timepoint_id
"""


def run(repeats: int, *, scale: int) -> list[dict]:
    figures = []
    for size in sorted({*SIZES, scale}):
        figures += _size(size, repeats)
    return figures


def _size(size: int, repeats: int) -> list[dict]:
    print(f"  {size:,} women: synthetic database (made once, then reused)", flush=True)
    database = synthetic_database(size, seed=SEED)
    floor, compute, rss = [], [], []
    for repeat in range(1, repeats + 1):
        floor.append(_floor_seconds(database.name))
        result = _child(database.name, "compute")
        compute.append(result["seconds"])
        rss.append(result["peak_rss_mb"])
        print(f"  repeat {repeat}: floor {floor[-1]:.2f} s, compute {compute[-1]:.2f} s, {rss[-1]:.0f} MB", flush=True)
    steps = _child(database.name, "breakdown")
    print(f"  steps: {steps}", flush=True)
    return _figures(size, database, floor, compute, rss, steps)


def _floor_seconds(name: str) -> float:
    with using_database(name), connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # a floor is the least cost: no JIT compilation (the app's queries get it)
        started = perf_counter()
        cursor.execute(FLOOR_SQL)
        rows = cursor.fetchall()
        seconds = perf_counter() - started
    if not rows:
        raise RuntimeError(f"The floor aggregate found nothing in {name}.")
    return seconds


def _child(name: str, what: str) -> dict:
    """A fresh interpreter on database `name`: its memory is the job's, not this harness's."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_statistics", what],
        cwd=PROJECT_DIR,
        env=child_env(name),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _figures(size, database, floor, compute, rss, steps) -> list[dict]:
    floor_kw = {"floor_runs": floor, "floor_name": "SQL aggregate", "higher_is_better": False}
    order = ", ".join(f"{k} {v:.2f} s" for k, v in steps["seconds"].items())
    found = [
        figure(
            f"statistics.compute_{size}",
            compute,
            "s",
            **floor_kw,
            notes=f"statistics_compute in a fresh process on {steps['patients']:,} randomized of {size:,} screened "
            f"women (target at 100,000: ≤ 10 s and ≤ 3× floor). One run's steps, each alone and in turn (the job "
            f"runs the reads two at a time): {order}; columnar payload identical to the row-by-row path: "
            f"{steps['identical']}",
        ),
        figure(
            f"statistics.peak_rss_{size}",
            rss,
            "MB",
            higher_is_better=False,
            notes=f"peak RSS of the computing process (target < {MEMORY_TARGET_MB} MB); "
            f"{steps['baseline_rss_mb']:.0f} MB with Django loaded before the job",
        ),
        figure(f"statistics.floor_{size}", floor, "s", higher_is_better=False, notes="the SQL aggregate alone"),
    ]
    if database.generated_seconds is not None:
        found.append(
            figure(
                f"statistics.generate_{size}",
                [database.generated_seconds],
                "s",
                higher_is_better=False,
                notes=f"one run of generate_synthetic --patients {size} --seed {SEED}: {database.rows:,} rows",
            )
        )
    return found


# --- The fresh processes ---------------------------------------------------------------------------------------


def _setup_django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ivf_trial.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False


def _compute() -> dict:
    from analysis.models import StatisticsJob, StatisticsSnapshot
    from analysis.services import statistics_compute
    from bench.harness import peak_rss_mb

    StatisticsSnapshot.objects.all().delete()  # identical input would otherwise reuse the stored snapshot
    job = StatisticsJob.objects.create()
    started = perf_counter()
    snapshot = statistics_compute(job_id=job.pk)
    seconds = perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "patients": snapshot.patients}


def _timed(seconds: dict, name: str, action):
    started = perf_counter()
    result = action()
    seconds[name] = perf_counter() - started
    return result


def _breakdown() -> dict:
    from analysis import dashboard_data, selectors, services
    from analysis.snapshot import population_statistics
    from bench.harness import peak_rss_mb

    baseline_rss = peak_rss_mb()
    seconds: dict[str, float] = {}
    design = _timed(seconds, "design", services.trial_design)
    table = _timed(seconds, "analysis_table", lambda: selectors.analysis_table(design.scales))
    _timed(seconds, "input_hash", lambda: services.input_hash(table, {}))
    for name in ("consort_counts", "enrollment", "safety", "completeness"):
        _timed(seconds, name, getattr(dashboard_data, name))
    fast = {
        p: _timed(seconds, f"table_{p}", lambda p=p: population_statistics(table, design, p))
        for p in ("itt", "per_protocol")
    }
    rows = _timed(seconds, "analysis_rows", selectors.analysis_rows)
    slow = {
        p: _timed(seconds, f"rows_{p}", lambda p=p: population_statistics(rows, design, p))
        for p in ("itt", "per_protocol")
    }
    return {
        "patients": len(table),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "identical": json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True),
        "baseline_rss_mb": baseline_rss,
    }


if __name__ == "__main__":
    _setup_django()
    print(json.dumps({"compute": _compute, "breakdown": _breakdown}[sys.argv[1]]()))
