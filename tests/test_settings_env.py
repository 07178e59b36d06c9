"""The suite runs on the settings' defaults whatever the shell holds (tests/settings_env.py)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.settings_env import SETTINGS, settings_variables

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import os
from django.conf import settings

def test_probe():
    assert settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL
    assert settings.STATISTICS_RECOMPUTE_ON_CHANGE and settings.SESSION_IDLE_MINUTES == 30
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/9"  # where the Redis-backed tests look
    assert "CELERY_BROKER_URL" not in os.environ and "CELERY_VISIBILITY_TIMEOUT" not in os.environ
"""


def test_a_broker_and_other_settings_in_the_shell_leave_celery_eager_and_redis_findable(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    shell = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    shell |= {
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "STATISTICS_RECOMPUTE_ON_CHANGE": "0",
        "SESSION_IDLE_MINUTES": "1",
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-c", str(ROOT / "pyproject.toml")]
    done = subprocess.run(
        [*command, "--rootdir", str(ROOT), str(probe)], cwd=ROOT, env=shell, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_variable_the_settings_read_is_found_but_not_other_calls():
    found = settings_variables(SETTINGS.read_text())
    assert {"CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DATABASE_URL", "STATISTICS_RECOMPUTE_ON_CHANGE"} <= found
    assert {"SESSION_IDLE_MINUTES", "LAB_UPLOAD_DIR", "DJANGO_CACHE_URL"} <= found
    assert "options" not in found  # _db_options.get("options") reads a dict, not the environment
