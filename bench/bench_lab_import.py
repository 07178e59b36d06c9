"""Lab CSV import throughput (`labs.importing.lab_results_import`) against PostgreSQL's COPY.

Per repeat, on the same in-memory file of `scale` rows and in this order:
  1. floor: `COPY ... FROM STDIN` of the file into a temporary (unlogged) table with the CSV's columns;
  2. dry run: validation and planning only, against no stored results (the preview before an import);
  3. import: every row a create (draws, results, audit events and the import log written);
  4. re-import: the same file again, every row unchanged (the idempotency path; nothing written);
  5. second floor, "store": the rows that import wrote (draws, results, the automatic queries and their
     messages), removed and inserted again by `INSERT … SELECT` in one audited transaction. The same
     constraint checks, audit events and hash-chain links as the import, with no parsing, validation
     or planning: what PostgreSQL itself needs to keep these rows.
Before each repeat the bench site's lab data is removed, so every repeat starts from the same state.
"""

import gc
import io
import statistics
from collections.abc import Callable
from time import perf_counter

import pgtrigger
from django.db import connection

from bench import trial_data
from bench.harness import figure
from core.audit import audited
from core.bulk_copy import bind_audit_context
from labs.importing import lab_results_import
from labs.models import LabDraw, LabImport
from quality.models import DataQuery

FILENAME = "bench-lab-import.csv"
COPY_FLOOR = "COPY into temp table"
STORE_FLOOR = "INSERT of the same rows, constraints and audit"
COPY_TABLE = "bench_lab_copy"
COPY_RUNS_PER_REPEAT = 5
# Children before parents; the event tables are pghistory's audit trail of draws and results. The data
# queries the import's automatic checks raise go too: each repeat must raise them afresh, as the first did.
LAB_TABLES = [
    "labs_labresultevent",
    "labs_labresult",
    "labs_labdrawevent",
    "labs_labdraw",
    "labs_labimport",
    "quality_querymessageevent",
    "quality_querymessage",
    "quality_dataqueryevent",
    "quality_dataquery",
]
# The delete-protection triggers that a scoped clean-up must step past (TRUNCATE fires none of them).
PROTECTION = [
    "labs.LabResult:no_delete_void_instead",
    "labs.LabDraw:no_delete_void_instead",
    "labs.LabImport:import_log_append_only",
    "labs.LabResultEvent:append_only",
    "labs.LabDrawEvent:append_only",
    "quality.DataQuery:queries_are_closed_not_deleted",
    "quality.QueryMessage:append_only_no_delete",
    "quality.DataQueryEvent:append_only",
    "quality.QueryMessageEvent:append_only",
]
# Positional parameters only: pgtrigger.ignore prepends its own %s to each statement.
SITE_DRAWS = "SELECT d.id FROM labs_labdraw d JOIN patients_patient p ON p.id = d.patient_id WHERE p.site_id = %s"
SITE_PATIENTS = "SELECT id FROM patients_patient WHERE site_id = %s"
SITE_QUERIES = f"SELECT id FROM quality_dataquery WHERE patient_id IN ({SITE_PATIENTS})"
# The tables an import writes, parents first, each with the condition selecting the bench site's rows.
STORED_ROWS = {
    "labs_labdraw": f"patient_id IN ({SITE_PATIENTS})",
    "labs_labresult": f"draw_id IN ({SITE_DRAWS})",
    "quality_dataquery": f"patient_id IN ({SITE_PATIENTS})",
    "quality_querymessage": f"query_id IN ({SITE_QUERIES})",
}
SCOPED_DELETES = [  # (statement, "site" or "staff")
    (f"DELETE FROM labs_labresultevent WHERE draw_id IN ({SITE_DRAWS})", "site"),
    (f"DELETE FROM labs_labresult WHERE draw_id IN ({SITE_DRAWS})", "site"),
    (f"DELETE FROM labs_labdrawevent WHERE patient_id IN ({SITE_PATIENTS})", "site"),
    (f"DELETE FROM labs_labdraw WHERE patient_id IN ({SITE_PATIENTS})", "site"),
    ("DELETE FROM labs_labimport WHERE imported_by_id = %s", "staff"),
    (f"DELETE FROM quality_querymessageevent WHERE query_id IN ({SITE_QUERIES})", "site"),
    (f"DELETE FROM quality_querymessage WHERE query_id IN ({SITE_QUERIES})", "site"),
    (f"DELETE FROM quality_dataqueryevent WHERE patient_id IN ({SITE_PATIENTS})", "site"),
    (f"DELETE FROM quality_dataquery WHERE patient_id IN ({SITE_PATIENTS})", "site"),
]


