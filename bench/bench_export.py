"""Lab-results export (`GET /api/v1/export/lab-results.{csv,json}`): throughput and memory against COPY.

Per repeat, over the same `scale` active lab results and in this order:
  1. floor: PostgreSQL's own `COPY (<the export's query, its raw columns>) TO STDOUT` (CSV) through
     psycopg2 into a sink that only counts the bytes;
  2. CSV export and 3. JSON export, each in a fresh Python process that logs in as a statistician and
     requests the URL through Django's test client (every middleware, the DRF view, the streamed
     body), reading the body chunk by chunk and dropping it. Rows/s over the whole request (first
     byte asked for to last byte read) and the process's peak resident memory (VmHWM).
The data is made once by SQL (site BX, randomized patients, draws and results) and reused.
"""

import gc
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from time import perf_counter, process_time

import pgtrigger
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

from analysis import exports
from bench.harness import PROJECT_DIR, figure
from core import roles
from core.models import Site
from labs.models import LabResult
from patients.models import AgeGroup, AllocationList, ListSource, ListStatus, Patient
from sampledata.services import generator_account_ensure

SITE_CODE = "BX"
STAFF_USERNAME = "bench_export_staff"
STATISTICIAN_USERNAME = "bench_statistician"
EMAIL_DOMAIN = "bench.invalid"
ROWS_PER_PATIENT = 18  # 3 time points × 6 analytes, each active at most once per patient
FORMATS = ("csv", "json")
COPY_FLOOR = "COPY (query) TO STDOUT"
MB = 1024 * 1024
# The delete protection a rewrite of the site's lab data steps past (pghistory's event tables included).
PROTECTION = [
    "labs.LabResult:no_delete_void_instead",
    "labs.LabDraw:no_delete_void_instead",
    "labs.LabResultEvent:append_only",
    "labs.LabDrawEvent:append_only",
]
SITE_DRAWS = "SELECT d.id FROM labs_labdraw d JOIN patients_patient p ON p.id = d.patient_id WHERE p.site_id = %s"
CLEAR = [  # children before parents
    f"DELETE FROM labs_labresultevent WHERE draw_id IN ({SITE_DRAWS})",
    f"DELETE FROM labs_labresult WHERE draw_id IN ({SITE_DRAWS})",
    "DELETE FROM labs_labdrawevent WHERE patient_id IN (SELECT id FROM patients_patient WHERE site_id = %s)",
    "DELETE FROM labs_labdraw WHERE patient_id IN (SELECT id FROM patients_patient WHERE site_id = %s)",
]


def run(repeats: int, *, scale: int) -> list[dict]:
    started = perf_counter()
    made = ensure_lab_results(scale)
    setup_seconds = perf_counter() - started
    expected = _exported_rows()
    print(f"  setup: {scale:,} lab results at site {SITE_CODE} ({made}); the export holds {expected:,} rows")
    samples: dict[str, list[float]] = {"copy": [], "csv": [], "json": [], "csv_rss": [], "json_rss": []}
    baselines: dict[str, list[float]] = {"csv": [], "json": []}
    cpu: dict[str, list[float]] = {"csv": [], "json": []}
    for fmt in FORMATS:  # warm-up: caches, plans and the OS page cache, not billed to repeat 1
        _child(fmt, expected)
    for repeat in range(1, repeats + 1):
        samples["copy"].append(expected / _timed(copy_floor))
        for fmt in FORMATS:
            result = _child(fmt, expected)
            samples[fmt].append(expected / result["seconds"])
            samples[f"{fmt}_rss"].append(result["peak_rss_bytes"] / MB)
            baselines[fmt].append(result["rss_before_bytes"] / MB)
            cpu[fmt].append(result["cpu_seconds"] / result["seconds"])
        print(
            f"  repeat {repeat}: copy {samples['copy'][-1]:,.0f}, csv {samples['csv'][-1]:,.0f}, "
            f"json {samples['json'][-1]:,.0f} rows/s; peak RSS csv {samples['csv_rss'][-1]:.0f} MB, "
            f"json {samples['json_rss'][-1]:.0f} MB",
            flush=True,
        )
    return _figures(samples, baselines, cpu, setup_seconds, expected, made)


