#!/usr/bin/env bash
# Production-shape smoke test: gunicorn, a real celery worker and beat against PostgreSQL and Redis,
# with DJANGO_DEBUG=0 (production settings). Usage: scripts/smoke.sh DATABASE_URL REDIS_URL
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export DATABASE_URL=$1
export CELERY_BROKER_URL=$2
# Production mode: no development switch, DEBUG off, a fresh random key (the settings refuse placeholders).
unset DJANGO_DEVELOPMENT
export DJANGO_DEBUG=0
DJANGO_SECRET_KEY=$($PY -c "import secrets; print(secrets.token_urlsafe(50))")
export DJANGO_SECRET_KEY
export DJANGO_ALLOWED_HOSTS=127.0.0.1
PORT=${SMOKE_PORT:-8790}
PASSWORD=smoke-password-1
LOG=${SMOKE_LOG:-/tmp/ivf-smoke}
mkdir -p "$LOG"

$PY manage.py migrate --noinput -v0
$PY manage.py setup_roles
$PY manage.py seed_demo --password "$PASSWORD" >"$LOG/seed.log"
$PY manage.py collectstatic --noinput -v0

pids=()
stop() { for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; }
trap stop EXIT
setsid .venv/bin/gunicorn ivf_trial.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 \
  --access-logfile "$LOG/access.log" --error-logfile "$LOG/gunicorn.log" & pids+=($!)
setsid .venv/bin/celery -A ivf_trial worker --concurrency 1 --loglevel INFO >"$LOG/worker.log" 2>&1 & pids+=($!)
setsid .venv/bin/celery -A ivf_trial beat --schedule "$LOG/beat-schedule" --loglevel INFO >"$LOG/beat.log" 2>&1 & pids+=($!)

for _ in $(seq 1 60); do
  curl -fsS -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT/healthz/" >/dev/null 2>&1 && break
  sleep 1
done
if ! $PY scripts/smoke_check.py 127.0.0.1 "$PORT" "$PASSWORD"; then
  for f in gunicorn worker beat; do echo "--- $f log"; tail -40 "$LOG/$f.log"; done
  exit 1
fi
grep -q "beat: Starting" "$LOG/beat.log" || { echo "beat did not start"; cat "$LOG/beat.log"; exit 1; }
echo "smoke test passed (gunicorn + celery worker + beat, DJANGO_DEBUG=0)"
