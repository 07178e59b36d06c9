"""The statistics item of the lock checklist (core/readiness.py): the figures must describe the data
being locked."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from analysis import selectors
from analysis.services import snapshot_is_stale
from core.readiness import ReadinessItem

LABELS = {"stale_statistics": _("Statistics computed before the latest change to the data")}


def lock_checklist() -> list[ReadinessItem]:
    snapshot = selectors.latest_snapshot(with_payload=False)
    stale = snapshot_is_stale(snapshot, data_version=snapshot.data_version_now if snapshot else None)
    label = str(LABELS["stale_statistics"])
    return [ReadinessItem("stale_statistics", label, int(stale), reverse("analysis:dashboard"))]