def _figures(samples, baselines, cpu, setup_seconds: float, expected: int, made: str) -> list[dict]:
    floor = {"floor_runs": samples["copy"], "floor_name": COPY_FLOOR}
    figures = [
        figure(
            f"export.{fmt}",
            samples[fmt],
            "rows/s",
            **floor,
            notes=f"{expected:,} rows through the test client in a fresh process, body read and dropped; "
            f"its CPU time was {statistics.median(cpu[fmt]):.0%} of the wall time",
        )
        for fmt in FORMATS
    ]
    figures.append(figure("export.copy_floor", samples["copy"], "rows/s", notes="same query, raw columns, CSV"))
    for fmt in FORMATS:
        before = statistics.median(baselines[fmt])
        notes = f"peak resident memory of the exporting process; {before:.0f} MB before the request (Django loaded)"
        figures.append(
            figure(f"export.{fmt}_peak_rss", samples[f"{fmt}_rss"], "MB", higher_is_better=False, notes=notes)
        )
    figures.append(figure("export.setup", [setup_seconds], "s", higher_is_better=False, notes=f"one run: {made}"))
    return figures


def _timed(action) -> float:
    gc.collect()
    started = perf_counter()
    action()
    return perf_counter() - started


# --- the data -----------------------------------------------------------------------------------------


def ensure_lab_results(rows: int) -> str:
    """Site BX with exactly `rows` active lab results (18 per randomized patient); returns what was done."""
    roles.roles_sync()
    site = Site.objects.get_or_create(code=SITE_CODE, defaults={"name": "Export benchmark site (synthetic data)"})[0]
    staff = _user(STAFF_USERNAME, roles.SITE_STAFF)
    _user(STATISTICIAN_USERNAME, roles.STATISTICIAN)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM labs_labresult WHERE draw_id IN ({SITE_DRAWS})", [site.pk])
        if cursor.fetchone()[0] == rows:
            return "reused"
    with transaction.atomic():
        added = _ensure_patients(site, staff, -(-rows // ROWS_PER_PATIENT))
        with pgtrigger.ignore(*PROTECTION), connection.cursor() as cursor:
            for statement in CLEAR:
                cursor.execute(statement, [site.pk])
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_DRAWS, {"site": site.pk, "staff": staff.pk, "rows": rows})
            cursor.execute("SELECT setseed(0.42)")
            cursor.execute(_INSERT_RESULTS, {"site": site.pk, "staff": staff.pk, "rows": rows})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) labs_labdraw, labs_labresult, patients_patient, patients_randomization")
    return f"made by SQL: {added:,} patients added, lab results rewritten"


def _user(username: str, role: str):
    return generator_account_ensure(username=username, role=role, email_domain=EMAIL_DOMAIN)


def _ensure_patients(site, staff, patients: int) -> int:
    """Randomized patients 1…`patients` at the site, with a live allocation list holding their slots."""
    existing = Patient.objects.filter(site=site).count()
    if existing >= patients:
        return 0
    allocation_list = AllocationList.objects.get_or_create(
        site=site,
        age_group=AgeGroup.UNDER_35,
        # Its slots are written by SQL below, not drawn from a generator: recorded as an imported list.
        defaults={"status": ListStatus.LIVE, "source": ListSource.IMPORTED, "created_by": staff},
    )[0]
    params = {"site": site.pk, "staff": staff.pk, "list": allocation_list.pk, "first": existing + 1, "last": patients}
    with connection.cursor() as cursor:
        for statement in (_INSERT_SLOTS, _INSERT_PATIENTS, _INSERT_RANDOMIZATIONS, _SET_COUNTER):
            cursor.execute(statement, params)
    return patients - existing


