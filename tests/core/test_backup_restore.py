"""Backup and restore as docs/operations-backup.md describes it: `pg_dump -Fc`, `pg_restore` into a new
database, then every table holds the same rows and `verify_audit` passes there.

Runs in CI (`make test`) wherever client tools as new as the server exist: on PATH or shipped with the
embedded server's `pgserver` wheel; otherwise it is skipped, naming what was found.
"""

import os
import re
import shutil
import subprocess
import sys
import warnings
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from core.models import AuditChainLink
from patients import services
from tests.factories import baseline_input, consented_patient

pytestmark = pytest.mark.django_db(transaction=True)

TOOLS = ("pg_dump", "pg_restore")


def _major(binary: str) -> int:
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\(PostgreSQL\) (\d+)", output).group(1))  # "pg_dump (PostgreSQL) 15.20 (Debian ...)"


def _tool_dirs() -> list[Path]:
    dirs = [Path(p).parent for p in [shutil.which("pg_dump")] if p]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset (root shells, CI)
        try:
            import pgserver

            dirs.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
        except ImportError:
            pass
    return [d for d in dirs if all((d / tool).exists() for tool in TOOLS)]


@pytest.fixture
def client_tools() -> Path:
    """A directory with pg_dump and pg_restore at least as new as the server (older ones refuse to dump)."""
    server = connection.pg_version // 10000
    found = {d: _major(str(d / "pg_dump")) for d in _tool_dirs()}
    usable = sorted((major, str(d)) for d, major in found.items() if major >= server)
    if not usable:
        seen = ", ".join(f"{d} ({major})" for d, major in found.items()) or "none"
        pytest.skip(f"no pg_dump/pg_restore of PostgreSQL {server} or newer; found: {seen}")
    return Path(usable[0][1])


def _env() -> dict[str, str]:
    """libpq's variables for the server the tests use (HOST may be the embedded server's socket directory)."""
    db = connection.settings_dict
    given = {"PGHOST": db["HOST"], "PGPORT": db["PORT"], "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"]}
    return {**os.environ, **{name: str(value) for name, value in given.items() if value}}


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{quote(db['HOST'] or '', safe='')}{port}/{name}"


def _row_counts(cursor) -> dict[str, int]:
    cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
    tables = sorted(row[0] for row in cursor.fetchall())
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def restored_name():
    """A new database beside the test database, dropped afterwards whatever happens."""
    name = f"{connection.settings_dict['NAME'].removeprefix('test_')}_restored_{os.getpid()}"
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_restored_backup_has_every_row_and_an_intact_audit_chain(
    client_tools, restored_name, site_a, staff_site_a, tmp_path
):
    for weight in ["57.5", "58.0"]:
        patient = consented_patient(site_a, staff_site_a)
        baseline = services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
        services.baseline_update(
            baseline=baseline,
            data=baseline_input(weight_kg=Decimal(weight)),
            by=staff_site_a,
            reason="Scale recalibrated",
            expected_version=1,
        )
    archive = tmp_path / "ivf.dump"
    source = connection.settings_dict["NAME"]
    env = _env()
    subprocess.run([client_tools / "pg_dump", "-Fc", "-f", archive, source], env=env, check=True)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored_name}"')
        expected = _row_counts(cursor)
    subprocess.run(
        [client_tools / "pg_restore", "--exit-on-error", "--no-owner", "-d", restored_name, archive],
        env=env,
        check=True,
    )

    restored = psycopg2.connect(_url(restored_name))
    try:
        with restored.cursor() as cursor:
            assert _row_counts(cursor) == expected
    finally:
        restored.close()
    assert expected["core_auditchainlink"] == AuditChainLink.objects.count() > 10
    verify = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": _url(restored_name)},
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stderr
    assert f"{AuditChainLink.objects.count()} links verified" in verify.stdout
