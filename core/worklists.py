"""Each user's work on the home page, gathered from the apps that know it.

Every app that keeps work for someone (forms to enter, casebooks to sign, queries to close, statistics to
recompute, access to review) names a provider in the WORKLIST_PROVIDERS setting. A provider takes the
user and returns the sections of the roles that user has, already scoped to the sites she may read;
core reads them without importing the apps above it (as LOCK_READINESS_CHECKS does).

Sections with the same key from several providers are one section (the investigator's casebooks come
from quality, her serious adverse events from outcomes), in the order the setting first names them.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

# Entries (one casebook, one adverse event) shown under an item at most; the item's count is the full one.
MAX_ENTRIES = 100

# Section keys, one per role's part of the day.
DATA_ENTRY = "data_entry"
INVESTIGATOR = "investigator"
MONITOR = "monitor"
STATISTICIAN = "statistician"
ACCOUNTS = "accounts"


@dataclass(frozen=True)
class WorkEntry:
    """One thing to open: a casebook, an adverse event, an export, a checklist line."""

    label: str
    url: str = ""
    note: str = ""
    count: int | None = None


@dataclass(frozen=True)
class WorkItem:
    """One line of a section: how many of something wait, and where they are listed."""

    key: str  # stable, for tests and the page's data attributes: "forms_overdue"
    label: str  # translated
    count: int | None  # None: nothing to count (a state, a list of recent things)
    url: str = ""  # the page listing the items, with its filters
    note: str = ""  # a sentence beside the count, translated
    entries: tuple[WorkEntry, ...] = ()
    flagged: bool = False  # needs attention although it counts nothing (an access review due)

    @property
    def is_open(self) -> bool:
        return self.flagged or bool(self.count)


@dataclass(frozen=True)
class WorkSection:
    key: str  # DATA_ENTRY, INVESTIGATOR, ...
    title: str  # translated
    items: tuple[WorkItem, ...]


def _merged(sections: list[WorkSection]) -> list[WorkSection]:
    merged: dict[str, WorkSection] = {}
    for section in sections:
        earlier = merged.get(section.key)
        if earlier is None:
            merged[section.key] = section
        else:
            merged[section.key] = WorkSection(earlier.key, earlier.title, earlier.items + section.items)
    return [section for section in merged.values() if section.items]


def worklist_for(user) -> list[WorkSection]:
    """The user's sections, every provider's, for the roles she has (none for a user without a role)."""
    if not user.is_authenticated:
        return []
    return _merged([section for path in settings.WORKLIST_PROVIDERS for section in import_string(path)(user)])
