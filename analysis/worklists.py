"""The statistician's part of the home page (core/worklists.py): what stands before the database lock,
whether the statistics are behind the data, and the latest exports."""

from datetime import UTC

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from analysis import selectors, services
from core.readiness import lock_readiness
from core.worklists import STATISTICIAN, WorkEntry, WorkItem, WorkSection

LATEST_EXPORTS = 5


def _lock_item() -> WorkItem:
    """The lock checklist's open items, each linked where its items are listed."""
    checks = lock_readiness()
    lock_page = reverse("quality:database_lock")
    entries = tuple(WorkEntry(check.label, check.url or lock_page, count=check.count) for check in checks)
    note = "" if checks else _("No checks to show yet.")
    return WorkItem(
        "lock_readiness",
        _("Open items before the database lock"),
        sum(check.count for check in checks),
        lock_page,
        note=note,
        entries=entries,
    )


def _statistics_item() -> WorkItem:
    """Audited changes since the latest snapshot read the data (all of them when none was computed)."""
    snapshot = selectors.latest_snapshot(with_payload=False)
    if snapshot is None:
        current = selectors.data_version()[0]
        note, behind = _("The statistics have not been computed yet."), current
    else:
        behind = snapshot.data_version_now - snapshot.data_version
        note = _("Computed %(at)s UTC.") % {"at": snapshot.computed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")}
    stale = snapshot is None or services.snapshot_is_stale(snapshot, data_version=snapshot.data_version_now)
    return WorkItem(
        "stale_statistics",
        _("Data changes since the statistics were computed"),
        max(behind, 0),
        reverse("analysis:dashboard"),
        note=note,
        flagged=stale,
    )


def _export_entry(entry) -> WorkEntry:
    note = entry.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if entry.row_count is not None:
        note += "; " + ngettext("%(count)d row", "%(count)d rows", entry.row_count) % {"count": entry.row_count}
    return WorkEntry(
        label=_("%(dataset)s (%(format)s) by %(user)s")
        % {"dataset": entry.dataset, "format": entry.format.upper(), "user": entry.username},
        note=note,
    )


def _exports_item() -> WorkItem:
    latest = selectors.export_log_latest(LATEST_EXPORTS)
    note = "" if latest else _("No exports yet.")
    entries = tuple(_export_entry(entry) for entry in latest)
    return WorkItem("latest_exports", _("Latest exports"), None, reverse("analysis:exports"), note, entries)


def worklist_sections(user) -> list[WorkSection]:
    """The statistician's section: each item for the permission that goes with it."""
    items = []
    if user.has_perm("core.lock_database"):
        items.append(_lock_item())
    if user.has_perm("core.recompute_statistics"):
        items.append(_statistics_item())
    if user.has_perm("core.export_data"):
        items.append(_exports_item())
    if not items:
        return []
    return [WorkSection(STATISTICIAN, _("Statistics and database lock"), tuple(items))]
