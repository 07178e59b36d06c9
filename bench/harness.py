"""Runs the benchmark modules, then writes their figures as JSON and as a markdown table.

Every figure is a median of several runs, measured side by side with its floor (the fastest way the
same work could be done on this machine) in the same run, so a ratio survives a change of machine
better than a bare number does.
"""

import argparse
import importlib
import json
import os
import pkgutil
import platform
import re
import resource
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PREFIX = "bench_"
DEFAULT_REPEATS = 3
DEFAULT_SCALE = 100_000


def figure(
    name: str,
    runs: list[float],
    unit: str,
    *,
    floor_runs: list[float] | None = None,
    floor_name: str = "",
    higher_is_better: bool = True,
    notes: str = "",
) -> dict:
    """One reported figure: the median of `runs`, and how many times the floor's cost it is.

    `ratio` is always "times slower than the floor" (1.0 = as fast as the floor), whichever way the
    unit points, so every table reads the same way.
    """
    value = statistics.median(runs)
    floor_value = statistics.median(floor_runs) if floor_runs else None
    ratio = None
    if floor_value and value:
        ratio = floor_value / value if higher_is_better else value / floor_value
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "floor_value": floor_value,
        "floor_name": floor_name,
        "ratio": ratio,
        "runs": list(runs),
        "floor_runs": list(floor_runs or []),
        "notes": notes,
    }


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", metavar="NAME", help="run one benchmark module, e.g. lab_import")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs per figure (median reported)")
    parser.add_argument("--scale", type=int, default=DEFAULT_SCALE, help="problem size, e.g. CSV rows to import")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.scale < 1:
        parser.error("--repeats and --scale must be at least 1")
    return args


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ivf_trial.settings")
    sys.path.insert(0, str(PROJECT_DIR))
    import django
    from django.conf import settings

    django.setup()
    # Measure like production: with DEBUG on, Django keeps the text of every query in memory.
    settings.DEBUG = False


def benchmark_names() -> list[str]:
    """`bench_*.py` modules beside this file, as names without the prefix (e.g. `lab_import`)."""
    return sorted(
        module.name.removeprefix(PREFIX)
        for module in pkgutil.iter_modules([str(BENCH_DIR)])
        if module.name.startswith(PREFIX)
    )


def _selected(only: str | None) -> list[str]:
    names = benchmark_names()
    if only is None:
        return names
    wanted = only.removeprefix(PREFIX)
    if wanted not in names:
        raise SystemExit(f"No benchmark '{only}'; available: {', '.join(names) or 'none'}.")
    return [wanted]


def _git_commit() -> str | None:
    """The checked-out commit, read from .git's files (a benchmark should not need git installed)."""
    git_dir = PROJECT_DIR / ".git"
    if git_dir.is_file():  # a worktree: the file points at its git directory
        git_dir = (PROJECT_DIR / git_dir.read_text().partition(":")[2].strip()).resolve()
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        common = git_dir / (git_dir / "commondir").read_text().strip() if (git_dir / "commondir").exists() else git_dir
        for base in (git_dir, common):
            if (base / ref).exists():
                return (base / ref).read_text().strip()
        for line in (common / "packed-refs").read_text().splitlines():
            if line.endswith(f" {ref}"):
                return line.split()[0]
    except OSError:
        return None
    return None


