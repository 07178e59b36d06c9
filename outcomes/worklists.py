"""The investigator's serious adverse events on the home page (core/worklists.py).

An adverse event keeps no review state of its own, so the list is the SAEs an investigator of the site
should have in view: those not yet resolved, and those that began or were reported in the last 30 days.
"""

from datetime import timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access
from core.worklists import INVESTIGATOR, MAX_ENTRIES, WorkEntry, WorkItem, WorkSection
from outcomes.models import AdverseEvent

RECENT_DAYS = 30


def serious_events_to_review(user):
    """Active SAEs of her sites' active patients that are unresolved or recent, newest onset first."""
    now = timezone.now()
    since = now - timedelta(days=RECENT_DAYS)
    recent = Q(resolution_date__isnull=True) | Q(onset_date__gte=since.date()) | Q(sae_notified_at__gte=since)
    return (
        AdverseEvent.objects.filter(
            recent,
            serious=True,
            voided_at__isnull=True,
            patient__voided_at__isnull=True,
            patient__site_id__in=access.member_site_ids(user),
        )
        .select_related("patient")
        .order_by("-onset_date", "-pk")
    )


def _entry(event: AdverseEvent) -> WorkEntry:
    state = (
        _("not resolved")
        if event.resolution_date is None
        else _("resolved %(date)s") % {"date": event.resolution_date.isoformat()}
    )
    return WorkEntry(
        label=_("%(study_id)s: %(term)s, grade %(grade)d")
        % {
            "study_id": event.patient.study_id,
            "term": event.term_other or event.get_term_display(),
            "grade": event.grade,
        },
        url=reverse("casebook:patient", args=[event.patient.study_id]) + "#ae-card",
        note=_("onset %(date)s; %(state)s") % {"date": event.onset_date.isoformat(), "state": state},
    )


def worklist_sections(user) -> list[WorkSection]:
    """The investigator's serious adverse events (those who sign her site's casebooks)."""
    if not user.has_perm("core.sign_casebook"):
        return []
    events = list(serious_events_to_review(user)[: MAX_ENTRIES + 1])
    count = len(events) if len(events) <= MAX_ENTRIES else serious_events_to_review(user).count()
    item = WorkItem(
        "serious_adverse_events",
        _("Serious adverse events to review"),
        count,
        note=_("Not resolved, or began or reported in the last %(days)d days.") % {"days": RECENT_DAYS},
        entries=tuple(_entry(event) for event in events[:MAX_ENTRIES]),
    )
    return [WorkSection(INVESTIGATOR, _("Investigator"), (item,))]
