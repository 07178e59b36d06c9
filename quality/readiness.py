"""The data-quality items of the lock checklist (core/readiness.py)."""

from core.readiness import ReadinessItem


def lock_checklist() -> list[ReadinessItem]:
    return []
