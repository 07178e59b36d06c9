"""Tests run in development mode, whatever DJANGO_* variables the shell holds.

Loaded as a plugin (`-p tests.settings_env` in pyproject.toml's addopts) so that it runs before
pytest-django reads the settings: a conftest.py would be too late. Without DJANGO_DEVELOPMENT=1 the
settings are production ones and refuse to start without a real secret key; and a deployment's
variables (DJANGO_DEBUG=0, DJANGO_ALLOWED_HOSTS, ...) left in a developer's shell must not change what
the suite tests. Child processes the tests start inherit this environment. Tests of production
behaviour start their own process with an explicit environment (tests/core/test_settings.py).
"""

import os

# The settings module to load, and the test session's own switch for Playwright (tests/conftest.py).
KEPT = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}

for name in [name for name in os.environ if name.startswith("DJANGO_") and name not in KEPT]:
    del os.environ[name]
os.environ["DJANGO_DEVELOPMENT"] = "1"
