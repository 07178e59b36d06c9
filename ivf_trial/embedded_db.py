"""Embedded PostgreSQL for machines without a database server (development, fresh clones).

The `pgserver` wheel ships PostgreSQL binaries; its data lives under `var/` so it survives restarts.
Only used when DATABASE_URL is unset: production and CI always name a real server.
"""

import warnings
from pathlib import Path

DATABASE_NAME = "ivf_trial"
# Unix sockets allow ~107 bytes and pgserver puts its socket in the data directory.
MAX_SOCKET_DIR_LENGTH = 90


def embedded_database_settings(data_dir: Path) -> dict:
    """Start (or reuse) the embedded server and return a Django DATABASES entry for it."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (root shells, CI); pgserver does not need it.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: production images need not carry it

    data_dir = data_dir.resolve()
    if len(str(data_dir)) > MAX_SOCKET_DIR_LENGTH:
        raise RuntimeError(
            f"Embedded PostgreSQL data directory {data_dir} is too long for a unix socket; "
            "clone the project to a shorter path or set DATABASE_URL."
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        try:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        except Exception:
            if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"):
                raise
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(data_dir),
        "PORT": "",
    }


def stop_embedded_server(data_dir: Path, timeout_seconds: float = 30) -> bool:
    """Fast-shutdown the embedded server if it runs; True when one was stopped.

    pgserver only stops the server when its last registered handle closes, and a killed process
    never deregisters; signalling the postmaster (SIGINT = fast shutdown) always works.
    """
    import os
    import signal
    import time

    pid_file = Path(data_dir) / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_seconds
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not pid_file.exists()
