"""What stands between the trial and its database lock: open items gathered from the apps that know them.

Each app that keeps something a lock would freeze unfinished (open queries, unsigned casebooks, stale
statistics) names a module in the LOCK_READINESS_CHECKS setting, with `lock_checklist()` (the items now)
and `LABELS` (each item key's label, for locks recorded earlier); core reads them without importing the
apps above it (the same way CLINICAL_CHANGE_HOOK works)."""

from dataclasses import dataclass
from importlib import import_module

from django.conf import settings


@dataclass(frozen=True)
class ReadinessItem:
    key: str  # stable, for tests and the lock's record: "open_queries"
    label: str  # as the statistician reads it, translated
    count: int
    url: str = ""  # where the open items are listed

    @property
    def is_open(self) -> bool:
        return self.count > 0


def lock_readiness() -> list[ReadinessItem]:
    """Every check's items, in the order the setting names the checks."""
    return [item for module in _check_modules() for item in module.lock_checklist()]


def item_labels() -> dict[str, str]:
    """Every item key's label, read without counting anything (a past lock's open items, by name)."""
    return {key: str(label) for module in _check_modules() for key, label in module.LABELS.items()}


def _check_modules():
    return [import_module(name) for name in settings.LOCK_READINESS_CHECKS]


def open_items(items: list[ReadinessItem]) -> dict[str, int]:
    """The open items as they are kept with a lock: {key: count}, open ones only."""
    return {item.key: item.count for item in items if item.is_open}