def run(repeats: int, *, scale: int) -> list[dict]:
    patients = trial_data.patients_for(scale)
    print(f"  setup: site {trial_data.SITE_CODE} with {patients:,} randomized patients (made once, then reused)")
    started = perf_counter()
    trial = trial_data.ensure_trial(patients)
    setup_seconds = perf_counter() - started
    _warm_up(trial)
    content = trial_data.lab_csv(trial.study_ids, scale)
    samples: dict[str, list[float]] = {"copy": [], "dry_run": [], "import": [], "reimport": [], "store": []}
    for repeat in range(1, repeats + 1):
        method = _one_repeat(content, trial, scale, samples)
        print(f"  repeat {repeat}: " + ", ".join(f"{k} {v[-1]:,.0f} rows/s" for k, v in samples.items()), flush=True)
    clear_lab_data(trial)
    return _figures(samples, setup_seconds, trial, scale, method)


def _one_repeat(content: bytes, trial, rows: int, samples: dict[str, list[float]]) -> str:
    """Floor, dry run, import, re-import from the same clean state; returns how the state was reset."""
    method = clear_lab_data(trial)
    samples["copy"].append(rows / _copy_seconds(content))
    samples["dry_run"].append(rows / _timed(lambda: _import(content, trial, rows, "create", dry_run=True)))
    samples["import"].append(rows / _timed(lambda: _import(content, trial, rows, "create")))
    _analyze()
    samples["reimport"].append(rows / _timed(lambda: _import(content, trial, rows, "unchanged")))
    _keep_stored_rows(trial)
    clear_lab_data(trial)
    samples["store"].append(rows / _timed(lambda: _store_again(trial)))
    return method


def _copy_seconds(content: bytes) -> float:
    """Median of a few COPYs: one takes a tenth of a second, short enough for a scheduler hiccup to halve it."""
    seconds = []
    for _ in range(COPY_RUNS_PER_REPEAT):
        empty_copy_table()
        seconds.append(_timed(lambda: copy_floor(content)))
    return statistics.median(seconds)


def _warm_up(trial) -> None:
    """Every step once on one patient's rows, so one-time costs (module imports on the first audited
    commit, cached plans and permissions) are not billed to the first repeat."""
    rows = trial_data.ROWS_PER_PATIENT
    small = trial_data.lab_csv(trial.study_ids[:1], rows)
    clear_lab_data(trial)
    empty_copy_table()
    copy_floor(small)
    _import(small, trial, rows, "create", dry_run=True)
    _import(small, trial, rows, "create")
    _import(small, trial, rows, "unchanged")
    _keep_stored_rows(trial)
    clear_lab_data(trial)
    _store_again(trial)


