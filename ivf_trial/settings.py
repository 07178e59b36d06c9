"""Settings for IVF Trial Data Manager: one module, every deployment difference comes from the environment.

Development needs one variable, DJANGO_DEVELOPMENT=1, which `make run` and `make test` set (embedded
PostgreSQL, eager Celery, DEBUG on). Without it the settings are production's: DJANGO_SECRET_KEY (a real
one), DJANGO_ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL; DEBUG stays off (DJANGO_DEBUG=0).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import pghistory
import pgtrigger
from django.core.exceptions import ImproperlyConfigured

from ivf_trial import csp_policy
from ivf_trial.logging_config import logging_config
from ivf_trial.secret_key import secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Development is chosen explicitly: `make run`, `make test` (and pytest itself: tests/settings_env.py),
# `make screenshots`, `make bench` set DJANGO_DEVELOPMENT=1. Without it these are production settings:
# DEBUG off, and the process refuses to start with DJANGO_DEBUG=1 (error pages would show settings and
# data) or with a missing, short or published secret key (ivf_trial/secret_key.py).
DEVELOPMENT = env_bool("DJANGO_DEVELOPMENT", False)
DEBUG = env_bool("DJANGO_DEBUG", DEVELOPMENT)
_DEVELOPMENT_HINT = "For development on your own machine set DJANGO_DEVELOPMENT=1 (make run and make test do)."
if DEBUG and not DEVELOPMENT:
    raise ImproperlyConfigured(f"DJANGO_DEBUG=1 is refused in production. {_DEVELOPMENT_HINT}")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if DEVELOPMENT:
    SECRET_KEY = SECRET_KEY or "insecure-development-key-only-for-local-use-never-in-production-0123456789"
elif _key_problem := secret_key_problem(SECRET_KEY):
    raise ImproperlyConfigured(
        f"{_key_problem} Production needs a long random key of its own, e.g. the output of "
        f'python -c "import secrets; print(secrets.token_urlsafe(64))". {_DEVELOPMENT_HINT}'
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens stored hashed, with an expiry (SPEC §11.1); replaces DRF's plain-text authtoken.
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "pgtrigger",
    "pghistory",
    "core",
    "patients",
    "labs",
    "outcomes",
    "quality",
    "analysis",
    # Cross-app reads (patient page, casebook review, audit trail): no models.
    "casebook",
    "exchange",
    # The demo and synthetic trials, on top: they may call every app's services.
    "sampledata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control: no-store on everything after the static files (clinical data stays out of caches).
    "core.middleware.NoStoreMiddleware",
    # Content-Security-Policy on every page (CONTENT_SECURITY_POLICY below); static files need none.
    "csp.middleware.CSPMiddleware",
    "core.middleware.RequestIdMiddleware",
    # Without a broker: one statistics recomputation after a request that committed a change.
    "analysis.middleware.StatisticsRecomputeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Language from the user's choice (cookie set by /i18n/setlang/), then Accept-Language, then English.
    "django.middleware.locale.LocaleMiddleware",
    # Oversized bodies are refused (413) by their Content-Length before anything reads them.
    "core.middleware.RequestSizeLimitMiddleware",
    # NUL and other control characters in the address, headers, form fields and JSON are a 400 (and JSON
    # nested or sized beyond reason), before anything reaches the database with them.
    "core.request_guard.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.SessionIdleTimeoutMiddleware",
    # Deny by default: every view needs a logged-in user unless marked @login_not_required.
    "core.middleware.LoginRequiredExceptApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.DebugNotFoundPageMiddleware",  # under DEBUG too, a 404 is the app's page (API: JSON)
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # A view whose database connection failed answers 503 "nothing was saved", not a bare 500.
    "core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "ivf_trial.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.trial",
            ],
        },
    },
]

WSGI_APPLICATION = "ivf_trial.wsgi.application"

# --- Database: PostgreSQL only -------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    from ivf_trial.embedded_db import embedded_database_settings

    DATABASES = {"default": embedded_database_settings(BASE_DIR / "var" / "pg")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("IVF Trial Data Manager runs on PostgreSQL only (DATABASE_URL=postgres://...)")
# JIT off: the dashboards' aggregates are short queries over many rows, where PostgreSQL's cost model
# turns JIT on and compiling takes longer than running (measured at 10,000 women: CONSORT counts 2.7 s
# with JIT, 0.12 s without; completeness 9.7 s → 0.75 s).
# Memoize off: a list page's joins (LIMIT 101 over 1.8 M lab results) got Memoize nodes whose hash tables
# are sized for the whole table and allocated before the first row: 4.4 ms of a 0.5 ms query (measured).
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_db_options["options"] = " ".join(filter(None, [_db_options.get("options"), "-c jit=off -c enable_memoize=off"]))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication, sessions, lockout -----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # django-axes' per-user-per-address lock, then the account lock (core/lockout.py), before any password check.
    "core.lockout.LockoutBackend",
    "core.auth_backends.ModelBackendOneQuery",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle timeout: the session lives SESSION_IDLE_MINUTES after the last request, then the user logs in again.
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# Pushed forward at most once a minute by core.middleware.SessionIdleTimeoutMiddleware, not on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=30)
# Failures lock that user at that address: behind a clinic's proxy every colleague shares one address, so
# locking the address (or the account alone) would let one user's typos, or an attacker, lock out everyone.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Consecutive failures from any addresses that lock the account itself until an admin unlocks it with a
# reason (core/lockout.py; NIST SP 800-63B 5.2.2 allows at most 100).
ACCOUNT_LOCK_FAILURES = int(os.environ.get("ACCOUNT_LOCK_FAILURES", "20"))
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
# The client's address: REMOTE_ADDR unless a trusted reverse proxy is configured, whose header then names
# it (e.g. DJANGO_TRUSTED_PROXY_HEADER=HTTP_X_FORWARDED_FOR, DJANGO_TRUSTED_PROXY_COUNT=1 for one nginx).
# Without one, X-Forwarded-For is ignored: any client can write it.
AXES_CLIENT_IP_CALLABLE = "core.lockout.client_ip"
TRUSTED_PROXY_HEADER = os.environ.get("DJANGO_TRUSTED_PROXY_HEADER", "")
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "1"))
# Lockout log lines name the account and address, so an operator can tell whom to help (axes masks both
# by default); the password typed is always masked, in the logs and in the stored attempts.
AXES_SENSITIVE_PARAMETERS: list[str] = []
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- Audit trail -----------------------------------------------------------------------------------
# Event tables get a trigger that refuses UPDATE and DELETE, even from raw SQL.
PGHISTORY_APPEND_ONLY = True
# Statement-level triggers attach the audit context once per statement. Row-level ones upsert the same
# context row once per row, which makes a 100,000-row bulk insert quadratic (measured: 491 rows/s).
PGHISTORY_LEVEL = pgtrigger.Statement
PGHISTORY_CREATED_AT_FUNCTION = "NOW()"
# Event tables copy every foreign key of the tracked row; none is indexed but the object and context
# (pghistory's own) and what core.models.tracked_by names: the others were never read by.
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(db_index=True)  # both inherit the setting above
PGHISTORY_CONTEXT_FIELD = pghistory.ContextForeignKey(db_index=True)

# --- Internationalisation --------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The compiled catalogue (locale/zh_Hans/LC_MESSAGES/django.mo) is committed: no gettext needed to serve it.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Lab CSV uploads wait here between the check (dry run) and the confirmed import.
LAB_UPLOAD_DIR = Path(os.environ.get("LAB_UPLOAD_DIR", BASE_DIR / "var" / "uploads"))
# Request bodies (core.middleware.RequestSizeLimitMiddleware answers 413 above these, before reading):
# form fields and JSON stay small; an upload request (multipart, or a raw text/csv lab file) may carry a
# lab CSV of up to labs.forms.MAX_IMPORT_BYTES (20 MB), which the import itself refuses above that with
# its own message. Uploaded files above FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file, not memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_REQUEST_BYTES = 24 * 1024 * 1024

# --- Security (production) ------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy: same origin only, inline styles allowed; the strict policy, report-only, shows
# what dropping 'unsafe-inline' would block (ivf_trial/csp_policy.py says why).
CONTENT_SECURITY_POLICY = {"DIRECTIVES": csp_policy.ENFORCED}
CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": csp_policy.STRICT}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# --- Celery ----------------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# No broker configured: run tasks in-process and let their errors surface (an explicit choice, not a
# fallback on error).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith("redis"):
    # A message whose worker died unacknowledged returns to the queue after this many seconds.
    # Running workers look for such messages every interval × throttle seconds (kombu's default is
    # ~100 s); a starting worker looks at once.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
        "unacked_restore_throttle": int(os.environ.get("CELERY_UNACKED_RESTORE_THROTTLE", "10")),
    }
CELERY_BEAT_SCHEDULE = {
    "recompute statistics when the data changed": {
        "task": "analysis.tasks.statistics_refresh_if_stale_task",
        "schedule": 60.0,
    },
    "delete checked lab uploads left for more than a day": {
        "task": "labs.tasks.checked_uploads_purge_task",
        "schedule": 3600.0,
    },
}

# --- Statistics snapshots --------------------------------------------------------------------------
# With a broker, every committed change schedules one recomputation after a quiet period (debounce).
# Without one (eager mode), once in-process at the end of the request that changed data (analysis.middleware).
STATISTICS_RECOMPUTE_ON_CHANGE = env_bool("STATISTICS_RECOMPUTE_ON_CHANGE", True)
STATISTICS_DEBOUNCE_SECONDS = int(os.environ.get("STATISTICS_DEBOUNCE_SECONDS", "30"))
STATISTICS_MAX_DELIVERIES = 3
# Fault injection for the crash tests only: the job sleeps this long after starting (default 0).
STATISTICS_FAULT_PAUSE_SECONDS = float(os.environ.get("STATISTICS_FAULT_PAUSE_SECONDS", "0"))
AUDITED_CHANGE_HOOK = "analysis.services.on_data_change"
# Run inside each clinical write (core.audit.clinical_data_changed), for the patients it changed.
CLINICAL_CHANGE_HOOK = "quality.services.automatic_checks_sync"
# What a database lock would freeze unfinished (core/readiness.py): modules with lock_checklist() and LABELS.
LOCK_READINESS_CHECKS = ["quality.readiness", "analysis.readiness"]
# Each role's work on the home page (core/worklists.py): each returns the sections of the user's roles.
WORKLIST_PROVIDERS = [
    "quality.worklists.worklist_sections",
    "outcomes.worklists.worklist_sections",
    "analysis.worklists.worklist_sections",
    "core.account_worklists.worklist_sections",
]

# --- REST API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API request then gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.StablePagination",
    # Documents the error answers of every operation besides its success (core/api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.ApiSchema",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api_parsers.JSONParser",  # decimals as written (Decimal), not as floats
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
}
# API tokens (django-rest-knox): `Authorization: Token <key>`, a new token per login, stored as a SHA-512
# digest, expiring after API_TOKEN_TTL_HOURS.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=float(os.environ.get("API_TOKEN_TTL_HOURS", "10"))),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# Requests to POST/DELETE /api/v1/auth/token/ per client address (core.auth_api.TokenRateThrottle).
API_TOKEN_THROTTLE_RATE = os.environ.get("API_TOKEN_THROTTLE_RATE", "10/minute")
# The throttle counts in the default cache, which must be shared by every process serving requests:
# Redis when DJANGO_CACHE_URL names one (production: gunicorn runs several workers), else this process's
# memory (development, tests).
if os.environ.get("DJANGO_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["DJANGO_CACHE_URL"],
            "KEY_PREFIX": "ivf",
        }
    }
SPECTACULAR_SETTINGS = {
    "TITLE": "IVF Trial Data Manager API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Requests and responses as separate components: an upload's `file` is binary, output-only fields
    # stay out of request bodies.
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies are their own serializers with their own required fields (`reason`, `version`).
    "COMPONENT_SPLIT_PATCH": False,
    "ENUM_NAME_OVERRIDES": {
        "PatientStatusEnum": "patients.models.PatientStatus",
        "QueryStatusEnum": "quality.models.QueryStatus",
    },
    # Clinics run on closed networks: Swagger UI from the sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Email -----------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "ivf-trial@localhost")
# Where users reach the application: the start of the set-password links `manage.py account_link` prints
# (links e-mailed from the admin use the address the admin's browser used).
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000")

# --- Logging: request id on every line, one line per refusal (ivf_trial/logging_config.py) --------------
LOGGING = logging_config(os.environ.get("DJANGO_LOG_LEVEL", "INFO"))
