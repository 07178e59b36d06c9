"""Structural checks of the container deliverables: Dockerfile, .dockerignore, docker-compose.yml, .env.example.

No Docker engine is needed (or used): the files are parsed as text and YAML. No database either.
"""

import re
import secrets
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from ivf_trial.secret_key import secret_key_problem

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_PATH = ROOT / "docker-compose.yml"
DOCKERFILE_PATH = ROOT / "Dockerfile"
DOCKERIGNORE_PATH = ROOT / ".dockerignore"
ENV_EXAMPLE_PATH = ROOT / ".env.example"
SETTINGS_PATH = ROOT / "ivf_trial" / "settings.py"

APP_SERVICES = ("migrate", "web", "worker", "beat")
ALL_SERVICES = ("db", "redis", *APP_SERVICES)

# Variables a production deployment sets (see the settings module docstring and the deployment notes).
DOCUMENTED_VARIABLES = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_EMAIL_BACKEND",
    "DJANGO_DEFAULT_FROM_EMAIL",
    "SESSION_IDLE_MINUTES",
    "DJANGO_TIME_ZONE",
    "DJANGO_LOG_LEVEL",
}

# "${NAME:-default}" (compose interpolation with a default) -> default
INTERPOLATION_DEFAULT = re.compile(r"^\$\{[A-Z0-9_]+:-(?P<default>.*)\}$")
# "NAME=value" or a commented-out "# NAME=value" in .env.example
ENV_ASSIGNMENT = re.compile(r"^#?\s*(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_PATH.read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE_PATH.read_text())


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = pending + line
        pending = ""
        keyword, _, arguments = logical.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def instruction_arguments(instructions: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for name, arguments in instructions if name == keyword]


def as_words(command) -> list[str]:
    """A compose command or healthcheck test, list or string form, as a list of words."""
    return list(command) if isinstance(command, list) else shlex.split(command)


def command_text(service: dict) -> str:
    return " ".join(as_words(service["command"]))


def resolved_default(value: str) -> str:
    """The value compose uses when the variable is not set elsewhere: the default of "${NAME:-default}"."""
    match = INTERPOLATION_DEFAULT.match(value)
    return match.group("default") if match else value


def env_example_assignments() -> dict[str, str]:
    assignments = {}
    for line in ENV_EXAMPLE_PATH.read_text().splitlines():
        match = ENV_ASSIGNMENT.match(line.strip())
        if match:
            assignments[match.group("name")] = match.group("value")
    return assignments


def env_example_active_assignments() -> dict[str, str]:
    """Only the assignments that take effect (not commented out)."""
    return {
        match.group("name"): match.group("value")
        for line in ENV_EXAMPLE_PATH.read_text().splitlines()
        if (match := ENV_ASSIGNMENT.match(line.strip())) and not line.lstrip().startswith("#")
    }


# --- docker-compose.yml ----------------------------------------------------------------------------


def test_compose_defines_database_broker_migrate_web_worker_and_beat(services):
    assert set(ALL_SERVICES) <= set(services), f"missing services: {set(ALL_SERVICES) - set(services)}"


def test_compose_app_services_share_one_image(services):
    builds = {service: repr(services[service].get("build")) for service in APP_SERVICES}
    images = {service: services[service].get("image") for service in APP_SERVICES}
    assert services["web"].get("build") is not None, "web must build the image from the Dockerfile"
    assert images["web"], "the shared image needs a name so all app services run the same one"
    assert len(set(builds.values())) == 1, f"app services build differently: {builds}"
    assert len(set(images.values())) == 1, f"app services use different images: {images}"


def test_compose_app_services_share_one_environment(services):
    env_files = {service: repr(services[service].get("env_file")) for service in APP_SERVICES}
    environments = {service: repr(services[service].get("environment")) for service in APP_SERVICES}
    assert services["web"].get("env_file"), "secrets come from an env_file (.env)"
    assert len(set(env_files.values())) == 1, f"app services read different env files: {env_files}"
    assert len(set(environments.values())) == 1, f"app services have different environments: {environments}"


def test_compose_app_services_are_built_from_one_yaml_anchor(compose_text):
    assert re.search(r"^x-app:\s*&app\s*$", compose_text, re.MULTILINE), "expected an `x-app: &app` anchor"
    merges = re.findall(r"^\s+<<:\s*\*app\s*$", compose_text, re.MULTILINE)
    assert len(merges) >= len(APP_SERVICES), f"expected `<<: *app` in each app service, found {len(merges)}"


def test_web_starts_after_migrate_succeeds_and_backing_services_are_healthy(services):
    depends_on = services["web"]["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs the long form to state conditions"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["db"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_celery_processes_start_after_migrate_succeeds(services, service):
    depends_on = services[service]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_migrate_waits_for_a_healthy_database(services):
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_migrate_runs_once_and_is_not_restarted(services):
    # Unquoted `no` would be YAML false; compose wants the string "no".
    assert services["migrate"].get("restart") == "no"


@pytest.mark.parametrize(
    ("service", "probe"),
    [("db", "pg_isready"), ("redis", "redis-cli ping"), ("web", "/healthz/")],
)
def test_db_redis_and_web_declare_healthchecks(services, service, probe):
    healthcheck = services[service].get("healthcheck")
    assert healthcheck, f"{service} has no healthcheck"
    assert not healthcheck.get("disable"), f"{service} healthcheck is disabled"
    assert probe in " ".join(as_words(healthcheck["test"])), f"{service} healthcheck does not use {probe}"


def test_web_runs_gunicorn_on_port_8000(services):
    command = command_text(services["web"])
    assert command.startswith("gunicorn ivf_trial.wsgi:application"), command
    assert "0.0.0.0:8000" in command
    assert any(str(port).endswith("8000") for port in services["web"].get("ports", []))


def test_worker_runs_celery_worker_with_two_processes(services):
    assert command_text(services["worker"]) == "celery -A ivf_trial worker -l info --concurrency 2"


def test_beat_runs_celery_beat(services):
    assert command_text(services["beat"]).startswith("celery -A ivf_trial beat -l info")


def test_migrate_applies_migrations_then_sets_up_roles(services):
    command = command_text(services["migrate"])
    assert "python manage.py migrate --noinput && python manage.py setup_roles" in command


def test_app_urls_point_at_the_compose_db_and_redis_services(services):
    environment = services["web"]["environment"]
    database = urlsplit(resolved_default(environment["DATABASE_URL"]))
    broker = urlsplit(resolved_default(environment["CELERY_BROKER_URL"]))
    db_environment = services["db"]["environment"]

    assert database.scheme in {"postgres", "postgresql"}
    assert database.hostname == "db"
    assert (database.username, database.password, database.path.lstrip("/")) == (
        db_environment["POSTGRES_USER"],
        db_environment["POSTGRES_PASSWORD"],
        db_environment["POSTGRES_DB"],
    ), "DATABASE_URL credentials must match the db service"
    assert broker.scheme == "redis"
    assert broker.hostname == "redis"


def test_db_keeps_its_data_in_a_named_volume(compose, services):
    volume_names = set(compose.get("volumes") or {})
    mounts = [str(mount).split(":")[0] for mount in services["db"].get("volumes", [])]
    assert any(mount in volume_names for mount in mounts), f"db mounts {mounts}, named volumes {volume_names}"


# --- Dockerfile ------------------------------------------------------------------------------------


def test_dockerfile_builds_on_python_311_slim(dockerfile):
    assert instruction_arguments(dockerfile, "FROM")[0].startswith("python:3.11-slim")


def test_dockerfile_sets_pip_and_python_environment_flags(dockerfile):
    environment = " ".join(instruction_arguments(dockerfile, "ENV"))
    for flag in ("PIP_NO_CACHE_DIR", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        assert re.search(rf"\b{flag}=1\b", environment), f"{flag}=1 not set"


def test_dockerfile_installs_runtime_requirements_only(dockerfile):
    runs = " ".join(instruction_arguments(dockerfile, "RUN"))
    assert re.search(r"pip install .*-r requirements\.txt", runs)
    assert "requirements-dev" not in " ".join(arguments for _, arguments in dockerfile)


def test_dockerfile_collects_static_files_at_build_time_in_production_mode(dockerfile):
    collect = [run for run in instruction_arguments(dockerfile, "RUN") if "collectstatic" in run]
    assert collect, "no RUN ... collectstatic"
    assert "--noinput" in collect[0]
    assert "DJANGO_DEBUG=0" in collect[0], "manifest storage is only used with DEBUG off"
    assert "DJANGO_SECRET_KEY=" in collect[0], "DEBUG off refuses to start without a secret key"
    assert "DATABASE_URL=postgres" in collect[0], "without DATABASE_URL the settings start an embedded PostgreSQL"


def test_dockerfile_runs_as_a_non_root_user(dockerfile):
    names = [name for name, _ in dockerfile]
    users = instruction_arguments(dockerfile, "USER")
    assert users, "no USER instruction: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert max(i for i, name in enumerate(names) if name == "USER") < names.index("CMD")


def test_dockerfile_healthcheck_requests_healthz_with_python(dockerfile):
    healthchecks = instruction_arguments(dockerfile, "HEALTHCHECK")
    assert healthchecks, "no HEALTHCHECK"
    assert "/healthz/" in healthchecks[-1]
    assert "urllib" in healthchecks[-1], "python:3.11-slim has no curl; use urllib"


def test_dockerfile_serves_gunicorn_on_port_8000_with_access_log_to_stdout(dockerfile):
    assert "8000" in instruction_arguments(dockerfile, "EXPOSE")
    command = " ".join(as_words(yaml.safe_load(instruction_arguments(dockerfile, "CMD")[-1])))
    assert command.startswith("gunicorn ivf_trial.wsgi:application")
    assert "--bind 0.0.0.0:8000" in command
    assert "--access-logfile -" in command
    assert re.search(r"--workers \d+", command)


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    entries = {line.strip() for line in DOCKERIGNORE_PATH.read_text().splitlines()}
    for entry in (".venv", "var", ".git", "__pycache__", ".env"):
        assert entry in entries, f"{entry} is not in .dockerignore"


# --- .env.example ----------------------------------------------------------------------------------


def test_env_example_only_names_variables_the_settings_read():
    settings_text = SETTINGS_PATH.read_text()
    names = set(env_example_assignments())
    assert names, ".env.example names no variables"
    unread = sorted(name for name in names if f'"{name}"' not in settings_text)
    assert not unread, f".env.example names variables ivf_trial/settings.py never reads: {unread}"


def test_env_example_documents_every_deployment_variable():
    missing = DOCUMENTED_VARIABLES - set(env_example_assignments())
    assert not missing, f".env.example does not document: {sorted(missing)}"


def test_env_example_is_production_mode_over_plain_http_for_the_local_stack():
    active = env_example_active_assignments()
    assert active["DJANGO_DEBUG"] == "0"
    assert active["DJANGO_SECURE_SSL_REDIRECT"] == "0", "the local compose stack serves plain http"
    assert urlsplit(active["DATABASE_URL"]).hostname == "db"
    assert urlsplit(active["CELERY_BROKER_URL"]).hostname == "redis"


def test_env_example_says_how_to_generate_the_secret_key():
    text = ENV_EXAMPLE_PATH.read_text()
    assert 'python -c "import secrets; print(secrets.token_urlsafe(64))"' in text
    assert env_example_active_assignments()["DJANGO_SECRET_KEY"], "DEBUG off refuses an empty secret key"


def test_env_example_placeholder_key_is_refused_so_a_copied_env_cannot_go_live():
    assert secret_key_problem(env_example_active_assignments()["DJANGO_SECRET_KEY"])
    assert secret_key_problem(secrets.token_urlsafe(64)) is None  # what the comment tells you to generate


def test_env_example_never_turns_development_mode_on():
    assert env_example_active_assignments().get("DJANGO_DEVELOPMENT", "0") == "0"


def test_compose_app_services_always_run_production_settings(services):
    for service in APP_SERVICES:
        environment = services[service]["environment"]
        assert str(environment["DJANGO_DEVELOPMENT"]) == "0", service  # wins over anything in .env
        assert resolved_default(environment["DJANGO_DEBUG"]) == "0", service


def test_dockerfile_build_key_is_drawn_at_build_time_not_written_in_the_file(dockerfile):
    (collect,) = [run for run in instruction_arguments(dockerfile, "RUN") if "collectstatic" in run]
    key = re.search(r"DJANGO_SECRET_KEY=(\S+)", collect).group(1)
    assert key.startswith('"$(python') and "secrets.token_urlsafe" in collect, key
