"""Tests run in development mode with the settings' defaults, whatever the shell holds.

Loaded as a plugin (`-p tests.settings_env` in pyproject.toml's addopts) so that it runs before
pytest-django reads the settings: a conftest.py would be too late. Without DJANGO_DEVELOPMENT=1 the
settings are production ones and refuse to start without a real secret key; and a deployment's
variables left in a developer's shell (DJANGO_DEBUG=0, DJANGO_ALLOWED_HOSTS, CELERY_BROKER_URL, ...)
must not change what the suite tests. So every variable ivf_trial/settings.py reads is removed, and
every DJANGO_* and CELERY_* one, except DATABASE_URL (the server the suite runs on): Celery is then
eager, as the tests expect; a test that needs a broker starts its own worker on Redis and points this
process's Celery app at it (tests/analysis/test_worker.py). Such tests find Redis by REDIS_URL; a Redis
CELERY_BROKER_URL in the shell is kept as REDIS_URL when that is unset (SPEC §9).

Child processes the tests start inherit this environment. Tests of production behaviour start their
own process with an explicit environment (tests/core/test_settings.py).
"""

import ast
import os
from pathlib import Path

SETTINGS = Path(__file__).resolve().parent.parent / "ivf_trial" / "settings.py"
# The settings module to load, the suite's database, and the test session's own switch for Playwright.
KEPT = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}
PREFIXES = ("DJANGO_", "CELERY_")
READERS = {"os.environ.get", "env_bool", "env_list"}  # each takes the variable's name first


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def settings_variables(source: str) -> set[str]:
    """The environment variables a settings module reads: os.environ[NAME] and NAME in each reader call."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in READERS:
            names.add(_literal(node.args[0]))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(_literal(node.slice))
    return names - {None}


broker = os.environ.get("CELERY_BROKER_URL", "")
if broker.startswith("redis") and not os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = broker

read = settings_variables(SETTINGS.read_text())
for name in [name for name in os.environ if (name in read or name.startswith(PREFIXES)) and name not in KEPT]:
    del os.environ[name]
os.environ["DJANGO_DEVELOPMENT"] = "1"