_CLINICAL = "1, now(), now(), NULL, '', %(staff)s, %(staff)s, NULL"  # version … voided_by_id
_CLINICAL_COLUMNS = (
    "version, created_at, updated_at, voided_at, void_reason, created_by_id, updated_by_id, voided_by_id"
)
_INSERT_SLOTS = """
INSERT INTO patients_allocationslot (allocation_list_id, sequence, arm_id, block_number, block_size)
SELECT %(list)s, n, (SELECT id FROM core_arm ORDER BY "order", code OFFSET (n %% 2) LIMIT 1), (n + 1) / 2, 2
FROM generate_series(%(first)s, %(last)s) AS n
"""
_INSERT_PATIENTS = f"""
INSERT INTO patients_patient ({_CLINICAL_COLUMNS}, study_id, site_id, sequence_number, status, age_at_enrolment)
SELECT {_CLINICAL}, 'BX-' || CASE WHEN n < 1000 THEN lpad(n::text, 4, '0') ELSE n::text END, %(site)s, n,
       'randomized', 25 + n %% 10
FROM generate_series(%(first)s, %(last)s) AS n
"""
_INSERT_RANDOMIZATIONS = f"""
INSERT INTO patients_randomization
    ({_CLINICAL_COLUMNS}, patient_id, slot_id, arm_id, randomized_at, randomized_by_id, in_error, in_error_reason)
SELECT {_CLINICAL}, p.id, s.id, s.arm_id, timestamptz '2024-01-15 09:00+08' + p.sequence_number * interval '1 minute',
       %(staff)s, false, ''
FROM patients_patient p
JOIN patients_allocationslot s ON s.allocation_list_id = %(list)s AND s.sequence = p.sequence_number
WHERE p.site_id = %(site)s AND p.sequence_number BETWEEN %(first)s AND %(last)s
"""
_SET_COUNTER = """
INSERT INTO patients_studyidcounter (site_id, last_number) VALUES (%(site)s, %(last)s)
ON CONFLICT (site_id) DO UPDATE SET last_number = GREATEST(patients_studyidcounter.last_number, %(last)s)
"""
# Draws of patient n are rows (n - 1) × 18 …; time points 6 rows apart, analytes 1 apart.
_INSERT_DRAWS = f"""
INSERT INTO labs_labdraw ({_CLINICAL_COLUMNS}, patient_id, timepoint_id, drawn_at, window_warning)
SELECT {_CLINICAL}, p.id, t.id,
       timestamptz '2024-02-05 08:30+08' + (p.sequence_number %% 300 + t.day_offset + 14) * interval '1 day',
       'No embryo transfer recorded: the window could not be checked.'
FROM patients_patient p CROSS JOIN core_timepoint t
WHERE p.site_id = %(site)s AND t.code IN ('BASELINE', 'ET14', 'ET28')
  AND (p.sequence_number - 1) * 18 + (t."order" - 1) * 6 < %(rows)s
"""
# Plausible values as labs print them: β-hCG often below its limit, some E2 in pg/mL, flags from the
# general reference range. random() after setseed() makes the data the same on every machine.
_INSERT_RESULTS = f"""
INSERT INTO labs_labresult
    ({_CLINICAL_COLUMNS}, draw_id, analyte_id, value_as_entered, unit_as_entered, censoring, canonical_value, flag)
SELECT {_CLINICAL}, v.draw_id, v.analyte_id, v.entered, v.unit, v.censoring, v.canonical,
       CASE WHEN v.canonical < r.low THEN 'low' WHEN v.canonical > r.high THEN 'high' ELSE 'normal' END
FROM (
    SELECT x.draw_id, x.analyte_id, x.unit, x.censoring,
           CASE WHEN x.censoring = '<' THEN '<2' ELSE round(x.value, x.places)::text END AS entered,
           round(CASE WHEN x.censoring = '<' THEN 2 ELSE round(x.value, x.places) * x.factor END, 4) AS canonical
    FROM (
        SELECT d.id AS draw_id, a.id AS analyte_id,
               CASE WHEN a.code = 'BHCG' AND (t.code = 'BASELINE' OR r1 < 0.5) THEN '<' ELSE '' END AS censoring,
               CASE a.code
                   WHEN 'BHCG' THEN 25 + r2 * (CASE t.code WHEN 'ET14' THEN 2975 ELSE 59975 END)
                   WHEN 'E2' THEN CASE WHEN r1 < 0.3 THEN 40 + r2 * 640 ELSE 150 + r2 * 2350 END
                   WHEN 'FSH' THEN 1 + r2 * 13 WHEN 'LH' THEN 0.5 + r2 * 17.5
                   WHEN 'CA125' THEN 4 + r2 * 41 ELSE 0.5 + r2 * 8.5
               END::numeric AS value,
               CASE WHEN a.code = 'BHCG' THEN 1 ELSE 2 END AS places,
               CASE WHEN a.code = 'E2' AND r1 < 0.3 THEN 3.671 ELSE 1 END AS factor,
               CASE WHEN a.code = 'E2' AND r1 < 0.3 THEN 'pg/mL'
                    WHEN a.code = 'BHCG' AND r1 > 0.75 THEN 'mIU/mL' ELSE a.canonical_unit END AS unit
        FROM (SELECT d.*, random() AS r1, random() AS r2 FROM labs_labdraw d) d
        JOIN patients_patient p ON p.id = d.patient_id
        JOIN core_timepoint t ON t.id = d.timepoint_id
        CROSS JOIN labs_analyte a
        WHERE p.site_id = %(site)s AND d.voided_at IS NULL
          AND (p.sequence_number - 1) * 18 + (t."order" - 1) * 6 + (a."order" - 1) < %(rows)s
    ) x
) v
LEFT JOIN labs_referencerange r ON r.analyte_id = v.analyte_id AND r.timepoint_id IS NULL
"""


