"""What a production SECRET_KEY must be: long, varied, and not one that is published anywhere.

The key signs sessions, password-reset and set-password links and CSRF tokens: whoever knows it can log
in as anyone. A key copied from `.env.example`, this repository or Django's own `startproject` template is
known to everyone, so production refuses it at start-up. The length and variety rules are those of
Django's deploy check (security.W009: at least 50 characters, at least 5 different ones, not
`django-insecure-`); the placeholder rules catch keys that say what they are.

Pure: no Django (the settings module calls it before Django is set up).
"""

MIN_LENGTH = 50
MIN_DISTINCT = 5
# Keys that are public: the placeholder of .env.example, the development key of ivf_trial/settings.py
# and the build-time key an earlier Dockerfile used.
KNOWN_KEYS = frozenset(
    {
        "replace-me-with-the-output-of-secrets-token-urlsafe-64-this-placeholder-is-not-secret",
        "insecure-development-key-only-for-local-use-never-in-production-0123456789",
        "collectstatic-build-only-throwaway-key-not-used-at-runtime",
    }
)
# Words that placeholders and sample keys carry (compared without case, "-" and "_").
PLACEHOLDER_WORDS = ("replaceme", "changeme", "placeholder", "notsecret", "insecure", "notarealsecret", "example")
DJANGO_INSECURE_PREFIX = "django-insecure-"


def secret_key_problem(key: str) -> str | None:
    """Why `key` must not sign a production deployment's sessions and links, or None when it may."""
    if not key:
        return "DJANGO_SECRET_KEY must be set."
    if key in KNOWN_KEYS or key.startswith(DJANGO_INSECURE_PREFIX):
        return "DJANGO_SECRET_KEY is a published example or development key."
    folded = key.lower().replace("-", "").replace("_", "")
    if any(word in folded for word in PLACEHOLDER_WORDS):
        return "DJANGO_SECRET_KEY looks like a placeholder (it says so)."
    if len(key) < MIN_LENGTH or len(set(key)) < MIN_DISTINCT:
        return (
            f"DJANGO_SECRET_KEY is too short or too uniform "
            f"(at least {MIN_LENGTH} characters, {MIN_DISTINCT} different ones)."
        )
    return None
