"""The logging configuration: a request id on every line, and one line per refused request (a 4xx keeps no
traceback). Kept out of settings.py, which only chooses the level."""


def logging_config(level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "core.middleware.RequestIdLogFilter"},
            "refusal_without_traceback": {"()": "core.middleware.RefusalWithoutTraceback"},
        },
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "pgserver": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            # Django's own console handler (DEBUG only) printed every record a second time beside the root's.
            "django": {"handlers": [], "level": "INFO"},
            "django.request": {"filters": ["refusal_without_traceback"]},
        },
    }
