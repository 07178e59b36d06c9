"""Settings come from the environment: the embedded database, DATABASE_URL, production hardening."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from ivf_trial.embedded_db import stop_embedded_server

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x7!kq2" * 12,
    "DJANGO_ALLOWED_HOSTS": "trial.example.org",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def _manage(*args, env_overrides, drop=()):
    # The test session's own async-unsafe switch (for Playwright) is not part of any deployment.
    env = {k: v for k, v in os.environ.items() if k not in {*drop, "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def _production(*args, **overrides):
    """manage.py as a deployment runs it: no DJANGO_* variable of the test session (development mode)."""
    session = [name for name in os.environ if name.startswith("DJANGO_") and name != "DJANGO_SETTINGS_MODULE"]
    env = {**PRODUCTION_ENV, "DATABASE_URL": _database_url(), **overrides}
    return _manage(*args, env_overrides={k: v for k, v in env.items() if v is not None}, drop=session)


def _database_url():
    db = settings.DATABASES["default"]
    host = db["HOST"] or "localhost"
    if host.startswith("/"):
        return f"postgres://{db['USER']}@/{db['NAME']}?host={host}"
    return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def test_deploy_check_passes_with_production_environment():
    result = _production("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    assert _production("check").returncode == 0
    result = _production("check", DJANGO_SECRET_KEY=None)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def _env_example_secret_key() -> str:
    (line,) = [
        line for line in (ROOT / ".env.example").read_text().splitlines() if line.startswith("DJANGO_SECRET_KEY=")
    ]
    return line.partition("=")[2]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(_env_example_secret_key(), id="env-example-placeholder"),
        pytest.param(settings.SECRET_KEY, id="development-key"),
        pytest.param("django-insecure-" + "k3!x9q@z" * 8, id="django-startproject-key"),
        pytest.param("Zq8#mW2!vL", id="too-short"),
        pytest.param("abcd" * 20, id="four-distinct-characters"),
        pytest.param("my-production-secret-key-CHANGE_ME-7f3a9c2e4b1d8f6a0e5c3b7d9a1f4e2c", id="says-change-me"),
    ],
)
def test_production_refuses_a_published_short_or_placeholder_secret_key(key):
    result = _production("check", DJANGO_SECRET_KEY=key)
    assert result.returncode != 0 and "ImproperlyConfigured" in result.stderr, result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr.splitlines()[-1]


def test_production_refuses_to_start_with_debug_on():
    result = _production("check", DJANGO_DEBUG="1")
    assert result.returncode != 0 and "DJANGO_DEBUG=1 is refused in production" in result.stderr


def test_production_has_debug_off_without_saying_so():
    probe = "from django.conf import settings; print(settings.DEBUG, settings.DEVELOPMENT)"
    result = _production("shell", "-c", probe, DJANGO_DEBUG=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["False", "False"]


def test_development_mode_runs_with_debug_and_the_development_key_but_only_when_asked():
    probe = "from django.conf import settings; print(settings.DEBUG, len(settings.SECRET_KEY) > 0)"
    result = _production("shell", "-c", probe, DJANGO_DEVELOPMENT="1", DJANGO_DEBUG=None, DJANGO_SECRET_KEY=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["True", "True"]


@pytest.mark.parametrize("target", ["run", "migrate", "test", "lint", "screenshots", "bench"])
def test_make_targets_that_run_the_app_here_select_development_mode(target):
    dry_run = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    app = ("manage.py", "-m pytest", "-m bench", "scripts/screenshots.py")  # not pip, venv or ruff
    commands = [line for line in dry_run.stdout.splitlines() if any(part in line for part in app)]
    assert commands and all(line.startswith("DJANGO_DEVELOPMENT=1 ") for line in commands), dry_run.stdout


def test_run_serves_in_development_mode():
    dry_run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    (serve,) = [line for line in dry_run.stdout.splitlines() if "runserver" in line]
    assert serve.startswith("DJANGO_DEVELOPMENT=1 ")


@pytest.mark.parametrize("runner", [[sys.executable, "-m", "pytest"], [str(Path(sys.executable).parent / "pytest")]])
def test_the_suite_selects_development_mode_whatever_the_shell_holds(tmp_path, runner):
    """Plain `python -m pytest` (or the pytest script) in a shell that holds a deployment's variables."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import os\n"
        "from django.conf import settings\n"
        "def test_probe():\n"
        "    assert settings.DEVELOPMENT and os.environ['DJANGO_DEVELOPMENT'] == '1'\n"
        "    assert 'testserver' in settings.ALLOWED_HOSTS and 'DJANGO_SECRET_KEY' not in os.environ\n"
    )
    shell = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    shell |= {"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "trial.example.org", "DJANGO_SECRET_KEY": "short"}
    command = [*runner, "-q", "-p", "no:xdist", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), str(probe)]
    done = subprocess.run(command, cwd=ROOT, env=shell, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


def test_database_url_selects_that_server():
    url = "postgres://someone@db.example.org:6543/trialdb"
    probe = (
        "from django.conf import settings; d = settings.DATABASES['default']; print(d['HOST'], d['PORT'], d['NAME'])"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='ivf_trial.settings'; {probe}",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["db.example.org", "6543", "trialdb"], result.stderr


def test_non_postgresql_database_is_refused():
    result = _manage("check", env_overrides={"DATABASE_URL": "sqlite:///tmp/x.db"})
    assert result.returncode != 0 and "PostgreSQL only" in result.stderr


@pytest.fixture
def embedded_server_stopped_afterwards():
    """Stop the embedded server after the test unless it was already running (a developer's `make run`)."""
    data_dir = ROOT / "var" / "pg"
    was_running = (data_dir / "postmaster.pid").exists()
    yield
    if not was_running:
        stop_embedded_server(data_dir)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="already running on the embedded server")
def test_without_database_url_the_embedded_postgresql_starts_and_answers(embedded_server_stopped_afterwards):
    """What a fresh clone does: no DATABASE_URL, so pgserver runs PostgreSQL under var/."""
    probe = _manage(
        "shell",
        "-c",
        "from django.db import connection; c = connection.cursor(); c.execute('select version()'); "
        "print(connection.settings_dict['HOST']); print(c.fetchone()[0])",
        env_overrides={},
        drop=("DATABASE_URL",),
    )
    assert probe.returncode == 0, probe.stderr
    host, version = probe.stdout.strip().splitlines()[-2:]
    assert host == str(ROOT / "var" / "pg") and version.startswith("PostgreSQL")


def _celery_conf(env):
    probe = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE']='ivf_trial.settings'; import django; django.setup(); "
        "from ivf_trial.celery import app; c = app.conf; "
        "print(c.task_always_eager, c.task_eager_propagates, c.task_acks_late, c.worker_prefetch_multiplier)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    return result.stdout.split()


def test_celery_runs_eagerly_and_propagates_errors_without_a_broker():
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    assert _celery_conf(env) == ["True", "True", "True", "1"]


def test_celery_uses_the_broker_when_one_is_configured():
    env = {**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    assert _celery_conf(env)[0] == "False"


@pytest.mark.django_db
def test_database_sessions_run_without_jit():
    """The dashboards' aggregates lose seconds to JIT compilation at 10,000 women; every session turns it off."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_the_wsgi_application_imports_every_view_when_the_worker_boots():
    """Otherwise a new gunicorn worker's first request pays for importing the views (and scipy): ~2 s."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    modules = ("analysis.views", "patients.views", "scipy")
    probe = f"import sys, ivf_trial.wsgi; print(all(m in sys.modules for m in {modules!r}))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
