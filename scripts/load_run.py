"""A bounded load run on loopback: data entry, API reads and dashboards at once, then every write accounted for.

    .venv/bin/python scripts/load_run.py [--seconds 60] [--writers 4] [--readers 2] [--dashboards 1]
                                         [--debug] [--keep] [--json FILE]

What it does:
1. Makes a database of its own beside the one of DATABASE_URL (`<name>_load`, dropped first): a template
   copy of it when that one is migrated and holds no patients (a second), else a new database and `migrate`.
2. Prepares a site LOAD with a staff user, an investigator and a statistician (API tokens), and live
   allocation lists for both strata; with production settings, `collectstatic`.
3. Starts gunicorn on a free loopback port with production settings (DJANGO_DEBUG=0, a throwaway secret
   key, requests marked X-Forwarded-Proto: https as a TLS-terminating proxy would) or, with --debug,
   DJANGO_DEBUG=1.
4. For --seconds, at once: writers register women through the API and take each through consent,
   baseline, randomization and three lab results; readers page through patients and lab results and open
   single patients; dashboard clients (a browser session of the investigator) open the dashboard and the
   patient list.
5. Stops the server and checks: zero errors (every answer 2xx; connection failures count as errors), and
   every write accounted for — the 2xx writes the clients saw equal the rows the database holds for the
   site (registrations by study id, consents, baselines, randomizations, lab results); then the audit
   hash chain is verified. Prints a table (and --json). Exit status 1 on any error or mismatch.

The parts live in scripts/load/ (database, trial, server, clients, summary).
"""

import argparse
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from load.clients import run_clients
from load.common import ROOT
from load.database import create_database, drop_database, manage
from load.server import free_port, start_server, stop_server, wait_until_up
from load.summary import account, report
from load.trial import database_rows, prepare, verify_audit


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--dashboards", type=int, default=1)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--debug", action="store_true", help="DJANGO_DEBUG=1 instead of production settings")
    parser.add_argument("--keep", action="store_true", help="keep the <name>_load database afterwards")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--log-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "ivf-load-run")
    return parser.parse_args(argv)


def environment(url: str, debug: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DATABASE_URL=url,
        DJANGO_DEVELOPMENT="1" if debug else "0",  # production settings refuse DEBUG
        DJANGO_DEBUG="1" if debug else "0",
        DJANGO_SECRET_KEY=f"load-run-{secrets.token_urlsafe(40)}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="ivf_trial.settings",
        # No broker here: the statistics would be recomputed in each write request; deployed, a worker does it.
        STATISTICS_RECOMPUTE_ON_CHANGE="0",
    )
    return env


def main(argv=None) -> int:
    args = parse_args(argv)
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        raise SystemExit("Set DATABASE_URL (the load run makes <name>_load beside that database).")
    name = re.sub(r"\W", "_", urlparse(base_url).path.lstrip("/")) + "_load"
    args.log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    url = create_database(base_url, name)
    env = environment(url, args.debug)
    try:
        manage("migrate", "--noinput", "-v0", env=env)
        if not args.debug:
            manage("collectstatic", "--noinput", "-v0", env=env)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connections

        # Enough slots for the fastest writers imaginable here (about 4 randomizations per writer-second).
        plan = prepare(slots=min(10_000, max(1_000, int(args.seconds * args.writers * 4))))
        before = database_rows()
        connections.close_all()
        print(f"Prepared {name} in {time.monotonic() - started:.1f} s; load for {args.seconds:g} s ...")
        port = free_port()
        server = start_server(port, env, args.log_dir, args.gunicorn_workers, args.gunicorn_threads)
        try:
            wait_until_up(port, server)
            tally, seconds = run_clients(port, plan, args)
        finally:
            stop_server(server)
        problems = account(tally, before, database_rows())
        summary = report(tally, seconds, problems, verify_audit(), args)
        connections.close_all()
    finally:
        if not args.keep:
            drop_database(base_url, name)
    summary["total_seconds"] = round(time.monotonic() - started, 1)
    print(f"Whole run (setup included): {summary['total_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if not tally.errors and not problems and summary["audit_chain_verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
