"""What every part of the load run agrees on: the project, the load site, its password, the writes."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SITE = "LOAD"
PASSWORD = "load-run-password-1"
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy in front of gunicorn would add
WRITES = ("register", "consent", "baseline", "randomize", "lab_result")
