# syntax=docker/dockerfile:1
# One image for every process of IVF Trial Data Manager: web (gunicorn), migrate, celery worker, celery beat.
# docker-compose.yml picks the process with `command:`; the default below serves the web application.

FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=ivf_trial.settings

WORKDIR /app

# Unprivileged runtime user. Its home is writable (gunicorn puts its control socket there);
# the application code stays owned by root and read-only for it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

# Runtime dependencies only (requirements-dev.txt is for development and CI). Copied first so the
# layer is reused while only the code changes. Every package ships a manylinux wheel: no compiler needed.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected at build time into var/staticfiles (STATIC_ROOT) and served by whitenoise
# with CompressedManifestStaticFilesStorage, which needs DEBUG off. Production settings refuse to start
# without a real secret key and start an embedded PostgreSQL without DATABASE_URL, so both get throwaway
# values here: a random key drawn for this step only (a fixed one would be published in this file), and a
# URL collectstatic only parses, never connects to. Neither value ends up in the image's environment.
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    python manage.py collectstatic --noinput \
    && chown -R app:app /app/var

USER app

EXPOSE 8000

# /healthz/ answers 200 when the database does. python:3.11-slim has no curl, so urllib does the request.
# The Host header is the first DJANGO_ALLOWED_HOSTS entry (so ALLOWED_HOSTS accepts it) and
# X-Forwarded-Proto says https (SECURE_PROXY_SSL_HEADER), so DJANGO_SECURE_SSL_REDIRECT=1 does not turn the
# probe into a redirect. Any non-2xx answer or connection error raises, and the probe exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = (os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.') or 'localhost').replace('*', 'localhost'); urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz/', headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["gunicorn", "ivf_trial.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--workers", "3", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
