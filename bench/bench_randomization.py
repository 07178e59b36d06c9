"""Randomization under concurrency: `patients.randomization.patient_randomize` from 20 clients at once.

Each client is a process of its own, as gunicorn's workers are. A fresh database per run holds
`manage.py generate_synthetic --patients 1000 --seed 1` plus women who are consented with a baseline and
wait for randomization (`--awaiting-randomization`), spread over the synthetic sites' strata (site × age
group), each with a live allocation list. Per repeat:
  1. floor: CLIENTS processes, each committing one transaction per allocation that takes the stratum's row
     lock and increments a counter (the serialisation every allocation needs, and its commit), for the
     same strata in the same order as the real run;
  2. randomize: CLIENTS processes, each with its own connection, randomizing its share of the waiting women
     through the service as a view calls it (row locks, audit events, hash chain and all).
Afterwards every stratum must have used exactly slots 1..k (no gap, no slot twice) and no call may fail.
"""

import multiprocessing
from collections import defaultdict
from functools import partial
from importlib import import_module
from time import perf_counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

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
            floor_seconds, floor_errors = _run_clients(shares, _floor_client)
            if floor_errors:
                raise RuntimeError(f"The floor failed: {floor_errors[0]}")
            samples["floor"].append(per_repeat / floor_seconds)
            seconds, errors = _run_clients(shares, partial(_randomize_client, staff=staff))
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


def _run_clients(shares: list[list], client) -> tuple[float, list[str]]:
    """Start one process per share together; (seconds until the last finished, the errors they reported).

    Processes, not threads: each client has its own interpreter and connection, as gunicorn's workers
    do. Threads of this one process would share its GIL, and the figure would be this harness's Python
    (~20 ms per allocation) instead of the server's throughput.
    """
    # Booted like a gunicorn worker (ivf_trial/wsgi.py): every view and what it imports already loaded, so
    # no client process pays seconds of imports (numpy, scipy) on its first allocation.
    import_module(settings.ROOT_URLCONF)
    context = multiprocessing.get_context("fork")
    connections.close_all()  # a forked child must open its own connection, not share this one's socket
    barrier = context.Barrier(len(shares) + 1)
    reports = context.Queue()
    processes = [context.Process(target=_client_process, args=(client, share, barrier, reports)) for share in shares]
    for process in processes:
        process.start()
    barrier.wait()
    started = perf_counter()
    errors = [error for _ in processes for error in reports.get()]
    for process in processes:
        process.join()
    seconds = perf_counter() - started
    if any(process.exitcode != 0 for process in processes):
        raise RuntimeError(f"A client process failed: {errors[:3]}")
    return seconds, errors


def _client_process(client, share: list, barrier, reports) -> None:
    errors: list[str] = []
    try:
        barrier.wait()
        errors = client(share)
    except Exception as error:  # reported, and the benchmark fails
        errors.append(f"client process: {error!r}")
    finally:
        reports.put(errors)
        connection.close()


def _randomize_client(share: list, *, staff: dict) -> list[str]:
    from patients.randomization import patient_randomize

    errors = []
    for patient in share:
        try:
            patient_randomize(patient=patient, by=staff[patient.site.code])
        except Exception as error:  # counted and reported: the benchmark demands none
            errors.append(f"{patient.study_id}: {error!r}")
    return errors


def _stratum(patient) -> str:
    from patients.randomization import age_group_of

    return f"{patient.site.code} {age_group_of(patient.age_at_enrolment)}"


def _floor_client(share: list) -> list[str]:
    with connection.cursor() as cursor:
        for patient in share:
            with transaction.atomic():
                cursor.execute(f"SELECT n FROM {FLOOR_TABLE} WHERE stratum = %s FOR UPDATE", [_stratum(patient)])
                cursor.execute(f"UPDATE {FLOOR_TABLE} SET n = n + 1 WHERE stratum = %s", [_stratum(patient)])
    return []


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
        f"{CLIENTS} processes × {PER_CLIENT} women each, one connection per process, {strata} strata "
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