def _exported_rows() -> int:
    return LabResult.objects.filter(voided_at__isnull=True, draw__voided_at__isnull=True).count()


# --- the floor ----------------------------------------------------------------------------------------


class _Sink:
    """A file for copy_expert that keeps nothing (psycopg2 calls write once per row)."""

    def __init__(self):
        self.size = 0

    def write(self, data) -> None:
        self.size += len(data)


def copy_floor() -> None:
    """The export's own query (joins, scoping, order) with raw columns, as PostgreSQL's COPY writes it."""
    user = get_user_model().objects.get(username=STATISTICIAN_USERNAME)
    sql, params = exports.lab_results_queryset(user).query.sql_with_params()
    statement = f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT WITH (FORMAT csv)"
    with connection.cursor() as cursor:
        cursor.copy_expert(statement, _Sink())


# --- the exporting process ------------------------------------------------------------------------------


def _child(fmt: str, expected: int) -> dict:
    """Run one export in a fresh interpreter, so its peak memory is the export's and nobody else's."""
    code = f"from bench.harness import _setup_django; _setup_django(); import {__name__} as m; m.child({fmt!r})"
    command = [sys.executable, "-c", code]
    completed = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"export process failed:\n{completed.stderr[-3000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    if result["rows"] != expected or result["status"] != 200:
        raise RuntimeError(f"{fmt} export sent {result['rows']:,} rows (status {result['status']}), not {expected:,}")
    return result


def _memory(key: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, in bytes (Linux)."""
    found = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(found.group(1)) * 1024


def _reset_peak() -> None:
    """Make VmHWM start again from the current resident size (Linux 4.0+), so setup is not counted."""
    Path("/proc/self/clear_refs").write_text("5")


def _rows_in(fmt: str, chunk: bytes) -> int:
    # The bench data holds no newline or quote inside a value, so a line or an object start is a row.
    return chunk.count(b"\n") if fmt == "csv" else chunk.count(b'{"study_id": ')


def child(fmt: str) -> None:
    """The exporting process: one export, its figures printed as a JSON line."""
    print(json.dumps(export_once(fmt)))


def export_once(fmt: str) -> dict:
    client = Client()
    client.force_login(get_user_model().objects.get(username=STATISTICIAN_USERNAME))
    for chunk in client.get(f"/api/v1/export/adverse-events.{fmt}").streaming_content:
        del chunk  # warm-up: the code path loaded, not timed
    gc.collect()
    _reset_peak()
    before = _memory("VmRSS")
    rows = size = 0
    started, cpu_started = perf_counter(), process_time()
    response = client.get(f"/api/v1/export/lab-results.{fmt}")
    for chunk in response.streaming_content:
        rows += _rows_in(fmt, chunk)
        size += len(chunk)
    seconds, cpu_seconds = perf_counter() - started, process_time() - cpu_started
    response.close()
    rows -= 1 if fmt == "csv" else 0  # the header line
    return {
        "status": response.status_code,
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_before_bytes": before,
        "peak_rss_bytes": _memory("VmHWM"),
    }
