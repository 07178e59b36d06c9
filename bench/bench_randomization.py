"""Randomization under concurrency: `patients.randomization.patient_randomize` from 20 clients at once.

A fresh database per run holds `manage.py generate_synthetic --patients 1000 --seed 1` plus women who
are consented with a baseline and wait for randomization (`--awaiting-randomization`), spread over the
synthetic sites' strata (site × age group), each with a live allocation list. Per repeat:
  1. floor: CLIENTS threads, each committing one transaction per allocation that takes the stratum's row
     lock and increments a counter (the serialisation every allocation needs, and its commit), for the
     same strata in the same order as the real run;
  2. randomize: CLIENTS threads, each with its own connection, randomizing its share of the waiting women
     through the service as a view calls it (row locks, audit events, hash chain and all).
Afterwards every stratum must have used exactly slots 1..k (no gap, no slot twice) and no call may fail.
"""

import threading
from collections import defaultdict
from functools import partial
from time import perf_counter

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from bench import bench_statistics
from bench.harness import figure, synthetic_database, using_database

CLIENTS = 20
PER_CLIENT = 10
PATIENTS = 1000
FLOOR_TABLE = "bench_randomization_floor"


def run(repeats: int, *, scale: int) -> list[dict]:
    per_repeat = CLIENTS * PER_CLIENT
    print(
        f"  setup: fresh database, {PATIENTS:,} women and {per_repeat * repeats:,} awaiting randomization", flush=True
    )
    database = synthetic_database(PATIENTS, seed=bench_statistics.SEED, awaiting=per_repeat * repeats, fresh=True)
    samples: dict[str, list[float]] = {"floor": [], "randomize": []}
    with using_database(database.name):
        waiting = _waiting()
        _ensure_floor_table(sorted({_stratum(patient) for patient in waiting}))
        staff = {user.username.removeprefix("synthetic_staff_").upper(): user for user in _staff()}
        for repeat in range(repeats):
            batch = waiting[repeat * per_repeat : (repeat + 1) * per_repeat]
            shares = [batch[i::CLIENTS] for i in range(CLIENTS)]
            samples["floor"].append(per_repeat / _run_clients(shares, _floor_client))
            errors: list[str] = []
            seconds = _run_clients(shares, partial(_randomize_client, staff=staff, errors=errors))
            samples["randomize"].append(per_repeat / seconds)
            if errors:
                raise RuntimeError(f"{len(errors)} randomizations failed, e.g. {errors[0]}")
            strata = _check_consecutive()
            rates = f"floor {samples['floor'][-1]:.0f}/s, randomize {samples['randomize'][-1]:.0f}/s"
            print(f"  repeat {repeat + 1}: {rates}, {strata} strata consecutive", flush=True)
    return _figures(samples, strata, database)


def _waiting() -> list:
    from patients.models import Patient

    return list(
        Patient.objects.filter(status="consented", randomization__isnull=True, baselines__isnull=False)
        .filter(baselines__voided_at__isnull=True)
        .select_related("site")
        .order_by("pk")
    )


def _staff() -> list:
    return list(get_user_model().objects.filter(username__startswith="synthetic_staff_"))


def _run_clients(shares: list[list], client) -> float:
    """Start CLIENTS threads together; seconds until the last one finished."""
    barrier = threading.Barrier(len(shares) + 1)

    def body(share) -> None:
        try:
            barrier.wait()
            client(share)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=body, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = perf_counter()
    for thread in threads:
        thread.join()
    return perf_counter() - started


def _randomize_client(share: list, *, staff: dict, errors: list[str]) -> None:
    from patients.randomization import patient_randomize

    for patient in share:
        try:
            patient_randomize(patient=patient, by=staff[patient.site.code])
        except Exception as error:  # counted and reported: the benchmark demands none
            errors.append(f"{patient.study_id}: {error!r}")


def _stratum(patient) -> str:
    from patients.randomization import age_group_of

    return f"{patient.site.code} {age_group_of(patient.age_at_enrolment)}"


def _floor_client(share: list) -> None:
    with connection.cursor() as cursor:
        for patient in share:
            with transaction.atomic():
                cursor.execute(f"SELECT n FROM {FLOOR_TABLE} WHERE stratum = %s FOR UPDATE", [_stratum(patient)])
                cursor.execute(f"UPDATE {FLOOR_TABLE} SET n = n + 1 WHERE stratum = %s", [_stratum(patient)])


def _ensure_floor_table(strata: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (stratum text PRIMARY KEY, n integer NOT NULL)")
        for stratum in strata:
            cursor.execute(f"INSERT INTO {FLOOR_TABLE} VALUES (%s, 0) ON CONFLICT DO NOTHING", [stratum])


def _check_consecutive() -> int:
    """Every stratum's randomizations hold slots 1..k exactly; returns the number of strata checked."""
    from patients.models import Randomization

    used = defaultdict(list)
    rows = Randomization.objects.values_list("slot__allocation_list_id", "slot__sequence")
    for list_id, sequence in rows:
        used[list_id].append(sequence)
    for list_id, sequences in used.items():
        if sorted(sequences) != list(range(1, len(sequences) + 1)):
            raise RuntimeError(f"Allocation list {list_id}: slots used are not 1..{len(sequences)}.")
    return len(used)


def _figures(samples, strata: int, database) -> list[dict]:
    floor = {"floor_runs": samples["floor"], "floor_name": "row lock + counter UPDATE + commit"}
    notes = (
        f"{CLIENTS} threads × {PER_CLIENT} women each, one connection per thread, {strata} strata "
        "(site × age group); zero errors and consecutive slots in every stratum checked after each repeat"
    )
    found = [
        figure("randomization.allocations", samples["randomize"], "allocations/s", **floor, notes=notes),
        figure("randomization.floor", samples["floor"], "allocations/s", notes="the same strata, bare SQL"),
    ]
    if database.generated_seconds is not None:
        found.append(
            figure(
                "randomization.setup",
                [database.generated_seconds],
                "s",
                higher_is_better=False,
                notes=f"generate_synthetic into a fresh database: {database.rows:,} rows",
            )
        )
    return found