def _figures(samples, setup_seconds: float, trial, scale: int, method: str) -> list[dict]:
    floor = {"floor_runs": samples["copy"], "floor_name": COPY_FLOOR}
    clean_up = f"state reset before each repeat by {method}"
    return [
        figure("lab_import.import", samples["import"], "rows/s", **floor, notes=f"all creates; {clean_up}"),
        figure(
            "lab_import.import_vs_store",
            samples["import"],
            "rows/s",
            floor_runs=samples["store"],
            floor_name=STORE_FLOOR,
            notes="the import against PostgreSQL storing its rows (draws, results, automatic queries and "
            "messages) with every constraint check, audit event and hash-chain link, nothing else",
        ),
        figure("lab_import.reimport", samples["reimport"], "rows/s", **floor, notes="same file again: all unchanged"),
        figure("lab_import.dry_run", samples["dry_run"], "rows/s", **floor, notes="dry_run=True, nothing stored yet"),
        figure(
            "lab_import.copy_floor",
            samples["copy"],
            "rows/s",
            notes=f"same bytes; median of {COPY_RUNS_PER_REPEAT} per run",
        ),
        figure(
            "lab_import.setup",
            [setup_seconds],
            "s",
            higher_is_better=False,
            notes=f"one run, not timed per repeat: {len(trial.study_ids):,} randomized patients for {scale:,} rows, "
            f"{trial.created_patients:,} of them created by this run through the services",
        ),
    ]


def _timed(action: Callable[[], object]) -> float:
    gc.collect()  # garbage from the previous step is not this step's cost
    started = perf_counter()
    action()
    return perf_counter() - started


def _import(content: bytes, trial, rows: int, action: str, *, dry_run: bool = False) -> None:
    """The service as a view calls it; a report other than the expected one would make the figure a lie."""
    report = lab_results_import(content=content, filename=FILENAME, by=trial.staff, dry_run=dry_run)
    if report.problems or report.count(action) != rows or report.imported != (action == "create" and not dry_run):
        first = "; ".join(p.message for p in report.problems[:3])
        raise RuntimeError(f"Unexpected import report: {report.count(action)} of {rows} '{action}'. {first}")


def empty_copy_table() -> None:
    """A temporary table (never WAL-logged) with the CSV's columns, emptied outside the timed COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {COPY_TABLE} (study_id text, timepoint text, drawn_at timestamptz, "
            "analyte text, value text, unit text)"
        )
        cursor.execute(f"TRUNCATE {COPY_TABLE}")


def copy_floor(content: bytes) -> None:
    """The same bytes through COPY into a plain table: what moving the rows into PostgreSQL costs at least."""
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {COPY_TABLE} FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(content))


def _keep_stored_rows(trial) -> None:
    """Copies of every row the import stored at the bench site, for the store floor."""
    with connection.cursor() as cursor:
        for table, owned in STORED_ROWS.items():
            cursor.execute(f"DROP TABLE IF EXISTS bench_stored_{table}")
            cursor.execute(
                f"CREATE TEMP TABLE bench_stored_{table} AS SELECT * FROM {table} WHERE {owned}", [trial.site.pk]
            )


def _store_again(trial) -> None:
    with audited(by=trial.staff, reason="Benchmark: store floor"), connection.cursor() as cursor:
        bind_audit_context(cursor)
        for table in STORED_ROWS:
            cursor.execute(f"INSERT INTO {table} TABLE bench_stored_{table}")


def _analyze() -> None:
    """Fresh planner statistics, as a settled database has them, rather than racing autovacuum mid-run."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(LAB_TABLES)}")


def clear_lab_data(trial) -> str:
    """Remove the bench site's draws, results, their audit events and import logs; returns how.

    TRUNCATE when the lab tables hold nothing but bench data (a dedicated database): empty tables,
    no dead rows. Otherwise (e.g. the development database with demo data) only the bench site's rows
    are deleted, stepping past the delete protection, and the tables vacuumed.
    """
    others = LabDraw.objects.exclude(patient__site=trial.site).exists()
    others = others or LabImport.objects.exclude(imported_by=trial.staff).exists()
    others = others or DataQuery.objects.exclude(patient__site=trial.site).exists()
    with connection.cursor() as cursor:
        if not others:
            cursor.execute(f"TRUNCATE {', '.join(LAB_TABLES)}")
            return "TRUNCATE of the lab tables (they held bench data only)"
        ids = {"site": trial.site.pk, "staff": trial.staff.pk}
        with pgtrigger.ignore(*PROTECTION):
            for statement, owner in SCOPED_DELETES:
                cursor.execute(statement, [ids[owner]])
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(LAB_TABLES)}")
    return "DELETE of the bench site's lab rows, then VACUUM"
