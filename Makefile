# Two commands do all setup on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Development mode, explicit: without it the settings are production's and refuse to start without a real
# DJANGO_SECRET_KEY (ivf_trial/settings.py). Every target here runs the app on this machine, with DEBUG on
# whatever the shell holds (a deployment's DJANGO_DEBUG=0 would ask for collected static files).
DEV := DJANGO_DEVELOPMENT=1 DJANGO_DEBUG=1
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers; the suite is database-bound, 2 cores here.
TEST_WORKERS ?= auto

.PHONY: run test lint format bench clean-db migrate screenshots smoke

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade pip
	$(VENV)/bin/pip install -r requirements-dev.txt
	touch $(STAMP)

migrate: $(STAMP)
	$(DEV) $(PY) manage.py migrate --noinput
	$(DEV) $(PY) manage.py setup_roles

run: migrate
	$(DEV) $(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/ (log in with a demo account above)"
	$(DEV) $(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	@# Start the embedded PostgreSQL once (when DATABASE_URL is unset) before parallel workers race to.
	$(DEV) $(PY) manage.py check --database default -v0
	$(DEV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The apps' layers (SPEC §10): pyproject.toml [tool.importlinter].
	$(VENV)/bin/lint-imports
	$(DEV) $(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# README screenshots of the main pages from the demo trial (Playwright on Debian's Chromium).
screenshots: migrate
	$(DEV) $(PY) manage.py seed_demo
	$(DEV) $(PY) scripts/screenshots.py

bench: $(STAMP)
	$(DEV) $(PY) -m bench $(BENCH_ARGS)

# Stops the embedded PostgreSQL and deletes its data (development only).
clean-db:
	-$(PY) -c "from pathlib import Path; from ivf_trial.embedded_db import stop_embedded_server as s; s(Path('var/pg'))"
	rm -rf var/pg