def machine_info() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "python": platform.python_version(),
        "postgres": postgres,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_json(name: str, figures: list[dict], machine: dict, args: argparse.Namespace) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {
        "benchmark": name,
        "repeats": args.repeats,
        "scale": args.scale,
        "machine": machine,
        "figures": figures,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def markdown_table(figures: list[dict]) -> str:
    lines = [
        "| name | median | unit | floor | ratio (× floor cost) | runs |",
        "| --- | ---: | --- | --- | ---: | --- |",
    ]
    for f in figures:
        floor = f"{f['floor_name']}: {_number(f['floor_value'])}" if f["floor_value"] is not None else "–"
        ratio = f"{f['ratio']:.1f}×" if f["ratio"] is not None else "–"
        runs = ", ".join(_number(r) for r in f["runs"])
        lines.append(f"| {f['name']} | {_number(f['value'])} | {f['unit']} | {floor} | {ratio} | {runs} |")
    return "\n".join(lines)


def _section(payload: dict) -> str:
    m = payload["machine"]
    commit = (m.get("git_commit") or "unknown")[:12]
    header = (
        f"## {payload['benchmark']}\n\n"
        f"{m['timestamp_utc']} · {payload['repeats']} repeats · scale {payload['scale']:,} · "
        f"Python {m['python']} · PostgreSQL {m['postgres']} · {m['cpu_count']} CPUs · commit {commit}\n"
    )
    notes = [f"- **{f['name']}**: {f['notes']}" for f in payload["figures"] if f["notes"]]
    return "\n".join([header, markdown_table(payload["figures"]), "", *notes])


def _sections_written(path: Path) -> dict[str, str]:
    """The README's sections by benchmark name, as last written."""
    if not path.exists():
        return {}
    parts = re.split(r"(?m)^(?=## )", path.read_text())
    return {part.split("\n", 1)[0][3:].strip(): part.rstrip("\n") for part in parts if part.startswith("## ")}


def write_readme() -> Path:
    """The table of every benchmark: from its result file when present, else its section as last written.

    The result files are not committed but the README is, so on a fresh checkout `--only` refreshes one
    section and keeps the others rather than dropping them.
    """
    path = RESULTS_DIR / "README.md"
    sections = _sections_written(path)
    for result in RESULTS_DIR.glob("*.json"):
        payload = json.loads(result.read_text())
        sections[payload["benchmark"]] = _section(payload)
    intro = (
        "# Benchmark results\n\n"
        "Written by `make bench` (see `bench/README.md`); figures depend on the machine. "
        "Each value is the median of its runs; ratio = how many times the floor's cost it is.\n"
    )
    path.write_text("\n".join([intro, *(sections[name] for name in sorted(sections))]) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    _setup_django()
    names = _selected(args.only)
    if not names:
        print("No benchmarks yet (bench/bench_*.py).")
        return 0
    machine = machine_info()
    for name in names:
        print(f"== {name} (repeats={args.repeats}, scale={args.scale:,})", flush=True)
        module = importlib.import_module(f"bench.{PREFIX}{name}")
        figures = module.run(args.repeats, scale=args.scale)
        path = _write_json(name, figures, machine, args)
        print(markdown_table(figures), f"\nwritten {path.relative_to(PROJECT_DIR)}", sep="\n", flush=True)
    print(f"written {write_readme().relative_to(PROJECT_DIR)}")
    return 0


# --- Synthetic trials in databases of their own (statistics, load and randomization benchmarks) ------------------


MAINTENANCE_DATABASE = "postgres"


@dataclass(frozen=True)
class SyntheticDatabase:
    name: str
    url: str
    patients: int
    generated_seconds: float | None  # None: an earlier run made it and it was reused
    rows: int | None


def database_url(name: str) -> str:
    """A DATABASE_URL for another database on the configured server (same user, host and port)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db.get("HOST") or "", safe="")  # a unix socket directory is percent-encoded
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{name}"


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point Django's default connection at another database of the same server for the block."""
    from django.db import connection

    previous = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = previous


def child_env(name: str, **extra: str) -> dict[str, str]:
    """The environment of a process that uses database `name` (e.g. a fresh process measuring memory)."""
    return {**os.environ, "DATABASE_URL": database_url(name), "PYTHONPATH": str(PROJECT_DIR), **extra}


def _database_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


def _synthetic_patients(name: str) -> int | None:
    """Women at synthetic sites in database `name`, or None when it holds anything else."""
    from django.db import connection

    with using_database(name), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE s.code ~ '^SY[A-Z]$'), count(*) FROM patients_patient p "
            "JOIN core_site s ON s.id = p.site_id"
        )
        synthetic, everyone = cursor.fetchone()
    return synthetic if synthetic == everyone else None


def _create_database(name: str) -> None:
    """An empty, migrated copy of the configured database's schema (a template copy when it holds no
    patients, which takes a second; otherwise a new database and `migrate`)."""
    from django.db import connection

    template = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patients_patient")
        empty = cursor.fetchone()[0] == 0
    with using_database(MAINTENANCE_DATABASE), connection.cursor() as cursor:  # a template has no other session
        if empty:
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        cursor.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT_DIR, env=child_env(name), check=True)


def synthetic_database(patients: int, *, seed: int = 1, awaiting: int = 0, fresh: bool = False) -> SyntheticDatabase:
    """A database beside the configured one holding `manage.py generate_synthetic --patients N --seed S`,
    made once (minutes at 100,000 women) and reused by later runs, unless `fresh`."""
    from django.db import connection

    base = connection.settings_dict["NAME"]
    name = f"{base}_syn{patients}" + (f"_a{awaiting}" if awaiting else "")
    with connection.cursor() as cursor:
        exists = _database_exists(cursor, name)
    if exists and fresh:
        with using_database(MAINTENANCE_DATABASE), connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}"')
        exists = False
    if exists and _synthetic_patients(name) == patients + awaiting:
        return SyntheticDatabase(name, database_url(name), patients, None, None)
    if exists:
        raise SystemExit(f"Database {name} exists but does not hold the expected synthetic trial; drop it first.")
    _create_database(name)
    command = [sys.executable, "manage.py", "generate_synthetic", f"--patients={patients}", f"--seed={seed}"]
    if awaiting:
        command.append(f"--awaiting-randomization={awaiting}")
    started = perf_counter()
    done = subprocess.run(command, cwd=PROJECT_DIR, env=child_env(name), check=True, capture_output=True, text=True)
    seconds = perf_counter() - started
    rows = sum(int(n.replace(",", "")) for n in re.findall(r"^\s+\w+: ([\d,]+)$", done.stdout, re.MULTILINE))
    return SyntheticDatabase(name, database_url(name), patients, seconds, rows)


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
